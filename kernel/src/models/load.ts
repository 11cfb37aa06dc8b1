/**
 * loadModel: one entry point for every model source — a named model (through the cache), `demo`,
 * a TF.js layers folder / model.json / http(s) URL, a Keras .h5 / .keras file, or an ONNX file (PyTorch).
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../engine/backend';
import { CnnvisError } from '../errors';
import { PreprocessName } from '../types';
import { DEMO_CLASSES, loadDemoModel } from './demo';
import { detectModelFile } from './detect';
import { loadKerasH5 } from './keras';
import { loadKeras3 } from './keras3';
import { imagenetLabelsError, labelsFromLabelsTxt, labelsFromMetadata, LabelSet, loadImagenetLabels } from './labels';
import { CnnModel } from './model';
import { loadOnnxModel } from './onnx';
import { parsePreprocess, preprocessFromName } from './preprocess';
import { ensureCached, NAMED_MODELS, namedModelNames } from './registry';
import { detectTeachableMachine } from './teachable';
import { isUrl, loadTfjsLayersModel } from './tfjs';
import { buildVgg16, loadVgg16Weights } from './vgg16';

export interface LoadModelOptions {
  /** Overrides the model's preprocessing: mobilenet | vgg16 | torch | unit | none. */
  preprocess?: PreprocessName | string;
  /** Class labels to use instead of the model's own. */
  labels?: string[];
  /** Input [height, width] for a model that takes any size (default: its Resizing layer's size, else 224×224). */
  size?: [number, number];
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
  let fileNote: string | undefined;
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
    // The file's content decides its format (models/detect.ts); Teachable Machine exports bring labels and [-1, 1] inputs.
    const abs = path.resolve(source);
    const file = detectModelFile(abs);
    if (file.kind === 'keras3') net = await loadKeras3(file.path);
    else if (file.kind === 'keras-h5') net = await loadKerasH5(file.path);
    else if (file.kind === 'onnx') net = loadOnnxModel(file.path, opts.size).net;
    else net = await loadTfjsLayersModel(file.path);
    const dir = fs.statSync(abs).isDirectory() ? abs : path.dirname(abs);
    const tm = file.kind === 'onnx' ? null : detectTeachableMachine(dir, file.path);
    if (file.kind === 'onnx') {
      // PyTorch models take torchvision's normalization unless told otherwise.
      labels = labels ?? labelsFromLabelsTxt(dir);
      preprocess = 'torch';
      fileNote = "torch: RGB / 255, then ImageNet mean and std (torchvision's transforms; the default for ONNX models, choose with the preprocess option)";
    } else if (tm) {
      labels = labels ?? tm.labels;
      preprocess = tm.preprocess;
      fileNote = `${tm.preprocess} (${tm.note})`;
    } else {
      labels = labels ?? (file.kind === 'tfjs' ? labelsFromMetadata(dir) : labelsFromLabelsTxt(dir));
    }
    name = net.name || path.basename(abs);
  } else {
    throw unknownModel(source);
  }

  // Unless asked or known, CnnModel decides: preprocessing inside the model, else the model's name, else unit.
  const finalPreprocess = override ?? preprocess;
  const preprocessNote = override ? `${override} (as asked)` : fileNote ?? (preprocess ? `${preprocess} (the ${source} preset)` : undefined);
  if (!labels && !named && net.outputs[0].shape[net.outputs[0].shape.length - 1] === 1000) {
    // An unnamed 1000-way classifier is almost always ImageNet in Keras order.
    labels = await loadImagenetLabels();
    if (!labels) labelsNote = imagenetLabelsError();
  }
  return new CnnModel(net, { name, source, preprocess: finalPreprocess, preprocessNote, preprocessHint: preprocessFromName(source), labels, labelsNote, size: opts.size });
}
