/**
 * Widget: the kernel side of one Jupyter widget model. It owns the synced state (defaults in one
 * place per class), opens the comm with the state, keeps both sides in sync, and tells observers
 * about changes as `{name, old, new}`.
 *
 * Protocol 2.1.0 in brief (front end <-> kernel, on the widget's comm):
 *   kernel opens:     comm_open target 'jupyter.widget', data {state, buffer_paths}, metadata {version}
 *   kernel changes:   {method: 'update', state, buffer_paths}
 *   front end change: {method: 'update', state, buffer_paths} -> kernel answers {method: 'echo_update', ...}
 *                     with the received state, applies it, and sends an 'update' only for values
 *                     that observers then changed to something else
 *   front end asks:   {method: 'request_state'} -> 'update' with the whole state
 *   both ways:        {method: 'custom', content} with optional buffers
 */
import * as util from 'util';
import { Comm, CommMessage, commManager } from '../kernel/comms';
import type { JsonObject } from '../kernel/wire';
import {
  ModelSpec,
  REF_PREFIX,
  VIEW_VERSION,
  WIDGET_PROTOCOL_VERSION,
  WIDGET_TARGET,
  WIDGET_VIEW_MIME,
  encodeState,
  insertBuffers,
  markAsRef,
  sameValue,
} from './schema';

/** What observers receive, like ipywidgets' change dict. */
export interface Change<V, K extends keyof V = keyof V> {
  name: K;
  old: V[K];
  new: V[K];
  owner: AnyWidget;
  type: 'change';
}
export type Observer<V> = (change: Change<V>) => unknown;
export type CustomMessageHandler = (content: unknown, buffers: Uint8Array[]) => unknown;

interface ObserverEntry {
  handler: (change: unknown) => unknown;
  original: unknown;
  names: Set<PropertyKey> | null;
}

/** Any widget, whatever its state type (for children, links, the registry). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyWidget = Widget<any, any>;

const REGISTRY_KEY = Symbol.for('cnnvis.widgets.registry');
type GlobalWithWidgets = typeof globalThis & { [REGISTRY_KEY]?: Map<string, AnyWidget> };

/** Live widgets by model id (process-wide, shared by every loaded copy of cnnvis). */
export function widgetRegistry(): Map<string, AnyWidget> {
  const g = globalThis as GlobalWithWidgets;
  g[REGISTRY_KEY] ??= new Map();
  return g[REGISTRY_KEY];
}

export interface ObserveOptions {
  /**
   * Coalesce bursts: while the handler is scheduled or running, further changes are merged and the
   * handler runs once more with the latest value (`old` is the value it last saw). For handlers
   * doing slow work on every slider move.
   */
  coalesce?: boolean;
}

/**
 * Wraps `handler` so that a burst of changes reaches it as one call with the latest value. The
 * first change schedules a call after pending messages are handled; changes arriving meanwhile or
 * while it runs are merged into one more call.
 */
export function coalesce<C extends { old: unknown; new: unknown }>(handler: (change: C) => unknown): (change: C) => Promise<void> | undefined {
  let pending: C | null = null;
  let running = false;
  const drain = async (): Promise<void> => {
    try {
      await new Promise((resolve) => setImmediate(resolve)); // let the rest of the burst arrive
      while (pending) {
        const change = pending;
        pending = null;
        await handler(change);
      }
    } finally {
      running = false;
      pending = null;
    }
  };
  return (change) => {
    pending = pending ? { ...change, old: pending.old } : change;
    if (running) return undefined;
    running = true;
    return drain();
  };
}

/**
 * Base class of every widget. `S` is the synced state (without the model identity), `V` what
 * observers can watch (the state plus derived values such as Dropdown's `value`).
 */
export abstract class Widget<S extends object, V extends object = S> {
  readonly modelId: string;
  readonly spec: ModelSpec;
  protected readonly comm: Comm;
  private values: S;
  private observers: ObserverEntry[] = [];
  private customHandlers: CustomMessageHandler[] = [];
  /** Values just received from the front end: setting them again is not sent back. */
  private lock: Partial<S> | null = null;
  private holdDepth = 0;
  private held: Set<keyof S> = new Set();
  /** Keys that may hold null (null at construction, set to null by the kernel, or declared). */
  private readonly nullable = new Set<string>();

  protected constructor(spec: ModelSpec, state: S) {
    this.spec = spec;
    this.values = { ...state };
    for (const [k, v] of Object.entries(state)) if (v === null) this.nullable.add(k);
    markAsRef(this);
    for (const key of Object.keys(state)) {
      if (key in this) continue;
      Object.defineProperty(this, key, {
        get: () => this.values[key as keyof S],
        set: (v: unknown) => this.set({ [key]: v } as Partial<S>),
        enumerable: true,
      });
    }
    const { state: wire, buffer_paths, buffers } = encodeState(this.fullState());
    this.comm = commManager().open(
      WIDGET_TARGET,
      { state: wire, buffer_paths },
      { metadata: { version: WIDGET_PROTOCOL_VERSION }, buffers, unparented: !this.savesState() },
    );
    this.modelId = this.comm.commId;
    widgetRegistry().set(this.modelId, this as unknown as AnyWidget);
    this.comm.onMsg((msg) => this.handleMessage(msg));
    this.comm.onClose(() => widgetRegistry().delete(this.modelId));
  }

  /** The model identity plus the synced state, as sent on comm_open and request_state. */
  fullState(): Record<string, unknown> {
    return { ...this.spec, ...this.values };
  }

  /** A copy of the synced state. */
  get state(): S {
    return { ...this.values };
  }

  get closed(): boolean {
    return this.comm.closed;
  }

  get<K extends keyof S>(name: K): S[K] {
    return this.values[name];
  }

  /** Sets several values, sends one update with those that changed, then notifies observers. */
  set(changes: Partial<S>): this {
    const list = this.apply(this.normalize(changes));
    this.notify(list);
    return this;
  }

  /** Watches changes of `names` (all when omitted); returns a function that stops watching. */
  observe<K extends keyof V>(handler: (change: Change<V, K>) => unknown, names?: K | K[], opts: ObserveOptions = {}): () => void {
    const wrapped = (opts.coalesce ? coalesce(handler) : handler) as (change: unknown) => unknown;
    const entry: ObserverEntry = {
      handler: wrapped,
      original: handler,
      names: names === undefined ? null : new Set<PropertyKey>(Array.isArray(names) ? names : [names]),
    };
    this.observers.push(entry);
    return () => (this.observers = this.observers.filter((e) => e !== entry));
  }

  /** Stops `handler` from watching (every name it watched). */
  unobserve(handler: (change: never) => unknown): void {
    this.observers = this.observers.filter((e) => e.original !== handler);
  }

  /** Sends a custom message ({method: 'custom', content}) with optional binary buffers. */
  send(content: unknown, buffers: Array<ArrayBufferView | ArrayBuffer> = []): void {
    this.comm.send({ method: 'custom', content } as JsonObject, { buffers });
  }

  /** Handles custom messages from the front end. */
  onMsg(handler: CustomMessageHandler): () => void {
    this.customHandlers.push(handler);
    return () => (this.customHandlers = this.customHandlers.filter((h) => h !== handler));
  }

  /** Closes the comm: the front end drops the model and its views. */
  close(): void {
    this.comm.close();
    widgetRegistry().delete(this.modelId);
  }

  /** Changes made inside `fn` are sent as one update when it returns. */
  holdSync<T>(fn: () => T): T {
    this.holdDepth++;
    try {
      return fn();
    } finally {
      if (--this.holdDepth === 0 && this.held.size > 0) {
        const keys = [...this.held];
        this.held.clear();
        this.sendState(keys);
      }
    }
  }

  /** Sends the given keys (all when omitted) as an 'update'. */
  sendState(keys?: Array<keyof S>): void {
    if (this.comm.closed) return;
    const all = this.fullState();
    const picked: Record<string, unknown> = {};
    for (const k of keys ?? (Object.keys(all) as Array<keyof S>)) picked[k as string] = all[k as string];
    const { state, buffer_paths, buffers } = encodeState(picked);
    this.comm.send({ method: 'update', state, buffer_paths }, { buffers });
  }

  /** The view bundle: the widget view for widget-aware front ends, text for the rest. */
  mimeBundle(): Record<string, string | object> {
    return {
      [WIDGET_VIEW_MIME]: { ...VIEW_VERSION, model_id: this.modelId },
      'text/plain': this.toString(),
    };
  }

  /**
   * False for widgets whose state a notebook should not save (explorers: live views with their own
   * snapshot); their comm is opened outside the running cell, so notebook executors do not record it.
   */
  protected savesState(): boolean {
    return true;
  }

  /** One line (what console.log and a cell's plain-text value show), never the internals. */
  [util.inspect.custom](): string {
    return this.toString();
  }

  toString(): string {
    // The value first, then other set scalars; no references, empty strings, nulls or false flags.
    const shown = Object.entries(this.values)
      .filter(([k, v]) => !k.startsWith('_') && typeof v !== 'object' && v !== '' && v !== false)
      .sort(([a], [b]) => Number(b === 'value') - Number(a === 'value'))
      .slice(0, 6)
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`);
    return `${this.constructor.name}(${shown.join(', ')})`;
  }

  /** Lets the front end set these keys to null (keys that start as null may always be null). */
  protected allowNull(...keys: Array<keyof S>): void {
    for (const k of keys) this.nullable.add(String(k));
  }

  /** True when `key` is one of this widget's synced state keys (own keys only: never `__proto__`, `toString`). */
  protected hasKey(key: PropertyKey): key is keyof S {
    return Object.prototype.hasOwnProperty.call(this.values, key);
  }

  /** Checks and converts values before they are stored (subclasses clamp, round, validate). */
  protected normalize(changes: Partial<S>): Partial<S> {
    return changes;
  }

  /** Derived changes to report along with state changes (e.g. Dropdown's value from its index). */
  protected derive(changes: Array<Change<V>>): Array<Change<V>> {
    return changes;
  }

  /** Turns received JSON into state values (widget references by default). */
  protected decode(key: keyof S, value: unknown): unknown {
    const current = this.values[key];
    if (typeof value === 'string' && value.startsWith(REF_PREFIX) && current !== null && typeof current === 'object') {
      return resolveRef(value);
    }
    if (Array.isArray(value) && Array.isArray(current)) {
      return value.map((v) => (typeof v === 'string' && v.startsWith(REF_PREFIX) ? resolveRef(v) : v));
    }
    return value;
  }

  /**
   * A value received from the front end must be of the kind the key holds (number, string, boolean,
   * list, object, bytes); null only where the key may be null. Finer checks are `normalize`'s.
   */
  private checkKind(key: string, value: unknown): void {
    const want = kindOf(this.values[key as keyof S]);
    const got = kindOf(value);
    if (got === want || want === 'null') return;
    if (got === 'null' && this.nullable.has(key)) return;
    throw new TypeError(`${this.constructor.name}.${key} must be ${want}, got ${got === 'null' ? 'null' : got}`);
  }

  private apply(changes: Partial<S>): Array<Change<V>> {
    const list: Array<Change<V>> = [];
    const toSend: Array<keyof S> = [];
    for (const key of Object.keys(changes) as Array<keyof S>) {
      if (!this.hasKey(key)) throw new TypeError(`${this.constructor.name} has no attribute ${String(key)}`);
      const old = this.values[key];
      const value = changes[key] as S[keyof S];
      if (value === null) this.nullable.add(String(key));
      if (sameValue(old, value)) continue;
      this.values[key] = value;
      list.push({ name: key as unknown as keyof V, old, new: value, owner: this, type: 'change' } as unknown as Change<V>);
      const locked = this.lock !== null && key in this.lock && sameValue(this.lock[key], value);
      if (!locked) toSend.push(key);
    }
    if (toSend.length > 0) {
      if (this.holdDepth > 0) toSend.forEach((k) => this.held.add(k));
      else this.sendState(toSend);
    }
    return list;
  }

  private notify(stateChanges: Array<Change<V>>): Promise<unknown> | undefined {
    if (stateChanges.length === 0) return undefined;
    const changes = this.derive(stateChanges);
    const pending: Promise<unknown>[] = [];
    let error: { e: unknown } | null = null;
    for (const change of changes) {
      for (const entry of [...this.observers]) {
        if (entry.names && !entry.names.has(change.name)) continue;
        try {
          const r = entry.handler(change);
          if (r instanceof Promise) pending.push(r);
        } catch (e) {
          error ??= { e };
        }
      }
    }
    if (error) {
      pending.forEach((p) => p.catch(() => undefined));
      throw error.e;
    }
    return pending.length > 0 ? Promise.all(pending) : undefined;
  }

  /**
   * Applies a message from the front end at once; returns observers' pending work, which a caller may
   * await (tests do). The kernel server does not: it reports the message idle and lets the work go on.
   */
  private handleMessage(msg: CommMessage): unknown {
    const data = msg.data;
    switch (data.method) {
      case 'update': {
        if (data.state === null || typeof data.state !== 'object' || Array.isArray(data.state)) {
          throw new TypeError(`update for widget ${this.modelId} without a state object`);
        }
        const received = insertBuffers({ ...(data.state as JsonObject) }, data.buffer_paths, msg.buffers);
        const keys = Object.keys(received);
        const unknown = keys.filter((k) => !this.hasKey(k));
        if (unknown.length) throw new TypeError(`${this.constructor.name} has no attribute ${unknown.map(String).join(', ')}`);
        // Echo what was received first (ipywidgets 8 front ends wait for it and ignore other updates
        // of those keys until it comes), then check and apply.
        const echo = encodeState(received);
        this.comm.send({ method: 'echo_update', state: echo.state, buffer_paths: echo.buffer_paths }, { buffers: echo.buffers });
        let list: Array<Change<V>>;
        try {
          const changes: Partial<S> = {};
          for (const k of keys) {
            const value = this.decode(k as keyof S, received[k]);
            this.checkKind(k, value);
            (changes as Record<string, unknown>)[k] = value;
          }
          this.lock = changes;
          list = this.apply(this.normalize(changes));
        } catch (e) {
          // Refused: the front end already shows the refused values; send it the kernel's.
          this.sendState(keys as Array<keyof S>);
          throw e;
        } finally {
          this.lock = null;
        }
        return this.notify(list);
      }
      case 'request_state':
        this.sendState();
        return undefined;
      case 'custom': {
        const buffers = msg.buffers.map((b) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
        const pending = this.customHandlers.map((h) => h(data.content, buffers)).filter((r) => r instanceof Promise);
        return pending.length > 0 ? Promise.all(pending) : undefined;
      }
      default:
        throw new TypeError(`widget ${this.modelId}: unknown method ${JSON.stringify(data.method)}`);
    }
  }
}

/** The JSON kind of a state value, for messages and the type check of received values. */
function kindOf(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return 'bytes';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  return `a ${typeof v}`;
}

function resolveRef(ref: string): AnyWidget {
  const id = ref.slice(REF_PREFIX.length);
  const w = widgetRegistry().get(id);
  if (!w) throw new TypeError(`reference to unknown widget ${id}`);
  return w;
}
