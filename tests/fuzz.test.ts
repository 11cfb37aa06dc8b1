/**
 * Fuzzing the loaders: random and mutated images through decodeImage, mutated model.json files through
 * loadTfjsLayersModel, mutated HDF5 bytes through loadKerasH5. Every case must either load or throw a
 * CnnvisError — never another error type, never a hang (each case has a time limit; the cases run in a
 * worker thread that is replaced when one hangs).
 *
 * Seeded and reproducible: CNNVIS_FUZZ_SEED (default 20240611) fixes every case. A failure names the
 * case (kind, seed, mutation) and saves its input under the printed folder.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Worker } from 'worker_threads';
import { PNG } from 'pngjs';
import * as jpeg from 'jpeg-js';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { mulberry32 } from '../kernel/src/random';
import { IMAGES, MODELS, SHARED, requireShared } from './helpers/shared';

const SEED = Number(process.env.CNNVIS_FUZZ_SEED ?? 20240611);
/** Per-case limit; a normal case takes milliseconds, a model build well under a second. */
const CASE_LIMIT_MS = 15000;

// ------------------------------------------------------------------------------------------ random

class Rng {
  private next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed); // the same seed gives the same cases on every machine
  }
  float(): number {
    return this.next();
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)];
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }
}

// ------------------------------------------------------------------------------------------ cases

type Case =
  | { kind: 'image'; what: string; bytes: Uint8Array }
  | { kind: 'h5'; what: string; bytes: Uint8Array }
  | { kind: 'tfjs'; what: string; json: string; shards: { path: string; bytes: Uint8Array }[] };

// ---------- images

function syntheticPng(w: number, h: number, colorType: 0 | 2 | 4 | 6, bitDepth: 8 | 16, r: Rng): Uint8Array {
  const png = new PNG({ width: w, height: h, colorType, inputColorType: 6, bitDepth, inputHasAlpha: true });
  const data = bitDepth === 16 ? Buffer.alloc(w * h * 8) : png.data;
  if (bitDepth === 16) {
    for (let i = 0; i < w * h * 4; i++) data.writeUInt16BE(r.int(65536), i * 2);
  } else {
    data.set(r.bytes(w * h * 4));
  }
  png.data = data;
  return new Uint8Array(PNG.sync.write(png, { colorType, inputColorType: 6, bitDepth, inputHasAlpha: true }));
}

function syntheticJpeg(w: number, h: number, quality: number, r: Rng): Uint8Array {
  const data = Buffer.from(r.bytes(w * h * 4));
  return new Uint8Array(jpeg.encode({ data, width: w, height: h }, quality).data);
}

function imageSeeds(r: Rng): { name: string; bytes: Uint8Array }[] {
  const seeds: { name: string; bytes: Uint8Array }[] = [];
  for (const [ct, depth] of [[2, 8], [6, 8], [0, 8], [4, 8], [2, 16], [0, 16], [6, 16]] as const) {
    seeds.push({ name: `png ct${ct} ${depth}-bit`, bytes: syntheticPng(5 + r.int(40), 3 + r.int(30), ct, depth, r) });
  }
  for (const q of [20, 75, 95]) seeds.push({ name: `jpeg q${q}`, bytes: syntheticJpeg(8 + r.int(50), 8 + r.int(40), q, r) });
  // Real photos, read at test time (the small ones, so each case decodes in milliseconds).
  for (const f of ['beagle.jpg', 'elephant.jpg', 'hummingbird.jpg', 'sports_car.jpg', 'cat_dog.png']) {
    seeds.push({ name: f, bytes: new Uint8Array(fs.readFileSync(path.join(IMAGES, f))) });
  }
  return seeds;
}

function u32be(b: Uint8Array, at: number, v: number): void {
  if (at + 4 > b.length) return;
  new DataView(b.buffer, b.byteOffset, b.byteLength).setUint32(at, v >>> 0);
}

/** Offsets of the JPEG markers (0xFF xx with a length) in the header part of the file. */
function jpegSegments(b: Uint8Array): number[] {
  const out: number[] = [];
  let i = 2;
  while (i + 4 < b.length && b[i] === 0xff) {
    out.push(i);
    if (b[i + 1] === 0xda) break; // start of scan: entropy-coded data follows
    i += 2 + ((b[i + 2] << 8) | b[i + 3]);
  }
  return out;
}

const HUGE = [0, 1, 0xffff, 0x10000, 0x7fffffff, 0xffffffff, 100000, 9000];

function mutateImage(src: Uint8Array, r: Rng): { bytes: Uint8Array; how: string } {
  const b = new Uint8Array(src);
  const isPng = b[0] === 0x89 && b[1] === 0x50;
  switch (r.int(9)) {
    case 0: {
      const n = 1 + r.int(8);
      for (let k = 0; k < n; k++) b[r.int(b.length)] ^= 1 << r.int(8);
      return { bytes: b, how: `flip ${n} bits` };
    }
    case 1: {
      // flips near the start, where the headers are
      const n = 1 + r.int(4);
      const span = Math.min(b.length, 300);
      for (let k = 0; k < n; k++) b[r.int(span)] ^= 1 << r.int(8);
      return { bytes: b, how: `flip ${n} header bits` };
    }
    case 2: {
      const at = r.int(b.length);
      return { bytes: b.slice(0, at), how: `truncate at ${at}` };
    }
    case 3: {
      const at = r.int(b.length);
      const n = 1 + r.int(64);
      b.set(r.bytes(Math.min(n, b.length - at)), at);
      return { bytes: b, how: `overwrite ${n} bytes at ${at}` };
    }
    case 4: {
      if (isPng) {
        // IHDR fields: width 16, height 20, depth 24, colour type 25, compression 26, filter 27, interlace 28
        const field = r.int(4);
        if (field === 0) u32be(b, 16, r.pick(HUGE));
        else if (field === 1) u32be(b, 20, r.pick(HUGE));
        else b[24 + r.int(5)] = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 255]);
        return { bytes: b, how: `IHDR edit ${field}` };
      }
      const segs = jpegSegments(b);
      const sof = segs.find((s) => b[s + 1] >= 0xc0 && b[s + 1] <= 0xc2);
      if (sof !== undefined && r.int(2) === 0) {
        const v = r.pick(HUGE) & 0xffff;
        const at = sof + 5 + 2 * r.int(2);
        b[at] = v >> 8;
        b[at + 1] = v & 0xff;
        b[sof + 9] = r.pick([0, 1, 3, 4, 255]); // component count
        return { bytes: b, how: `SOF edit ${v}` };
      }
      const s = segs.length ? r.pick(segs) : 2;
      b[s + 2] = r.int(256);
      b[s + 3] = r.int(256);
      return { bytes: b, how: `JPEG segment length edit at ${s}` };
    }
    case 5: {
      if (isPng) {
        // chunk length of the IDAT or a later chunk
        let at = 8;
        const offs: number[] = [];
        while (at + 8 <= b.length) {
          offs.push(at);
          const len = new DataView(b.buffer).getUint32(at);
          at += 12 + len;
        }
        const o = r.pick(offs);
        u32be(b, o, r.pick(HUGE));
        return { bytes: b, how: `chunk length edit at ${o}` };
      }
      const segs = jpegSegments(b);
      const s = segs.length ? r.pick(segs) : 2;
      b[s + 1] = r.pick([0xc0, 0xc2, 0xc4, 0xdb, 0xdd, 0xda, 0xd9, 0xe0, 0x01, 0xff]);
      return { bytes: b, how: `JPEG marker edit at ${s}` };
    }
    case 6: {
      const at = r.int(b.length);
      const n = 1 + r.int(200);
      const out = new Uint8Array(b.length + n);
      out.set(b.subarray(0, at));
      out.set(r.bytes(n), at);
      out.set(b.subarray(at), at + n);
      return { bytes: out, how: `insert ${n} bytes at ${at}` };
    }
    case 7: {
      const at = r.int(b.length);
      const n = Math.min(b.length - at, 1 + r.int(2000));
      b.fill(r.pick([0, 0xff]), at, at + n);
      return { bytes: b, how: `fill ${n} bytes at ${at}` };
    }
    default: {
      // duplicate a range (repeated chunks / segments)
      const at = r.int(b.length);
      const n = Math.min(b.length - at, 1 + r.int(500));
      const out = new Uint8Array(b.length + n);
      out.set(b.subarray(0, at + n));
      out.set(b.subarray(at, at + n), at + n);
      out.set(b.subarray(at + n), at + 2 * n);
      return { bytes: out, how: `duplicate ${n} bytes at ${at}` };
    }
  }
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function imageCases(r: Rng, mutated: number, random: number): Case[] {
  const seeds = imageSeeds(r);
  const cases: Case[] = seeds.map((s) => ({ kind: 'image', what: `seed ${s.name}`, bytes: s.bytes }));
  for (let i = 0; i < mutated; i++) {
    const s = seeds[i % seeds.length];
    const m = mutateImage(s.bytes, r);
    // Sometimes mutate twice.
    const m2 = r.int(4) === 0 ? mutateImage(m.bytes, r) : null;
    cases.push({ kind: 'image', what: `${s.name}: ${m.how}${m2 ? ` + ${m2.how}` : ''}`, bytes: m2 ? m2.bytes : m.bytes });
  }
  for (let i = 0; i < random; i++) {
    const n = r.pick([0, 1, 3, 8, 16, 33, 100, 1000, 5000]);
    const body = r.bytes(n);
    const prefix = r.pick([[], PNG_SIG, [0xff, 0xd8, 0xff], [...PNG_SIG, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]]);
    const bytes = new Uint8Array(prefix.length + n);
    bytes.set(prefix);
    bytes.set(body, prefix.length);
    cases.push({ kind: 'image', what: `random ${n} bytes after ${prefix.length}-byte signature`, bytes });
  }
  return cases;
}

// ---------- model.json

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

interface TfjsSeed {
  name: string;
  json: { [k: string]: Json };
  shard: Uint8Array;
}

/** A small model saved through TF.js's own writer: model.json and one shard. */
async function savedSeed(name: string, net: tf.LayersModel): Promise<TfjsSeed> {
  let art: tf.io.ModelArtifacts | undefined;
  await net.save(tf.io.withSaveHandler(async (a) => {
    art = a;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  const a = art as tf.io.ModelArtifacts;
  net.dispose();
  const json = {
    format: 'layers-model',
    generatedBy: 'fuzz',
    modelTopology: a.modelTopology as Json,
    weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs as unknown as Json }],
  };
  return { name, json, shard: new Uint8Array(a.weightData as ArrayBuffer) };
}

async function tfjsSeeds(): Promise<TfjsSeed[]> {
  const seq = tf.sequential({ name: 'seq' });
  seq.add(tf.layers.conv2d({ inputShape: [12, 12, 3], filters: 4, kernelSize: 3, activation: 'relu', name: 'c1' }));
  seq.add(tf.layers.batchNormalization({ name: 'bn' }));
  seq.add(tf.layers.maxPooling2d({ poolSize: 2, name: 'pool' }));
  seq.add(tf.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }));
  seq.add(tf.layers.flatten({ name: 'flat' }));
  seq.add(tf.layers.dense({ units: 5, activation: 'softmax', name: 'out' }));

  const inp = tf.input({ shape: [10, 10, 3], name: 'img' });
  const a = tf.layers.conv2d({ filters: 3, kernelSize: 1, name: 'a' }).apply(inp) as tf.SymbolicTensor;
  const b = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', name: 'b' }).apply(inp) as tf.SymbolicTensor;
  const sum = tf.layers.add({ name: 'sum' }).apply([a, b]) as tf.SymbolicTensor;
  const cat = tf.layers.concatenate({ name: 'cat' }).apply([sum, inp]) as tf.SymbolicTensor;
  const gap = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(cat) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, name: 'logits' }).apply(gap) as tf.SymbolicTensor;
  const fn = tf.model({ inputs: inp, outputs: out, name: 'branchy' });
  return [await savedSeed('sequential', seq), await savedSeed('functional', fn)];
}

/** Every [parent, key] in a JSON tree, depth first. */
function slots(v: Json, out: Array<[Json[] | { [k: string]: Json }, string | number]> = []): typeof out {
  if (Array.isArray(v)) {
    v.forEach((x, i) => {
      out.push([v, i]);
      slots(x, out);
    });
  } else if (v && typeof v === 'object') {
    for (const k of Object.keys(v)) {
      out.push([v, k]);
      slots(v[k], out);
    }
  }
  return out;
}

const WEIRD: Json[] = [null, true, false, 0, -1, 1.5, 1e9, 2 ** 31, 2 ** 53, 1e308, -1e308, '', 'x', '<img src=x onerror=alert(1)>', [], {}, [1, 2, 3], { a: 1 }];
const NEST = '@@nest@@';
const CLASSES = ['FancyConv3000', 'Lambda', '__proto__', 'constructor', 'Conv2D', 'Dense', 'InputLayer', 'Model', 'Sequential', ''];

function get(p: Json[] | { [k: string]: Json }, k: string | number): Json {
  return (p as Record<string | number, Json>)[k];
}
function set(p: Json[] | { [k: string]: Json }, k: string | number, v: Json): void {
  (p as Record<string | number, Json>)[k] = v;
}

function mutateModelJson(seed: TfjsSeed, r: Rng): { json: string; shard: Uint8Array; shardPath: string; how: string } {
  const j = JSON.parse(JSON.stringify(seed.json)) as { [k: string]: Json };
  let shard = new Uint8Array(seed.shard);
  let shardPath = 'w.bin';
  const manifest = (j.weightsManifest as { [k: string]: Json }[])[0];
  const weights = manifest.weights as { [k: string]: Json }[];
  const all = slots(j);
  const hows: string[] = [];
  let nest: { depth: number; array: boolean } | null = null;
  const n = 1 + r.int(3);
  for (let k = 0; k < n; k++) {
    const op = r.int(12);
    if (op <= 1) {
      const [p, key] = r.pick(all);
      if (Array.isArray(p)) p.splice(Number(key), 1);
      else delete p[key as string];
      hows.push(`drop ${String(key)}`);
    } else if (op <= 3) {
      const [p, key] = r.pick(all);
      set(p, key, r.pick(WEIRD));
      hows.push(`retype ${String(key)}`);
    } else if (op === 4) {
      // a number anywhere becomes huge, negative or fractional
      const nums = all.filter(([p, key]) => typeof get(p, key) === 'number');
      const [p, key] = r.pick(nums);
      set(p, key, r.pick([1e9, 2 ** 31, -5, 0, 0.5, 1e308, 65536]));
      hows.push(`number ${String(key)}`);
    } else if (op === 5) {
      const cls = all.filter(([, key]) => key === 'class_name');
      const [p, key] = r.pick(cls);
      set(p, key, r.pick(CLASSES));
      hows.push(`class ${String(get(p, key))}`);
    } else if (op === 6) {
      const w = r.pick(weights);
      const shape = (w.shape as number[]).slice();
      const kind = r.int(4);
      if (kind === 0 && shape.length > 1) shape.reverse();
      else if (kind === 1) shape[r.int(shape.length)] += 1;
      else if (kind === 2) shape.push(1);
      else shape[r.int(shape.length)] = r.pick([-1, 0, 1e9, 0.5]);
      w.shape = shape;
      hows.push(`shape of ${String(w.name)} → [${shape}]`);
    } else if (op === 7) {
      const w = r.pick(weights);
      w.dtype = r.pick(['float64', 'int32', 'string', 'complex64', 'bool']);
      if (r.int(2)) w.quantization = { dtype: r.pick(['uint8', 'uint16', 'float16', 'int4']), scale: 0.1, min: 0 } as Json;
      hows.push(`dtype of ${String(w.name)}`);
    } else if (op === 8) {
      const cut = r.pick([0, 1, shard.length >> 1, shard.length - 1, shard.length + 4]);
      const out = new Uint8Array(cut);
      out.set(shard.subarray(0, Math.min(cut, shard.length)));
      shard = out;
      hows.push(`shard ${cut} bytes`);
    } else if (op === 9) {
      const p = r.pick(['missing.bin', '../outside.bin', '/etc/passwd', '', 'w.bin/../w.bin']);
      manifest.paths = [p];
      if (p === 'w.bin/../w.bin') shardPath = 'w.bin';
      hows.push(`shard path ${p}`);
    } else if (op === 10) {
      // deep nesting in place of a value
      // (spliced into the text below: building it as an object would overflow JSON.stringify's stack)
      nest = { depth: r.pick([100, 1000, 20000]), array: r.int(2) === 0 };
      const [p, key] = r.pick(all);
      set(p, key, NEST);
      hows.push(`nest ${nest.depth} at ${String(key)}`);
    } else {
      // duplicate a layer (same name twice) or point an inbound node at a missing layer
      const layers = (((j.modelTopology as { [k: string]: Json })?.model_config as { [k: string]: Json })?.config as { [k: string]: Json })?.layers;
      if (Array.isArray(layers) && layers.length) {
        if (r.int(2)) layers.push(JSON.parse(JSON.stringify(r.pick(layers))) as Json);
        else {
          const l = r.pick(layers) as { [k: string]: Json };
          if (Array.isArray(l.inbound_nodes)) l.inbound_nodes = [[['no_such_layer', 0, 0, {}]]];
          else l.name = 'renamed';
        }
      }
      hows.push('graph edit');
    }
  }
  let text = JSON.stringify(j);
  if (nest) {
    const open = nest.array ? '['.repeat(nest.depth) : '{"x":'.repeat(nest.depth);
    const close = (nest.array ? ']' : '}').repeat(nest.depth);
    text = text.split(JSON.stringify(NEST)).join(`${open}1${close}`);
  }
  if (r.int(10) === 0) {
    const at = r.int(text.length);
    text = r.int(2) ? text.slice(0, at) : text.slice(0, at) + String.fromCharCode(32 + r.int(95)) + text.slice(at + 1);
    hows.push(`text edit at ${at}`);
  }
  return { json: text, shard, shardPath, how: hows.join(', ') };
}

function tfjsCases(seeds: TfjsSeed[], r: Rng, count: number): Case[] {
  const cases: Case[] = seeds.map((s) => ({ kind: 'tfjs', what: `seed ${s.name}`, json: JSON.stringify(s.json), shards: [{ path: 'w.bin', bytes: s.shard }] }));
  for (let i = 0; i < count; i++) {
    const s = seeds[i % seeds.length];
    const m = mutateModelJson(s, r);
    cases.push({ kind: 'tfjs', what: `${s.name}: ${m.how}`, json: m.json, shards: [{ path: m.shardPath, bytes: m.shard }] });
  }
  return cases;
}

// ---------- HDF5

function h5Cases(bytes: Uint8Array, r: Rng, count: number): Case[] {
  const cases: Case[] = [{ kind: 'h5', what: 'seed keras.h5', bytes }];
  // The metadata (superblock, object headers, attributes with model_config) sits in the first 64 KiB;
  // most mutations go there, since flips in weight data only change numbers.
  const meta = Math.min(bytes.length, 65536);
  for (let i = 0; i < count; i++) {
    const b = new Uint8Array(bytes);
    let how: string;
    switch (r.int(5)) {
      case 0: {
        const n = 1 + r.int(16);
        for (let k = 0; k < n; k++) b[r.int(meta)] ^= 1 << r.int(8);
        how = `flip ${n} metadata bits`;
        break;
      }
      case 1: {
        const at = r.int(r.int(3) === 0 ? bytes.length : meta);
        cases.push({ kind: 'h5', what: `truncate at ${at}`, bytes: bytes.slice(0, at) });
        continue;
      }
      case 2: {
        const at = r.int(meta);
        const n = 1 + r.int(32);
        b.set(r.bytes(Math.min(n, b.length - at)), at);
        how = `overwrite ${n} bytes at ${at}`;
        break;
      }
      case 3: {
        // superblock fields: offsets/lengths sizes (13, 14), root group address (64..)
        const at = r.pick([8, 9, 13, 14, 24, 32, 40, 48, 56, 64, 72, 80, 88]);
        b[at] = r.int(256);
        how = `superblock byte ${at}`;
        break;
      }
      default: {
        const at = r.int(meta);
        const n = Math.min(b.length - at, 1 + r.int(4096));
        b.fill(r.pick([0, 0xff]), at, at + n);
        how = `fill ${n} bytes at ${at}`;
        break;
      }
    }
    cases.push({ kind: 'h5', what: how, bytes: b });
  }
  return cases;
}

// ------------------------------------------------------------------------------------------ runner

interface Outcome {
  ok: boolean;
  cnnvis?: boolean;
  name?: string;
  message?: string;
  stack?: string;
  hung?: boolean;
  ms: number;
}

class FuzzRunner {
  private worker: Worker | null = null;

  private async start(): Promise<Worker> {
    const w = new Worker(path.join(__dirname, 'helpers', 'fuzzWorker.js'), { resourceLimits: { maxOldGenerationSizeMb: 3072 } });
    await new Promise<void>((resolve, reject) => {
      w.once('message', () => resolve());
      w.once('error', reject);
    });
    return w;
  }

  async run(id: number, c: Case): Promise<Outcome> {
    if (!this.worker) this.worker = await this.start();
    const w = this.worker;
    const t0 = performance.now();
    const msg = c.kind === 'tfjs' ? { id, kind: c.kind, json: c.json, shards: c.shards } : { id, kind: c.kind, bytes: c.bytes };
    return new Promise<Outcome>((resolve) => {
      const done = (o: Omit<Outcome, 'ms'>) => {
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        resolve({ ...o, ms: performance.now() - t0 });
      };
      const onMessage = (m: { id: number } & Omit<Outcome, 'ms'>) => {
        if (m.id === id) done(m);
      };
      const onError = (e: Error) => {
        this.worker = null;
        done({ ok: false, cnnvis: false, name: 'WorkerCrash', message: e.message, stack: e.stack });
      };
      const timer = setTimeout(() => {
        this.worker = null;
        void w.terminate();
        done({ ok: false, hung: true, message: `no answer after ${CASE_LIMIT_MS} ms` });
      }, CASE_LIMIT_MS);
      w.on('message', onMessage);
      w.on('error', onError);
      w.postMessage(msg);
    });
  }

  async stop(): Promise<void> {
    await this.worker?.terminate();
    this.worker = null;
  }
}

const runner = new FuzzRunner();
const failuresDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-fuzz-failures-'));
const counts: Record<string, { ok: number; errors: number }> = {};

beforeAll(async () => {
  requireShared();
  await initBackend();
});
afterAll(async () => {
  await runner.stop();
  if (fs.readdirSync(failuresDir).length === 0) fs.rmSync(failuresDir, { recursive: true, force: true });
  else console.log(`fuzz failures saved in ${failuresDir}`);
});

/** Runs the cases; returns the descriptions of those that did not load and did not throw a CnnvisError. */
async function fuzz(label: string, cases: Case[]): Promise<string[]> {
  const bad: string[] = [];
  const c = (counts[label] = { ok: 0, errors: 0 });
  for (let i = 0; i < cases.length; i++) {
    const k = cases[i];
    const o = await runner.run(i, k);
    if (o.ok) c.ok++;
    else if (o.cnnvis && o.message && o.message.length < 4000) c.errors++;
    else {
      const file = path.join(failuresDir, `${label}-${i}${k.kind === 'tfjs' ? '.json' : '.bin'}`);
      fs.writeFileSync(file, k.kind === 'tfjs' ? k.json : k.bytes);
      if (k.kind === 'tfjs') for (const sh of k.shards) fs.writeFileSync(`${file}.${path.basename(sh.path) || 'shard'}`, sh.bytes);
      const why = o.hung ? `HANG (${o.message})` : o.cnnvis ? `CnnvisError too long (${o.message?.length} chars)` : `${o.name}: ${o.message}\n${o.stack?.split('\n').slice(1, 4).join('\n')}`;
      bad.push(`[${label} #${i}, seed ${SEED}] ${k.what}: ${why}`);
    }
  }
  return bad;
}

test('1000+ fuzz cases in all: images, model.json and HDF5 either load or throw a CnnvisError', async () => {
  const r = new Rng(SEED);
  const images = imageCases(r, 520, 120);
  const seeds = await tfjsSeeds();
  const models = tfjsCases(seeds, r, 320);
  const h5 = h5Cases(new Uint8Array(fs.readFileSync(path.join(MODELS, 'keras_mobilenet_0.25_224_h5', 'keras.h5'))), r, 110);
  const total = images.length + models.length + h5.length;
  expect(total).toBeGreaterThanOrEqual(1000);

  // The unmutated seeds load: the harness really runs the loaders.
  const seedResults = await fuzz('seeds', [...images.filter((c) => c.what.startsWith('seed')), ...models.slice(0, seeds.length), h5[0]]);
  expect(seedResults).toEqual([]);
  expect(counts.seeds.errors).toBe(0);

  const bad = [...(await fuzz('image', images)), ...(await fuzz('tfjs', models)), ...(await fuzz('h5', h5))];
  console.log(`fuzz (seed ${SEED}): ${total} cases; ${JSON.stringify(counts)}; shared data ${SHARED}`);
  expect(bad).toEqual([]);
  // Both outcomes occur in every family, so the mutations are neither all harmless nor all fatal.
  for (const label of ['image', 'tfjs', 'h5']) {
    expect(counts[label].ok).toBeGreaterThan(0);
    expect(counts[label].errors).toBeGreaterThan(0);
  }
}, 300000);
