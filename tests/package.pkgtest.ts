/**
 * The package as a user gets it, outside the repository (`npm run test:package`; .ci/run runs it):
 * `npm pack -w kernel`, `npm install <tarball>` into an empty folder, `cnnvis --version`, `cnnvis install`
 * into a temporary Jupyter data dir, and notebooks in unrelated folders (one bare, one with its own
 * node_modules) executed by Debian's nbconvert on the cnnvis kernel: numbered cells, `1 + 1` as Out[n],
 * the demo model's prediction on the ONNX Runtime engine (checked against TF.js), an explorer's bundle
 * (widget view, PNG, text) and that PNG in plain `nbconvert --to html`; then a missing engine and the
 * one command cnnvis prints for it, and `cnnvis install --uninstall`.
 *
 * Not part of `npm test`: installing the tarball resolves its dependencies' version ranges, which needs
 * the npm registry's package lists (`--prefer-offline` takes the tarballs from the npm cache).
 */
import { execFileSync, spawnSync, SpawnSyncReturns } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { PNG } from 'pngjs';
import { JUPYTER, NotebookCell, NotebookOutput, PYTHON, joinText } from './helpers/jupyter';

jest.setTimeout(240_000);

const REPO = path.resolve(__dirname, '..');
const VERSION = (JSON.parse(fs.readFileSync(path.join(REPO, 'kernel', 'package.json'), 'utf8')) as { version: string; optionalDependencies: Record<string, string> });
const ORT_VERSION = VERSION.optionalDependencies['onnxruntime-node'];
const root = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-package-')));
const project = path.join(root, 'project');
const data = path.join(root, 'jupyter-data');
const bin = path.join(project, 'node_modules', '.bin', 'cnnvis');

/** The user's environment: Debian's jupyter first on PATH, Jupyter's dirs in the temp folder, no repo settings. */
const env: NodeJS.ProcessEnv = {
  ...process.env,
  PATH: `${path.dirname(JUPYTER)}${path.delimiter}${process.env.PATH ?? ''}`,
  JUPYTER_DATA_DIR: data,
  JUPYTER_CONFIG_DIR: path.join(root, 'jupyter-config'),
  JUPYTER_RUNTIME_DIR: path.join(root, 'jupyter-runtime'),
  CNNVIS_HOME: path.join(root, 'cnnvis-home'),
  CNNVIS_OFFLINE: '1',
};
delete env.JUPYTER_PATH;
delete env.NODE_PATH;
delete env.CNNVIS_ACCEL;
delete env.CNNVIS_DATA;
for (const k of Object.keys(env)) if (k.startsWith('npm_')) delete env[k];

function run(cmd: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const r = spawnSync(cmd, args, { cwd, env: { ...env, ...extra }, encoding: 'utf8', timeout: 180_000 });
  if (r.error) throw r.error;
  return r;
}
function ok(cmd: string, args: string[], cwd: string, extra: NodeJS.ProcessEnv = {}): string {
  const r = run(cmd, args, cwd, extra);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

let tarball = '';
let packed: string[] = [];
beforeAll(() => {
  // The repository's own npm (npm_execpath when npm runs jest) packs; prepack builds dist and the lab extension.
  const out = execFileSync('npm', ['pack', '-w', 'kernel', '--pack-destination', root, '--json'], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  const json = JSON.parse(out.slice(out.search(/^\[/m))) as { filename: string; files: { path: string }[] }[];
  tarball = path.join(root, json[0].filename);
  packed = json[0].files.map((f) => f.path);
  fs.mkdirSync(project);
  // As the README writes it (the variable skips onnxruntime-node's CUDA download; its CPU library ships in the package).
  ok('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], project, { ONNXRUNTIME_NODE_INSTALL: 'skip' });
});
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

test('the tarball ships README, LICENSE, the compiled kernel, the demo model and the built lab extension, no sources', () => {
  for (const f of ['README.md', 'LICENSE', 'package.json', 'bin/cnnvis.js', 'bin/cnnvis-kernel.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'assets/demo/model.json', 'assets/demo/weights.bin', 'labextension/package.json']) {
    expect(packed).toContain(f);
  }
  const ext = JSON.parse(fs.readFileSync(path.join(project, 'node_modules', 'cnnvis', 'labextension', 'package.json'), 'utf8')) as { jupyterlab: { _build: { load: string } } };
  expect(packed).toContain(path.posix.join('labextension', ext.jupyterlab._build.load));
  expect(packed.filter((f) => f.startsWith('src/') || f.endsWith('.map') || f.startsWith('scripts/'))).toEqual([]);
  expect(fs.readFileSync(path.join(project, 'node_modules', 'cnnvis', 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
});

test('`cnnvis --version` from any folder names the version and the ONNX Runtime engine', () => {
  const out = ok(bin, ['--version'], os.tmpdir());
  expect(out.split('\n')[0]).toBe(`cnnvis ${VERSION.version}`);
  expect(out).toMatch(new RegExp(`^engine: ONNX Runtime ${ORT_VERSION.replace(/\./g, '\\.')} \\(\\d+ threads\\) for the models it compiles; TF\\.js 4\\.22\\.0 on wasm`, 'm'));
});

/** A notebook of code cells in `dir`, run by Debian's nbconvert on the cnnvis kernel; the executed notebook. */
type Cell = Omit<NotebookCell, 'outputs'> & { outputs: (NotebookOutput & { execution_count?: number | null })[] };
function execute(dir: string, cells: string[]): Cell[] {
  fs.mkdirSync(dir, { recursive: true });
  const nb = {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: 'cnnvis', display_name: 'TypeScript (cnnvis)', language: 'typescript' } },
    cells: cells.map((source, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, source, outputs: [], execution_count: null })),
  };
  fs.writeFileSync(path.join(dir, 'nb.ipynb'), JSON.stringify(nb));
  const r = run(JUPYTER, ['nbconvert', '--to', 'notebook', '--execute', 'nb.ipynb', '--output', 'out.ipynb', '--ExecutePreprocessor.kernel_name=cnnvis', '--ExecutePreprocessor.timeout=120'], dir);
  if (r.status !== 0) throw new Error(`nbconvert failed in ${dir}:\n${r.stderr.split('\n').slice(-25).join('\n')}`);
  return (JSON.parse(fs.readFileSync(path.join(dir, 'out.ipynb'), 'utf8')) as { cells: Cell[] }).cells;
}
const text = (t: string | string[] | unknown) => (Array.isArray(t) ? t.join('') : String(t ?? ''));
/** An output's text for one MIME type; throws when the output lacks it. */
function mimeText(o: NotebookOutput, mime: string): string {
  const v = o.data?.[mime];
  if (typeof v === 'string' || Array.isArray(v)) return joinText(v as string | string[]);
  throw new Error(`output has no ${mime}: ${JSON.stringify(o).slice(0, 200)}`);
}
const WIDGET_VIEW = 'application/vnd.jupyter.widget-view+json';
const RESULT_MIME_TYPE = 'application/vnd.cnnvis.result.v1+json';

describe('installed into a Jupyter data dir', () => {
  let kernelDir = '';
  beforeAll(() => {
    const out = ok(bin, ['install'], os.tmpdir());
    kernelDir = path.join(data, 'kernels', 'cnnvis');
    expect(out).toContain(`installed kernel spec 'cnnvis' in ${kernelDir}`);
    expect(out).toContain(`installed JupyterLab extension in ${path.join(data, 'labextensions', '@cnnvis', 'jupyterlab')}`);
  });

  test('the kernel spec names this node and the installed package, wherever they are', () => {
    const spec = JSON.parse(fs.readFileSync(path.join(kernelDir, 'kernel.json'), 'utf8')) as { argv: string[] };
    const node = spec.argv[0];
    expect(path.isAbsolute(node)).toBe(true);
    expect(spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(fs.realpathSync(spec.argv[1])).toBe(fs.realpathSync(path.join(project, 'node_modules', 'cnnvis', 'bin', 'cnnvis-kernel.js')));
    expect(spec.argv.slice(2)).toEqual(['--config-path', '{connection_file}']);
    expect(JSON.stringify(spec)).not.toContain(REPO);
  });

  test('jupyterlab_server finds the prebuilt extension', () => {
    const script = 'import json, sys\nfrom jupyterlab_server.config import get_federated_extensions\nprint(json.dumps(sorted(get_federated_extensions([sys.argv[1]]))))';
    const found = JSON.parse(ok(PYTHON, ['-c', script, path.join(data, 'labextensions')], root)) as string[];
    expect(found).toEqual(['@cnnvis/jupyterlab']);
  });

  describe('a notebook in an unrelated folder (no node_modules)', () => {
    const dir = path.join(root, 'elsewhere', 'notes');
    let cells: Cell[] = [];
    beforeAll(() => {
      cells = execute(dir, [
        "import * as cnnvis from 'cnnvis';",
        "const model = await cnnvis.loadModel('demo');",
        '1 + 1',
        "await cnnvis.predict(model, 'scene:3')",
        "const r = await cnnvis.predict(model, 'scene:3', { display: false });\nconsole.log(JSON.stringify({ top: r.predictions[0], backend: r.meta.backend }));",
        "await cnnvis.explore.cam(model, 'scene:3')",
      ]);
    });
    const kinds = (i: number) => cells[i].outputs.map((o) => [o.output_type, o.execution_count ?? null]);

    test('runs clean; cells are numbered 1..n; a value is Out[n], declarations show nothing', () => {
      for (const c of cells) expect(c.outputs.filter((o) => o.output_type === 'error')).toEqual([]);
      expect(cells.map((c) => c.execution_count)).toEqual(cells.map((_, i) => i + 1));
      expect(kinds(0)).toEqual([]);
      expect(kinds(1)).toEqual([]);
      expect(kinds(2)).toEqual([['execute_result', 3]]);
      expect(Object.keys(cells[2].outputs[0].data ?? {})).toEqual(['text/plain']);
      expect(mimeText(cells[2].outputs[0], 'text/plain')).toBe('2');
      expect(kinds(3)).toEqual([['execute_result', 4]]);
      expect(kinds(4)).toEqual([['stream', null]]);
      expect(kinds(5)).toEqual([['execute_result', 6]]);
    });

    test('predicts on the ONNX Runtime engine, as TF.js does', () => {
      const shown = mimeText(cells[3].outputs[0], 'text/plain');
      expect(shown).toMatch(/^Top-5 predictions of demo for scene:3 \(wasm\+onnxruntime/);
      const got = JSON.parse(text(cells[4].outputs[0].text)) as { top: { index: number; label: string; probability: number }; backend: string };
      expect(got.backend).toBe('wasm+onnxruntime');
      // The reference: the same package's command on the TF.js path.
      const ref = JSON.parse(ok(bin, ['predict', 'scene:3', '--model', 'demo', '--json'], os.tmpdir(), { CNNVIS_ACCEL: 'off' })) as { index: number; label: string; probability: number }[];
      expect(got.top.index).toBe(ref[0].index);
      expect(got.top.label).toBe(ref[0].label);
      expect(got.top.probability).toBeCloseTo(ref[0].probability, 4);
      expect(shown).toContain(`1. ${ref[0].label}`);
    });

    test('an explorer is Out[n]: its widget view, a PNG (its size in the metadata) and one text line, in one bundle', () => {
      const [o] = cells[5].outputs;
      expect(Object.keys(o.data ?? {}).sort()).toEqual([RESULT_MIME_TYPE, WIDGET_VIEW, 'image/png', 'text/plain']);
      expect(typeof (o.data?.[WIDGET_VIEW] as { model_id?: unknown }).model_id).toBe('string');
      const plain = mimeText(o, 'text/plain');
      expect(plain).toMatch(/^CamExplorer\(Grad-CAM, demo, scene:3: /);
      expect(plain).not.toContain('\n');
      const png = PNG.sync.read(Buffer.from(mimeText(o, 'image/png'), 'base64'));
      expect(o.metadata).toEqual({ 'image/png': { width: png.width, height: png.height } });
      // A picture, not a blank: its pixels differ.
      const pixels = new Set(Array.from({ length: png.width * png.height }, (_, i) => png.data.readUInt32BE(4 * i)));
      expect(pixels.size).toBeGreaterThan(16);
    });

    test('plain `jupyter nbconvert --to html` of the executed notebook shows the PNG where the explorer was', () => {
      const r = run(JUPYTER, ['nbconvert', '--to', 'html', 'out.ipynb'], dir);
      if (r.status !== 0) throw new Error(`nbconvert --to html failed:\n${r.stderr}`);
      const html = fs.readFileSync(path.join(dir, 'out.html'), 'utf8');
      expect(html).toContain(`<img src="data:image/png;base64,${mimeText(cells[5].outputs[0], 'image/png')}`);
      expect(html).toContain('Out[6]');
    });
  });

  test("a notebook folder's own packages come first and cnnvis still resolves", () => {
    const dir = path.join(root, 'with-modules');
    const lib = path.join(dir, 'node_modules', 'mylib');
    fs.mkdirSync(lib, { recursive: true });
    fs.writeFileSync(path.join(lib, 'package.json'), JSON.stringify({ name: 'mylib', version: '1.0.0', main: 'index.js', types: 'index.d.ts' }));
    fs.writeFileSync(path.join(lib, 'index.js'), 'exports.triple = (x) => 3 * x;\n');
    fs.writeFileSync(path.join(lib, 'index.d.ts'), 'export declare function triple(x: number): number;\n');
    const cells = execute(dir, [
      "import { triple } from 'mylib';\nimport * as cnnvis from 'cnnvis';",
      "console.log(triple(14), typeof cnnvis.loadModel, require.resolve('mylib'));",
    ]);
    for (const c of cells) expect(c.outputs.filter((o) => o.output_type === 'error')).toEqual([]);
    expect(text(cells[1].outputs[0]?.text).trim()).toBe(`42 function ${path.join(lib, 'index.js')}`);
  });

  test('`cnnvis install --uninstall` removes the kernel spec and the extension', () => {
    const out = ok(bin, ['install', '--uninstall'], os.tmpdir());
    expect(out).toContain(`removed ${kernelDir}`);
    expect(fs.existsSync(kernelDir)).toBe(false);
    expect(fs.existsSync(path.join(data, 'labextensions', '@cnnvis'))).toBe(false);
    const specs = JSON.parse(ok(JUPYTER, ['kernelspec', 'list', '--json'], root)) as { kernelspecs: Record<string, unknown> };
    expect(Object.keys(specs.kernelspecs)).not.toContain('cnnvis');
  });
});

test('a missing engine is said on every run with the one command that installs it; that command works', () => {
  const ort = path.join(project, 'node_modules', 'onnxruntime-node');
  fs.renameSync(ort, `${ort}.away`);
  const version = ok(bin, ['--version'], os.tmpdir());
  expect(version).toMatch(/engine: TF\.js 4\.22\.0 on wasm only: the ONNX Runtime engine is missing \(onnxruntime-node is not installed\)/);
  const command = /^install the engine: (.+)$/m.exec(version)?.[1] ?? '';
  expect(command).toBe(`ONNXRUNTIME_NODE_INSTALL=skip npm install --prefix ${project} onnxruntime-node@${ORT_VERSION}`);
  const predict = run(bin, ['predict', 'scene:3', '--model', 'demo'], os.tmpdir());
  expect(predict.status).toBe(0);
  expect(predict.stderr.trim()).toBe(`cnnvis: note: ${/^engine: (.+)$/m.exec(version)?.[1]}; install it: ${command}`);
  // The printed command, as a user pastes it (from another folder; the npm cache serves the tarball).
  ok('sh', ['-c', command], os.tmpdir(), { npm_config_prefer_offline: 'true' });
  expect(ok(bin, ['--version'], os.tmpdir())).toMatch(/^engine: ONNX Runtime /m);
});
