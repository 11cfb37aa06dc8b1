/**
 * loadModel: one entry point for every model source — a named model (through the cache), `demo`,
 * a TF.js layers folder / model.json / http(s) URL, or a Keras .h5 file.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend';
import { CnnvisError } from '../errors';
import { PreprocessName } from '../types';
import { DEMO_CLASSES, loadDemoModel } from './demo';
import { loadKerasH5 } from './keras';
import { imagenetLabelsError, labelsFromMetadata, LabelSet, loadImagenetLabels } from './labels';
import { CnnModel } from './model';
import { parsePreprocess, preprocessFromName } from './preprocess';
import { ensureCached, NAMED_MODELS, namedModelNames } from './registry';
import { isUrl, loadTfjsLayersModel } from './tfjs';
import { buildVgg16, loadVgg16Weights } from './vgg16';

export interface LoadModelOptions {
  /** Overrides the model's preprocessing: mobilenet | vgg16 | unit | none. */
  preprocess?: PreprocessName | string;
  /** Class labels to use instead of the model's own. */
  labels?: string[];
  /** Input [height, width] for a model that takes any size (default: its Resizing layer's size, else 224×224). */
  size?: [number, number];
}

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function isHdf5File(file: string): boolean {
  if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return false;
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(8);
    fs.readSync(fd, head, 0, 8, 0);
    return HDF5_SIGNATURE.every((b, i) => head[i] === b);
  } finally {
    fs.closeSync(fd);
  }
}

function unknownModel(source: string): CnnvisError {
  const names = namedModelNames();
  return new CnnvisError(
    `unknown model '${source}': not a named model (${names.join(', ')}), not an existing file or folder, not an http(s) URL`,
    names,
  );
}

/** Loads a model and everything cnnvis needs to know about it. */
export async function loadModel(source: string, opts: LoadModelOptions = {}): Promise<CnnModel> {
  await initBackend();
  const override = opts.preprocess !== undefined ? parsePreprocess(opts.preprocess) : undefined;
  const custom: LabelSet | null = opts.labels ? { names: opts.labels, source: 'options' } : null;
  const named = NAMED_MODELS[source];

  let net: tf.LayersModel;
  let labels: LabelSet | null = custom;
  let labelsNote: string | undefined;
  let preprocess: PreprocessName | undefined;
  let name = source;

  if (named) {
    preprocess = named.preprocess;
    if (named.kind === 'demo') {
      net = await loadDemoModel();
      labels = labels ?? { names: [...DEMO_CLASSES], source: 'builtin' };
    } else {
      const where = await ensureCached(named);
      if (named.kind === 'vgg16-h5') {
        net = buildVgg16();
        await loadVgg16Weights(net, where);
      } else {
        net = await loadTfjsLayersModel(where);
      }
      if (!labels) {
        labels = await loadImagenetLabels();
        if (!labels && named.kind === 'tfjs-layers') labels = labelsFromMetadata(where);
        if (!labels) labelsNote = imagenetLabelsError();
      }
    }
  } else if (isUrl(source)) {
    net = await loadTfjsLayersModel(source);
    name = net.name;
  } else if (fs.existsSync(source)) {
    const abs = path.resolve(source);
    if (isHdf5File(abs)) {
      net = await loadKerasH5(abs);
    } else {
      net = await loadTfjsLayersModel(abs);
      const dir = fs.statSync(abs).isDirectory() ? abs : path.dirname(abs);
      labels = labels ?? labelsFromMetadata(dir);
    }
    name = net.name || path.basename(abs);
  } else {
    throw unknownModel(source);
  }

  // Unless asked or known, CnnModel decides: preprocessing inside the model, else the model's name, else unit.
  const finalPreprocess = override ?? preprocess;
  const preprocessNote = override ? `${override} (as asked)` : preprocess ? `${preprocess} (the ${source} preset)` : undefined;
  if (!labels && !named && net.outputs[0].shape[net.outputs[0].shape.length - 1] === 1000) {
    // An unnamed 1000-way classifier is almost always ImageNet in Keras order.
    labels = await loadImagenetLabels();
    if (!labels) labelsNote = imagenetLabelsError();
  }
  return new CnnModel(net, { name, source, preprocess: finalPreprocess, preprocessNote, preprocessHint: preprocessFromName(source), labels, labelsNote, size: opts.size });
}
