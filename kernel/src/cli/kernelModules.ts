/**
 * Module resolution for the kernel process, so a notebook in any folder can `import * as cnnvis from
 * 'cnnvis'` — with or without node_modules beside it.
 *
 * A notebook's imports resolve as tslab resolves them (Node's rules from the notebook's folder: its
 * node_modules, then its parents'); when none of those has the package, the node_modules folder that
 * holds this cnnvis (and its dependencies) is searched last, like a NODE_PATH entry:
 * - at run time, by NODE_PATH (Node searches it after every node_modules folder);
 * - for tslab's type check (TypeScript ignores NODE_PATH), by showing that folder as the filesystem
 *   root's node_modules, the last folder TypeScript's node resolution looks in.
 *
 * bin/cnnvis-kernel.js calls `resolveOwnPackages()` before the kernel creates tslab's converters.
 */
import * as fs from 'fs';
import * as path from 'path';

/** The cnnvis package folder (holding package.json), from src/cli or dist/cli. */
function packageRoot(): string {
  return path.resolve(__dirname, '..', '..');
}

function realpath(p: string): string | null {
  try {
    return fs.realpathSync(p);
  } catch {
    return null;
  }
}

/**
 * The node_modules folder through which `cnnvis` resolves to this package: its parent when it is
 * installed as a package (<project>/node_modules/cnnvis), else the nearest node_modules above it whose
 * `cnnvis` links here (a workspace clone: <repo>/node_modules/cnnvis → <repo>/kernel). Null if none.
 */
export function ownPackagesDir(root: string = packageRoot()): string | null {
  const real = realpath(root) ?? root;
  if (path.basename(path.dirname(root)) === 'node_modules') return path.dirname(root);
  for (let dir = path.dirname(real); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'node_modules');
    if (realpath(path.join(candidate, 'cnnvis')) === real) return candidate;
    if (path.dirname(dir) === dir) return null;
  }
}

/** Adds a folder to NODE_PATH (last) and makes this process's require see it. */
function addNodePath(dir: string): void {
  const entries = (process.env.NODE_PATH ?? '').split(path.delimiter).filter(Boolean);
  if (!entries.includes(dir)) entries.push(dir);
  process.env.NODE_PATH = entries.join(path.delimiter);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  (require('module') as { _initPaths?: () => void })._initPaths?.();
}

interface TsSys {
  fileExists(p: string): boolean;
  directoryExists(p: string): boolean;
  readFile(p: string, encoding?: string): string | undefined;
  realpath?(p: string): string;
  getDirectories(p: string): string[];
  readDirectory(p: string, ...rest: unknown[]): string[];
}

/**
 * Makes TypeScript (the copy tslab uses) see `dir` as <filesystem root>/node_modules wherever the real
 * root has no such entry. Returns a function that undoes it.
 */
export function showAsRootNodeModules(ts: { sys: TsSys }, dir: string, cwd: string = process.cwd()): () => void {
  const sys = ts.sys;
  const rootModules = path.join(path.parse(path.resolve(cwd)).root, 'node_modules');
  const norm = (p: string) => path.resolve(p);
  /** The real path for a path under <root>/node_modules, when the real root has none there. */
  const forward = (p: string): string | null => {
    const abs = norm(p);
    const rel = path.relative(rootModules, abs);
    if (rel.startsWith('..') || path.isAbsolute(rel)) return null;
    if (fs.existsSync(abs)) return null;
    return rel ? path.join(dir, rel) : dir;
  };
  const saved = { fileExists: sys.fileExists, directoryExists: sys.directoryExists, readFile: sys.readFile, realpath: sys.realpath, getDirectories: sys.getDirectories, readDirectory: sys.readDirectory };
  sys.fileExists = (p) => saved.fileExists.call(sys, forward(p) ?? p);
  sys.directoryExists = (p) => saved.directoryExists.call(sys, forward(p) ?? p);
  sys.readFile = (p, encoding) => saved.readFile.call(sys, forward(p) ?? p, encoding);
  sys.getDirectories = (p) => saved.getDirectories.call(sys, forward(p) ?? p);
  sys.readDirectory = (p, ...rest) => saved.readDirectory.call(sys, forward(p) ?? p, ...rest);
  // The real path is the file's identity: its own imports then resolve from where it really is.
  sys.realpath = (p) => {
    const f = forward(p);
    if (f) return realpath(f) ?? f;
    return saved.realpath ? saved.realpath.call(sys, p) : p;
  };
  return () => Object.assign(sys, saved);
}

/**
 * Lets the notebooks of this kernel process import cnnvis (and its dependencies) from any folder;
 * the notebook folder's own packages come first. Returns the folder it added, or null.
 */
export function resolveOwnPackages(): string | null {
  const dir = ownPackagesDir();
  if (!dir) return null;
  addNodePath(dir);
  // tslab's TypeScript: the copy tslab itself loads (its own build of TypeScript).
  const tslab = path.dirname(require.resolve('tslab/package.json'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require(require.resolve('@tslab/typescript-for-tslab', { paths: [tslab] })) as { sys: TsSys };
  showAsRootNodeModules(ts, dir);
  return dir;
}
