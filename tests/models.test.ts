import * as fs from 'fs';
import * as http from 'http';
import { AddressInfo } from 'net';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../kernel/src/engine/backend';
import { CnnvisError } from '../kernel/src/errors';
import { downloadTo, fetchChecked } from '../kernel/src/models/cache';
import { loadModel } from '../kernel/src/models/load';
import { endsInSoftmax } from '../kernel/src/models/model';
import { ensureCached, modelInCache, NamedModel } from '../kernel/src/models/registry';
import { loadTfjsLayersModel } from '../kernel/src/models/tfjs';
import { tmpDirs, withEnv } from './helpers/env';
import { MODELS, requireShared } from './helpers/shared';

const M25 = path.join(MODELS, 'mobilenet_v1_0.25_224');
const M75 = path.join(MODELS, 'mobilenet_v1_0.75_224');

const tmpDir = tmpDirs('cnnvis-models-');

interface Served {
  url: string;
  /** The request URLs, in order. */
  hits: string[];
  close: () => Promise<void>;
}

/** Serves a folder on 127.0.0.1; `truncate` cuts every body in half after announcing its full length. */
function serve(dir: string, opts: { truncate?: boolean } = {}): Promise<Served> {
  const hits: string[] = [];
  const server = http.createServer((req, res) => {
    const file = path.join(dir, decodeURIComponent((req.url ?? '/').split('?')[0]));
    hits.push(req.url ?? '');
    if (!file.startsWith(dir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    const body = fs.readFileSync(file);
    res.writeHead(200, { 'content-length': String(body.length) });
    if (opts.truncate) {
      res.write(body.subarray(0, body.length >> 1));
      res.destroy();
    } else {
      res.end(body);
    }
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}`, hits, close: () => new Promise((r) => server.close(() => r())) });
    });
  });
}

beforeAll(async () => {
  requireShared();
  await initBackend();
});

describe('TF.js layers models', () => {
  test('loads from a folder, a model.json path and an http URL with identical weights', async () => {
    const a = await loadTfjsLayersModel(M25);
    const b = await loadTfjsLayersModel(path.join(M25, 'model.json'));
    const srv = await serve(M25);
    try {
      const c = await loadTfjsLayersModel(`${srv.url}/model.json`);
      expect(srv.hits).toEqual(['/model.json', '/group1-shard1of1.bin']);
      expect(a.countParams()).toBe(475544);
      for (const m of [b, c]) {
        const wa = a.getWeights();
        const wm = m.getWeights();
        expect(wm.length).toBe(wa.length);
        for (let i = 0; i < wa.length; i += 17) expect(tf.max(tf.abs(wa[i].sub(wm[i]))).dataSync()[0]).toBe(0);
      }
    } finally {
      await srv.close();
    }
  });

  test('loads an old model.json without a format key and shards without .bin', async () => {
    const json = JSON.parse(fs.readFileSync(path.join(M75, 'model.json'), 'utf8'));
    expect(json.format).toBeUndefined();
    expect(json.weightsManifest[0].paths[0]).toBe('group1-shard1of1');
    const m = await loadTfjsLayersModel(M75);
    expect(m.countParams()).toBe(2601976);
    expect(endsInSoftmax(m)).toBe(true);
  });

  test('clear errors for missing, truncated, wrong-size and malformed models', async () => {
    const dir = tmpDir();
    const json = JSON.parse(fs.readFileSync(path.join(M25, 'model.json'), 'utf8'));
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    await expect(loadTfjsLayersModel(dir)).rejects.toThrow(/weight shard 'group1-shard1of1.bin', which is missing/);
    const shard = fs.readFileSync(path.join(M25, 'group1-shard1of1.bin'));
    fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), shard.subarray(0, 1000));
    await expect(loadTfjsLayersModel(dir)).rejects.toThrow(/shards hold 1000 bytes but the manifest declares 1902176 bytes/);
    fs.writeFileSync(path.join(dir, 'model.json'), '{"modelTopology": ');
    await expect(loadTfjsLayersModel(dir)).rejects.toThrow(/is not valid JSON/);
    fs.writeFileSync(path.join(dir, 'model.json'), '{"format": "graph-model", "modelTopology": {}}');
    await expect(loadTfjsLayersModel(dir)).rejects.toThrow(/format 'graph-model'; cnnvis loads layers models/);
    const bad = JSON.parse(JSON.stringify(json));
    bad.modelTopology.model_config.config.layers[1].class_name = 'FancyConv3000';
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(bad));
    fs.writeFileSync(path.join(dir, 'group1-shard1of1.bin'), shard);
    await expect(loadTfjsLayersModel(dir)).rejects.toThrow(/FancyConv3000/);
    await expect(loadTfjsLayersModel(path.join(dir, 'nope'))).rejects.toThrow(CnnvisError);
    // A hostile model.json must not read files outside its folder.
    for (const evil of ['../group1-shard1of1.bin', '/etc/passwd']) {
      const j = JSON.parse(JSON.stringify(json));
      j.weightsManifest[0].paths = [evil];
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(j));
      await expect(loadTfjsLayersModel(dir)).rejects.toThrow(/outside its folder; shard paths must stay inside/);
    }
    fs.rmSync(dir, { recursive: true });
  });
});

describe('named models and the cache', () => {
  test('a named model is found in CNNVIS_HOME and knows its preprocessing, labels and softmax', async () => {
    const m = await loadModel('mobilenet_v1_0.25_224');
    expect(m.preprocess).toBe('mobilenet');
    expect(m.softmax).toBe(true);
    expect(m.labels?.names.length).toBe(1000);
    expect(m.label(243)).toBe('bull_mastiff');
    expect(m.source).toBe('mobilenet_v1_0.25_224');
  });

  test('modelInCache says whether a named model is in CNNVIS_HOME (the notebooks choose VGG16 or MobileNet by it)', () => {
    expect(modelInCache('mobilenet_v1_0.25_224')).toBe(true);
    // The seeded cache has no VGG16 weights file (../shared/data has none).
    expect(fs.existsSync(path.join(process.env.CNNVIS_HOME as string, 'models', 'vgg16', 'vgg16_weights_tf_dim_ordering_tf_kernels.h5'))).toBe(false);
    expect(modelInCache('vgg16')).toBe(false);
    expect(() => modelInCache('vgg19')).toThrow(CnnvisError);
    expect(() => modelInCache('vgg19')).toThrow(/unknown named model 'vgg19'; named models: .*vgg16/);
  });

  test('preprocessing: family from the name, override, unit for unknown models, and a clear error for bad names', async () => {
    expect((await loadModel(M25)).preprocess).toBe('mobilenet');
    expect((await loadModel('mobilenet_v1_0.25_224', { preprocess: 'unit' })).preprocess).toBe('unit');
    const dir = tmpDir();
    const json = JSON.parse(fs.readFileSync(path.join(M25, 'model.json'), 'utf8'));
    json.modelTopology.model_config.config.name = 'my_net';
    fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
    fs.symlinkSync(path.join(M25, 'group1-shard1of1.bin'), path.join(dir, 'group1-shard1of1.bin'));
    expect((await loadModel(dir)).preprocess).toBe('unit');
    await expect(loadModel('mobilenet_v1_0.25_224', { preprocess: 'caffe' })).rejects.toThrow(/unknown preprocessing 'caffe'; valid: mobilenet, vgg16, torch, unit, none/);
    fs.rmSync(dir, { recursive: true });
  });

  test('an unknown model name lists the named models', async () => {
    await expect(loadModel('resnet9000')).rejects.toThrow(/unknown model 'resnet9000'.*demo, mobilenet_v1_0.25_224.*vgg16/);
  });

  test('offline with an empty cache: the error says which file to put where', async () => {
    const home = tmpDir();
    await withEnv({ CNNVIS_HOME: home }, async () => {
      await expect(loadModel('mobilenet_v1_0.50_224')).rejects.toThrow(
        new RegExp(`model 'mobilenet_v1_0.50_224' is not in the cache.*put model.json and the weight shards it lists, from https://storage.googleapis.com/tfjs-models/tfjs/mobilenet_v1_0.50_224/model.json .*into ${home}/models/mobilenet_v1_0.50_224/`),
      );
      await expect(loadModel('vgg16')).rejects.toThrow(/put vgg16_weights_tf_dim_ordering_tf_kernels.h5, from https:.*into .*models\/vgg16\//);
    });
  });

  /** Runs fn online with an empty cache and a server of `dir` (closed afterwards). */
  async function withServedCache(dir: string, opts: { truncate?: boolean }, fn: (srv: Served, home: string) => Promise<void>): Promise<void> {
    const home = tmpDir();
    await withEnv({ CNNVIS_HOME: home, CNNVIS_OFFLINE: undefined }, async () => {
      const srv = await serve(dir, opts);
      try {
        await fn(srv, home);
      } finally {
        await srv.close();
      }
    });
  }

  test('downloads a tfjs model once into the cache, then works offline', async () => {
    await withServedCache(M25, {}, async (srv) => {
      const spec: NamedModel = { name: 'tiny', kind: 'tfjs-layers', description: 'test', url: `${srv.url}/model.json`, preprocess: 'mobilenet', labels: 'imagenet' };
      const dir = await ensureCached(spec);
      expect(fs.readdirSync(dir).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
      expect(fs.readFileSync(path.join(dir, 'group1-shard1of1.bin')).equals(fs.readFileSync(path.join(M25, 'group1-shard1of1.bin')))).toBe(true);
      const hits = srv.hits.length;
      process.env.CNNVIS_OFFLINE = '1';
      await ensureCached(spec);
      expect(srv.hits.length).toBe(hits);
      expect((await loadTfjsLayersModel(dir)).countParams()).toBe(475544);
    });
  });

  test('an interrupted download leaves nothing that loads as a model', async () => {
    await withServedCache(M25, { truncate: true }, async (srv, home) => {
      const spec: NamedModel = { name: 'cut', kind: 'tfjs-layers', description: 'test', url: `${srv.url}/model.json`, preprocess: 'unit', labels: 'imagenet' };
      await expect(ensureCached(spec)).rejects.toThrow(/not in the cache and could not be downloaded/);
      const dir = path.join(home, 'models', 'cut');
      const left = fs.existsSync(dir) ? fs.readdirSync(dir) : [];
      expect(left).not.toContain('model.json');
      expect(left.filter((f) => f.includes('.part'))).toEqual([]);
    });
  });

  test('downloads check hashes and refuse other URL schemes', async () => {
    await withEnv({ CNNVIS_OFFLINE: undefined }, async () => {
      const dir = tmpDir();
      const src = `file://${path.join(M25, 'model.json')}`;
      await expect(downloadTo(src, path.join(dir, 'x.json'), { md5: '0'.repeat(32) })).rejects.toThrow(/md5 is [0-9a-f]{32}, expected 0{32}/);
      expect(fs.readdirSync(dir)).toEqual([]);
      await downloadTo(src, path.join(dir, 'x.json'), { size: fs.statSync(path.join(M25, 'model.json')).size });
      expect(fs.readdirSync(dir)).toEqual(['x.json']);
      await expect(fetchChecked('ftp://example.invalid/model.json')).rejects.toThrow(/only http, https and file URLs are allowed/);
      await expect(fetchChecked('/etc/passwd')).rejects.toThrow(/not a URL/);
    });
  });
});
