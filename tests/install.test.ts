/**
 * `cnnvis install` puts the prebuilt JupyterLab extension next to the kernelspec, in the same Jupyter
 * data dir, where jupyterlab_server (Debian's, through /usr/bin/python3) finds it as a federated
 * extension.
 *
 * The test of the real build needs kernel/labextension (`npm run build -w labextension`, or `npm pack -w
 * kernel`); it is skipped when the build is absent. tests/package.pkgtest.ts (`npm run test:package`, run
 * by CI) always builds it, installs the packed package and checks the copy there.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { installKernelSpec, kernelJson, LABEXTENSION_NAME, labextensionEntry, labextensionSourcePath, uninstallKernelSpec } from '../kernel/src/cli/install';
import { ownPackagesDir, showAsRootNodeModules } from '../kernel/src/cli/kernelModules';
import { main } from '../kernel/src/cli/main';
import { restoreEnvAfterEach, tmpDirs, withEnv } from './helpers/env';
import { JUPYTER, PYTHON } from './helpers/jupyter';

const tmp = tmpDirs('cnnvis-install-');
restoreEnvAfterEach('JUPYTER_DATA_DIR');

/** A minimal prebuilt extension: package.json naming its entry chunk, and that chunk. */
function fakeBuild(hash: string): string {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'static'));
  const load = `static/remoteEntry.${hash}.js`;
  fs.writeFileSync(path.join(dir, load), `/* ${hash} */\n`);
  fs.writeFileSync(path.join(dir, 'static', `${hash}.chunk.js`), '\n');
  fs.writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: LABEXTENSION_NAME, version: '0.1.0', jupyterlab: { _build: { load, extension: './extension' } } }),
  );
  return dir;
}

/** What jupyterlab_server itself finds under a labextensions dir: name → its load path. */
function federatedExtensions(labextensionsDir: string): Record<string, string> {
  const script = [
    'import json, sys',
    'from jupyterlab_server.config import get_federated_extensions',
    'exts = get_federated_extensions([sys.argv[1]])',
    'print(json.dumps({k: v["jupyterlab"]["_build"]["load"] for k, v in exts.items()}))',
  ].join('\n');
  const r = spawnSync(PYTHON, ['-c', script, labextensionsDir], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`jupyterlab_server failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string>;
}

function staticFiles(dir: string): string[] {
  return fs.readdirSync(path.join(dir, 'static')).sort();
}

test('a prefix gets kernel.json and the extension under share/jupyter; a reinstall replaces old chunks', () => {
  const prefix = tmp();
  const first = installKernelSpec({ prefix, jupyter: false, labextension: fakeBuild('aaa') });
  const data = path.join(prefix, 'share', 'jupyter');
  expect(first.dir).toBe(path.join(data, 'kernels', 'cnnvis'));
  expect(JSON.parse(fs.readFileSync(path.join(first.dir, 'kernel.json'), 'utf8'))).toEqual(kernelJson());
  expect(first.labextensionDir).toBe(path.join(data, 'labextensions', '@cnnvis', 'jupyterlab'));
  expect(staticFiles(first.labextensionDir!)).toEqual(['aaa.chunk.js', 'remoteEntry.aaa.js']);

  const second = installKernelSpec({ prefix, jupyter: false, labextension: fakeBuild('bbb') });
  expect(second.labextensionDir).toBe(first.labextensionDir);
  expect(staticFiles(second.labextensionDir!)).toEqual(['bbb.chunk.js', 'remoteEntry.bbb.js']);
  expect(federatedExtensions(path.join(data, 'labextensions'))).toEqual({ [LABEXTENSION_NAME]: 'static/remoteEntry.bbb.js' });
});

test('for the user: the extension goes into the user data dir, next to the kernels', () => {
  process.env.JUPYTER_DATA_DIR = tmp();
  const r = installKernelSpec({ jupyter: false, labextension: fakeBuild('ccc') });
  expect(r.dir).toBe(path.join(process.env.JUPYTER_DATA_DIR, 'kernels', 'cnnvis'));
  expect(r.labextensionDir).toBe(path.join(process.env.JUPYTER_DATA_DIR, 'labextensions', '@cnnvis', 'jupyterlab'));
  expect(fs.existsSync(path.join(r.labextensionDir!, 'static', 'remoteEntry.ccc.js'))).toBe(true);
});

test('an extension directory that is not a build is refused before anything is installed', () => {
  const prefix = tmp();
  const notBuilt = tmp();
  fs.writeFileSync(path.join(notBuilt, 'package.json'), JSON.stringify({ name: LABEXTENSION_NAME, jupyterlab: {} }));
  expect(() => installKernelSpec({ prefix, jupyter: false, labextension: notBuilt })).toThrow(/not a built lab extension/);
  expect(fs.readdirSync(prefix)).toEqual([]);
  expect(() => installKernelSpec({ prefix, jupyter: false, labextension: path.join(notBuilt, 'missing') })).toThrow(/not a built lab extension/);
});

const built = labextensionEntry(labextensionSourcePath()) !== null;

(built ? test : test.skip)('`cnnvis install --prefix` with jupyter: the real build lands where jupyterlab_server finds it', async () => {
  const prefix = tmp();
  const out: string[] = [];
  // main() finds jupyter on PATH: make it Debian's, as the other Jupyter tests use.
  const code = await withEnv({ PATH: `${path.dirname(JUPYTER)}${path.delimiter}${process.env.PATH ?? ''}` }, () =>
    main(['install', '--prefix', prefix], { out: (s) => out.push(s), err: (s) => out.push(s) }),
  );
  expect(code).toBe(0);
  const data = path.join(prefix, 'share', 'jupyter');
  const extDir = path.join(data, 'labextensions', '@cnnvis', 'jupyterlab');
  expect(out).toEqual([`installed kernel spec 'cnnvis' in ${path.join(data, 'kernels', 'cnnvis')}`, `installed JupyterLab extension in ${extDir}`]);
  expect(JSON.parse(fs.readFileSync(path.join(data, 'kernels', 'cnnvis', 'kernel.json'), 'utf8'))).toEqual(kernelJson());

  const meta = JSON.parse(fs.readFileSync(path.join(extDir, 'package.json'), 'utf8')) as { name: string; jupyterlab: { _build: { load: string } } };
  expect(meta.name).toBe(LABEXTENSION_NAME);
  expect(meta.jupyterlab._build.load).toMatch(/^static\/remoteEntry\.[0-9a-f]+\.js$/);
  expect(staticFiles(extDir)).toEqual(staticFiles(labextensionSourcePath()));
  expect(staticFiles(extDir).filter((f) => /^remoteEntry\..+\.js$/.test(f))).toEqual([path.basename(meta.jupyterlab._build.load)]);
  expect(federatedExtensions(path.join(data, 'labextensions'))).toEqual({ [LABEXTENSION_NAME]: meta.jupyterlab._build.load });
});

test('the kernel spec runs this node and the launcher of this package, found from its own location', () => {
  const spec = kernelJson();
  expect(spec.argv[0]).toBe(process.execPath);
  expect(spec.argv[1]).toBe(path.resolve(__dirname, '..', 'kernel', 'bin', 'cnnvis-kernel.js'));
  expect(fs.existsSync(spec.argv[1])).toBe(true);
});

test('uninstall removes the kernel spec and the extension from where install put them, and nothing else', () => {
  const prefix = tmp();
  const r = installKernelSpec({ prefix, jupyter: false, labextension: fakeBuild('ddd') });
  const other = path.join(prefix, 'share', 'jupyter', 'kernels', 'python3');
  fs.mkdirSync(other, { recursive: true });
  expect(uninstallKernelSpec({ prefix }).sort()).toEqual([r.dir, r.labextensionDir!].sort());
  expect(fs.existsSync(r.dir)).toBe(false);
  expect(fs.existsSync(path.join(prefix, 'share', 'jupyter', 'labextensions', '@cnnvis'))).toBe(false);
  expect(fs.existsSync(other)).toBe(true);
  expect(uninstallKernelSpec({ prefix })).toEqual([]);
});

test('the kernel finds cnnvis through the node_modules that holds it (in the repository: the workspace link)', () => {
  const repo = path.resolve(__dirname, '..');
  expect(ownPackagesDir(path.join(repo, 'kernel'))).toBe(path.join(repo, 'node_modules'));
  const project = tmp();
  const pkg = path.join(project, 'node_modules', 'cnnvis');
  fs.mkdirSync(pkg, { recursive: true });
  expect(ownPackagesDir(pkg)).toBe(path.join(project, 'node_modules'));
  expect(ownPackagesDir(tmp())).toBeNull();
});

test("TypeScript sees cnnvis' node_modules as the root's, after every real node_modules on the way", () => {
  const mods = tmp();
  fs.mkdirSync(path.join(mods, 'pkg'));
  fs.writeFileSync(path.join(mods, 'pkg', 'index.d.ts'), 'export declare const x: 1;\n');
  const calls: string[] = [];
  const sys = {
    fileExists: (p: string) => (calls.push(p), fs.existsSync(p) && fs.statSync(p).isFile()),
    directoryExists: (p: string) => fs.existsSync(p) && fs.statSync(p).isDirectory(),
    readFile: (p: string) => (fs.existsSync(p) ? fs.readFileSync(p, 'utf8') : undefined),
    realpath: (p: string) => p,
    getDirectories: () => [],
    readDirectory: () => [],
  };
  const undo = showAsRootNodeModules({ sys }, mods, tmp());
  const rootModules = path.join(path.parse(process.cwd()).root, 'node_modules');
  const virtual = path.join(rootModules, 'pkg', 'index.d.ts');
  if (!fs.existsSync(rootModules)) expect(sys.directoryExists(rootModules)).toBe(true);
  expect(sys.fileExists(virtual)).toBe(true);
  expect(sys.readFile(virtual)).toBe('export declare const x: 1;\n');
  expect(sys.realpath(virtual)).toBe(fs.realpathSync(path.join(mods, 'pkg', 'index.d.ts')));
  // Paths elsewhere are untouched.
  const elsewhere = path.join(tmp(), 'node_modules', 'pkg', 'index.d.ts');
  expect(sys.fileExists(elsewhere)).toBe(false);
  expect(calls[calls.length - 1]).toBe(elsewhere);
  undo();
  expect(sys.fileExists(virtual)).toBe(fs.existsSync(virtual));
});
