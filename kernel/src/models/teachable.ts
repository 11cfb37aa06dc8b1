/**
 * Teachable Machine exports (teachablemachine.withgoogle.com), recognized by their files:
 *
 * - TF.js export: model.json + weights.bin + metadata.json with `tfjsVersion`, `tmVersion`,
 *   `packageName` '@teachablemachine/image', `labels` and `imageSize`;
 * - Keras export: keras_model.h5 + labels.txt ("0 Cat" per line).
 *
 * Both models expect pixels scaled to [-1, 1] (the Teachable Machine image library divides by 127.5
 * and subtracts 1; its Keras snippet does the same): cnnvis' 'mobilenet' preprocessing.
 */
import * as fs from 'fs';
import * as path from 'path';
import { PreprocessName } from '../types';
import { LabelSet, labelsFromLabelsTxt, labelsFromMetadata } from './labels';

export interface TeachableMachineHint {
  labels: LabelSet | null;
  preprocess: PreprocessName;
  /** The input size Teachable Machine trained at (TF.js metadata `imageSize`), when given. */
  imageSize?: number;
  /** One sentence for results: why this preprocessing. */
  note: string;
}

const NOTE = 'Teachable Machine export: pixels scaled to [-1, 1] as the Teachable Machine image library does';

/**
 * The Teachable Machine hint for a model in `dir` (loaded from `modelFile`, when a file), or null when
 * the files are not a Teachable Machine export.
 */
export function detectTeachableMachine(dir: string, modelFile?: string): TeachableMachineHint | null {
  const meta = path.join(dir, 'metadata.json');
  if (fs.existsSync(meta) && fs.statSync(meta).isFile() && fs.statSync(meta).size < 16 * 1024 * 1024) {
    let json: Record<string, unknown> | null = null;
    try {
      json = JSON.parse(fs.readFileSync(meta, 'utf8')) as Record<string, unknown>;
    } catch {
      json = null;
    }
    const pkg = typeof json?.packageName === 'string' ? json.packageName : '';
    if (json && (typeof json.tmVersion === 'string' || pkg.startsWith('@teachablemachine/'))) {
      const size = typeof json.imageSize === 'number' && json.imageSize > 0 ? json.imageSize : undefined;
      return { labels: labelsFromMetadata(dir), preprocess: 'mobilenet', note: NOTE, ...(size ? { imageSize: size } : {}) };
    }
  }
  if (modelFile && path.basename(modelFile) === 'keras_model.h5') {
    const labels = labelsFromLabelsTxt(dir);
    if (labels && labels.source && /^\s*0\s+\S/.test(fs.readFileSync(labels.source, 'utf8'))) {
      return { labels, preprocess: 'mobilenet', note: NOTE };
    }
  }
  return null;
}
