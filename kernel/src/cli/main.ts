/**
 * The `cnnvis` command: summary | predict | features | filters | report | models | install.
 * Bad input gives one line on stderr naming the problem and the valid choices, and exit code 2.
 */
import * as fs from 'fs';
import * as path from 'path';
import { featureMaps } from '../basics/featureMaps';
import { filters } from '../basics/filters';
import { predict } from '../basics/predict';
import { summary } from '../basics/summary';
import { engineInfo, versionText } from '../engine/about';
import { CnnvisError } from '../errors';
import { Result } from '../display/result';
import { RESIZE_MODES, ResizeMode } from '../images/resize';
import { loadModel } from '../models/load';
import { CnnModel } from '../models/model';
import { isCached, modelCacheDir, NAMED_MODELS } from '../models/registry';
import { cnnvisHome, writeFileAtomic } from '../models/cache';
import { buildReport } from '../report/report';
import { explainMethod, explainMethods, explanationTarget, METHOD_KINDS, MethodOption } from '../explain/registry';
import { float32Rows } from '../explain/json';
import { Convention } from '../explain/cam/base';
import { filterPatterns, maximize } from '../optvis/render';
import { htmlPage } from '../report/html';
import { installKernelSpec, uninstallKernelSpec } from './install';
import { CommandSpec, commandHelp, FlagSpec, intFlag, Io, nearest, Parsed, parseArgs, printable, sizeFlag, usage } from './args';

const MODEL: FlagSpec = { value: true, arg: '<demo|name|path|url>', help: 'model: demo (bundled), a named model (see `cnnvis models`), a TF.js folder/model.json, a Keras .h5/.keras file, an ONNX file exported from PyTorch, or an http(s) URL (default demo)' };
const SIZE: FlagSpec = { value: true, arg: '<W×H>', help: 'input size for a model that takes any size: W×H or one number for a square, e.g. 320x240 (default: its Resizing layer, else the image’s own size)' };
const PREPROCESS: FlagSpec = { value: true, arg: '<mobilenet|vgg16|torch|unit|none>', help: "input preprocessing (default: the model's own; torch = ImageNet mean/std, the default for ONNX models; unit = [0,1] for unknown models)" };
const RESIZE: FlagSpec = { value: true, arg: '<stretch|center-crop>', help: 'how the image is fitted to the model input (default stretch, like Keras load_img)' };
const JSON_FLAG: FlagSpec = { value: false, help: 'print machine-readable JSON on stdout' };
const LAYER: FlagSpec = { value: true, arg: '<name>', help: 'layer name (see `cnnvis summary`)' };
const HELP: FlagSpec = { value: false, help: 'show this help' };

/** A method-specific explain flag; its help names the methods that read it (from the method registry). */
function methodFlag(option: MethodOption, arg: string, help: string): FlagSpec {
  const ids = explainMethods().filter((m) => m.options.includes(option)).map((m) => m.id);
  return { value: true, arg, help: `${ids.join(', ')}: ${help}` };
}

/** Every explanation method by kind, with its summary (from the method registry). */
function methodList(): string[] {
  const all = explainMethods();
  const w = Math.max(...all.map((m) => m.id.length));
  return METHOD_KINDS.flatMap((kind) => {
    const ms = all.filter((m) => m.kind === kind);
    return ms.length ? [`${kind} methods:`, ...ms.map((m) => `  ${m.id.padEnd(w)}  ${m.name}: ${m.summary}${m.aliases.length ? ` (also ${m.aliases.join(', ')})` : ''}`)] : [];
  });
}

function mainHelp(): string {
  return [
    'cnnvis: see inside convolutional networks (TensorFlow.js models)',
    '',
    'usage: cnnvis <command> [options]      (cnnvis <command> --help for details; cnnvis --version)',
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(9)} ${c.summary}`),
    '',
    'explain methods (cnnvis explain --method <id>; cnnvis explain --help describes each):',
    ...METHOD_KINDS.map((kind) => `  ${(kind + ':').padEnd(13)} ${explainMethods([kind]).map((m) => m.id).join(', ')}`),
    '',
    'images: a PNG/JPEG path, a file name in $CNNVIS_DATA, or scene:<seed> (a generated scene for the demo model)',
    'environment: CNNVIS_HOME (model cache, default ~/.cache/cnnvis), CNNVIS_DATA (image folder),',
    '             CNNVIS_BACKEND (tensorflow|wasm|cpu), CNNVIS_OFFLINE=1 (never download)',
  ].join('\n');
}

async function modelFrom(p: Parsed): Promise<CnnModel> {
  return loadModel(String(p.flags.model ?? 'demo'), {
    ...(p.flags.preprocess !== undefined ? { preprocess: String(p.flags.preprocess) } : {}),
    ...(p.flags.size !== undefined ? { size: sizeFlag(p.flags.size) } : {}),
  });
}

function resizeFrom(p: Parsed): ResizeMode | undefined {
  const v = p.flags.resize;
  if (v === undefined) return undefined;
  if (!(RESIZE_MODES as readonly string[]).includes(String(v))) throw new CnnvisError(`--resize must be one of ${RESIZE_MODES.join(', ')}, got '${String(v)}'`);
  return v as ResizeMode;
}

/** What `--out` holds for a result: an HTML page or (where allowed) the PNG; checks the file name. */
function outContent(file: string, result: Result, title: string, allowPng: boolean): Uint8Array | string {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.html' || ext === '.htm') return htmlPage(title, [{ title, result }]);
  if (ext === '.png' && allowPng) return result.png();
  throw new CnnvisError(`--out '${file}': use ${allowPng ? 'a .png or .html' : 'an .html'} file name`);
}

/** Checks an --out file name before any work is done. */
function checkOutName(file: unknown, allowPng: boolean): void {
  if (file === undefined) return;
  const ext = path.extname(String(file)).toLowerCase();
  if (ext === '.html' || ext === '.htm' || (ext === '.png' && allowPng)) return;
  throw new CnnvisError(`--out '${String(file)}': use ${allowPng ? 'a .png or .html' : 'an .html'} file name`);
}

/**
 * Writes the command's output files once everything is computed, each atomically (a temporary file
 * renamed into place): an error never leaves a half-written PNG, HTML or JSON file, and an existing
 * file is only replaced by a complete one.
 */
function writeOutputs(files: Array<{ file: string; content: Uint8Array | string }>): void {
  for (const { file } of files) {
    const dir = path.dirname(path.resolve(file));
    if (!fs.existsSync(dir)) throw new CnnvisError(`cannot write '${file}': the folder ${dir} does not exist`);
  }
  for (const { file, content } of files) {
    try {
      writeFileAtomic(path.resolve(file), typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    } catch (e) {
      throw new CnnvisError(`cannot write '${file}': ${(e as Error).message}`);
    }
  }
}

/**
 * One line on stderr when the ONNX Runtime engine should run but is missing: everything would run on
 * TF.js, much slower. It names the command that installs it (never a silent fall to wasm).
 */
async function engineNote(io: Io): Promise<void> {
  const info = await engineInfo();
  if (info.missing) io.err(`cnnvis: note: ${info.line}; install it: ${info.missing.command}`);
}

const COMMANDS: CommandSpec[] = [
  {
    name: 'summary',
    summary: 'Print the model summary (layers, output shapes, parameters), like Keras model.summary().',
    positionals: [],
    flags: { model: MODEL, preprocess: PREPROCESS, size: SIZE, json: { value: false, help: 'print [{name, className, outputShape, params}] as JSON' }, help: HELP },
    examples: ['cnnvis summary --model demo', 'cnnvis summary --model mobilenet_v1_0.25_224 --json'],
    computes: true,
    run: async (p, io) => {
      const s = summary(await modelFrom(p), { display: false });
      io.out(p.flags.json === true ? JSON.stringify(s.layers.map((l) => ({ name: l.name, className: l.className, outputShape: l.outputShape, params: l.params })), null, 1) : s.text());
    },
  },
  {
    name: 'predict',
    summary: 'Top-k predictions with labels and probabilities.',
    positionals: ['<image>'],
    flags: { model: MODEL, top: { value: true, arg: '<n>', help: 'how many classes (default 5)' }, preprocess: PREPROCESS, size: SIZE, resize: RESIZE, json: { value: false, help: 'print [{index, label, probability}] as JSON' }, out: { value: true, arg: '<file.html>', help: 'write the predictions as an HTML page' }, help: HELP },
    examples: ['cnnvis predict scene:3 --model demo', 'cnnvis predict cat_dog.png --model mobilenet_v1_0.75_224 --top 3 --json'],
    computes: true,
    run: async (p, io) => {
      const model = await modelFrom(p);
      const r = await predict(model, p.positionals[0], { top: intFlag(p.flags.top, 'top', 5), resize: resizeFrom(p), display: false });
      if (p.flags.out) writeOutputs([{ file: String(p.flags.out), content: outContent(String(p.flags.out), r, `${model.name}: predictions for ${r.imageName}`, false) }]);
      io.out(p.flags.json === true ? JSON.stringify(r.predictions, null, 1) : r.text());
    },
  },
  {
    name: 'features',
    summary: 'Feature maps of one layer as a grid of channels.',
    positionals: ['<image>'],
    flags: { model: MODEL, layer: LAYER, channels: { value: true, arg: '<n>', help: 'how many channels (default all, at most 256)' }, sort: { value: true, arg: '<index|mean>', help: 'tile order (default index; mean = strongest first)' }, preprocess: PREPROCESS, size: SIZE, resize: RESIZE, json: { value: false, help: 'print {layer, height, width, channels, means, ranking} as JSON' }, out: { value: true, arg: '<file.png|file.html>', help: 'write the grid' }, help: HELP },
    examples: ['cnnvis features scene:3 --model demo --layer block1_conv1 --out maps.png'],
    computes: true,
    run: async (p, io) => {
      const model = await modelFrom(p);
      const sort = p.flags.sort;
      if (sort !== undefined && sort !== 'index' && sort !== 'mean') throw new CnnvisError(`--sort must be index or mean, got '${String(sort)}'`);
      const r = await featureMaps(model, p.positionals[0], {
        layer: p.flags.layer !== undefined ? String(p.flags.layer) : undefined,
        channels: p.flags.channels !== undefined ? intFlag(p.flags.channels, 'channels', 256) : undefined,
        sort: sort as 'index' | 'mean' | undefined,
        resize: resizeFrom(p),
        display: false,
      });
      if (p.flags.out) writeOutputs([{ file: String(p.flags.out), content: outContent(String(p.flags.out), r, `${model.name}: feature maps of ${r.layer}`, true) }]);
      io.out(p.flags.json === true ? JSON.stringify({ model: model.name, layer: r.layer, height: r.height, width: r.width, channels: r.channels, means: Array.from(r.means), ranking: r.ranking }) : r.text());
    },
  },
  {
    name: 'filters',
    summary: 'Convolution kernels as pictures (first layer in RGB, deeper layers per input channel) and weight statistics.',
    positionals: [],
    flags: { model: MODEL, layer: LAYER, preprocess: PREPROCESS, size: SIZE, json: { value: false, help: 'print {layer, className, shape, stats, perFilter} as JSON' }, out: { value: true, arg: '<file.png|file.html>', help: 'write the mosaic' }, help: HELP },
    examples: ['cnnvis filters --model demo --out filters.png'],
    computes: true,
    run: async (p, io) => {
      const model = await modelFrom(p);
      const r = await filters(model, { layer: p.flags.layer !== undefined ? String(p.flags.layer) : undefined, display: false });
      if (p.flags.out) writeOutputs([{ file: String(p.flags.out), content: outContent(String(p.flags.out), r, `${model.name}: filters of ${r.layer}`, true) }]);
      io.out(p.flags.json === true ? JSON.stringify({ model: model.name, layer: r.layer, className: r.className, shape: r.shape, view: r.view, stats: r.stats, perFilter: r.perFilter }) : r.text());
    },
  },
  {
    name: 'report',
    summary: 'One self-contained HTML page with everything cnnvis shows for an image and a model.',
    positionals: ['<image>'],
    flags: { model: MODEL, layer: LAYER, top: { value: true, arg: '<n>', help: 'how many classes (default 5)' }, preprocess: PREPROCESS, size: SIZE, resize: RESIZE, out: { value: true, arg: '<file.html>', help: 'where to write the page (default report.html)' }, all: { value: false, help: 'also the slow parts: ROAD above 128×128 pixels, Ablation-CAM, RISE (minutes on a 224×224 model)' }, help: HELP },
    examples: ['cnnvis report scene:7 --model demo --out report.html', 'CNNVIS_DATA=photos cnnvis report cat_dog.png --model mobilenet_v1_0.75_224'],
    computes: true,
    run: async (p, io) => {
      const model = await modelFrom(p);
      const out = String(p.flags.out ?? 'report.html');
      if (!/\.html?$/i.test(out)) throw new CnnvisError(`--out '${out}': the report is an .html file`);
      const progress = process.stderr.isTTY ? (t: string, d: number, n: number) => io.err(`[${d}/${n}] ${t}`) : undefined;
      const { html } = await buildReport(model, p.positionals[0], {
        top: intFlag(p.flags.top, 'top', 5),
        layer: p.flags.layer !== undefined ? String(p.flags.layer) : undefined,
        resize: resizeFrom(p),
        all: p.flags.all === true,
        onSection: progress,
      });
      writeOutputs([{ file: out, content: html }]);
      io.out(`wrote ${out} (${(await engineInfo()).line})`);
    },
  },
  {
    name: 'explain',
    summary: 'Explain a class (or one hidden channel): a heatmap over the image by the CAM family, gradients or occlusion.',
    positionals: ['<image>'],
    flags: {
      model: MODEL,
      method: { value: true, arg: '<name>', help: 'the method: an id, its name or an alias, listed below (default gradcam; METHODS.md defines each)' },
      convention: { value: true, arg: '<cnnvis|pytorch-grad-cam|captum>', help: "follow an anchor library's convention where it differs from cnnvis' (METHODS.md; default cnnvis)" },
      class: { value: true, arg: '<index|label>', help: "class to explain: an index or a label ('tabby' finds 'tabby'); default top-1" },
      layer: LAYER,
      target: methodFlag('target', '<layer:channel>', 'explain one channel of a hidden layer instead of a class'),
      'top-n': methodFlag('topN', '<n>', 'use only the n channels with the largest variance'),
      steps: methodFlag('steps', '<n>', 'number of steps (default 50)'),
      samples: methodFlag('samples', '<n>', 'number of noisy samples (smoothgrad, default 25) or of masks (rise, default 4000)'),
      patch: methodFlag('patchSize', '<px>', 'patch size (default input size / 8)'),
      stride: methodFlag('stride', '<px>', 'stride (default half the patch)'),
      preprocess: PREPROCESS, size: SIZE,
      resize: RESIZE,
      out: { value: true, arg: '<file.png|file.html>', help: 'write overlay | map | colour bar' },
      json: { value: true, arg: '<file.json>', help: 'write {method, model, layer, backend, preprocess, class: {index, label, score} (or channel), width, height, map} (map: rows at input resolution)' },
      help: HELP,
    },
    more: methodList,
    examples: ['cnnvis explain scene:3 --model demo --method gradcam --out gradcam.png', 'cnnvis explain cat_dog.png --model mobilenet_v1_0.75_224 --class tiger_cat --json map.json'],
    computes: true,
    run: async (p, io) => {
      const model = await modelFrom(p);
      const method = explainMethod(String(p.flags.method ?? 'gradcam'));
      const cls = p.flags.class === undefined ? {} : /^\d+$/.test(String(p.flags.class)) ? { classIndex: Number(p.flags.class) } : { label: String(p.flags.class) };
      const num = (name: string) => (p.flags[name] !== undefined ? intFlag(p.flags[name], name, 1) : undefined);
      const r = await method.run(model, p.positionals[0], {
        ...cls,
        layer: p.flags.layer !== undefined ? String(p.flags.layer) : undefined,
        target: p.flags.target !== undefined ? String(p.flags.target) : undefined,
        topN: num('top-n'),
        steps: num('steps'),
        samples: num('samples'),
        patchSize: num('patch'),
        stride: num('stride'),
        convention: p.flags.convention !== undefined ? (String(p.flags.convention) as Convention) : undefined,
        resize: resizeFrom(p),
        display: false,
      });
      const what = explanationTarget(r);
      const files: Array<{ file: string; content: Uint8Array | string }> = [];
      if (p.flags.out) files.push({ file: String(p.flags.out), content: outContent(String(p.flags.out), r, `${model.name}: ${what.title}`, true) });
      if (typeof p.flags.json === 'string') {
        const { width, height } = r.map;
        // Full float32 precision: the fewest digits that read back to the same float32 (explain/json.ts).
        files.push({ file: p.flags.json, content: JSON.stringify({ method: r.method, model: model.name, layer: what.layer, backend: r.meta.backend, preprocess: r.meta.preprocess,
          ...(what.class ? { class: what.class } : { channel: what.channel }), ...(r.convention !== 'cnnvis' ? { convention: r.convention } : {}), ...(r.warnings.length ? { warnings: r.warnings } : {}), width, height, map: float32Rows(r.map) }) });
      }
      writeOutputs(files);
      io.out(r.text());
      // Where it went, or (nothing asked for) how to keep it.
      io.out(files.length
        ? `wrote ${files.map((f) => f.file).join(' and ')}`
        : `not saved: add --out ${method.id}.png (the picture, or .html) or --json ${method.id}.json (the map's numbers)`);
    },
  },
  {
    name: 'maximize',
    summary: 'Activation maximization: the input a channel (or class) responds to most, by gradient ascent from noise.',
    positionals: [],
    flags: {
      model: MODEL,
      layer: LAYER,
      channel: { value: true, arg: '<n>', help: 'channel of --layer to maximize' },
      channels: { value: true, arg: '<n>', help: 'instead of --channel: the first n channels of --layer, as a mosaic' },
      class: { value: true, arg: '<index>', help: 'maximize a class logit instead of a channel' },
      steps: { value: true, arg: '<n>', help: 'gradient steps (default 128)' },
      size: { value: true, arg: '<px>', help: 'image size (default: the model input size)' },
      param: { value: true, arg: '<fourier|pixel>', help: 'image parameterization (default fourier, with decorrelated colour)' },
      seed: { value: true, arg: '<n>', help: 'random seed (default 0)' },
      preprocess: PREPROCESS,
      out: { value: true, arg: '<file.png|file.html>', help: 'write the pattern (or the mosaic)' },
      json: { value: false, help: 'print {objective, initialValue, finalValue, values, settings} as JSON' },
      help: HELP,
    },
    examples: ['cnnvis maximize --model demo --layer block3_conv2 --channel 5 --out pattern.png', 'cnnvis maximize --model mobilenet_v1_0.25_224 --class 130 --steps 64 --size 128'],
    computes: true,
    run: async (p, io) => {
      const model = await modelFrom(p);
      const num = (name: string, min = 1) => {
        const v = p.flags[name];
        if (v === undefined) return undefined;
        const n = Number(v);
        if (v === true || !Number.isInteger(n) || n < min) throw new CnnvisError(`--${name} must be a whole number ≥ ${min}, got '${String(v)}'`);
        return n;
      };
      const param = p.flags.param;
      if (param !== undefined && param !== 'fourier' && param !== 'pixel') throw new CnnvisError(`--param must be fourier or pixel, got '${String(param)}'`);
      const opts = { steps: num('steps'), size: num('size', 8), seed: num('seed', 0), param: param as 'fourier' | 'pixel' | undefined, display: false };
      const layer = p.flags.layer !== undefined ? String(p.flags.layer) : undefined;
      const hasClass = p.flags.class !== undefined;
      if (hasClass === (layer !== undefined)) throw new CnnvisError("maximize needs either --layer L (with --channel N or --channels N) or --class C");
      if (layer !== undefined && p.flags.channels !== undefined) {
        const r = await filterPatterns(model, layer, { ...opts, channels: num('channels') });
        if (p.flags.out) writeOutputs([{ file: String(p.flags.out), content: outContent(String(p.flags.out), r, `${model.name}: filter patterns of ${layer}`, true) }]);
        io.out(p.flags.json === true ? JSON.stringify({ layer, initialValues: r.initialValues, finalValues: r.finalValues, settings: r.settings }) : r.text());
        return;
      }
      if (layer !== undefined && p.flags.channel === undefined) throw new CnnvisError('maximize --layer needs --channel N (or --channels N for a mosaic)');
      const target = hasClass ? { classIndex: model.checkClass(num('class', 0) as number) } : { layer: layer as string, channel: num('channel', 0) as number };
      const r = await maximize(model, target, opts);
      if (p.flags.out) writeOutputs([{ file: String(p.flags.out), content: outContent(String(p.flags.out), r, `${model.name}: activation maximization`, true) }]);
      io.out(p.flags.json === true ? JSON.stringify({ objective: hasClass ? `class ${target.classIndex}` : `${layer}:${p.flags.channel}`, initialValue: r.initialValue, finalValue: r.finalValue, values: Array.from(r.values), settings: r.settings }) : r.text());
    },
  },
  {
    name: 'models',
    summary: 'List the named models and whether each is in the cache ($CNNVIS_HOME).',
    positionals: [],
    flags: { json: JSON_FLAG, help: HELP },
    examples: ['cnnvis models'],
    run: async (p, io) => {
      const rows = Object.values(NAMED_MODELS).map((m) => ({ name: m.name, cached: isCached(m), dir: m.kind === 'demo' ? 'bundled' : modelCacheDir(m.name), description: m.description }));
      io.out(p.flags.json === true ? JSON.stringify(rows, null, 1) : [`cache: ${cnnvisHome()}`, ...rows.map((r) => `${r.name.padEnd(22)} ${r.cached ? 'ready   ' : 'missing '} ${r.description}`)].join('\n'));
    },
  },
  {
    name: 'install',
    summary: 'Install the "TypeScript (cnnvis)" Jupyter kernel spec and the JupyterLab extension (for the current user by default).',
    positionals: [],
    flags: { user: { value: false, help: 'install for the current user (default)' }, 'sys-prefix': { value: false, help: "install into the Python environment's prefix" }, prefix: { value: true, arg: '<dir>', help: 'install under this prefix' }, uninstall: { value: false, help: 'remove the kernel spec and the extension (from the same place)' }, help: HELP },
    examples: ['cnnvis install', 'cnnvis install --sys-prefix', 'cnnvis install --uninstall'],
    run: async (p, io) => {
      const where = { user: !p.flags['sys-prefix'] && !p.flags.prefix, sysPrefix: p.flags['sys-prefix'] === true, prefix: p.flags.prefix !== undefined ? String(p.flags.prefix) : undefined };
      if (p.flags.uninstall) {
        const removed = uninstallKernelSpec(where);
        io.out(removed.length ? removed.map((d) => `removed ${d}`).join('\n') : 'nothing to remove: no cnnvis kernel spec or extension there');
        return;
      }
      const r = installKernelSpec(where);
      io.out(`installed kernel spec '${r.name}' in ${r.dir}`);
      io.out(r.labextensionDir ? `installed JupyterLab extension in ${r.labextensionDir}` : 'JupyterLab extension not built (npm run build -w labextension), not installed');
    },
  },
];

/** Runs the CLI; returns the exit code (0 ok, 2 bad input, 1 internal error). */
export async function main(argv: string[], io: Io = { out: (s) => console.log(s), err: (s) => console.error(s) }): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    io.out(mainHelp());
    return name ? 0 : 2;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  try {
    if (name === '--version' || name === '-V' || name === 'version') {
      io.out(await versionText());
      return 0;
    }
    if (!cmd) {
      const near = nearest(name.replace(/^-+/, ''), name.startsWith('-') ? ['version', 'help'] : COMMANDS.map((c) => c.name));
      const shown = name.startsWith('-') ? `option '${printable(name, 40)}'` : `command '${printable(name, 40)}'`;
      const valid = `commands: ${COMMANDS.map((c) => c.name).join(', ')}; --version, --help`;
      throw new CnnvisError(near ? `unknown ${shown}; did you mean ${name.startsWith('-') ? '--' : ''}${near}? (${valid})` : `unknown ${shown}; ${valid}`);
    }
    const parsed = parseArgs(cmd, rest);
    if (parsed.flags.help) {
      io.out(commandHelp(cmd));
      return 0;
    }
    if (cmd.computes) await engineNote(io);
    checkOutName(cmd.name === 'report' ? undefined : parsed.flags.out, cmd.name !== 'predict');
    resizeFrom(parsed);
    await cmd.run(parsed, io);
    return 0;
  } catch (e) {
    if (e instanceof CnnvisError) {
      io.err(`cnnvis: ${printable(e.message.replace(/\s*\n\s*/g, ' '))}`);
      return 2;
    }
    const msg = printable(e instanceof Error ? e.message.split('\n')[0] : String(e), 300);
    io.err(`cnnvis: internal error: ${msg}${process.env.CNNVIS_DEBUG ? '\n' + (e as Error).stack : ' (set CNNVIS_DEBUG=1 for details)'}`);
    return 1;
  }
}

export { COMMANDS, usage };
