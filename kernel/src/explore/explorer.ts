/**
 * Explorer: the kernel side of an interactive view of one image through one model. It keeps what
 * the image's forward pass gave (subclasses cache per layer / class), watches the controls, and
 * recomputes only what a change needs:
 *
 * - every change of a control that needs the kernel starts a new generation at once; the older
 *   computation stops at its next step and queued ones that are no longer the latest are skipped,
 *   so while a slider is dragged only the latest value is computed;
 * - a 'cancel' message from the front end stops the running computation (status 'cancelled');
 * - slow steps report progress in [0, 1] through the synced state (the front end draws the bar).
 *
 * Display: the live widget view, the static result bundle (RESULT_MIME) for a notebook reopened
 * without a kernel, a PNG of what is shown, and a text line. The bundle holds what was explored: every
 * map or page the live view showed goes into a SnapshotStore (within the `snapshot` byte budget, the
 * latest kept), and after each change the explorer sends the new bundle to the front end
 * (ExplorerSnapshotMessage), which writes it into the notebook's output.
 */
import * as tf from '@tensorflow/tfjs';
import { MimeBundle, showResult } from '../display/jupyter';
import { encodePng } from '../images/encode';
import { overlayHeatmap } from '../render/overlay';
import { CnnvisError } from '../errors';
import { CnnModel } from '../models/model';
import {
  DEFAULT_SNAPSHOT_BYTES,
  RESULT_MIME,
  EXPLORER_COLORMAPS,
  explorerIdentity,
  ExplorerBaseState,
  ExplorerColormap,
  ExplorerRequest,
  ExplorerSnapshotMessage,
  RESULT_SCHEMA_VERSION,
  ResultData,
  SnapshotInfo,
} from '../schema/explorers';
import { RGBAImage, RGBImage } from '../types';
import { Widget } from '../widgets/widget';
import { ModelSpec } from '../widgets/schema';

/** Thrown inside a computation that a newer request or a cancel superseded. */
export class Superseded extends Error {
  override name = 'Superseded';
}

/** The model identity of an explorer in the front-end module. */
export function explorerSpec(names: { model: string; view: string }): ModelSpec {
  return explorerIdentity(names);
}

/** RGB (or RGBA) picture as RGBA bytes. */
export function rgbaBytes(img: RGBImage | RGBAImage): Uint8Array {
  const n = img.width * img.height;
  if (img.data.length === n * 4) return Uint8Array.from(img.data);
  const out = new Uint8Array(n * 4);
  for (let i = 0; i < n; i++) {
    out[i * 4] = img.data[i * 3];
    out[i * 4 + 1] = img.data[i * 3 + 1];
    out[i * 4 + 2] = img.data[i * 3 + 2];
    out[i * 4 + 3] = 255;
  }
  return out;
}

/** A small least-recently-used cache of computed maps (by a string key). */
export class LruCache<V> {
  private readonly items = new Map<string, V>();
  constructor(private readonly capacity: number) {}

  get(key: string): V | undefined {
    const hit = this.items.get(key);
    if (hit !== undefined) {
      this.items.delete(key); // most recently used last
      this.items.set(key, hit);
    }
    return hit;
  }

  set(key: string, value: V): void {
    this.items.delete(key);
    this.items.set(key, value);
    if (this.items.size > this.capacity) this.items.delete(this.items.keys().next().value as string);
  }

  /** The cached value, or `make()`'s (then cached). */
  async getOrMake(key: string, make: () => V | Promise<V>): Promise<V> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const value = await make();
    this.set(key, value);
    return value;
  }

  clear(): void {
    this.items.clear();
  }
}

/** The `snapshot` option: the byte budget of a snapshot's saved maps/pages, checked. */
export function checkSnapshotBudget(v: number | undefined, E: new (m: string) => Error = CnnvisError): number {
  const b = v ?? DEFAULT_SNAPSHOT_BYTES;
  if (!Number.isInteger(b) || b < 0) throw new E(`snapshot must be a byte budget (a whole number >= 0, default ${DEFAULT_SNAPSHOT_BYTES}), got ${v}`);
  return b;
}

/**
 * What a snapshot saves of what was explored: entries (a map, a page) by key, oldest first, within a
 * byte budget (the size of their JSON). Adding a key again makes it the latest; beyond the budget
 * the oldest are dropped (their description kept for the saved view's note). The latest entry is
 * always kept, so a saved view always has something to show.
 */
export class SnapshotStore<E> {
  private readonly items = new Map<string, { entry: E; bytes: number; what: string }>();
  private readonly droppedWhat: string[] = [];
  private total = 0;

  constructor(private budgetBytes: number = DEFAULT_SNAPSHOT_BYTES) {}

  get budget(): number {
    return this.budgetBytes;
  }

  /** A new budget (bytes); the oldest entries beyond it are dropped now. */
  set budget(bytes: number) {
    this.budgetBytes = checkSnapshotBudget(bytes, RangeError);
    this.trim();
  }

  /** Saves `entry` under `key` as the latest; `what` names it in the note if it is dropped later. */
  add(key: string, what: string, entry: E): void {
    this.remove(key);
    const bytes = JSON.stringify(entry).length;
    this.items.set(key, { entry, bytes, what });
    this.total += bytes;
    const again = this.droppedWhat.indexOf(what);
    if (again >= 0) this.droppedWhat.splice(again, 1);
    this.trim();
  }

  get(key: string): E | undefined {
    return this.items.get(key)?.entry;
  }

  has(key: string): boolean {
    return this.items.has(key);
  }

  /** The saved entries, oldest first. */
  entries(): E[] {
    return [...this.items.values()].map((x) => x.entry);
  }

  /** The saved entries with their keys, oldest first. */
  keyed(): Array<{ key: string; entry: E }> {
    return [...this.items.entries()].map(([key, x]) => ({ key, entry: x.entry }));
  }

  keys(): string[] {
    return [...this.items.keys()];
  }

  /** Budget, size, count and what was dropped (for the snapshot's `saved`). */
  info(): SnapshotInfo {
    return { budget: this.budgetBytes, bytes: this.total, count: this.items.size, dropped: [...this.droppedWhat] };
  }

  private remove(key: string): void {
    const old = this.items.get(key);
    if (!old) return;
    this.total -= old.bytes;
    this.items.delete(key);
  }

  private trim(): void {
    while (this.total > this.budgetBytes && this.items.size > 1) {
      const [key, oldest] = this.items.entries().next().value as [string, { what: string }];
      this.remove(key);
      this.droppedWhat.push(oldest.what);
    }
  }
}

/** Bytes as base64 (standard alphabet, padded): how snapshots carry arrays in JSON. */
export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** float32 values as base64 of their little-endian bytes (whatever the machine's byte order). */
export function floatsToBase64(values: Float32Array): string {
  const bytes = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => bytes.writeFloatLE(v, i * 4));
  return bytes.toString('base64');
}

/** Values in [0, 1] as bytes 0..255 (how heat maps travel). */
export function unitBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, values[i] || 0)) * 255);
  return out;
}

/** A colormap option, checked. */
export function checkColormap(c: ExplorerColormap, E: typeof CnnvisError | typeof RangeError = CnnvisError): ExplorerColormap {
  if (!EXPLORER_COLORMAPS.includes(c)) {
    const msg = `unknown colormap '${c}'; colormaps: ${EXPLORER_COLORMAPS.join(', ')}`;
    throw E === CnnvisError ? new CnnvisError(msg, [...EXPLORER_COLORMAPS]) : new E(msg);
  }
  return c;
}

/** A number in [0, 1] (opacity, threshold), checked. */
export function checkUnit(name: string, v: number, E: new (m: string) => Error = CnnvisError): number {
  if (!(v >= 0 && v <= 1)) throw new E(`${name} must be in [0, 1], got ${v}`);
  return v;
}

/** The explorer's picture with a byte heat map (0..255 = [0, 1], any size) over it: what the views draw. */
export function overlayPicture(s: ExplorerBaseState, heat: Uint8Array, width: number, height: number, opacity: number): RGBAImage {
  const image = { width: s.image_width, height: s.image_height, data: s.image };
  if (heat.length === 0) return image;
  const data = Float32Array.from(heat, (v) => v / 255);
  return overlayHeatmap(image, { width, height, data }, { alpha: opacity, colormap: s.colormap, min: 0, max: 1 });
}

/** Lets pending messages (cancel, newer slider values) in before the next step. */
export function yieldToMessages(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * How a computation reports progress: `await step(p, message)` between slow parts (lets waiting
 * messages in); `step.now(p, message)` from a synchronous callback inside a loop that yields on its
 * own (optimization steps). Both throw Superseded when the computation is no longer the latest.
 */
export interface Step {
  (progress: number, message: string): Promise<void>;
  now(progress: number, message: string): void;
}

/** A Step that reports nothing and never stops (computations run outside a refresh). */
export const quietStep: Step = Object.assign(async () => undefined, { now: () => undefined });

/** State keys that say what is running, not what is shown (their changes do not resend the snapshot). */
const STATUS_KEYS = new Set<PropertyKey>(['status', 'progress', 'message', 'snapshot_info']);

export abstract class Explorer<S extends ExplorerBaseState, E = unknown> extends Widget<S> {
  abstract readonly model: CnnModel;
  /** What the snapshot saves of what was explored (maps, pages), within its byte budget. */
  protected readonly saved = new SnapshotStore<E>();
  /** The key of the saved entry the live view shows (the saved view opens there). */
  private shownKey: string | null = null;
  /** Milliseconds after the last change before the snapshot is sent to the front end. */
  static snapshotDelay = 150;
  /** Snapshot bundles sent to the front end (for tests and the curious). */
  snapshotsSent = 0;
  private snapshotTimer: NodeJS.Timeout | null = null;
  private generation = 0;
  /** The generation a cancel started (no computation runs under it). */
  private cancelledAt = -1;
  private running: Promise<void> = Promise.resolve();
  /** Runs the refresh; the test and the cell call await it. */
  private lastRefresh: Promise<void> = Promise.resolve();

  protected constructor(spec: ModelSpec, state: S, watched: Array<keyof S>) {
    super(spec, state);
    // Not coalesced: every change starts a newer generation at once, which stops the older one.
    this.observe(() => this.refresh(), watched);
    // Any change of what is shown (a computed map, a colormap, an opacity) resends the snapshot.
    this.observe((change) => {
      if (!STATUS_KEYS.has(change.name)) this.scheduleSnapshot();
    });
    this.onMsg((content) => this.handleRequest(content as ExplorerRequest));
    this.comm.onClose(() => this.stopSnapshots());
  }

  /** The byte budget of the snapshot's saved maps/pages (the `snapshot` option); setting it drops the oldest beyond it. */
  get snapshotBudget(): number {
    return this.saved.budget;
  }
  set snapshotBudget(bytes: number) {
    this.saved.budget = bytes;
    this.set({ snapshot_info: this.saved.info() } as Partial<S>);
    this.scheduleSnapshot();
  }

  /** Saves an entry (a map, a page) into the snapshot as the latest; `shown`: the live view shows it now. */
  protected keep(key: string, what: string, entry: E, shown: boolean): void {
    this.saved.add(key, what, entry);
    if (shown) this.shownKey = key;
    this.set({ snapshot_info: this.saved.info() } as Partial<S>);
  }

  /**
   * What every snapshot has: kind, version, title, model name and colormap, the saved entries (in saved
   * order, or sorted by `order`), the index of the one shown (else the latest) and the budget note.
   */
  protected savedPart<K extends ResultData['kind']>(kind: K, title: string, order?: (a: E, b: E) => number) {
    const keyed = this.saved.keyed();
    if (order) keyed.sort((a, b) => order(a.entry, b.entry));
    const at = keyed.findIndex((x) => x.key === this.shownKey);
    return {
      kind,
      version: RESULT_SCHEMA_VERSION as typeof RESULT_SCHEMA_VERSION,
      title,
      model: this.model.name,
      colormap: this.get('colormap'),
      entries: keyed.map((x) => x.entry),
      shown: at >= 0 ? at : keyed.length - 1,
      saved: this.saved.info(),
    };
  }

  /** The picture in a snapshot (base64 RGBA). */
  protected savedImage(): { width: number; height: number; rgba: string } {
    const s = this.state;
    return { width: s.image_width, height: s.image_height, rgba: bytesToBase64(s.image) };
  }

  /** Sends the snapshot bundle to the front end shortly (changes in a burst send one). */
  protected scheduleSnapshot(): void {
    if (this.closed || this.snapshotTimer) return;
    this.snapshotTimer = setTimeout(() => {
      this.snapshotTimer = null;
      if (this.get('status') === 'busy') return; // the refresh's end resends it
      this.sendSnapshot();
    }, Explorer.snapshotDelay);
    this.snapshotTimer.unref?.();
  }

  /** Sends the snapshot bundle now (ExplorerSnapshotMessage): RESULT_MIME, image/png (base64), text/plain. */
  sendSnapshot(): void {
    this.stopSnapshots();
    if (this.closed) return;
    const bundle = this.mimeBundle();
    const data: Record<string, unknown> = {};
    for (const [mime, v] of Object.entries(bundle)) {
      data[mime] = v instanceof Uint8Array ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') : v;
    }
    this.send({ event: 'snapshot', data } satisfies ExplorerSnapshotMessage);
    this.snapshotsSent++;
  }

  private stopSnapshots(): void {
    if (this.snapshotTimer) clearTimeout(this.snapshotTimer);
    this.snapshotTimer = null;
  }

  /** Brings what is shown up to date with the controls; resolves when done (or superseded). */
  refresh(): Promise<void> {
    const gen = ++this.generation;
    const run = this.running.then(async () => {
      if (gen !== this.generation) return; // a newer request is queued behind this one
      try {
        const step: Step = Object.assign((p: number, message: string) => this.step(gen, p, message), {
          now: (p: number, message: string) => this.stepNow(gen, p, message),
        });
        await this.update(step);
        if (gen === this.generation) {
          this.set({ status: 'idle', progress: 1, message: '' } as Partial<S>);
          this.scheduleSnapshot();
        }
      } catch (e) {
        if (e instanceof Superseded) {
          // Stopped by a cancel (not by a newer request, which reports for itself).
          if (this.generation === this.cancelledAt) this.set({ status: 'cancelled', progress: 0, message: 'cancelled' } as Partial<S>);
          return;
        }
        this.set({ status: 'error', progress: 0, message: e instanceof Error ? e.message : String(e) } as Partial<S>);
      }
    });
    this.running = run;
    this.lastRefresh = run;
    return run;
  }

  /** The first refresh of a new explorer: a failure closes it and throws. */
  protected async start(): Promise<void> {
    await this.refresh();
    if (this.get('status') === 'error') {
      const message = this.get('message');
      this.close();
      throw new CnnvisError(message);
    }
  }

  /** Resolves when the latest requested refresh has finished. */
  async settled(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.lastRefresh;
      await seen;
      await yieldToMessages();
    } while (seen !== this.lastRefresh);
  }

  /** Stops the running computation at its next step. */
  cancel(): void {
    this.cancelledAt = ++this.generation;
  }

  /**
   * Reports progress and gives waiting messages a chance; throws Superseded when this computation
   * is no longer the latest.
   */
  private async step(gen: number, progress: number, message: string): Promise<void> {
    this.stepNow(gen, progress, message);
    await yieldToMessages();
    if (gen !== this.generation) throw new Superseded();
  }

  private stepNow(gen: number, progress: number, message: string): void {
    if (gen !== this.generation) throw new Superseded();
    this.set({ status: 'busy', progress, message } as Partial<S>);
  }

  override close(): void {
    this.stopSnapshots();
    super.close();
  }

  private handleRequest(req: ExplorerRequest): void {
    if (req && req.event === 'cancel') this.cancel();
    else throw new TypeError(`${this.constructor.name}: unknown request ${JSON.stringify(req)}`);
  }

  /** Computes what the current controls need. Call `step` between slow parts. */
  protected abstract update(step: Step): Promise<void>;

  /** What is shown now, as a picture (for image/png). */
  abstract picture(): RGBAImage;

  /** The static snapshot for the result bundle. */
  abstract snapshot(): ResultData;

  /** One text line. */
  abstract summary(): string;

  override mimeBundle(): Record<string, string | object> {
    return {
      ...super.mimeBundle(),
      [RESULT_MIME]: this.snapshot(),
      'image/png': encodePng(this.picture()),
      'text/plain': this.summary(),
    };
  }

  /**
   * Shows the explorer in the running cell: the live view, a PNG of what it shows and a text line in
   * one bundle (in the cnnvis kernel once per cell, as Out[n] when the explorer is the cell's value).
   */
  show(): boolean {
    const picture = this.picture();
    return showResult(this, this.mimeBundle() as MimeBundle, { metadata: { 'image/png': { width: picture.width, height: picture.height } } });
  }

  /** Explorers are live views: their state is not saved into notebooks (their snapshot is). */
  protected override savesState(): boolean {
    return false;
  }

  override toString(): string {
    return this.summary();
  }
}

/**
 * An explorer of one image (CAM, saliency, occlusion): keeps the image, its preprocessed batch and the
 * class probabilities of its forward pass, and frees the batch and the subclass's caches (`release`)
 * when it is closed from either side.
 */
export abstract class ImageExplorer<S extends ExplorerBaseState, E = unknown> extends Explorer<S, E> {
  readonly input: RGBImage;
  readonly imageName: string;
  protected readonly batch: tf.Tensor4D;

  protected constructor(
    spec: ModelSpec,
    state: S,
    watched: Array<keyof S>,
    readonly model: CnnModel,
    prepared: { image: RGBImage; batch: tf.Tensor4D; name: string },
    readonly probabilities: Float32Array,
  ) {
    super(spec, state, watched);
    this.input = prepared.image;
    this.imageName = prepared.name;
    this.batch = prepared.batch;
    this.comm.onClose(() => this.dispose());
  }

  /** Frees what the subclass caches (called once, when the explorer closes). */
  protected abstract release(): void;

  private dispose(): void {
    if (this.batch.isDisposed) return;
    this.batch.dispose();
    this.release();
  }

  override close(): void {
    super.close();
    this.dispose();
  }
}
