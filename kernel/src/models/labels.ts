/**
 * Class labels. ImageNet labels come from Keras' `imagenet_class_index.json` in the cache data folder
 * ($CNNVIS_HOME/data), downloaded once from its official place like Keras' decode_predictions does.
 */
import * as fs from 'fs';
import * as path from 'path';
import { CnnvisError } from '../errors';
import { dataDir, downloadTo } from './cache';

export const IMAGENET_INDEX_FILE = 'imagenet_class_index.json';
export const IMAGENET_INDEX_URL = 'https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json';
/** Keras' published md5 of that file. */
export const IMAGENET_INDEX_MD5 = 'c2c37ea517e94d9795004a39431a14cb';

export interface LabelSet {
  /** Short names in class-index order. */
  names: string[];
  /** Optional ids (WordNet ids for ImageNet). */
  ids?: string[];
  /** Where they came from (a file path or 'builtin'). */
  source: string;
}

/** Parses Keras' class-index format `{"0": ["n01440764", "tench"], ...}`. */
export function parseClassIndex(text: string, where: string): LabelSet {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CnnvisError(`${where} is not valid JSON: ${(e as Error).message}`);
  }
  if (!json || typeof json !== 'object') throw new CnnvisError(`${where} is not a class index object`);
  const obj = json as Record<string, unknown>;
  const n = Object.keys(obj).length;
  const names: string[] = new Array(n);
  const ids: string[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const entry = obj[String(i)];
    if (!Array.isArray(entry) || entry.length < 2 || typeof entry[1] !== 'string') {
      throw new CnnvisError(`${where}: entry "${i}" must be [id, name]`);
    }
    ids[i] = String(entry[0]);
    names[i] = entry[1];
  }
  return { names, ids, source: where };
}

const imagenetCache: { set?: LabelSet; error?: string } = {};

/** ImageNet labels (Keras order), or null with `imagenetLabelsError()` saying why. */
export async function loadImagenetLabels(): Promise<LabelSet | null> {
  const file = path.join(dataDir(), IMAGENET_INDEX_FILE);
  if (imagenetCache.set && imagenetCache.set.source === file) return imagenetCache.set;
  try {
    await downloadTo(IMAGENET_INDEX_URL, file, { md5: IMAGENET_INDEX_MD5, maxBytes: 1024 * 1024 });
    imagenetCache.set = parseClassIndex(fs.readFileSync(file, 'utf8'), file);
    delete imagenetCache.error;
    return imagenetCache.set;
  } catch (e) {
    imagenetCache.error =
      `ImageNet labels unavailable (${(e as Error).message}); put Keras' ${IMAGENET_INDEX_FILE} at ${file} ` +
      `(from ${IMAGENET_INDEX_URL})`;
    return null;
  }
}

export function imagenetLabelsError(): string | undefined {
  return imagenetCache.error;
}

/** Labels from an ml5 / Teachable-Machine style `metadata.json` ({"labels": [...]}) beside a model.json. */
export function labelsFromMetadata(modelDir: string): LabelSet | null {
  const file = path.join(modelDir, 'metadata.json');
  if (!fs.existsSync(file)) return null;
  try {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { labels?: unknown };
    if (Array.isArray(json.labels) && json.labels.every((l) => typeof l === 'string')) {
      return { names: json.labels as string[], source: file };
    }
  } catch {
    /* not a labels file */
  }
  return null;
}

/**
 * Labels from a `labels.txt` beside a model file: one class per line in class order, as Teachable
 * Machine's Keras export writes them ("0 Cat", "1 Dog"); a leading class number is dropped when every
 * line has one and they count 0, 1, 2, ….
 */
export function labelsFromLabelsTxt(modelDir: string): LabelSet | null {
  const file = path.join(modelDir, 'labels.txt');
  if (!fs.existsSync(file) || !fs.statSync(file).isFile() || fs.statSync(file).size > 4 * 1024 * 1024) return null;
  const lines = fs
    .readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
  if (lines.length === 0) return null;
  const numbered = lines.map((l) => /^(\d+)\s+(.+)$/.exec(l));
  const names = numbered.every((m, i) => m && Number(m[1]) === i) ? numbered.map((m) => (m as RegExpExecArray)[2]) : lines;
  return { names, source: file };
}
