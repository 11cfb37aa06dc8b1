/**
 * End-to-end harness: a fresh run folder, the cnnvis kernelspec in a temp Jupyter prefix, the test's
 * JupyterLab front end (tests/e2e/app/build) served by Debian's jupyterlab_server on a free port,
 * Debian's Chromium driven through playwright-core, and the page helpers the tests share (open, run,
 * save and close notebooks, wait for the kernel, ask it for JSON, read canvases back as pixels).
 *
 * The run folder, tests/e2e/artifacts/<stamp>/, holds everything of one run: root/ (the server's
 * notebook dir; inside the repository so notebooks resolve `import 'cnnvis'`), jupyter/ (prefix, data,
 * config, runtime), lab/ (settings, workspaces), server.log, console.log and the screenshots.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { PNG } from 'pngjs';
import { Browser, chromium, ConsoleMessage, Locator, Page } from 'playwright-core';
import { installKernelSpec } from '../../kernel/src/cli/install';
import { assertKernelBuilt, JUPYTER, PYTHON, REPO_ROOT } from '../helpers/jupyter';

export const APP_DIR = path.join(REPO_ROOT, 'tests', 'e2e', 'app');
export const ARTIFACTS = path.join(REPO_ROOT, 'tests', 'e2e', 'artifacts');
export const CHROMIUM = process.env.CNNVIS_CHROMIUM ?? '/usr/bin/chromium';
/** Run folders kept in ARTIFACTS (the newest ones). */
const KEEP_RUNS = 5;

/** Flags that keep Chromium quiet and local (no sandbox: CI runs as root). */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export interface RunDirs {
  run: string;
  root: string;
  prefix: string;
  data: string;
  config: string;
  runtime: string;
  settings: string;
  workspaces: string;
}

/** A new run folder under ARTIFACTS; older runs beyond the newest KEEP_RUNS are removed. */
export function createRunDirs(): RunDirs {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const old = fs.readdirSync(ARTIFACTS).filter((d) => /^run-/.test(d)).sort();
  for (const d of old.slice(0, Math.max(0, old.length - (KEEP_RUNS - 1)))) {
    fs.rmSync(path.join(ARTIFACTS, d), { recursive: true, force: true });
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const run = path.join(ARTIFACTS, `run-${stamp}-${process.pid}`);
  const dirs: RunDirs = {
    run,
    root: path.join(run, 'root'),
    prefix: path.join(run, 'jupyter', 'prefix'),
    data: path.join(run, 'jupyter', 'data'),
    config: path.join(run, 'jupyter', 'config'),
    runtime: path.join(run, 'jupyter', 'runtime'),
    settings: path.join(run, 'lab', 'settings'),
    workspaces: path.join(run, 'lab', 'workspaces'),
  };
  for (const d of Object.values(dirs)) fs.mkdirSync(d, { recursive: true });
  return dirs;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

function httpStatus(url: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.setTimeout(2000, () => {
      req.destroy();
      resolve(0);
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface LabServer {
  url: string;
  dirs: RunDirs;
  /** GET against the server; resolves with the parsed JSON body. */
  getJson<T>(apiPath: string): Promise<T>;
  stop(): Promise<void>;
}

/**
 * Checks what the run needs before starting anything, so a missing piece fails with its remedy
 * rather than as a timeout.
 */
export function checkPrerequisites(inputs: { model: string; image: string }): void {
  const missing: string[] = [];
  // tests/setup/globalSetup.js links the models of $CNNVIS_SHARED/data into a fresh CNNVIS_HOME.
  const home = process.env.CNNVIS_HOME ?? '';
  if (!fs.existsSync(path.join(home, 'models', inputs.model))) missing.push(`model ${inputs.model} in $CNNVIS_HOME (seeded from $CNNVIS_SHARED/data/models)`);
  if (!fs.existsSync(path.join(process.env.CNNVIS_DATA ?? '', inputs.image))) missing.push(`${inputs.image} in $CNNVIS_DATA ($CNNVIS_SHARED/data/images)`);
  if (!fs.existsSync(path.join(APP_DIR, 'build', 'bundle.js'))) missing.push(`${APP_DIR}/build (npm run build -w tests/e2e/app)`);
  if (!fs.existsSync(CHROMIUM)) missing.push(`${CHROMIUM} (apt-get install -y chromium)`);
  if (!fs.existsSync(PYTHON)) missing.push(`${PYTHON} with Debian's python3-jupyterlab-server`);
  if (missing.length) throw new Error(`end-to-end test prerequisites missing:\n  ${missing.join('\n  ')}`);
}

/** Starts the lab server on 127.0.0.1 and a free port; resolves once it answers. */
export async function startLabServer(dirs: RunDirs): Promise<LabServer> {
  assertKernelBuilt();
  // Installed with Debian's jupyter, as users would; the lab extension is built into the app instead.
  installKernelSpec({ prefix: dirs.prefix, jupyter: JUPYTER, labextension: false });
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const log = fs.openSync(path.join(dirs.run, 'server.log'), 'a');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    JUPYTER_PATH: path.join(dirs.prefix, 'share', 'jupyter'),
    JUPYTER_DATA_DIR: dirs.data,
    JUPYTER_CONFIG_DIR: dirs.config,
    JUPYTER_RUNTIME_DIR: dirs.runtime,
    JUPYTER_PLATFORM_DIRS: '0',
    // The kernel runs with this node whatever comes first on PATH; tools it starts see the same.
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
  };
  const args = [
    path.join(APP_DIR, 'main.py'),
    '--ServerApp.ip=127.0.0.1',
    `--ServerApp.port=${port}`,
    '--ServerApp.port_retries=0',
    '--ServerApp.token=',
    '--ServerApp.password=',
    '--ServerApp.open_browser=False',
    `--ServerApp.root_dir=${dirs.root}`,
    `--CnnvisE2eLab.user_settings_dir=${dirs.settings}`,
    `--CnnvisE2eLab.workspaces_dir=${dirs.workspaces}`,
    '--allow-root',
  ];
  const child: ChildProcess = spawn(PYTHON, args, { cwd: dirs.root, env, detached: true, stdio: ['ignore', log, log] });
  let exited: number | null | undefined;
  child.on('exit', (code) => (exited = code));
  const deadline = Date.now() + 30000;
  while ((await httpStatus(`${url}/api/status`)) !== 200) {
    if (exited !== undefined) throw new Error(`lab server exited (${exited}):\n${fs.readFileSync(path.join(dirs.run, 'server.log'), 'utf8')}`);
    if (Date.now() > deadline) throw new Error(`lab server did not answer on ${url} in 30 s; see ${dirs.run}/server.log`);
    await sleep(200);
  }
  const stop = async () => {
    if (exited !== undefined || child.pid === undefined) return;
    const gone = new Promise<void>((r) => child.once('exit', () => r()));
    // jupyter_server shuts its kernels down on SIGTERM; the whole group goes if it hangs.
    process.kill(-child.pid, 'SIGTERM');
    const timer = setTimeout(() => child.pid !== undefined && exited === undefined && process.kill(-child.pid, 'SIGKILL'), 10000);
    await gone;
    clearTimeout(timer);
    fs.closeSync(log);
  };
  const getJson = <T>(apiPath: string) =>
    new Promise<T>((resolve, reject) => {
      http
        .get(`${url}${apiPath}`, (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => {
            try {
              resolve(JSON.parse(body) as T);
            } catch (e) {
              reject(new Error(`GET ${apiPath}: ${res.statusCode} ${body.slice(0, 200)}`));
            }
          });
        })
        .on('error', reject);
    });
  return { url, dirs, getJson, stop };
}

export interface BrowserSession {
  browser: Browser;
  page: Page;
  /** Console errors and uncaught page errors, in order. */
  errors: string[];
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

/** Chromium from Debian with a fresh profile; console messages go to console.log in the run folder. */
export async function openBrowser(dirs: RunDirs): Promise<BrowserSession> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  const page = await context.newPage();
  const errors: string[] = [];
  const consoleLog = path.join(dirs.run, 'console.log');
  page.on('console', (m: ConsoleMessage) => {
    fs.appendFileSync(consoleLog, `[${m.type()}] ${m.text()}\n`);
    if (m.type() === 'error') errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  page.on('pageerror', (e) => {
    fs.appendFileSync(consoleLog, `[pageerror] ${e.stack ?? e.message}\n`);
    errors.push(`page error: ${e.message}`);
  });
  let shot = 0;
  return {
    browser,
    page,
    errors,
    async screenshot(name: string) {
      shot += 1;
      const file = path.join(dirs.run, `${String(shot).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file, fullPage: false });
      return file;
    },
    close: () => browser.close(),
  };
}

// ---- Driving the notebook: what the tests read from the app (window.cnnvisLab, see app/index.js) ----

/** Generous: a first cell loads a model and the kernel compiles TypeScript on a shared 2-core machine. */
export const COMPUTE_TIMEOUT = 180000;

interface KernelLike {
  name: string;
  status: string;
  connectionStatus: string;
  info: Promise<unknown>;
  requestExecute(content: { code: string; silent?: boolean; store_history?: boolean }): {
    onIOPub: (msg: { header: { msg_type: string }; content: { name?: string; text?: string } }) => void;
    done: Promise<unknown>;
  };
}
interface NotebookPanelLike {
  close(): void;
  context: { path: string; model: { dirty: boolean } };
  sessionContext: { isReady: boolean; ready: Promise<void>; session: { kernel: KernelLike | null } | null; shutdown(): Promise<void> };
}
interface LabLike {
  commands: { execute(id: string, args?: Record<string, unknown>): Promise<unknown> };
  shell: { currentWidget: NotebookPanelLike | null };
}
declare const window: Window & { cnnvisLab: LabLike };

/** A notebook on the cnnvis kernel with these code cells. */
export function notebookOf(sources: string[]): { nbformat: number; nbformat_minor: number; metadata: Record<string, unknown>; cells: Record<string, unknown>[] } {
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'cnnvis', display_name: 'TypeScript (cnnvis)', language: 'typescript' },
      language_info: { name: 'typescript' },
    },
    cells: sources.map((source) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null })),
  };
}

/** A canvas' pixels, read back as PNG. */
export async function canvasPixels(canvas: Locator): Promise<PNG> {
  const url = await canvas.evaluate((c) => (c as HTMLCanvasElement).toDataURL('image/png'));
  return PNG.sync.read(Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
}

/** Fraction of pixels that differ (1 when the sizes differ). */
export function changedFraction(a: PNG, b: PNG): number {
  if (a.width !== b.width || a.height !== b.height) return 1;
  let changed = 0;
  for (let i = 0; i < a.data.length; i += 4) {
    if (a.data[i] !== b.data[i] || a.data[i + 1] !== b.data[i + 1] || a.data[i + 2] !== b.data[i + 2]) changed++;
  }
  return changed / (a.width * a.height);
}

/** Waits until the explorer's progress line reports idle (live views report busy while the kernel computes). */
export async function waitIdle(explorer: Locator): Promise<void> {
  await explorer.locator('.cnnvis-progress[data-status="idle"]').waitFor({ timeout: COMPUTE_TIMEOUT });
}

/** Focuses a range input and presses ArrowRight (or another key), as a keyboard user moves a slider by one step. */
export async function stepSlider(page: Page, slider: Locator, key = 'ArrowRight'): Promise<void> {
  await slider.focus();
  await page.keyboard.press(key);
}

/** Presses ArrowRight on a range input `times` times. */
export async function stepSliderTimes(page: Page, slider: Locator, times: number): Promise<void> {
  await slider.focus();
  for (let i = 0; i < times; i++) await page.keyboard.press('ArrowRight');
}

export async function expectEventually(check: () => Promise<boolean>, what: string, timeout = COMPUTE_TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeout} ms waiting for ${what}`);
    await sleep(200);
  }
}

export async function waitForText(loc: Locator, differentFrom: string): Promise<string> {
  await expectEventually(async () => ((await loc.textContent()) ?? '') !== differentFrom, `text of ${loc} to change from '${differentFrom}'`);
  return (await loc.textContent()) ?? '';
}

/** Opens the lab (fresh workspace) and waits until it is restored. */
export async function openLab(page: Page, url: string): Promise<void> {
  await page.goto(`${url}/lab?reset`);
  await page.locator('body[data-cnnvis-lab="restored"]').waitFor({ state: 'attached', timeout: 60000 });
}

export async function openNotebook(page: Page, file: string): Promise<void> {
  await page.evaluate((p) => window.cnnvisLab.commands.execute('docmanager:open', { path: p, factory: 'Notebook' }), file);
  await page.waitForFunction((p) => window.cnnvisLab.shell.currentWidget?.context.path === p, file);
}

/** Waits for a connected cnnvis kernel that answered kernel_info and is idle (a cell run earlier is dropped). */
export async function waitForKernel(page: Page): Promise<void> {
  const connected = () =>
    page.waitForFunction(
      () => {
        const panel = window.cnnvisLab.shell.currentWidget;
        const kernel = panel?.sessionContext.session?.kernel;
        return !!panel?.sessionContext.isReady && kernel?.name === 'cnnvis' && kernel.connectionStatus === 'connected' && kernel.status === 'idle';
      },
      undefined,
      { timeout: 60000, polling: 250 },
    );
  await connected();
  await page.evaluate(async () => {
    await window.cnnvisLab.shell.currentWidget?.sessionContext.session?.kernel?.info;
  });
  await connected();
  await page.locator('.jp-Notebook .jp-Cell').first().waitFor();
}

/**
 * Runs `code` on the current notebook's kernel over its connection (no cell, nothing in the notebook)
 * and returns the JSON it prints on a line starting with '@@'.
 */
export async function kernelJson<T>(page: Page, code: string): Promise<T> {
  const out = await page.evaluate(async (c) => {
    const kernel = window.cnnvisLab.shell.currentWidget?.sessionContext.session?.kernel;
    if (!kernel) throw new Error('no kernel');
    let text = '';
    const future = kernel.requestExecute({ code: c, silent: false, store_history: false });
    future.onIOPub = (msg) => {
      if (msg.header.msg_type === 'stream' && msg.content.name === 'stdout') text += msg.content.text ?? '';
    };
    await future.done;
    return text;
  }, code);
  const line = out.split('\n').find((l) => l.startsWith('@@'));
  if (!line) throw new Error(`no @@ line from the kernel for ${code}: ${out}`);
  return JSON.parse(line.slice(2)) as T;
}

/** Shuts the current notebook's kernel down (the toolbar then says No Kernel). */
export async function shutdownKernel(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const panel = window.cnnvisLab.shell.currentWidget;
    if (!panel) throw new Error('no current notebook');
    await panel.sessionContext.ready;
    await panel.sessionContext.shutdown();
  });
}

/** Saves the current notebook from the keyboard and waits until it is clean. */
export async function saveNotebook(page: Page): Promise<void> {
  await page.locator('.jp-Notebook').first().click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+s');
  await page.waitForFunction(() => window.cnnvisLab.shell.currentWidget?.context.model.dirty === false);
}

/** Closes the current notebook. */
export async function closeNotebook(page: Page): Promise<void> {
  await page.evaluate(() => window.cnnvisLab.shell.currentWidget?.close());
}

/**
 * The menus shown in saved views: how many, and the aria-labels of those that read blank (a saved
 * control must never be blank).
 */
export async function savedMenus(page: Page): Promise<{ shown: number; blank: string[] }> {
  return page.evaluate(() => {
    const shown = Array.from(document.querySelectorAll<HTMLSelectElement>('.cnnvis-static select')).filter((s) => s.getClientRects().length > 0);
    return { shown: shown.length, blank: shown.filter((s) => !(s.selectedOptions[0]?.textContent ?? '').trim()).map((s) => s.getAttribute('aria-label') ?? '(no label)') };
  });
}
