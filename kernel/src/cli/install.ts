/**
 * Installs the "TypeScript (cnnvis)" Jupyter kernelspec (kernel name `cnnvis`) and, when it has been
 * built (`npm run build -w labextension`), the prebuilt JupyterLab 4 extension @cnnvis/jupyterlab.
 *
 * The spec runs kernel/bin/cnnvis-kernel.js with the node that runs the installer, so it works
 * without a global tslab. Jupyter's own `jupyter kernelspec install` does the install when a
 * `jupyter` executable is found; otherwise kernel.json is written into the Jupyter data dir directly.
 * The extension goes into the same data dir as the kernelspec: <data dir>/labextensions/@cnnvis/jupyterlab,
 * where JupyterLab finds prebuilt extensions without a rebuild.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CnnvisError } from '../errors';

export const KERNEL_NAME = 'cnnvis';
export const KERNEL_DISPLAY_NAME = 'TypeScript (cnnvis)';
export const LABEXTENSION_NAME = '@cnnvis/jupyterlab';

export interface InstallOptions {
  /** Install into the per-user kernels dir (the default when neither sysPrefix nor prefix is given). */
  user?: boolean;
  /** Install into the sys.prefix of jupyter's Python (a virtualenv or conda env); needs jupyter. */
  sysPrefix?: boolean;
  /** Install into <prefix>/share/jupyter/kernels/. */
  prefix?: string;
  /** The jupyter executable to use, or false to write the files directly. Default: found on PATH. */
  jupyter?: string | false;
  /**
   * The prebuilt lab extension to install next to the kernelspec: a directory holding package.json
   * and static/ (default kernel/labextension), or false for none. A missing default is skipped (not
   * built); a missing directory given here is an error.
   */
  labextension?: string | false;
}

export interface InstalledKernelSpec {
  /** Kernel name for `--kernel`, `ExecutePreprocessor.kernel_name` etc. */
  name: string;
  /** Directory holding kernel.json. */
  dir: string;
  /** Where the lab extension was installed (<data dir>/labextensions/@cnnvis/jupyterlab); null if it was not. */
  labextensionDir: string | null;
}

export interface KernelJson {
  argv: string[];
  display_name: string;
  language: string;
}

/** The prebuilt lab extension's directory in this package (kernel/labextension), from src/cli or dist/cli. */
export function labextensionSourcePath(): string {
  return path.resolve(__dirname, '..', '..', 'labextension');
}

/** The file a prebuilt extension's package.json names as its entry point (jupyterlab._build.load), or null. */
export function labextensionEntry(dir: string): string | null {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
      jupyterlab?: { _build?: { load?: unknown } };
    };
    const load = meta.jupyterlab?._build?.load;
    return typeof load === 'string' && fs.existsSync(path.join(dir, load)) ? path.join(dir, load) : null;
  } catch {
    return null;
  }
}

/** Absolute path of the kernel launcher (kernel/bin/cnnvis-kernel.js), from src/cli or dist/cli. */
export function kernelLauncherPath(): string {
  return path.resolve(__dirname, '..', '..', 'bin', 'cnnvis-kernel.js');
}

export function kernelJson(): KernelJson {
  return {
    argv: [process.execPath, kernelLauncherPath(), '--config-path', '{connection_file}'],
    display_name: KERNEL_DISPLAY_NAME,
    language: 'typescript',
  };
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The `jupyter` executable first on PATH, else /usr/bin/jupyter, else null. */
export function findJupyter(): string | null {
  const names = process.platform === 'win32' ? ['jupyter.exe', 'jupyter.cmd', 'jupyter'] : ['jupyter'];
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    for (const name of names) {
      const candidate = path.join(dir, name);
      if (isExecutable(candidate)) return candidate;
    }
  }
  return process.platform !== 'win32' && isExecutable('/usr/bin/jupyter') ? '/usr/bin/jupyter' : null;
}

/** The per-user Jupyter data dir, as jupyter_core computes it (JUPYTER_DATA_DIR wins). */
export function userJupyterDataDir(): string {
  if (process.env.JUPYTER_DATA_DIR) return process.env.JUPYTER_DATA_DIR;
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Jupyter');
  if (process.platform === 'win32') {
    return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'jupyter');
  }
  const xdg = process.env.XDG_DATA_HOME || path.join(home, '.local', 'share');
  return path.join(xdg, 'jupyter');
}

function checkOptions(opts: InstallOptions): void {
  const chosen = [opts.user, opts.sysPrefix, opts.prefix !== undefined].filter(Boolean).length;
  if (chosen > 1) throw new CnnvisError('install: choose only one of user, sysPrefix and prefix');
  if (opts.prefix !== undefined && opts.prefix.trim() === '') throw new CnnvisError('install: prefix is empty');
}

type SpecLocation = Omit<InstalledKernelSpec, 'labextensionDir'>;

function installWithJupyter(jupyter: string, specDir: string, opts: InstallOptions): SpecLocation {
  const args = ['kernelspec', 'install', specDir, '--name', KERNEL_NAME];
  if (opts.prefix !== undefined) args.push('--prefix', path.resolve(opts.prefix));
  else if (opts.sysPrefix) args.push('--sys-prefix');
  else args.push('--user');
  const run = spawnSync(jupyter, args, { encoding: 'utf8' });
  if (run.error) throw new CnnvisError(`install: could not run ${jupyter}: ${run.error.message}`);
  const output = `${run.stdout ?? ''}\n${run.stderr ?? ''}`;
  if (run.status !== 0) {
    throw new CnnvisError(`install: ${jupyter} ${args.join(' ')} failed (exit ${run.status}):\n${output.trim()}`);
  }
  const installed = /Installed kernelspec \S+ in (.+)$/m.exec(output);
  if (installed) return { name: KERNEL_NAME, dir: installed[1].trim() };
  if (opts.prefix !== undefined) {
    return { name: KERNEL_NAME, dir: path.join(path.resolve(opts.prefix), 'share', 'jupyter', 'kernels', KERNEL_NAME) };
  }
  throw new CnnvisError(`install: ${jupyter} did not say where it installed the kernelspec:\n${output.trim()}`);
}

function installDirectly(specDir: string, opts: InstallOptions): SpecLocation {
  if (opts.sysPrefix) {
    throw new CnnvisError('install: --sys-prefix needs jupyter on PATH (it is the prefix of jupyter\'s Python)');
  }
  const kernelsDir =
    opts.prefix !== undefined
      ? path.join(path.resolve(opts.prefix), 'share', 'jupyter', 'kernels')
      : path.join(userJupyterDataDir(), 'kernels');
  const dir = path.join(kernelsDir, KERNEL_NAME);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(path.join(specDir, 'kernel.json'), path.join(dir, 'kernel.json'));
  return { name: KERNEL_NAME, dir };
}

/** The lab extension to install: the given directory (must be built), the default one if built, or null. */
function labextensionToInstall(opts: InstallOptions): string | null {
  if (opts.labextension === false) return null;
  const dir = opts.labextension !== undefined ? path.resolve(opts.labextension) : labextensionSourcePath();
  if (labextensionEntry(dir)) return dir;
  if (opts.labextension !== undefined) {
    throw new CnnvisError(`install: ${dir} is not a built lab extension (package.json naming an existing jupyterlab._build.load)`);
  }
  return null;
}

/**
 * Copies a prebuilt extension into <data dir>/labextensions/@cnnvis/jupyterlab, replacing what was
 * there (old builds leave hashed chunk files that would otherwise pile up).
 */
function installLabextension(source: string, dataDir: string): string {
  const target = path.join(dataDir, 'labextensions', ...LABEXTENSION_NAME.split('/'));
  fs.rmSync(target, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.cpSync(source, target, { recursive: true });
  return target;
}

/** The Jupyter data dir an install would use: <prefix>/share/jupyter, sys.prefix's (asks jupyter), or the user's. */
function dataDirFor(opts: InstallOptions): string {
  if (opts.prefix !== undefined) return path.join(path.resolve(opts.prefix), 'share', 'jupyter');
  if (opts.sysPrefix) {
    const jupyter = opts.jupyter === false ? null : opts.jupyter ?? findJupyter();
    if (!jupyter) throw new CnnvisError('install: --sys-prefix needs jupyter on PATH (it is the prefix of jupyter\'s Python)');
    const run = spawnSync(jupyter, ['--paths', '--json'], { encoding: 'utf8' });
    const paths = run.status === 0 ? (JSON.parse(run.stdout) as { data?: string[] }).data ?? [] : [];
    const prefixData = paths.find((d) => !d.startsWith(userJupyterDataDir()) && /share[\\/]jupyter$/.test(d));
    if (!prefixData) throw new CnnvisError(`install: could not find the sys-prefix data dir in \`${jupyter} --paths\``);
    return prefixData;
  }
  return userJupyterDataDir();
}

/**
 * Removes what `installKernelSpec` installed with the same options: the `cnnvis` kernelspec and the
 * @cnnvis/jupyterlab extension. Returns the directories it removed (none when nothing was there).
 */
export function uninstallKernelSpec(opts: InstallOptions = {}): string[] {
  checkOptions(opts);
  const data = dataDirFor(opts);
  const removed: string[] = [];
  for (const dir of [path.join(data, 'kernels', KERNEL_NAME), path.join(data, 'labextensions', ...LABEXTENSION_NAME.split('/'))]) {
    if (!fs.existsSync(dir)) continue;
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  // An empty @cnnvis scope folder is ours too.
  const scope = path.join(data, 'labextensions', LABEXTENSION_NAME.split('/')[0]);
  try {
    if (fs.readdirSync(scope).length === 0) fs.rmdirSync(scope);
  } catch {
    /* not there */
  }
  return removed;
}

/**
 * Installs (or replaces) the `cnnvis` kernelspec, and the prebuilt lab extension into the same
 * Jupyter data dir when it is built. Default target: the per-user data dir. Returns the kernel
 * name, the directory that holds kernel.json and the extension's directory (null if not installed).
 */
export function installKernelSpec(opts: InstallOptions = {}): InstalledKernelSpec {
  checkOptions(opts);
  const launcher = kernelLauncherPath();
  if (!fs.existsSync(launcher)) throw new CnnvisError(`install: kernel launcher missing: ${launcher}`);
  const extension = labextensionToInstall(opts);
  const specDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-kernelspec-'));
  let spec: SpecLocation;
  try {
    fs.chmodSync(specDir, 0o755);
    fs.writeFileSync(path.join(specDir, 'kernel.json'), JSON.stringify(kernelJson(), null, 2) + '\n');
    const jupyter = opts.jupyter === false ? null : opts.jupyter ?? findJupyter();
    spec = jupyter ? installWithJupyter(jupyter, specDir, opts) : installDirectly(specDir, opts);
  } finally {
    fs.rmSync(specDir, { recursive: true, force: true });
  }
  // <data dir>/kernels/cnnvis → <data dir>: the one jupyter chose for --user / --sys-prefix / --prefix.
  const dataDir = path.dirname(path.dirname(spec.dir));
  return { ...spec, labextensionDir: extension ? installLabextension(extension, dataDir) : null };
}
