/**
 * Notebook side without a notebook: the display bridge, Progress (throttling, escaping, terminal
 * output), the kernelspec installer, and the kernel's protocol conformance (Debian's
 * jupyter_kernel_test, driven through /usr/bin/python3).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  DisplayMessage,
  displayBundle,
  encodeBundle,
  inNotebook,
  newDisplayId,
  useDisplayWriter,
} from '../kernel/src/display/jupyter';
import { CellOutput, MAX_PLAIN_CHARS, endsWithSemicolon, plainText, valueBundle } from '../kernel/src/kernel/cellOutput';
import { MIN_LOG_INTERVAL_MS, MIN_UPDATE_INTERVAL_MS, Progress, escapeHtml } from '../kernel/src/display/progress';
import { KERNEL_DISPLAY_NAME, installKernelSpec, kernelJson, kernelLauncherPath } from '../kernel/src/cli/install';
import { restoreEnvAfterEach, tmpDirs } from './helpers/env';
import { JUPYTER, REPO_ROOT, assertKernelBuilt, runKernelUnittest } from './helpers/jupyter';

interface Sent {
  message: DisplayMessage;
  update: boolean;
  at: number;
}

/** Routes displays to an array for the duration of a test. */
function captureDisplays(): Sent[] {
  const sent: Sent[] = [];
  useDisplayWriter((message, update) => sent.push({ message, update, at: Date.now() }));
  return sent;
}

afterEach(() => {
  useDisplayWriter(null);
  jest.useRealTimers();
  jest.restoreAllMocks();
});

describe('display bridge', () => {
  test('outside a notebook: not in a notebook, displays are a no-op', () => {
    expect(inNotebook()).toBe(false);
    expect(displayBundle({ 'text/plain': 'hello' })).toBe(false);
  });

  test('sends every MIME type in one message, bytes base64-encoded, JSON kept as objects', () => {
    const sent = captureDisplays();
    expect(inNotebook()).toBe(true);
    const bytes = new Uint8Array([0, 1, 2, 250, 251, 252, 253]);
    const spec = { $schema: 'https://vega.github.io/schema/vega-lite/v5.json', mark: 'bar' };
    const ok = displayBundle(
      {
        'image/png': bytes.subarray(3), // a view: only its own bytes may be encoded
        'text/plain': 'a plot',
        'application/vnd.vegalite.v5+json': spec,
      },
      { metadata: { 'image/png': { width: 10 } }, displayId: 'd1' },
    );
    expect(ok).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0].update).toBe(false);
    expect(sent[0].message).toEqual({
      data: {
        'image/png': Buffer.from([250, 251, 252, 253]).toString('base64'),
        'text/plain': 'a plot',
        'application/vnd.vegalite.v5+json': spec,
      },
      metadata: { 'image/png': { width: 10 } },
      transient: { display_id: 'd1' },
    });
  });

  test('update sends update_display_data for the display id; no id means no transient id', () => {
    const sent = captureDisplays();
    displayBundle({ 'text/plain': 'plain' });
    displayBundle({ 'text/plain': 'v2' }, { displayId: 'p', update: true });
    expect(sent.map((s) => [s.update, s.message.transient])).toEqual([
      [false, {}],
      [true, { display_id: 'p' }],
    ]);
  });

  test('invalid bundles are rejected, in a notebook or not', () => {
    expect(() => displayBundle({})).toThrow(TypeError);
    expect(() => displayBundle({ 'text/plain': { not: 'text' } })).toThrow(/text\/plain needs a string or bytes/);
    expect(() => displayBundle({ 'text/plain': 'x' }, { update: true })).toThrow(/displayId/);
    expect(() => encodeBundle({ 'application/json': null as unknown as object })).toThrow(/got null/);
  });

  test('display ids are fresh', () => {
    const ids = new Set(Array.from({ length: 50 }, () => newDisplayId()));
    expect(ids.size).toBe(50);
    for (const id of ids) expect(id).toMatch(/^cnnvis-[0-9a-f]{16}$/);
  });

  test("finds the running kernel's tslab, also a copy other than the one cnnvis resolves", () => {
    assertKernelBuilt(['display/jupyter.ts']);
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-tslab-copy-'));
    try {
      const copy = path.join(tmp, 'global', 'node_modules', 'tslab', 'dist', 'jupyter.js');
      fs.mkdirSync(path.dirname(copy), { recursive: true });
      fs.writeFileSync(copy, 'exports.lastWriteDisplayData = null;\n');
      const script = `
        const bridge = require(${JSON.stringify(path.join(REPO_ROOT, 'kernel', 'dist', 'display', 'jupyter.js'))});
        const seen = { before: bridge.inNotebook() };
        const other = require(${JSON.stringify(copy)});
        seen.loadedIdle = bridge.inNotebook();
        const sent = [];
        other.lastWriteDisplayData = (m, update) => sent.push({ m, update });
        seen.running = bridge.inNotebook();
        bridge.displayBundle({ 'text/plain': 'via copy' }, { displayId: 'x', update: true });
        other.lastWriteDisplayData = null;
        const local = require('tslab/dist/jupyter');
        seen.localIdle = bridge.inNotebook();
        local.lastWriteDisplayData = (m, update) => sent.push({ m, update, local: true });
        seen.localRunning = bridge.inNotebook();
        bridge.displayBundle({ 'text/plain': 'via local' });
        console.log(JSON.stringify({ seen, sent }));
        process.exit(0); // tslab's jupyter module loads zeromq
      `;
      const child = spawnSync(process.execPath, ['-e', script], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60000 });
      expect(child.stderr).toBe('');
      const { seen, sent } = JSON.parse(child.stdout);
      expect(seen).toEqual({ before: false, loadedIdle: false, running: true, localIdle: false, localRunning: true });
      expect(sent).toEqual([
        { m: { data: { 'text/plain': 'via copy' }, metadata: {}, transient: { display_id: 'x' } }, update: true },
        { m: { data: { 'text/plain': 'via local' }, metadata: {}, transient: {} }, update: false, local: true },
      ]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('cell output (what a cell shows, without a kernel)', () => {
  type Sent = [string, Record<string, unknown>];
  const message = (text: string) => ({ data: { 'text/plain': text, 'image/png': 'iVBOR' }, metadata: { 'image/png': { width: 2, height: 1 } }, transient: {} });
  function cell(): { out: CellOutput; sent: Sent[] } {
    const out = new CellOutput();
    const sent: Sent[] = [];
    out.begin((msgType, content) => sent.push([msgType, content as Record<string, unknown>]));
    return { out, sent };
  }

  test("a trailing ';' after the last statement suppresses the value; comments and strings do not count", () => {
    const cases: Array<[string, boolean]> = [
      ['1 + 1', false], ['1 + 1;', true], ['1 + 1 // one;', false], ['1 + 1; // two', true], ['1 + 1; /* x */\n', true],
      ["const s = ';'; s", false], ['`a;${1};`', false], ['x;\n\n', true], ['', false], ['// only a comment;', false],
      ['for (const a of [1]) { a; }', false],
    ];
    for (const [code, suppressed] of cases) expect([code, endsWithSemicolon(code)]).toEqual([code, suppressed]);
  });

  test('the value a result offered becomes the execute_result (Out[n]) with its own bundle, once', () => {
    const { out, sent } = cell();
    const r = { kind: 'result' };
    out.offer(r, message('grad-cam'));
    out.offer(r, message('grad-cam again')); // the same object is shown once per cell
    out.end(r, 7);
    expect(sent).toEqual([['execute_result', { execution_count: 7, data: message('grad-cam').data, metadata: message('grad-cam').metadata }]]);
    expect(out.active).toBe(false);
  });

  test('an offered result that is not the value is a display_data, before the next output and before Out[n]', () => {
    const { out, sent } = cell();
    const a = { a: 1 };
    out.offer(a, message('a'));
    out.flush(); // what the kernel does before a stream or display of the cell
    const b = { b: 2 };
    out.offer(b, message('b'));
    out.end(42, 3);
    expect(sent.map(([t, c]) => [t, (c.data as Record<string, unknown>)['text/plain']])).toEqual([
      ['display_data', 'a'],
      ['display_data', 'b'],
      ['execute_result', '42'],
    ]);
  });

  test('a result shown earlier in the cell is not shown again as the value; no value, no Out', () => {
    const { out, sent } = cell();
    const a = { a: 1 };
    out.offer(a, message('a'));
    out.flush();
    out.end(a, 1);
    expect(sent.map(([t]) => t)).toEqual(['display_data']);
    const second = cell();
    second.out.offer({}, message('c'));
    second.out.end(undefined, 2);
    expect(second.sent.map(([t]) => t)).toEqual(['display_data']);
  });

  test('a waiting result is shown at the next turn of the event loop (a long cell does not hold it back)', async () => {
    const { out, sent } = cell();
    out.offer({}, message('soon'));
    expect(sent).toEqual([]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(sent.map(([t]) => t)).toEqual(['display_data']);
    out.end(undefined, 1);
    expect(sent).toHaveLength(1);
  });

  test('outside a running cell nothing is offered; values get their own bundle or a bounded text', () => {
    const out = new CellOutput();
    out.offer({}, message('x'));
    expect(out.active).toBe(false);
    expect(valueBundle({ mimeBundle: () => ({ 'text/plain': 'w', 'image/png': new Uint8Array([1, 2, 3]) }) })).toEqual({ 'text/plain': 'w', 'image/png': 'AQID' });
    expect(valueBundle(2)).toEqual({ 'text/plain': '2' });
    expect(plainText(Promise.resolve(1))).toMatch(/^Promise .*await/);
    expect(plainText('x'.repeat(100000)).length).toBeLessThanOrEqual(MAX_PLAIN_CHARS);
    expect(plainText(Array.from({ length: 100000 }, (_, i) => i)).length).toBeLessThanOrEqual(MAX_PLAIN_CHARS);
  });
});

describe('Progress in a notebook', () => {
  function plain(s: Sent): string {
    return s.message.data['text/plain'] as string;
  }

  test('first display, then in-place updates of the same display id', () => {
    jest.useFakeTimers({ now: 0 });
    const sent = captureDisplays();
    const p = new Progress('layers', 4);
    jest.advanceTimersByTime(500);
    p.tick();
    p.done();
    expect(sent.map((s) => s.update)).toEqual([false, true, true]);
    const ids = new Set(sent.map((s) => s.message.transient.display_id));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^cnnvis-/);
    expect(sent.map(plain)).toEqual([
      `layers [${'.'.repeat(30)}] 0/4 0%`,
      `layers [${'#'.repeat(8)}${'.'.repeat(22)}] 1/4 25%`,
      `layers [${'#'.repeat(8)}${'.'.repeat(22)}] 1/4 25%`,
    ]);
    expect(Object.keys(sent[0].message.data).sort()).toEqual(['text/html', 'text/plain']);
  });

  test('at most 10 updates per second however fast it ticks, and the last state is shown', () => {
    jest.useFakeTimers({ now: 0 });
    const sent = captureDisplays();
    const p = new Progress('fast', 3000);
    for (let i = 0; i < 3000; i++) {
      p.tick();
      jest.advanceTimersByTime(1); // 3000 ticks over 3 s
    }
    const beforeDone = sent.length;
    expect(beforeDone).toBeGreaterThanOrEqual(30); // it does keep updating
    expect(beforeDone).toBeLessThanOrEqual(1 + 30);
    for (let i = 1; i < sent.length; i++) {
      expect(sent[i].at - sent[i - 1].at).toBeGreaterThanOrEqual(MIN_UPDATE_INTERVAL_MS);
    }
    p.done();
    expect(sent).toHaveLength(beforeDone + 1);
    expect(plain(sent[sent.length - 1])).toMatch(/ 3000\/3000 100%$/);
  });

  test('a tick held back by the throttle is shown when the interval ends', () => {
    jest.useFakeTimers({ now: 0 });
    const sent = captureDisplays();
    const p = new Progress('slow', 10);
    jest.advanceTimersByTime(10);
    p.tick(3);
    expect(sent).toHaveLength(1); // too soon after the first display
    jest.advanceTimersByTime(MIN_UPDATE_INTERVAL_MS);
    expect(sent).toHaveLength(2);
    expect(plain(sent[1])).toMatch(/ 3\/10 30%$/);
    expect(p.value).toBe(3);
  });

  test('done shows the final state at once, cancels pending updates, and ends the display', () => {
    jest.useFakeTimers({ now: 0 });
    const sent = captureDisplays();
    const p = new Progress('steps', 5);
    p.tick(5); // held back
    p.done();
    expect(sent).toHaveLength(2);
    expect(plain(sent[1])).toMatch(/ 5\/5 100%$/);
    expect(jest.getTimerCount()).toBe(0);
    p.tick();
    p.done();
    jest.advanceTimersByTime(1000);
    expect(sent).toHaveLength(2);
  });

  test('labels are escaped in HTML, never injected', () => {
    const sent = captureDisplays();
    const label = `<img src=x onerror="alert('x')">&amp;`;
    const p = new Progress(label, 2);
    p.done();
    for (const s of sent) {
      const html = s.message.data['text/html'] as string;
      expect(html).not.toContain('<img');
      expect(html).toContain('&#60;img src=x onerror=&#34;alert(&#39;x&#39;)&#34;&#62;&#38;amp;');
      expect(plain(s).startsWith(label)).toBe(true);
    }
    expect(escapeHtml(`a<b>&"'`)).toBe('a&#60;b&#62;&#38;&#34;&#39;');
  });

  test('an unknown total (0) shows the count; bad totals are rejected', () => {
    const sent = captureDisplays();
    const p = new Progress('images', 0);
    p.tick(7);
    p.done();
    expect(plain(sent[sent.length - 1])).toBe('images 7 done');
    expect(() => new Progress('x', -1)).toThrow(RangeError);
    expect(() => new Progress('x', NaN)).toThrow(RangeError);
  });
});

describe('Progress in a terminal', () => {
  function fakeStderr(isTTY: boolean): string[] {
    Object.defineProperty(process.stderr, 'isTTY', { value: isTTY, configurable: true });
    const written: string[] = [];
    jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    return written;
  }
  const savedTTY = Object.getOwnPropertyDescriptor(process.stderr, 'isTTY');
  restoreEnvAfterEach('CNNVIS_PROGRESS');
  afterEach(() => {
    if (savedTTY) Object.defineProperty(process.stderr, 'isTTY', savedTTY);
    else delete (process.stderr as { isTTY?: boolean }).isTTY;
  });

  test('on a TTY: one line redrawn in place, newline at the end', () => {
    jest.useFakeTimers({ now: 0 });
    delete process.env.CNNVIS_PROGRESS;
    const written = fakeStderr(true);
    const p = new Progress('tty\x1b[31m', 2); // control characters do not reach the terminal
    jest.advanceTimersByTime(200);
    p.tick();
    p.done();
    expect(written).toEqual([
      `\r\x1b[2Ktty [31m [${'.'.repeat(30)}] 0/2 0%`,
      `\r\x1b[2Ktty [31m [${'#'.repeat(15)}${'.'.repeat(15)}] 1/2 50%`,
      `\r\x1b[2Ktty [31m [${'#'.repeat(15)}${'.'.repeat(15)}] 1/2 50%`,
      '\n',
    ]);
  });

  test('not a TTY: silent, unless CNNVIS_PROGRESS=1 (then lines, at most one a second)', () => {
    jest.useFakeTimers({ now: 0 });
    delete process.env.CNNVIS_PROGRESS;
    const silent = fakeStderr(false);
    const quiet = new Progress('quiet', 2);
    quiet.tick();
    quiet.done();
    expect(silent).toEqual([]);

    process.env.CNNVIS_PROGRESS = '1';
    jest.restoreAllMocks();
    const logged = fakeStderr(false);
    const p = new Progress('log', 100);
    for (let i = 0; i < 100; i++) {
      p.tick();
      jest.advanceTimersByTime(25); // 2.5 s
    }
    p.done();
    expect(logged.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(logged.length).toBeLessThanOrEqual(1 + Math.ceil(2500 / MIN_LOG_INTERVAL_MS) + 1);
    expect(logged[logged.length - 1]).toMatch(/ 100\/100 100%\n$/);
  });
});

describe('kernelspec installer', () => {
  const tmp = tmpDirs('cnnvis-install-');
  restoreEnvAfterEach('JUPYTER_DATA_DIR');

  test('kernel.json runs the cnnvis launcher with this node', () => {
    expect(kernelJson()).toEqual({
      argv: [process.execPath, path.join(REPO_ROOT, 'kernel', 'bin', 'cnnvis-kernel.js'), '--config-path', '{connection_file}'],
      display_name: 'TypeScript (cnnvis)',
      language: 'typescript',
    });
    expect(fs.existsSync(kernelLauncherPath())).toBe(true);
  });

  test('with jupyter into a prefix: jupyter itself then lists the kernel', () => {
    const prefix = tmp();
    const spec = installKernelSpec({ prefix, jupyter: JUPYTER, labextension: false });
    expect(spec).toEqual({ name: 'cnnvis', dir: path.join(prefix, 'share', 'jupyter', 'kernels', 'cnnvis'), labextensionDir: null });
    expect(JSON.parse(fs.readFileSync(path.join(spec.dir, 'kernel.json'), 'utf8'))).toEqual(kernelJson());
    const list = spawnSync(JUPYTER, ['kernelspec', 'list', '--json'], {
      encoding: 'utf8',
      env: { ...process.env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter'), JUPYTER_DATA_DIR: tmp() },
    });
    const found = JSON.parse(list.stdout).kernelspecs.cnnvis;
    expect(found.resource_dir).toBe(spec.dir);
    expect(found.spec.display_name).toBe(KERNEL_DISPLAY_NAME);
  });

  test('without jupyter: writes into the prefix, or the user data dir by default', () => {
    const prefix = tmp();
    const inPrefix = installKernelSpec({ prefix, jupyter: false, labextension: false });
    expect(inPrefix.dir).toBe(path.join(prefix, 'share', 'jupyter', 'kernels', 'cnnvis'));
    expect(JSON.parse(fs.readFileSync(path.join(inPrefix.dir, 'kernel.json'), 'utf8'))).toEqual(kernelJson());

    process.env.JUPYTER_DATA_DIR = tmp();
    const user = installKernelSpec({ jupyter: false, labextension: false });
    expect(user.dir).toBe(path.join(process.env.JUPYTER_DATA_DIR, 'kernels', 'cnnvis'));
    expect(fs.existsSync(path.join(user.dir, 'kernel.json'))).toBe(true);
  });

  test('contradictory or impossible options are refused', () => {
    expect(() => installKernelSpec({ user: true, prefix: tmp(), jupyter: false })).toThrow(/only one of/);
    expect(() => installKernelSpec({ sysPrefix: true, jupyter: false })).toThrow(/needs jupyter/);
    expect(() => installKernelSpec({ prefix: ' ', jupyter: false })).toThrow(/prefix is empty/);
  });
});

test('kernel protocol: jupyter_kernel_test passes against the cnnvis kernel', async () => {
  const result = await runKernelUnittest('test_cnnvis_kernel', 110000);
  const report = result.stderr;
  if (result.code !== 0) throw new Error(`jupyter_kernel_test failed:\n${report}`);
  for (const name of [
    'test_kernel_info',
    'test_execute_stdout',
    'test_execute_stderr',
    'test_display_data',
    'test_is_complete',
    'test_cnnvis_bundle_then_update',
    'test_cnnvis_failed_cell_reports_error',
    'test_cnnvis_execute_input_and_counts',
    'test_cnnvis_semicolon_rule',
    'test_cnnvis_result_shown_once',
    'test_cnnvis_explorer_bundle',
    'test_cnnvis_queued_cells_after_an_error',
    'test_execute_result',
    'test_error',
    'test_cnnvis_comm_info',
    'test_completion',
    'test_inspect',
    'test_execute_stdout',
  ]) {
    expect(report).toMatch(new RegExp(`${name} .*\\.\\.\\. ok$`, 'm'));
  }
});
