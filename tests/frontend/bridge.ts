/**
 * One process, both sides: the kernel's CommManager and a real @jupyter-widgets ManagerBase are
 * wired together, so kernel-side explorers open real front-end models and views (in jsdom), and
 * what a view sends reaches the kernel as it would over the wire.
 */
import { ManagerBase } from '@jupyter-widgets/base-manager';
import type { IClassicComm, WidgetModel, WidgetView } from '@jupyter-widgets/base';
import { CommManager, installCommManager } from '../../kernel/src/kernel/comms';
import type { JsonObject } from '../../kernel/src/kernel/wire';
import * as tf from '@tensorflow/tfjs';
import * as front from '../../widgets/src';
import { buildDemoModel, DEMO_CLASSES } from '../../kernel/src/models/demo';
import { CnnModel } from '../../kernel/src/models/model';
import { installCanvasShim } from './canvasShim';

type Callback = (msg: unknown) => void;

function toDataView(b: Buffer | ArrayBufferView): DataView {
  const copy = new Uint8Array(b.byteLength);
  copy.set(new Uint8Array(b.buffer, b.byteOffset, b.byteLength));
  return new DataView(copy.buffer);
}

class FrontComm implements IClassicComm {
  onMsg: Callback | null = null;
  onClose: Callback | null = null;
  constructor(readonly comm_id: string, readonly target_name: string, private readonly bridge: Bridge) {}
  open(): string {
    return '';
  }
  send(data: unknown, callbacks?: unknown, _metadata?: unknown, buffers?: ArrayBuffer[] | ArrayBufferView[]): string {
    const bufs = (buffers ?? []).map((b) => Buffer.from(b instanceof ArrayBuffer ? new Uint8Array(b) : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)));
    const done = Promise.resolve(this.bridge.kernel.receive('comm_msg', { comm_id: this.comm_id, data: data as JsonObject }, {}, bufs, 'front'));
    // Like the kernel: status idle once the message is handled (widget models throttle on it).
    const status = (callbacks as { iopub?: { status?: (m: unknown) => void } } | undefined)?.iopub?.status;
    this.bridge.toKernel.push(done.then(() => status?.({ content: { execution_state: 'idle' } })));
    return 'msg';
  }
  close(): string {
    return '';
  }
  on_msg(cb: Callback): void {
    this.onMsg = cb;
  }
  on_close(cb: Callback): void {
    this.onClose = cb;
  }
}

class TestManager extends ManagerBase {
  constructor(private readonly bridge: Bridge) {
    super();
  }
  protected async loadClass(className: string, moduleName: string): Promise<typeof WidgetModel | typeof WidgetView> {
    if (moduleName !== front.MODULE_NAME) throw new Error(`no module ${moduleName}`);
    const cls = (front as unknown as Record<string, typeof WidgetModel | typeof WidgetView>)[className];
    if (!cls) throw new Error(`no class ${className}`);
    return cls;
  }
  protected async _create_comm(target: string, modelId?: string): Promise<IClassicComm> {
    return new FrontComm(modelId ?? 'front', target, this.bridge);
  }
  protected _get_comm_info(): Promise<{}> {
    return Promise.resolve({});
  }
}

export class Bridge {
  readonly front: TestManager;
  readonly kernel: CommManager;
  readonly comms = new Map<string, FrontComm>();
  readonly opened: Promise<WidgetModel>[] = [];
  /** What the kernel's handlers returned for messages from the front end (promises to await). */
  readonly toKernel: unknown[] = [];
  private previous: CommManager | undefined;

  constructor() {
    this.front = new TestManager(this);
    this.kernel = new CommManager({
      send: (type, content, metadata, buffers) => {
        const id = content.comm_id as string;
        const msg = { content: { ...content }, metadata, buffers: buffers.map(toDataView), parent_header: {} };
        if (type === 'comm_open') {
          const comm = new FrontComm(id, content.target_name as string, this);
          this.comms.set(id, comm);
          this.opened.push(this.front.handle_comm_open(comm, msg as never));
        } else if (type === 'comm_msg') {
          this.comms.get(id)?.onMsg?.(msg);
        } else {
          this.comms.get(id)?.onClose?.(msg);
        }
      },
      currentParentId: () => 'p',
    });
    this.previous = installCommManager(this.kernel);
  }

  model(id: string): Promise<WidgetModel> {
    return this.front.get_model(id);
  }

  /** Waits for the kernel work started by front-end messages so far. */
  async flush(): Promise<void> {
    await Promise.all(this.toKernel.splice(0));
    await Promise.all(this.opened);
    await new Promise((r) => setTimeout(r, 0));
  }

  close(): void {
    if (this.previous) installCommManager(this.previous);
  }
}

/** A view of the front-end model `id` (after the kernel's messages so far), attached to the document. */
export async function viewOf<V extends WidgetView>(bridge: Bridge, id: string): Promise<V> {
  await bridge.flush();
  const m = await bridge.model(id);
  const view = (await bridge.front.create_view(m)) as unknown as V;
  document.body.appendChild(view.el);
  return view;
}

/** Sets a control's value and fires its event as a user would. */
export function input(el: HTMLInputElement | HTMLSelectElement, value: string, type = 'input'): void {
  el.value = value;
  el.dispatchEvent(new Event(type, { bubbles: true }));
}

/** Waits for the front end's messages, the explorer's computation, and the updates it sent back. */
export async function settle(bridge: Bridge, ex: { settled(): Promise<void> }): Promise<void> {
  await bridge.flush();
  await ex.settled();
  await bridge.flush();
}

/** How a front-end suite gets its demo model and its per-test Bridge. */
export interface SuiteHooks {
  model(m: CnnModel): void;
  bridge(b: Bridge): void;
  /** Draws the top-classes chart (default: the text 'chart', no vega in jsdom). */
  chart?: front.ChartDrawer;
  /** Runs before each test, after the document is emptied. */
  each?: () => void;
}

/**
 * The set-up every jsdom explorer suite shares: the canvas shim, the CPU backend, a chart drawer, the
 * demo model once; a fresh Bridge and an empty document for each test (the Bridge closed after it).
 */
export function frontEndSuite(hooks: SuiteHooks): void {
  let bridge: Bridge | null = null;
  beforeAll(async () => {
    installCanvasShim();
    await tf.setBackend('cpu');
    front.setChartDrawer(hooks.chart ?? (async (host) => void (host.textContent = 'chart')));
    hooks.model(new CnnModel(buildDemoModel({ seed: 3 }), { name: 'demo', preprocess: 'unit', labels: { names: [...DEMO_CLASSES], source: 'test' } }));
  });
  beforeEach(() => {
    bridge = new Bridge();
    hooks.bridge(bridge);
    document.body.replaceChildren();
    hooks.each?.();
  });
  afterEach(() => bridge?.close());
}
