/**
 * The floor of the engine: the reference model exported whole from PyTorch (bench/reference.py
 * --export: one graph, constant weights) in a plain onnxruntime-node session with every graph
 * optimization, on the benchmark's threads. In its own process, without cnnvis (which sets up the
 * same binding its own way).
 *
 *   node bench/dist/floor.js <model.onnx> <threads> '<settings json>' [forward,scaling]
 *
 * Prints `BENCH_FLOOR <json>` (a FloorReport): the median seconds of one forward pass of one image
 * and, with `scaling`, of batches of 1, 4, 16, 64 images (up to the settings' scaleMax).
 */
import { BenchSettings, FAST_MAX_CALLS, FAST_MIN_SECONDS, FloorReport, scaleCalls, SCALE_SIZES, ScalePoint, warmUp } from './settings';

// The package's own API (this process never loads cnnvis).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const ort = require('onnxruntime-node') as typeof import('onnxruntime-node');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Deterministic inputs in [−1, 1) (the floor's time does not depend on the values). */
function input(n: number): import('onnxruntime-node').Tensor {
  const data = new Float32Array(n * 3 * 224 * 224);
  for (let i = 0; i < data.length; i++) data[i] = Math.sin(i * 0.001) * 0.9;
  return new ort.Tensor('float32', data, [n, 3, 224, 224]);
}

async function main(): Promise<void> {
  const [file, threadArg, settingsJson, what = 'forward,scaling'] = process.argv.slice(2);
  const threads = Number(threadArg);
  if (!file || !Number.isInteger(threads) || threads < 1 || !settingsJson) {
    throw new Error("usage: node bench/dist/floor.js <model.onnx> <threads> '<settings json>' [forward,scaling]");
  }
  const s = JSON.parse(settingsJson) as BenchSettings;
  const parts = what.split(',');
  const session = await ort.InferenceSession.create(file, {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
  });
  const [inName] = session.inputNames;
  /** Median of `calls` timed runs after a warm-up; with `minSeconds`, more until they add up to it (as the sides' fast methods). */
  const time = async (n: number, calls: number, minSeconds = 0): Promise<number> => {
    const x = input(n);
    await warmUp(1, () => session.run({ [inName]: x })); // as the sides' fast methods
    const times: number[] = [];
    let total = 0;
    for (let i = 0; i < calls || (total < minSeconds && i < FAST_MAX_CALLS); i++) {
      const t0 = performance.now();
      await session.run({ [inName]: x });
      times.push((performance.now() - t0) / 1000);
      total += times[times.length - 1];
    }
    return median(times);
  };
  const report: FloorReport = { threads, forwardSeconds: null, points: [], peakRssBytes: 0 };
  if (parts.includes('forward')) {
    report.forwardSeconds = await time(1, Math.max(5, s.repeats), FAST_MIN_SECONDS);
    process.stderr.write(`[floor] forward: ${(report.forwardSeconds * 1000).toFixed(1)} ms\n`);
  }
  if (parts.includes('scaling')) {
    for (const n of SCALE_SIZES.filter((k) => k <= s.scaleMax)) {
      const calls = scaleCalls(n, s.repeats);
      const p: ScalePoint = { task: 'predict', images: n, seconds: await time(n, calls), calls };
      report.points.push(p);
      process.stderr.write(`[floor] predict x${n}: ${p.seconds.toFixed(3)} s (${(n / p.seconds).toFixed(1)} images/s)\n`);
    }
  }
  report.peakRssBytes = process.resourceUsage().maxRSS * 1024;
  await session.release();
  process.stdout.write(`BENCH_FLOOR ${JSON.stringify(report)}\n`);
}

main().catch((e) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exit(1);
});
