/**
 * `npm run bench`: cnnvis against PyTorch on the same machine, in the same run.
 *
 *   npm run bench                      # VGG16, ResNet50, MobileNetV2; every method; writes BENCHMARKS.md
 *   npm run bench -- --quick           # MobileNetV2 only, small settings (a few minutes)
 *   npm run bench -- --json out.json   # also {results: [{model, method, ours_s, reference_s, ratio}], ...}
 *   npm run bench -- --models vgg16 --methods gradcam,saliency --profile --md /tmp/b.md
 *   npm run bench -- --models vgg16 --set igSteps=50,smoothSamples=25,occlusionPatch=14   # the issue's settings
 *
 * Each model runs in its own processes, one after the other: ours (bench/dist/ours.js, TF.js), then
 * the reference (bench/reference.py, PyTorch; skipped with a note when no python3 with torch is
 * found — BENCH_PYTHON picks the interpreter). Both get the same settings (bench/settings.ts).
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { BENCH_MODELS, BenchModelName } from './models';
import { BENCH_METHODS, BenchMethod, BenchSettings, FULL_SETTINGS, QUICK_MODELS, QUICK_SETTINGS, SideReport, SideResult } from './settings';

const ROOT = path.resolve(__dirname, '..', '..');
const GiB = 1024 ** 3;

interface Args {
  quick: boolean;
  json?: string;
  md: string;
  models: BenchModelName[];
  methods: BenchMethod[];
  profile: boolean;
  reference: boolean;
  /** Settings overrides from --set key=value,... */
  overrides: Partial<BenchSettings>;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { quick: false, md: path.join(ROOT, 'BENCHMARKS.md'), models: [...BENCH_MODELS], methods: [...BENCH_METHODS], profile: false, reference: true, overrides: {} };
  let modelsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--quick') a.quick = true;
    else if (flag === '--json') a.json = path.resolve(value());
    else if (flag === '--md') a.md = path.resolve(value());
    else if (flag === '--profile') a.profile = true;
    else if (flag === '--no-reference') a.reference = false;
    else if (flag === '--set') {
      for (const kv of value().split(',')) {
        const [k, v] = kv.split('=');
        if (!(k in FULL_SETTINGS) || !/^\d+$/.test(v ?? '') || Number(v) < 1) {
          throw new Error(`--set takes key=positive integer with keys ${Object.keys(FULL_SETTINGS).join(', ')}; got '${kv}'`);
        }
        a.overrides[k as keyof BenchSettings] = Number(v);
      }
    }
    else if (flag === '--models') {
      modelsGiven = true;
      a.models = value().split(',') as BenchModelName[];
      for (const m of a.models) if (!(BENCH_MODELS as readonly string[]).includes(m)) throw new Error(`unknown model '${m}'; models: ${BENCH_MODELS.join(', ')}`);
    } else if (flag === '--methods') {
      a.methods = value().split(',') as BenchMethod[];
      for (const m of a.methods) if (!(BENCH_METHODS as readonly string[]).includes(m)) throw new Error(`unknown method '${m}'; methods: ${BENCH_METHODS.join(', ')}`);
    } else throw new Error(`unknown option '${flag}'; options: --quick, --json <file>, --md <file>, --models a,b, --methods a,b, --set key=n,..., --profile, --no-reference`);
  }
  if (a.quick && !modelsGiven) a.models = [...QUICK_MODELS];
  return a;
}

/** A python3 that imports torch: BENCH_PYTHON, Debian's /usr/bin/python3, or python3 on PATH. */
function findPython(): { exe: string | null; why: string } {
  const candidates = [process.env.BENCH_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const exe of candidates) {
    const r = spawnSync(exe, ['-c', 'import torch; print(torch.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return { exe, why: `${exe} (torch ${r.stdout.trim()})` };
  }
  return { exe: null, why: `no python3 with torch found (tried ${candidates.join(', ')})` };
}

/** Runs one side for one model; its stderr (progress) passes through. */
function runSide(cmd: string, args: string[]): SideReport {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('BENCH_REPORT '));
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${args[0]} ${args[1]} failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(line.slice('BENCH_REPORT '.length)) as SideReport;
}

interface Target {
  text: string;
  met: (ours: number, ratio: number | null) => boolean;
}

const ratioAtMost = (r: number): Target => ({ text: `ratio ≤ ${r}`, met: (_o, ratio) => ratio !== null && ratio <= r });

/** The issue's targets (stated for VGG16; shown for every model). */
const TARGETS: Partial<Record<BenchMethod, Target>> = {
  gradcam: ratioAtMost(1),
  gradcam_class_change: { text: '≤ 50 ms and ratio ≤ 0.05', met: (o, ratio) => o <= 0.05 && ratio !== null && ratio <= 0.05 },
  featuremap_layer_change: { text: '≤ 100 ms', met: (o) => o <= 0.1 },
  saliency: ratioAtMost(1),
  guided_backprop: ratioAtMost(1),
  integrated_gradients: ratioAtMost(1),
  smoothgrad: ratioAtMost(1),
  occlusion: ratioAtMost(1),
  scorecam: ratioAtMost(1),
  activation_max: ratioAtMost(1),
};

const REFERENCE_NAMES: Partial<Record<BenchMethod, string>> = {
  forward: 'model forward (no grad)',
  gradcam: 'Captum LayerGradCam-style',
  gradcam_class_change: 'pytorch-grad-cam GradCAM-style recompute',
  saliency: 'Captum Saliency-style',
  guided_backprop: 'Captum GuidedBackprop-style',
  integrated_gradients: 'Captum IntegratedGradients-style',
  smoothgrad: 'Captum NoiseTunnel(smoothgrad)-style',
  occlusion: 'Captum Occlusion-style',
  scorecam: 'pytorch-grad-cam ScoreCAM-style',
  activation_max: 'lucent render_vis-style',
};

export interface BenchRow {
  model: string;
  method: BenchMethod;
  ours_s: number;
  reference_s: number | null;
  ratio: number | null;
  target: string | null;
  met: boolean | null;
  tensors_per_call: number | null;
  note: string;
}

function fmtSeconds(s: number | null): string {
  if (s === null) return '—';
  if (s < 0.1) return `${(s * 1000).toFixed(1)} ms`;
  return `${s.toFixed(s < 10 ? 3 : 1)} s`;
}

function fmtRatio(r: number | null): string {
  return r === null ? '—' : r < 0.1 ? r.toFixed(3) : r.toFixed(2);
}

function loadLine(): string {
  const [a, b, c] = os.loadavg();
  return `${a.toFixed(2)}, ${b.toFixed(2)}, ${c.toFixed(2)}`;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const settings: BenchSettings = { ...(args.quick ? QUICK_SETTINGS : FULL_SETTINGS), ...args.overrides };
  const py = args.reference ? findPython() : { exe: null, why: 'skipped (--no-reference)' };
  const started = new Date();
  const loadStart = loadLine();
  process.stderr.write(`bench: models ${args.models.join(', ')}; reference: ${py.why}; load average ${loadStart}\n`);
  const ours: SideReport[] = [];
  const refs: SideReport[] = [];
  const t0 = performance.now();
  for (const model of args.models) {
    const oursArgs = [path.join(__dirname, 'ours.js'), model, JSON.stringify(settings), args.methods.join(',')];
    if (args.profile) oursArgs.push('--profile');
    ours.push(runSide(process.execPath, oursArgs));
    if (py.exe) refs.push(runSide(py.exe, [path.join(ROOT, 'bench', 'reference.py'), model, JSON.stringify(settings), args.methods.join(',')]));
  }
  const minutes = (performance.now() - t0) / 60000;
  const loadEnd = loadLine();

  const rows: BenchRow[] = [];
  for (const rep of ours) {
    const ref = refs.find((r) => r.model === rep.model);
    for (const r of rep.results) {
      const theirs = ref?.results.find((x) => x.method === r.method)?.seconds ?? null;
      const ratio = theirs ? r.seconds / theirs : null;
      const target = TARGETS[r.method];
      rows.push({
        model: r.model,
        method: r.method,
        ours_s: r.seconds,
        reference_s: theirs,
        ratio,
        target: target?.text ?? null,
        met: target ? target.met(r.seconds, ratio) : null,
        tensors_per_call: r.tensorsPerCall ?? null,
        note: r.note ?? '',
      });
    }
  }

  // Console table.
  const head = ['model', 'method', 'ours', 'PyTorch', 'ratio', 'target', 'met', 'tensors/call'];
  const body = rows.map((r) => [r.model, r.method, fmtSeconds(r.ours_s), fmtSeconds(r.reference_s), fmtRatio(r.ratio), r.target ?? '', r.met === null ? '' : r.met ? 'yes' : 'NO', r.tensors_per_call === null ? '—' : String(r.tensors_per_call)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
  console.log(line(head));
  for (const b of body) console.log(line(b));
  for (const rep of ours) {
    const ref = refs.find((r) => r.model === rep.model);
    console.log(`peak RSS ${rep.model}: ours ${(rep.peakRssBytes / GiB).toFixed(2)} GiB${ref ? `, PyTorch ${(ref.peakRssBytes / GiB).toFixed(2)} GiB` : ''}`);
  }
  console.log(`${minutes.toFixed(1)} min; load average at start ${loadStart}, at end ${loadEnd}`);

  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / GiB) * 10) / 10,
    node: process.version,
    ours: ours[0]?.engine ?? '',
    reference: refs[0]?.engine ?? py.why,
    loadStart,
    loadEnd,
    started: started.toISOString(),
    minutes: Math.round(minutes * 10) / 10,
    mode: args.quick ? 'quick' : 'full',
  };
  const peaks = ours.map((o) => ({ model: o.model, ours_bytes: o.peakRssBytes, ours_build_bytes: o.buildPeakRssBytes ?? null, reference_bytes: refs.find((r) => r.model === o.model)?.peakRssBytes ?? null }));
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify({ results: rows, peak_rss: peaks, machine, settings }, null, 2) + '\n');
    console.log(`wrote ${args.json}`);
  }
  fs.writeFileSync(args.md, markdown(rows, ours, refs, machine, settings, args));
  console.log(`wrote ${args.md}`);
}

function markdown(rows: BenchRow[], ours: SideReport[], refs: SideReport[], machine: Record<string, string | number>, s: BenchSettings, args: Args): string {
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`npm run bench${args.quick ? ' -- --quick' : ''}\` (bench/run.ts) on ${String(machine.started).slice(0, 16).replace('T', ' ')} UTC, ` +
      `${machine.mode} run, ${machine.minutes} min. Ours and the PyTorch reference ran one after the other in the same run, ` +
      'each model in its own processes; times are medians of the timed calls (fast methods after one warm-up call).',
    '',
  );
  out.push(
    'Run it: `npm run bench` (all models, every method, then this file), `npm run bench -- --quick` (MobileNetV2, small settings), ' +
      '`--json <file>` for `{results: [{model, method, ours_s, reference_s, ratio}]}`, `--profile` for the kernel lists, ' +
      '`--models` / `--methods` / `--set key=n` to narrow or change the work (e.g. `--set igSteps=50,smoothSamples=25,occlusionPatch=14` for the issue\'s counts). ' +
      'The reference needs python3 with torch (Debian: python3-torch; `BENCH_PYTHON` picks the interpreter).',
    '',
  );
  out.push('## Machine', '');
  out.push(`- ${machine.cpus} CPUs (${machine.cpu}), ${machine.memoryGiB} GiB RAM, Node ${machine.node}`);
  out.push(`- ours: ${machine.ours}; reference: ${machine.reference}`);
  out.push(`- load average (1, 5, 15 min) at start: ${machine.loadStart}; at end: ${machine.loadEnd}`, '');
  out.push('## Settings (both sides)', '');
  out.push(
    `Random-init weights (He-uniform), 224×224 inputs, class 3. Batches of ${s.batchSize} for the batched methods; ` +
      `integrated gradients ${s.igSteps} steps (trapezoid, ${s.igSteps + 1} gradients, black baseline); SmoothGrad ${s.smoothSamples} samples; ` +
      `occlusion ${s.occlusionPatch}×${s.occlusionPatch} windows at stride ${s.occlusionPatch}; Score-CAM on the ${s.scoreCamChannels} top-variance channels; ` +
      `activation maximization ${s.actmaxSteps} steps at ${s.actmaxSize}×${s.actmaxSize} (Fourier, decorrelated colour, pad/jitter/scale/rotate/jitter). ` +
      `Fast methods: median of ${s.repeats}; slow ones: ${s.slowRepeats} call(s); explorer changes: median of ${Math.max(5, s.repeats)}.`,
    '',
  );
  for (const model of [...new Set(rows.map((r) => r.model))]) {
    out.push(`## ${model}`, '');
    out.push('| method | ours | PyTorch | ours / PyTorch | target | met | tensors / call | PyTorch computation | ours: what |');
    out.push('|---|---:|---:|---:|---|---|---:|---|---|');
    for (const r of rows.filter((x) => x.model === model)) {
      out.push(
        `| ${r.method} | ${fmtSeconds(r.ours_s)} | ${fmtSeconds(r.reference_s)} | ${fmtRatio(r.ratio)} | ${r.target ?? ''} | ` +
          `${r.met === null ? '' : r.met ? 'yes' : '**no**'} | ${r.tensors_per_call ?? '—'} | ${REFERENCE_NAMES[r.method] ?? '—'} | ${r.note} |`,
      );
    }
    const o = ours.find((x) => x.model === model);
    const ref = refs.find((x) => x.model === model);
    if (o) {
      const gib = o.peakRssBytes / GiB;
      const limit = model === 'vgg16' ? ` (target ≤ 2 GiB: ${gib <= 2 ? 'met' : '**not met**'})` : '';
      const build = o.buildPeakRssBytes ? ` (${(o.buildPeakRssBytes / GiB).toFixed(2)} GiB of it already after building and randomizing the model)` : '';
      out.push('', `Peak RSS: ours ${gib.toFixed(2)} GiB${build}${limit}; PyTorch ${ref ? `${(ref.peakRssBytes / GiB).toFixed(2)} GiB` : '—'}.`);
    }
    const profiled = o?.results.filter((r) => r.kernels?.length) ?? [];
    if (profiled.length) {
      out.push('', 'Kernels that took the most time in one call (ours, tf.profile):', '');
      for (const r of profiled) {
        out.push(`- ${r.method}: ` + (r.kernels ?? []).map((k) => `${k.kernel} ${k.ms} ms (${k.calls}×)`).join(', '));
      }
    }
    out.push('');
  }
  const findings = path.join(ROOT, 'bench', 'findings.md');
  if (fs.existsSync(findings)) out.push(fs.readFileSync(findings, 'utf8').trim(), '');
  return out.join('\n');
}

main();
