/**
 * End-to-end harness: a fresh run folder, the cnnvis kernelspec in a temp Jupyter prefix, the test's
 * JupyterLab front end (tests/e2e/app/build) served by Debian's jupyterlab_server on a free port, and
 * Debian's Chromium driven through playwright-core.
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
import { Browser, chromium, ConsoleMessage, Page } from 'playwright-core';
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
