/**
 * Headless notebook harness: installs the cnnvis kernelspec into a throw-away Jupyter sandbox and
 * executes notebooks with `jupyter nbconvert --execute`, failing with the failing cell's own output.
 *
 * The sandbox points JUPYTER_PATH / JUPYTER_DATA_DIR / JUPYTER_CONFIG_DIR / JUPYTER_RUNTIME_DIR at
 * temp dirs, so the user's real Jupyter setup is neither read for kernels nor written.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { installKernelSpec } from '../../kernel/src/cli/install';

/** Debian's Jupyter; the python3 first on PATH may lack it. Override with CNNVIS_JUPYTER / CNNVIS_PYTHON. */
export const JUPYTER = process.env.CNNVIS_JUPYTER ?? '/usr/bin/jupyter';
export const PYTHON = process.env.CNNVIS_PYTHON ?? '/usr/bin/python3';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const FIXTURE_NOTEBOOKS = path.join(REPO_ROOT, 'tests', 'fixtures', 'notebooks');
export const USER_NOTEBOOKS = path.join(REPO_ROOT, 'notebooks');

/** The parts of nbformat v4 the tests look at. */
export interface NotebookOutput {
  output_type: 'stream' | 'display_data' | 'execute_result' | 'error' | string;
  name?: string;
  text?: string | string[];
  data?: Record<string, unknown>;
  metadata?: Record<string, unknown>;
  ename?: string;
  evalue?: string;
  traceback?: string[];
}
export interface NotebookCell {
  cell_type: 'code' | 'markdown' | 'raw' | string;
  source: string | string[];
  metadata?: { tags?: string[] } & Record<string, unknown>;
  outputs?: NotebookOutput[];
  execution_count?: number | null;
}
export interface Notebook {
  nbformat: number;
  nbformat_minor: number;
  metadata: Record<string, unknown>;
  cells: NotebookCell[];
}

export interface JupyterSandbox {
  root: string;
  /** Environment for jupyter processes: the sandbox dirs on top of process.env. */
  env: NodeJS.ProcessEnv;
  kernelName: string;
  kernelDir: string;
  /** Removes the sandbox (kernelspec, runtime files, executed notebooks). */
  cleanup(): void;
}

export interface ExecuteOptions {
  /** Per-cell timeout in seconds (ExecutePreprocessor.timeout). */
  cellTimeoutSec?: number;
  /** Kill nbconvert and its kernel after this many ms. */
  totalTimeoutMs?: number;
}

/** nbformat stores multi-line strings either whole or as a list of lines. */
export function joinText(text: string | string[] | undefined): string {
  if (text === undefined) return '';
  return Array.isArray(text) ? text.join('') : text;
}

export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

export function codeCells(nb: Notebook): NotebookCell[] {
  return nb.cells.filter((c) => c.cell_type === 'code');
}

export function allOutputs(nb: Notebook): NotebookOutput[] {
  return codeCells(nb).flatMap((c) => c.outputs ?? []);
}

/** The .ipynb files directly in `dir`, sorted; none if the folder does not exist. */
export function listNotebooks(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ipynb'))
    .sort()
    .map((f) => path.join(dir, f));
}


/**
 * Notebooks import `cnnvis` from kernel/dist, so executing them against stale output tests the wrong
 * code. Brings kernel/dist up to date with an incremental `tsc -b kernel` (a no-op when it already is),
 * once per test process; throws with the compiler's output when the build fails.
 */
let kernelBuilt = false;
export function assertKernelBuilt(_sources?: string[]): void {
  if (kernelBuilt) return;
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-b', path.join(REPO_ROOT, 'kernel')], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`building kernel/ failed:\n${r.stdout}${r.stderr}`);
  kernelBuilt = true;
}

/**
 * nbclient calls this hook with the failing cell after its outputs are recorded; tslab reports errors
 * on stderr rather than in the execute_reply, so the outputs are the only place the error text lives.
 */
const NBCONVERT_CONFIG = `
import json, os

def _cnnvis_record_cell_error(cell, cell_index, execute_reply):
    target = os.environ.get("CNNVIS_NB_ERROR_FILE")
    if not target:
        return
    with open(target, "w") as f:
        json.dump({"cell_index": cell_index, "source": cell.source, "outputs": cell.outputs,
                   "reply": execute_reply.get("content", {})}, f, default=str)

c.ExecutePreprocessor.on_cell_error = _cnnvis_record_cell_error
`;

/** Creates the sandbox dirs and installs the cnnvis kernelspec into its prefix with `jupyter kernelspec install`. */
export function createJupyterSandbox(): JupyterSandbox {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-jupyter-'));
  const dirs = { prefix: 'prefix', data: 'data', config: 'config', runtime: 'runtime', out: 'out' };
  for (const d of Object.values(dirs)) fs.mkdirSync(path.join(root, d));
  try {
    const spec = installKernelSpec({ prefix: path.join(root, dirs.prefix), jupyter: JUPYTER, labextension: false });
    fs.writeFileSync(path.join(root, 'nbconvert_config.py'), NBCONVERT_CONFIG);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      JUPYTER_PATH: path.join(root, dirs.prefix, 'share', 'jupyter'),
      JUPYTER_DATA_DIR: path.join(root, dirs.data),
      JUPYTER_CONFIG_DIR: path.join(root, dirs.config),
      JUPYTER_RUNTIME_DIR: path.join(root, dirs.runtime),
      JUPYTER_PLATFORM_DIRS: '0',
    };
    return {
      root,
      env,
      kernelName: spec.name,
      kernelDir: spec.dir,
      cleanup: () => fs.rmSync(root, { recursive: true, force: true }),
    };
  } catch (e) {
    fs.rmSync(root, { recursive: true, force: true });
    throw e;
  }
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a command in its own process group, so a timeout also ends the kernel it started. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* already gone */
        }
      }
    }, opts.timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

/**
 * Runs a unittest module of tests/python (`python -m unittest -v`, from that folder) against the cnnvis
 * kernel in a fresh sandbox (kernel/dist brought up to date first); removes the sandbox afterwards.
 */
export async function runKernelUnittest(module: string, timeoutMs: number): Promise<RunResult> {
  assertKernelBuilt();
  const sandbox = createJupyterSandbox();
  try {
    return await run(PYTHON, ['-m', 'unittest', '-v', module], {
      cwd: path.join(REPO_ROOT, 'tests', 'python'),
      env: { ...sandbox.env, CNNVIS_KERNEL_NAME: sandbox.kernelName },
      timeoutMs,
    });
  } finally {
    sandbox.cleanup();
  }
}

function outputText(o: NotebookOutput): string {
  if (o.output_type === 'stream') return joinText(o.text);
  if (o.output_type === 'error') return [`${o.ename}: ${o.evalue}`, ...(o.traceback ?? [])].join('\n');
  const plain = o.data?.['text/plain'];
  return typeof plain === 'string' || Array.isArray(plain) ? joinText(plain as string | string[]) : '';
}

function describeFailedCell(nbPath: string, index: number, source: string, outputs: NotebookOutput[]): string {
  const text = stripAnsi(outputs.map(outputText).filter(Boolean).join('\n')).trim();
  return (
    `${path.basename(nbPath)}: cell ${index} failed\n` +
    `--- source ---\n${source.trim()}\n` +
    `--- output ---\n${text || '(the cell wrote no output)'}`
  );
}

/**
 * Executes `nbPath` headless in the sandbox (kernel cwd: the notebook's folder) and returns the
 * executed notebook. Rejects with the failing cell's source and output on any cell error, and on any
 * `error` output left in a cell not tagged `raises-exception`.
 */
export async function executeNotebook(
  sandbox: JupyterSandbox,
  nbPath: string,
  opts: ExecuteOptions = {},
): Promise<Notebook> {
  const cellTimeout = opts.cellTimeoutSec ?? 600;
  const outDir = fs.mkdtempSync(path.join(sandbox.root, 'out', `${path.basename(nbPath, '.ipynb')}-`));
  const outPath = path.join(outDir, 'executed.ipynb');
  const errorFile = path.join(outDir, 'cell-error.json');
  const args = [
    'nbconvert',
    '--to', 'notebook',
    '--execute',
    `--ExecutePreprocessor.kernel_name=${sandbox.kernelName}`,
    `--ExecutePreprocessor.timeout=${cellTimeout}`,
    `--config=${path.join(sandbox.root, 'nbconvert_config.py')}`,
    path.resolve(nbPath),
    '--output', outPath,
  ];
  const result = await run(JUPYTER, args, {
    cwd: path.dirname(path.resolve(nbPath)),
    env: { ...sandbox.env, CNNVIS_NB_ERROR_FILE: errorFile },
    timeoutMs: opts.totalTimeoutMs ?? 20 * 60 * 1000,
  });
  if (fs.existsSync(errorFile)) {
    const failed = JSON.parse(fs.readFileSync(errorFile, 'utf8')) as {
      cell_index: number;
      source: string;
      outputs: NotebookOutput[];
    };
    throw new Error(describeFailedCell(nbPath, failed.cell_index, failed.source, failed.outputs));
  }
  if (result.timedOut) {
    throw new Error(`${path.basename(nbPath)}: nbconvert killed after ${opts.totalTimeoutMs} ms\n${result.stderr}`);
  }
  if (result.code !== 0 || !fs.existsSync(outPath)) {
    throw new Error(
      `${path.basename(nbPath)}: jupyter nbconvert failed (exit ${result.code ?? result.signal})\n` +
        stripAnsi(result.stderr).trim(),
    );
  }
  const nb = JSON.parse(fs.readFileSync(outPath, 'utf8')) as Notebook;
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== 'code' || cell.metadata?.tags?.includes('raises-exception')) return;
    if ((cell.outputs ?? []).some((o) => o.output_type === 'error')) {
      throw new Error(describeFailedCell(nbPath, i, joinText(cell.source), cell.outputs ?? []));
    }
  });
  return nb;
}
