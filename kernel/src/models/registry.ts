/**
 * Named models: where their files come from, how they are cached, and what each one knows about
 * itself (preprocessing, labels, softmax output). Cached as $CNNVIS_HOME/models/<name>/ with the files
 * exactly as published, so a copied folder is found as is.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CnnvisError } from '../errors';
import { PreprocessName } from '../types';
import { downloadTo, fetchChecked, modelsDir, offline, writeFileAtomic } from './cache';

export type ModelKind = 'tfjs-layers' | 'vgg16-h5' | 'demo';

export interface NamedModel {
  name: string;
  kind: ModelKind;
  description: string;
  /** Official location: model.json URL for tfjs-layers models, the .h5 URL for vgg16. */
  url?: string;
  /** File kept in the cache folder for single-file models. */
  file?: string;
  md5?: string;
  preprocess: PreprocessName;
  labels: 'imagenet' | 'demo';
}

const TFJS_BASE = 'https://storage.googleapis.com/tfjs-models/tfjs';

function mobilenet(alpha: string): NamedModel {
  const name = `mobilenet_v1_${alpha}_224`;
  return {
    name,
    kind: 'tfjs-layers',
    description: `MobileNet v1 (width ${alpha}, 224×224), ImageNet-1000, Google-hosted TF.js layers model`,
    url: `${TFJS_BASE}/${name}/model.json`,
    preprocess: 'mobilenet',
    labels: 'imagenet',
  };
}

export const NAMED_MODELS: Record<string, NamedModel> = {
  demo: {
    name: 'demo',
    kind: 'demo',
    description: 'small VGG-style CNN trained by cnnvis on generated shapes (bundled, offline)',
    preprocess: 'unit',
    labels: 'demo',
  },
  'mobilenet_v1_0.25_224': mobilenet('0.25'),
  'mobilenet_v1_0.50_224': mobilenet('0.50'),
  'mobilenet_v1_0.75_224': mobilenet('0.75'),
  'mobilenet_v1_1.0_224': mobilenet('1.0'),
  vgg16: {
    name: 'vgg16',
    kind: 'vgg16-h5',
    description: "VGG16 (Simonyan & Zisserman), ImageNet-1000, Keras' official weights",
    url: 'https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels.h5',
    file: 'vgg16_weights_tf_dim_ordering_tf_kernels.h5',
    md5: '64373286793e3c8b2b4e3219cbf3544b',
    preprocess: 'vgg16',
    labels: 'imagenet',
  },
};

export function namedModelNames(): string[] {
  return Object.keys(NAMED_MODELS);
}

export function modelCacheDir(name: string): string {
  return path.join(modelsDir(), name);
}

/** True when the named model (e.g. 'vgg16') is in the model cache, so loading it needs no download. */
export function modelInCache(name: string): boolean {
  const spec = NAMED_MODELS[name];
  if (!spec) throw new CnnvisError(`unknown named model '${name}'; named models: ${namedModelNames().join(', ')}`, namedModelNames());
  return isCached(spec);
}

/** True when the named model's files are in the cache. */
export function isCached(spec: NamedModel): boolean {
  const dir = modelCacheDir(spec.name);
  if (spec.kind === 'tfjs-layers') return fs.existsSync(path.join(dir, 'model.json'));
  if (spec.kind === 'vgg16-h5') return fs.existsSync(path.join(dir, spec.file as string));
  return true;
}

function missingMessage(spec: NamedModel, reason: string): string {
  const dir = modelCacheDir(spec.name);
  const what =
    spec.kind === 'tfjs-layers'
      ? `model.json and the weight shards it lists, from ${spec.url} (same folder)`
      : `${spec.file}, from ${spec.url}`;
  return `model '${spec.name}' is not in the cache and could not be downloaded (${reason}); put ${what} into ${dir}/`;
}

/**
 * Makes sure the named model's files are in the cache (downloading them once when absent) and returns
 * the path to load: the folder for tfjs-layers models, the .h5 file for vgg16.
 */
export async function ensureCached(spec: NamedModel): Promise<string> {
  const dir = modelCacheDir(spec.name);
  if (spec.kind === 'demo') return dir;
  if (isCached(spec)) return spec.kind === 'vgg16-h5' ? path.join(dir, spec.file as string) : dir;
  if (offline()) throw new CnnvisError(missingMessage(spec, 'CNNVIS_OFFLINE is set'));
  try {
    if (spec.kind === 'vgg16-h5') {
      return await downloadTo(spec.url as string, path.join(dir, spec.file as string), { md5: spec.md5 });
    }
    // tfjs-layers: shards first, model.json last, so a partial download never looks like a model.
    const jsonBytes = await fetchChecked(spec.url as string, { maxBytes: 64 * 1024 * 1024 });
    const json = JSON.parse(new TextDecoder().decode(jsonBytes)) as { weightsManifest?: { paths: string[] }[] };
    for (const group of json.weightsManifest ?? []) {
      for (const p of group.paths) {
        if (p.includes('..') || path.isAbsolute(p)) throw new CnnvisError(`refusing shard path '${p}' outside the model folder`);
        await downloadTo(new URL(p, spec.url).toString(), path.join(dir, p));
      }
    }
    writeFileAtomic(path.join(dir, 'model.json'), jsonBytes);
    return dir;
  } catch (e) {
    throw new CnnvisError(missingMessage(spec, (e as Error).message));
  }
}
