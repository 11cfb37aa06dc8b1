/**
 * Our side of the benchmark for one model, in its own process (so its peak memory is its own):
 *
 *   node bench/dist/ours.js <model> '<settings json>' [--profile]
 *
 * Speaks run.ts' side protocol (bench/settings.ts SIDE_PROTOCOL): builds the model, prints
 * `BENCH_READY`, runs each method named on stdin and prints its `BENCH_RESULT`, and at the end of
 * stdin prints `BENCH_REPORT <json>` (a SideReport); progress goes to stderr. With
 * --profile, each fast method runs once more under tf.profile and the report lists the kernels that
 * took the most time (the wasm backend times each kernel synchronously).
 */
import {
  accelStatus,
  ortUnsupportedReason,
  explore,
  gradCam,
  guidedBackprop,
  initBackend,
  integratedGradients,
  logitsOf,
  maximize,
  occlusion,
  prepareInput,
  RGBImage,
  saliency,
  scoreCam,
  smoothGrad,
  tf,
} from 'cnnvis';
import * as readline from 'readline';
import { BenchModel, benchModel, BenchModelName, BENCH_MODELS } from './models';
import { BenchMethod, BENCH_METHODS, BenchSettings, FAST_MAX_CALLS, FAST_MIN_SECONDS, KernelTime, scaleCalls, ScalePoint, SCALE_SIZES, SideReport, SideResult, warmUp } from './settings';

const pictures = new Map<string, RGBImage>();

/** A smooth, seeded test picture (different seeds give different images), made once per seed. */
export function testImage(seed: number, size = 224): RGBImage {
  const key = `${seed}:${size}`;
  let im = pictures.get(key);
  if (!im) pictures.set(key, (im = makeTestImage(seed, size)));
  return im;
}

/**
 * The pictures the timed calls use, made beforehand on both sides: a method's time is the model's work
 * from a picture, not the making of the picture.
 */
export function makeTestImages(repeats: number): void {
  for (let base = 100; base <= 1000; base += 100) for (let i = -2; i <= Math.max(repeats, 5) + 1; i++) testImage(base + i);
}

function makeTestImage(seed: number, size: number): RGBImage {
  const data = new Uint8Array(size * size * 3);
  const f = [0.7, 1.3, 2.1].map((v) => v + (seed % 7) * 0.11);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) {
        const v = Math.sin((x / size) * 6.28 * f[c] + seed) * Math.cos((y / size) * 6.28 * f[(c + 1) % 3] - seed * 0.5);
        data[(y * size + x) * 3 + c] = Math.round(127.5 + 120 * v);
      }
    }
  }
  return { width: size, height: size, data };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function log(msg: string): void {
  process.stderr.write(`[ours] ${msg}\n`);
}

/**
 * Times `call(i)` for i = 0..n−1 after `warmup` untimed calls (i = −1, −2, −1, …; see warmUp); a
 * method with a warm-up (a fast one) is called again (i = 0, 1, … over) until its timed calls add up
 * to FAST_MIN_SECONDS (at most FAST_MAX_CALLS calls), so a few milliseconds' pass gets more than five samples. Returns
 * the median seconds and the live tensors added per call after the first (undefined after a single
 * call without warm-up).
 */
async function timeCalls(n: number, warmup: number, call: (i: number) => Promise<unknown>, distinct = false): Promise<{ seconds: number; tensorsPerCall?: number; n: number }> {
  if (warmup > 0) await warmUp(warmup, (w) => call(-1 - (w % 2)));
  // Counted from after a first call (which may build per-model caches): the warm-up, else timed call 0.
  let before = warmup > 0 ? tf.memory().numTensors : -1;
  const times: number[] = [];
  let total = 0;
  for (let k = 0; k < n || (warmup > 0 && total < FAST_MIN_SECONDS && k < FAST_MAX_CALLS); k++) {
    const t0 = performance.now();
    await call(distinct ? k : k % n);
    times.push((performance.now() - t0) / 1000);
    total += times[times.length - 1];
    if (before < 0) before = tf.memory().numTensors;
  }
  const counted = warmup > 0 ? times.length : times.length - 1;
  const tensorsPerCall = counted > 0 ? (tf.memory().numTensors - before) / counted : undefined;
  // Profiled: one extra call of the methods with a warm-up (the slow ones use the same kernels).
  if (profiling && warmup > 0) lastProfile = await kernelProfile(() => call(n));
  return { seconds: median(times), tensorsPerCall, n: times.length };
}

let profiling = false;
let lastProfile: KernelTime[] | undefined;

/** Kernels by total time in one call, largest first (the top 8). */
async function kernelProfile(call: () => Promise<unknown>): Promise<KernelTime[]> {
  const info = await tf.profile(async () => {
    await call();
  });
  const total = new Map<string, KernelTime>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const e = total.get(k.name) ?? { kernel: k.name, ms: 0, calls: 0 };
    e.ms += ms;
    e.calls += 1;
    total.set(k.name, e);
  }
  return [...total.values()].sort((a, b) => b.ms - a.ms).slice(0, 8).map((e) => ({ ...e, ms: Math.round(e.ms) }));
}

type Runner = (bm: BenchModel, s: BenchSettings) => Promise<Omit<SideResult, 'model' | 'method'>>;

const quiet = { display: false, progress: false } as const;

const RUNNERS: Record<BenchMethod, Runner> = {
  forward: async ({ model }, s) => {
    const r = await timeCalls(s.repeats, 1, async (i) => {
      const input = prepareInput(model, testImage(100 + i));
      const l = logitsOf(model, input.batch);
      l.dataSync();
      tf.dispose([l, input.batch]);
    });
    return { ...r, note: '1 image' };
  },
  gradcam: async ({ model, camLayer }, s) => {
    const r = await timeCalls(s.repeats, 1, (i) => gradCam(model, testImage(200 + i), { layer: camLayer, classIndex: 3, display: false }));
    return { ...r, note: `new image, layer ${camLayer}` };
  },
  gradcam_class_change: async ({ model, camLayer }, s) => {
    const ex = await explore.CamExplorer.open(model, testImage(300), { layer: camLayer, display: false, topK: 1 });
    try {
      const n = Math.max(5, s.repeats);
      // Classes never asked for before (the cache holds the top class only).
      const r = await timeCalls(n, 1, (i) => ex.map('gradcam', camLayer, 500 + i), true);
      return { ...r, note: 'CamExplorer, cached image, a new class' };
    } finally {
      ex.close();
    }
  },
  featuremap_layer_change: async ({ model, exploreLayers }, s) => {
    const ex = await explore.FeatureMapExplorer.open(model, testImage(400), { display: false });
    try {
      const layers = ex.get('layers').map((l) => l.name);
      const order = exploreLayers.map((name) => layers.indexOf(name)).filter((i) => i >= 0);
      const n = Math.max(5, s.repeats);
      const r = await timeCalls(n, 1, async (i) => {
        const idx = order[(i + order.length) % order.length];
        ex.set({ layer_index: idx === ex.get('layer_index') ? order[(i + 1 + order.length) % order.length] : idx });
        await ex.settled();
      });
      return { ...r, note: 'FeatureMapExplorer, one page of 16 channels' };
    } finally {
      ex.close();
    }
  },
  saliency: async ({ model }, s) => {
    return timeCalls(s.repeats, 1, (i) => saliency(model, testImage(500 + i), { classIndex: 3, ...quiet }));
  },
  guided_backprop: async ({ model }, s) => {
    return timeCalls(s.repeats, 1, (i) => guidedBackprop(model, testImage(600 + i), { classIndex: 3, ...quiet }));
  },
  integrated_gradients: async ({ model }, s) => {
    const r = await timeCalls(s.slowRepeats, 0, (i) =>
      integratedGradients(model, testImage(700 + i), { classIndex: 3, steps: s.igSteps, baseline: 'black', batchSize: s.batchSize, ...quiet }),
    );
    return { ...r, note: `${s.igSteps} steps (${s.igSteps + 1} gradients), batch ${s.batchSize}` };
  },
  smoothgrad: async ({ model }, s) => {
    const r = await timeCalls(s.slowRepeats, 0, (i) =>
      smoothGrad(model, testImage(800 + i), { classIndex: 3, samples: s.smoothSamples, batchSize: s.batchSize, ...quiet }),
    );
    return { ...r, note: `${s.smoothSamples} samples, batch ${s.batchSize}` };
  },
  occlusion: async ({ model }, s) => {
    const p = s.occlusionPatch;
    const windows = Math.floor(model.inputHeight / p) * Math.floor(model.inputWidth / p);
    const r = await timeCalls(s.slowRepeats, 0, (i) =>
      occlusion(model, testImage(900 + i), { classIndex: 3, patchSize: p, stride: p, batchSize: s.batchSize, ...quiet }),
    );
    return { ...r, note: `${windows} windows ${p}×${p}, batch ${s.batchSize}` };
  },
  scorecam: async ({ model, camLayer }, s) => {
    const r = await timeCalls(s.slowRepeats, 0, (i) =>
      scoreCam(model, testImage(1000 + i), { layer: camLayer, classIndex: 3, topN: s.scoreCamChannels, batchSize: s.batchSize, display: false }),
    );
    return { ...r, note: `${s.scoreCamChannels} channels of ${camLayer}, batch ${s.batchSize}` };
  },
  activation_max_page: async ({ model, pageLayer }, s) => {
    // One page of patterns as the filter explorer computes it (its filters in one batch); each
    // timed call asks for a new page, so nothing comes from its pattern cache.
    const ex = await explore.FilterExplorer.open(model, {
      layer: pageLayer,
      pageSize: s.pageFilters,
      steps: 1,
      patternSize: s.pagePatternSize,
      display: false,
    });
    try {
      // Warm-up: the page's graphs built by a one-step page (patterns are kept per step count).
      ex.set({ mode: 'patterns' });
      await ex.settled();
      const r = await timeCalls(s.slowRepeats, 0, async (i) => {
        const before = ex.computed;
        ex.set({ steps: s.pageSteps, page: i });
        await ex.settled();
        if (ex.get('status') === 'error') throw new Error(`filter explorer: ${ex.get('message')}`);
        if (ex.computed - before !== s.pageFilters) throw new Error(`filter explorer made ${ex.computed - before} patterns, expected ${s.pageFilters}`);
      });
      return { ...r, note: `FilterExplorer, a page of ${s.pageFilters} filters of ${pageLayer}, ${s.pageSteps} steps at ${s.pagePatternSize}×${s.pagePatternSize}` };
    } finally {
      ex.close();
    }
  },
  scaling: async ({ model, camLayer }, s) => {
    const t0 = performance.now();
    const points: ScalePoint[] = [];
    const predict = (images: RGBImage[]) => {
      const parts = images.map((im) => prepareInput(model, im).batch);
      const batch = parts.length === 1 ? parts[0] : (tf.concat(parts) as tf.Tensor4D);
      const l = logitsOf(model, batch, images.length);
      l.dataSync();
      tf.dispose([l, batch, ...parts]);
    };
    // cnnvis has no batched Grad-CAM: one call per image, as a user would write it.
    const cams = async (images: RGBImage[]) => {
      for (const im of images) await gradCam(model, im, { layer: camLayer, classIndex: 3, display: false });
    };
    for (const n of SCALE_SIZES.filter((k) => k <= s.scaleMax)) {
      const images = Array.from({ length: n }, (_, k) => testImage(2000 + k));
      const calls = scaleCalls(n, s.repeats);
      for (const [task, fn] of [['predict', async (ims: RGBImage[]) => predict(ims)], ['gradcam', cams]] as const) {
        // Warm-up at the timed shape: a new batch size costs the engine a first run (Grad-CAM runs one image at a time).
        await fn(task === 'predict' ? images : images.slice(0, 1));
        const r = await timeCalls(calls, 0, () => fn(images));
        points.push({ task, images: n, seconds: r.seconds, calls });
        log(`${task} x${n}: ${r.seconds.toFixed(3)} s (${(n / r.seconds).toFixed(1)} images/s)`);
      }
    }
    return { seconds: (performance.now() - t0) / 1000, n: 1, points, note: `predictions (logitsOf, one batch) and Grad-CAM (one gradCam call per image) of ${SCALE_SIZES.filter((k) => k <= s.scaleMax).join(', ')} images` };
  },
  activation_max: async ({ model, maxLayer }, s) => {
    const r = await timeCalls(s.slowRepeats, 0, (i) =>
      maximize(model, `${maxLayer}:0`, { steps: s.actmaxSteps, size: s.actmaxSize, seed: i, display: false, progress: false }),
    );
    return { ...r, note: `${s.actmaxSteps} steps at ${s.actmaxSize}×${s.actmaxSize}, ${maxLayer}:0, Fourier, standard transforms` };
  },
};

function engineName(model?: tf.LayersModel): string {
  const backend = tf.getBackend();
  let name = backend;
  if (backend === 'wasm') {
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    name = `tfjs ${tf.version.tfjs} wasm (${simd ? 'SIMD' : 'no SIMD'}, ${threads ? 'threads' : '1 thread'})`;
  }
  // Forward and gradient passes of a model the ONNX Runtime engine compiles run there.
  const why = model ? ortUnsupportedReason(model) : 'no model';
  return why ? `${name}; onnxruntime ${accelStatus()}${model && accelStatus().startsWith('onnxruntime') ? ` (not for this model: ${why})` : ''}` : `${name} + ${accelStatus()}`;
}

/** Threads of the heavy work: ONNX Runtime's intra-op threads when it runs the model, else 1 (TF.js wasm here has none). */
function engineThreads(model: tf.LayersModel): number {
  const m = /^onnxruntime \((\d+) threads?\)/.exec(accelStatus());
  return m && !ortUnsupportedReason(model) ? Number(m[1]) : 1;
}

/** Method names from stdin, one per line, as run.ts sends them (EOF ends the list). */
async function* methodLines(): AsyncGenerator<string> {
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of rl) if (line.trim()) yield line.trim();
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  profiling = args.includes('--profile');
  const [name, settingsJson] = args.filter((a) => a !== '--profile');
  if (!(BENCH_MODELS as readonly string[]).includes(name)) throw new Error(`unknown model '${name}'; models: ${BENCH_MODELS.join(', ')}`);
  const settings = JSON.parse(settingsJson) as BenchSettings;
  await initBackend();
  makeTestImages(settings.repeats);
  const t0 = performance.now();
  const bm = benchModel(name as BenchModelName);
  const engine = engineName(bm.model.net);
  const threads = engineThreads(bm.model.net);
  log(`${name}: built with random weights in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${engine}`);
  // High-water mark after building and randomizing (transient copies of the weights included).
  const buildPeakRssBytes = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(`BENCH_READY ${JSON.stringify({ engine, threads })}\n`);
  const results: SideResult[] = [];
  const rss = () => process.resourceUsage().maxRSS * 1024;
  // The memory target compares the methods' sequence; the scaling table (ours one image at a time,
  // PyTorch whole batches) reports its own peak, so run.ts sends it last.
  let peakRssBytes: number | null = null;
  for await (const method of methodLines()) {
    if (!(BENCH_METHODS as readonly string[]).includes(method)) throw new Error(`unknown method '${method}'`);
    if (method === 'scaling') peakRssBytes = rss();
    lastProfile = undefined;
    const r = await RUNNERS[method as BenchMethod](bm, settings);
    const result: SideResult = { model: name, method: method as BenchMethod, ...r, ...(lastProfile ? { kernels: lastProfile } : {}) };
    results.push(result);
    log(`${name} ${method}: ${r.seconds.toFixed(3)} s (n=${r.n}, tensors/call ${r.tensorsPerCall ?? '—'}; peak RSS so far ${(process.resourceUsage().maxRSS / 2 ** 20).toFixed(2)} GiB, now ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)})`);
    process.stdout.write(`BENCH_RESULT ${JSON.stringify(result)}\n`);
  }
  const report: SideReport = {
    side: 'ours',
    model: name,
    results,
    peakRssBytes: peakRssBytes ?? rss(),
    ...(peakRssBytes !== null ? { scalingPeakRssBytes: rss() } : {}),
    buildPeakRssBytes,
    engine,
    threads,
  };
  process.stdout.write(`BENCH_REPORT ${JSON.stringify(report)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
