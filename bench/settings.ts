/**
 * What the benchmark runs, shared by our side and the PyTorch reference (passed to reference.py as
 * JSON, so both sides do the same work: same image size, steps, samples, windows, channels, batches).
 */
import { BenchModelName } from './models';

export const BENCH_METHODS = [
  'forward',
  'gradcam',
  'gradcam_class_change',
  'featuremap_layer_change',
  'saliency',
  'guided_backprop',
  'integrated_gradients',
  'smoothgrad',
  'occlusion',
  'scorecam',
  'activation_max',
  'activation_max_page',
  'scaling',
] as const;
export type BenchMethod = (typeof BENCH_METHODS)[number];

export interface BenchSettings {
  /** Timed calls of a fast method (after one warm-up call); the median is reported. */
  repeats: number;
  /** Timed calls of a slow method (IG, SmoothGrad, occlusion, Score-CAM, activation maximization; no warm-up). */
  slowRepeats: number;
  /**
   * Images per forward/backward pass for the batched methods (both sides). 4, not cnnvis' default 16:
   * with 16, MobileNetV2's input gradients at 224×224 overflow the wasm heap ("memory access out of
   * bounds"), and VGG16's would not fit the 2 GiB target.
   */
  batchSize: number;
  /** Integrated gradients: Riemann intervals (trapezoid: steps + 1 gradient evaluations). */
  igSteps: number;
  /** SmoothGrad: noisy samples. */
  smoothSamples: number;
  /** Occlusion: square patch side = stride (non-overlapping windows; 14 → 16×16 = 256 windows at 224). */
  occlusionPatch: number;
  /** Score-CAM: channels of the CAM layer used (largest activation variance first). */
  scoreCamChannels: number;
  /** Activation maximization: steps and image side (Fourier parameterization, standard transforms). */
  actmaxSteps: number;
  actmaxSize: number;
  /** Activation maximization per page: the filter explorer's page of this many filters (one batch)… */
  pageFilters: number;
  /** …optimized for this many steps… */
  pageSteps: number;
  /** …at this pattern side (the explorer's default: the model input, at most 128). */
  pagePatternSize: number;
  /** The scaling table's largest image count (of 1, 4, 16, 64). */
  scaleMax: number;
}

/**
 * A fast method (one with a warm-up call) is timed until its calls add up to this many seconds, at
 * least `repeats` calls and at most FAST_MAX_CALLS, on every side and the floor: five calls of a
 * few-millisecond pass are over before a disturbance of the machine is, and the median then shows it.
 */
export const FAST_MIN_SECONDS = 1;
export const FAST_MAX_CALLS = 50;
/**
 * …after warm-up calls (i = −1, −2, −1, …) that add up to this many seconds (at least one, at most
 * FAST_MAX_CALLS), on every side and the floor: the first method a process times after building its
 * model ran 20–30 % slower over its first half second (ours: MobileNetV2's forward pass 8 ms, then
 * 6 ms in the same run; PyTorch's 34, then 27 ms) when one call was the warm-up.
 */
export const FAST_WARMUP_SECONDS = 0.5;

/** Untimed calls `call(w)`, w = 0, 1, …: at least `calls`, more until they add up to FAST_WARMUP_SECONDS (at most FAST_MAX_CALLS). */
export async function warmUp(calls: number, call: (w: number) => Promise<unknown>): Promise<void> {
  for (let w = 0, spent = 0; w < calls || (spent < FAST_WARMUP_SECONDS && w < FAST_MAX_CALLS); w++) {
    const t0 = performance.now();
    await call(w);
    spent += (performance.now() - t0) / 1000;
  }
}

/** Image counts of the scaling table (predictions and Grad-CAM of N images; up to `scaleMax`). */
export const SCALE_SIZES = [1, 4, 16, 64] as const;

/** Timed calls of an N-image batch: enough for about 16 images, at least one, at most `repeats`. */
export function scaleCalls(images: number, repeats: number): number {
  return Math.max(1, Math.min(repeats, Math.ceil(16 / images)));
}

/**
 * The full run: every model and method in well under 30 minutes on 2 cores. Fewer IG steps,
 * SmoothGrad samples, occlusion windows, Score-CAM channels and ascent steps than the issue's
 * headline settings (50, 25, 256, 512, 40): each of those methods costs the same per gradient /
 * forward pass whatever the count, so the ratio carries over; the counts are the same on both sides.
 */
export const FULL_SETTINGS: BenchSettings = {
  // Five calls: this machine's speed wanders by 10-30 % over seconds; a median of five steadies the ratios.
  repeats: 5,
  slowRepeats: 1,
  batchSize: 4,
  igSteps: 20,
  smoothSamples: 10,
  occlusionPatch: 28,
  scoreCamChannels: 32,
  actmaxSteps: 20,
  actmaxSize: 150,
  pageFilters: 8,
  pageSteps: 16,
  pagePatternSize: 128,
  scaleMax: 64,
};

/** `--quick`: MobileNetV2 only, smaller settings; minutes, not tens of minutes. */
export const QUICK_SETTINGS: BenchSettings = {
  repeats: 3,
  slowRepeats: 1,
  batchSize: 4,
  igSteps: 15,
  smoothSamples: 8,
  occlusionPatch: 56,
  scoreCamChannels: 16,
  actmaxSteps: 10,
  actmaxSize: 150,
  pageFilters: 8,
  pageSteps: 8,
  pagePatternSize: 128,
  scaleMax: 16,
};

export const QUICK_MODELS: BenchModelName[] = ['mobilenetv2'];

/** One measured method of one model, on one side. */
export interface SideResult {
  model: string;
  method: BenchMethod;
  /** Median seconds per call. */
  seconds: number;
  /** Timed calls. */
  n: number;
  /** Live tensors added per call after the first call (ours only; 0 = flat; absent after one call without warm-up). */
  tensorsPerCall?: number;
  /** What the call does, e.g. '256 windows 14×14'. */
  note?: string;
  /** With --profile (ours): the kernels that took the most time in one call. */
  kernels?: KernelTime[];
  /** Method `scaling`: seconds per batch size and task (its `seconds` is the whole section's time). */
  points?: ScalePoint[];
}

/** One cell of the scaling table: N images of one task, the median seconds of `calls` timed calls. */
export interface ScalePoint {
  task: 'predict' | 'gradcam';
  images: number;
  seconds: number;
  calls: number;
}

/** What bench/floor.ts reports: whole-model ONNX Runtime on the exported reference model. */
export interface FloorReport {
  threads: number;
  /** One image, median seconds (null when not asked for). */
  forwardSeconds: number | null;
  /** Predictions of N images as one batch. */
  points: ScalePoint[];
  peakRssBytes: number;
}

/** Total time of one kernel in one profiled call. */
export interface KernelTime {
  kernel: string;
  ms: number;
  calls: number;
}

/**
 * How run.ts drives a side (bench/ours.ts, bench/reference.py), both sides of a model alive at once
 * so that each method is timed on our side and on the reference's back to back (this machine's speed
 * drifts over minutes; a whole side after the other compared different moments):
 * 1. the side builds its model and prints `BENCH_READY {"engine": string, "threads": n}` (SideReady);
 * 2. run.ts writes a method name and a newline to its stdin; the side runs it and prints
 *    `BENCH_RESULT <SideResult json>` (`null` for a method it has no counterpart of); repeat;
 * 3. run.ts closes stdin; the side prints `BENCH_REPORT <SideReport json>` and exits.
 * Progress goes to stderr. Only the one side that was sent a method works; the other waits on stdin.
 */
export const SIDE_PROTOCOL = ['BENCH_READY', 'BENCH_RESULT', 'BENCH_REPORT'] as const;

/** A side's first line: what it runs on, before any method is timed. */
export interface SideReady {
  engine: string;
  threads: number;
}

/** What one side's process reports for one model. */
export interface SideReport {
  side: 'ours' | 'reference';
  model: string;
  results: SideResult[];
  /** Peak resident memory of the process over every method but the scaling table, bytes. */
  peakRssBytes: number;
  /** With the scaling table (run last): the process' peak at the end, bytes. */
  scalingPeakRssBytes?: number;
  /** Ours: the peak right after the model was built and randomized, bytes. */
  buildPeakRssBytes?: number;
  /** Backend / threads, e.g. 'wasm (simd, 1 thread)' or 'torch 1.13 (1 thread)'. */
  engine: string;
  /**
   * Threads of the side's heavy work: ours, ONNX Runtime's intra-op threads when the engine runs the
   * model (else 1: TF.js wasm has no threads here); the reference, torch.get_num_threads().
   */
  threads: number;
}
