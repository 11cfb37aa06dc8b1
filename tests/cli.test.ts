/** The `cnnvis` command: the JSON contract, outputs, and one-line errors with exit code 2. */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { main } from '../kernel/src/cli/main';
import { decodeImage } from '../kernel/src/images/decode';
import { requireShared } from './helpers/shared';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, { out: (s) => (out += s + '\n'), err: (s) => (err += s + '\n') });
  return { code, out, err };
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-cli-'));
beforeAll(() => requireShared());
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

test('predict --json prints [{index, label, probability}]', async () => {
  const r = await cli('predict', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--top', '3', '--json');
  expect(r.code).toBe(0);
  const json = JSON.parse(r.out);
  expect(json).toHaveLength(3);
  for (const p of json) expect(Object.keys(p).sort()).toEqual(['index', 'label', 'probability']);
  expect(json[0].probability).toBeGreaterThanOrEqual(json[1].probability);
});

test('summary --json prints [{name, className, outputShape, params}] whose params add up', async () => {
  const r = await cli('summary', '--model', 'mobilenet_v1_0.25_224', '--json');
  expect(r.code).toBe(0);
  const rows = JSON.parse(r.out) as { name: string; className: string; outputShape: number[]; params: number }[];
  expect(rows[0]).toEqual({ name: 'input_1', className: 'InputLayer', outputShape: [224, 224, 3], params: 0 });
  expect(rows.reduce((a, x) => a + x.params, 0)).toBe(475544);
  expect(rows.find((x) => x.name === 'conv_pw_13_relu')?.outputShape).toEqual([7, 7, 256]);
});

test('features and filters write PNG mosaics; report writes one self-contained page', async () => {
  const png = path.join(tmp, 'maps.png');
  const f = await cli('features', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--layer', 'conv_pw_1_relu', '--channels', '16', '--out', png, '--json');
  expect(f.code).toBe(0);
  const info = JSON.parse(f.out);
  expect(info).toMatchObject({ layer: 'conv_pw_1_relu', height: 112, width: 112, channels: 16 });
  expect(info.means).toHaveLength(16);
  expect(decodeImage(fs.readFileSync(png)).width).toBeGreaterThan(4 * 112);
  const fp = path.join(tmp, 'filters.png');
  expect((await cli('filters', '--model', 'mobilenet_v1_0.25_224', '--out', fp)).code).toBe(0);
  expect(decodeImage(fs.readFileSync(fp)).width).toBeGreaterThan(8);
  const page = path.join(tmp, 'report.html');
  const r = await cli('report', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--out', page);
  expect(r.code).toBe(0);
  const html = fs.readFileSync(page, 'utf8');
  for (const section of ['Top predictions', 'Model summary', 'Feature maps: conv1_relu', 'Strongest channel of conv_pw_13_relu', 'Layer outputs', 'Grad-CAM: ', 'second class', 'Grad-CAM++: ', 'Saliency: ', 'Guided backpropagation: ', 'Occlusion: ', 'Filters: conv1']) {
    expect(html).toContain(section);
  }
  expect(html).not.toMatch(/(src|href)="https?:/);
  expect((html.match(/<img /g) ?? []).length).toBeGreaterThanOrEqual(5);
  // The faithfulness section: deletion / insertion and the confidence change always; ROAD only with --all on 224×224.
  for (const id of ['deletion-auc', 'insertion-auc', 'average-drop', 'increase-in-confidence']) expect(html).toContain(`data-metric="${id}"`);
  expect(html).not.toContain('data-metric="road-morf-auc"');
  expect(html).toContain('ROAD was not computed: its imputation takes minutes on 224×224 inputs (cnnvis report --all computes it');
  for (const section of ['Eigen-Grad-CAM: ', 'Grad-CAM element-wise: ', 'KPCA-CAM: ', 'Finer-CAM: ', 'FEM: ', 'FullGrad: ']) expect(html).toContain(section);
});

test('explain --json writes the map contract at input resolution; --out writes the picture', async () => {
  const json = path.join(tmp, 'map.json');
  const png = path.join(tmp, 'cam.png');
  const r = await cli('explain', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--method', 'eigencam', '--class', '282', '--json', json, '--out', png);
  expect(r.code).toBe(0);
  const m = JSON.parse(fs.readFileSync(json, 'utf8'));
  expect(Object.keys(m).sort()).toEqual(['backend', 'class', 'height', 'layer', 'map', 'method', 'model', 'preprocess', 'width']);
  expect(m.preprocess).toBe('mobilenet (the mobilenet_v1_0.25_224 preset)');
  expect(m).toMatchObject({ method: 'Eigen-CAM', model: 'mobilenet_v1_0.25_224', layer: 'conv_pw_13_relu', width: 224, height: 224, class: { index: 282, label: 'tiger_cat' } });
  expect(m.map).toHaveLength(224);
  expect(m.map[0]).toHaveLength(224);
  const flat = (m.map as number[][]).flat();
  // normalized to [0, 1] at the layer's 7×7 resolution, then upsampled bilinearly
  expect(Math.max(...flat)).toBeGreaterThan(0.99);
  expect(Math.max(...flat)).toBeLessThanOrEqual(1);
  expect(Math.min(...flat)).toBeGreaterThanOrEqual(0);
  expect(decodeImage(fs.readFileSync(png)).width).toBeGreaterThan(2 * 224);
  const byLabel = await cli('explain', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--method', 'Eigen-CAM', '--class', 'tiger cat');
  expect(byLabel.out).toMatch(/class 282 'tiger_cat'/);
});

test('explain: gradient methods take a hidden channel as target; occlusion takes its patch and stride', async () => {
  const json = path.join(tmp, 'channel.json');
  const r = await cli('explain', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--method', 'deconvnet', '--target', 'conv_pw_5_relu:3', '--json', json);
  expect(r.code).toBe(0);
  const m = JSON.parse(fs.readFileSync(json, 'utf8'));
  expect(m).toMatchObject({ method: 'Deconvnet', layer: 'input', channel: { layer: 'conv_pw_5_relu', channel: 3 }, width: 224, height: 224 });
  expect(m.class).toBeUndefined();
  const occ = await cli('explain', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--method', 'occlusion', '--patch', '112', '--stride', '112');
  expect(occ.code).toBe(0);
  expect(occ.out).toMatch(/Occlusion .*patches 4, patch 112×112 stride 112×112/);
});

test('maximize: the objective rises; --json reports it per step; --out writes the pattern', async () => {
  const png = path.join(tmp, 'pattern.png');
  const r = await cli('maximize', '--model', 'mobilenet_v1_0.25_224', '--layer', 'conv_pw_3_relu', '--channel', '1', '--steps', '6', '--size', '64', '--json', '--out', png);
  expect(r.code).toBe(0);
  const j = JSON.parse(r.out);
  expect(j.objective).toBe('conv_pw_3_relu:1');
  expect(j.values).toHaveLength(6);
  expect(j.finalValue).toBeGreaterThan(j.initialValue);
  expect(decodeImage(fs.readFileSync(png)).width).toBeGreaterThanOrEqual(64);
});

test.each([
  [['maximize', '--model', 'mobilenet_v1_0.25_224', '--channel', '3'], /maximize needs either --layer L \(with --channel N or --channels N\) or --class C/],
  [['maximize', '--model', 'mobilenet_v1_0.25_224', '--class', '1000'], /class index 1000 is out of range/],
  [['explain', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--method', 'saliency', '--target', 'conv_pw_5_relu:999'], /channel 999/],
  [['explain', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--method', 'gradcam9'], /unknown method 'gradcam9'; methods: gradcam, gradcampp, .*saliency, gradxinput, guided-backprop, deconvnet, smoothgrad, integrated-gradients, guided-gradcam, occlusion/],
  [['explain', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--method', 'eigencam', '--class', '1000'], /class index 1000 is out of range.*0\.\.999/],
  [['explain', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--method', 'cam'], /CAM needs the feature map to go through global average pooling.*Use gradCam instead/],
  [['predict', 'nope.png', '--model', 'mobilenet_v1_0.25_224'], /image 'nope.png' not found .*images there: .*cat_dog.png/],
  [['features', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--layer', 'conv9'], /unknown layer 'conv9' in model 'mobilenet_v1_0.25_224'; layers: input_1, conv1_pad, conv1/],
  [['summary', '--model', 'alexnet'], /unknown model 'alexnet': not a named model \(demo, mobilenet_v1_0.25_224/],
  [['predict', 'cat_dog.png', '--model', 'mobilenet_v1_0.25_224', '--top', 'x'], /--top must be a positive whole number, got 'x'/],
  [['predict', 'cat_dog.png', '--colour'], /unknown option --colour for 'predict'; valid: --model, --top/],
  [['predict', 'cat_dog.png', '--mdoel', 'demo'], /^cnnvis: unknown option --mdoel for 'predict'; did you mean --model\? \(valid: --model, --top/],
  [['explain', 'cat_dog.png', '--methd', 'saliency'], /unknown option --methd for 'explain'; did you mean --method\?/],
  [['report', 'scene:1', '--ou', 'x.html'], /unknown option --ou for 'report'; did you mean --out\?/],
  [['features', 'scene:1', '--chanels', '4'], /unknown option --chanels for 'features'; did you mean --channels\?/],
  [['predcit', 'scene:1'], /unknown command 'predcit'; did you mean predict\?/],
  [['--verison'], /unknown option '--verison'; did you mean --version\?/],
  [['predict'], /'predict' needs <image>; usage: cnnvis predict <image>/],
  [['frobnicate'], /unknown command 'frobnicate'; commands: summary, predict, features, filters, report, explain, maximize, models, install/],
  [['summary', '--model', 'mobilenet_v1_0.25_224', '--preprocess', 'caffe'], /unknown preprocessing 'caffe'; valid: mobilenet, vgg16, torch, unit, none/],
])('bad input %j: one line on stderr, exit code 2', async (argv, message) => {
  const r = await cli(...argv);
  expect(r.code).toBe(2);
  expect(r.err).toMatch(message);
  expect(r.err.trim().split('\n')).toHaveLength(1);
  expect(r.out).toBe('');
});

test('the installed command: exit code 2 and no stack trace on a corrupt image', () => {
  const bin = path.resolve(__dirname, '../kernel/bin/cnnvis.js');
  if (!fs.existsSync(path.resolve(__dirname, '../kernel/dist/cli/main.js'))) execFileSync('npx', ['tsc', '-p', 'kernel'], { cwd: path.resolve(__dirname, '..') });
  const bad = path.join(tmp, 'broken.png');
  fs.writeFileSync(bad, Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0]));
  const r = spawnSync(process.execPath, [bin, 'predict', bad, '--model', 'mobilenet_v1_0.25_224'], { encoding: 'utf8', env: process.env });
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^cnnvis: .*broken\.png/);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  const help = spawnSync(process.execPath, [bin, 'predict', '--help'], { encoding: 'utf8' });
  expect(help.status).toBe(0);
  expect(help.stdout).toMatch(/usage: cnnvis predict <image>/);
});

test('--version names the version and the engine that computes', async () => {
  const r = await cli('--version');
  expect(r.code).toBe(0);
  const version = (JSON.parse(fs.readFileSync(path.resolve(__dirname, '../kernel/package.json'), 'utf8')) as { version: string }).version;
  const lines = r.out.trim().split('\n');
  expect(lines[0]).toBe(`cnnvis ${version}`);
  const ort = (JSON.parse(fs.readFileSync(require.resolve('onnxruntime-node/package.json'), 'utf8')) as { version: string }).version;
  if (process.env.CNNVIS_ACCEL === 'off') expect(lines[1]).toBe('engine: TF.js 4.22.0 on wasm only (the ONNX Runtime engine is switched off: CNNVIS_ACCEL=off)');
  else expect(lines[1]).toMatch(new RegExp(`^engine: ONNX Runtime ${ort.replace(/\./g, '\\.')} \\(\\d+ threads\\) for the models it compiles; TF\\.js 4\\.22\\.0 on wasm for the rest`));
  expect(lines).toHaveLength(2);
  expect(r.err).toBe('');
});

test('explain without --out or --json prints the one-line summary and how to save; with them, where it wrote', async () => {
  const before = fs.readdirSync(process.cwd()).sort();
  const r = await cli('explain', 'scene:3', '--model', 'demo', '--method', 'saliency');
  expect(r.code).toBe(0);
  const lines = r.out.trim().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^Saliency of demo for class \d+ '\w+'/);
  expect(lines[1]).toBe('not saved: add --out saliency.png (the picture, or .html) or --json saliency.json (the map\'s numbers)');
  expect(fs.readdirSync(process.cwd()).sort()).toEqual(before);
  const png = path.join(tmp, 'sal.png');
  const json = path.join(tmp, 'sal.json');
  const saved = await cli('explain', 'scene:3', '--model', 'demo', '--method', 'saliency', '--out', png, '--json', json);
  expect(saved.out.trim().split('\n')[1]).toBe(`wrote ${png} and ${json}`);
  expect(decodeImage(fs.readFileSync(png)).width).toBeGreaterThan(0);
  expect(JSON.parse(fs.readFileSync(json, 'utf8')).method).toBe('Saliency');
});

test('binary data never reaches an error message: weights, random bytes and control bytes in arguments', async () => {
  const random = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 131 + seed * 17 + ((i * i) % 251)) & 255));
  const files: Record<string, Buffer> = {
    'weights.bin': fs.readFileSync(path.resolve(__dirname, '../kernel/assets/demo/weights.bin')),
    'model.json': Buffer.concat([Buffer.from('{"modelTopology": "'), random(300, 1)]),
    'garbage.h5': random(2000, 2),
    'garbage.keras': random(2000, 3),
    'garbage.png': Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47]), random(500, 4)]),
  };
  const dir = path.join(tmp, 'binary');
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), bytes);
  const runs = [
    ['summary', '--model', path.join(dir, 'weights.bin')],
    ['predict', 'scene:1', '--model', path.join(dir, 'weights.bin')],
    ['summary', '--model', path.join(dir, 'model.json')],
    ['summary', '--model', path.join(dir, 'garbage.h5')],
    ['summary', '--model', path.join(dir, 'garbage.keras')],
    ['predict', path.join(dir, 'garbage.png'), '--model', 'demo'],
    ['explain', 'scene:1', '--model', 'demo', '--class', 'ab\u0001\u0002\u001b[31m\u00ff\ufffd'],
    ['predict', 'scene:1', '--model', 'demo', '--\u0000\u0007bad'],
    ['predict', 'scene:1', '\u0001\u0002extra'],
    ['features', 'scene:1', '--model', 'demo', '--layer', 'conv\u0000\u0008'],
  ];
  for (const argv of runs) {
    const r = await cli(...argv);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    // Printable text only: no C0/C1 control characters, no replacement characters, no long runs of non-ASCII.
    // eslint-disable-next-line no-control-regex
    expect(r.err.trim()).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\ufffd]/);
    expect(r.err).not.toMatch(/[^\x20-\x7e×…–—‘’“”→]{4,}/);
    expect(r.err.length).toBeLessThan(1500);
  }
});

test('the report: headings name the method once, pictures are large enough to read, one predictions block, an engine line', async () => {
  const page = path.join(tmp, 'demo-report.html');
  const r = await cli('report', 'scene:7', '--model', 'demo', '--out', page);
  expect(r.code).toBe(0);
  const html = fs.readFileSync(page, 'utf8');
  const headings = [...html.matchAll(/<h2>([^<]*)<\/h2>/g)].map((m) => m[1]);
  expect(headings).toContain('Saliency: triangle (class 2)');
  for (const h of headings) {
    const [method, rest] = h.split(': ');
    if (rest) expect(rest.toLowerCase()).not.toContain(method.toLowerCase());
  }
  expect(new Set(headings).size).toBe(headings.length);
  // The demo's 64×64 input and its 266 px maps are shown enlarged by whole factors.
  const widths = [...html.matchAll(/<img alt="[^"]*" width="(\d+)" height="(\d+)"/g)].map((m) => Number(m[1]));
  expect(widths.length).toBeGreaterThanOrEqual(10);
  expect(Math.min(...widths)).toBeGreaterThanOrEqual(256);
  expect(html).toMatch(/<h2>Feature maps: block1_conv1<\/h2>\n<p class="note">[^<]*<\/p>\n<img alt="[^"]*" width="532"/);
  expect((html.match(/cnnvis-predictions/g) ?? []).length).toBe(1);
  expect(html).toMatch(/<h2>Top predictions<\/h2>\n<div class="row"><img [^>]*width="256"/);
  expect(html).toContain('pre{background:#f6f6f6;padding:.6em;font-size:12px;white-space:pre-wrap;overflow-wrap:anywhere}');
  expect(html).not.toMatch(/Cannot find module|tfjs-node|Error:/);
  expect(html).toMatch(process.env.CNNVIS_ACCEL === 'off' ? /<p>Engine: TF\.js 4\.22\.0 on wasm only/ : /<p>Engine: ONNX Runtime [\d.]+ \(\d+ threads\) for the models it compiles; TF\.js 4\.22\.0 on wasm for the rest\. Model source: demo\.<\/p>/);
});

test('--help lists every method of the registry by kind; explain --help gives each summary and the flags it reads', async () => {
  const { explainMethods } = await import('../kernel/src/explain/registry');
  const help = await cli('--help');
  expect(help.code).toBe(0);
  for (const kind of ['cam', 'attribution', 'perturbation'] as const) {
    const line = help.out.split('\n').find((l) => l.trim().startsWith(`${kind}:`));
    expect(line?.trim().split(/:\s+/)[1].split(', ')).toEqual(explainMethods([kind]).map((m) => m.id));
  }
  expect(explainMethods().map((m) => m.kind)).toContain('perturbation');
  const ex = await cli('explain', '--help');
  expect(ex.code).toBe(0);
  for (const m of explainMethods()) expect(ex.out).toContain(`  ${m.id.padEnd(20)}  ${m.name}: ${m.summary}`);
  expect(ex.out).toMatch(/--top-n <n> +scorecam: use only/);
  expect(ex.out).toMatch(/--steps <n> +integrated-gradients: number of steps/);
  expect(ex.out).toMatch(/--patch <px> +occlusion: patch size/);
});

test('flag grammar: --flag=value, -h, a missing value, a value on a switch', async () => {
  const { parseArgs } = await import('../kernel/src/cli/args');
  const spec = { name: 't', summary: '', positionals: ['<image>'], examples: [], run: async () => undefined,
    flags: { top: { value: true, arg: '<n>', help: '' }, json: { value: false, help: '' }, help: { value: false, help: '' } } };
  expect(parseArgs(spec, ['a.png', '--top=3', '--json'])).toEqual({ positionals: ['a.png'], flags: { top: '3', json: true } });
  expect(parseArgs(spec, ['-5', '--top', '2'])).toEqual({ positionals: ['-5'], flags: { top: '2' } });
  expect(parseArgs(spec, ['-h']).flags.help).toBe(true);
  expect(() => parseArgs(spec, ['a.png', '--top'])).toThrow('option --top needs a value <n>');
  expect(() => parseArgs(spec, ['a.png', '--top', '--json'])).toThrow('option --top needs a value <n>');
  expect(() => parseArgs(spec, ['a.png', '--json=1'])).toThrow('option --json takes no value');
  expect(() => parseArgs(spec, ['a.png', 'b.png'])).toThrow("'t' got an unexpected argument 'b.png'; usage: cnnvis t <image> [--top <n>] [--json]");
});
