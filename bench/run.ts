/**
 * `npm run bench`: cnnvis against PyTorch on the same machine, in the same run.
 *
 *   npm run bench                      # VGG16, ResNet50, MobileNetV2; every method; writes BENCHMARKS.md
 *   npm run bench -- --quick           # MobileNetV2 only, small settings (a few minutes)
 *   npm run bench -- --json out.json   # also {threads: {ours, reference}, results: [{model, method, ours_s,
 *                                      #   reference_s, ratio, ort_whole_model_s, floor_ratio}], scaling: [...], ...}
 *   npm run bench -- --models vgg16 --methods gradcam,saliency --profile --md /tmp/b.md
 *   npm run bench -- --models vgg16 --set igSteps=50,smoothSamples=25,occlusionPatch=14   # the issue's settings
 *   CNNVIS_THREADS=1 npm run bench -- --quick   # every side on one thread (or --threads 1)
 *
 * Each model runs in its own processes: ours (bench/dist/ours.js) and the reference
 * (bench/reference.py, PyTorch; skipped with a note when no python3 with torch is found —
 * BENCH_PYTHON picks the interpreter) both build the model, then each method runs on both sides
 * back to back, twice, in the order A B B A (SIDE_PROTOCOL in bench/settings.ts), and the floor
 * (bench/dist/floor.js: the reference model exported whole to ONNX, in a plain onnxruntime-node
 * session) just before and just after the forward pass and after the scaling table. All get the same settings
 * (bench/settings.ts) and the same threads: CNNVIS_THREADS (default: the cores) is ours' ONNX
 * Runtime intra-op count, torch.set_num_threads + OMP_NUM_THREADS on the reference, the floor's
 * intra-op count. The benchmark refuses to compare sides that ran on different thread counts.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { BENCH_MODELS, BenchModelName } from './models';
import { BENCH_METHODS, BenchMethod, BenchSettings, FAST_MAX_CALLS, FAST_MIN_SECONDS, FAST_WARMUP_SECONDS, FloorReport, FULL_SETTINGS, QUICK_MODELS, QUICK_SETTINGS, ScalePoint, SIDE_PROTOCOL, SideReady, SideReport, SideResult } from './settings';

const ROOT = path.resolve(__dirname, '..', '..');
/** Pause before each side's method (see main). */
const SETTLE_MS = 500;
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
  /** Threads of every side: --threads, else CNNVIS_THREADS, else the cores. */
  threads: number;
}

/** A positive whole number of threads, or a clear error naming where it came from. */
function threadCount(v: string, from: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || n < 1) throw new Error(`${from} must be a positive whole number of threads, got '${v}'`);
  return n;
}

function parseArgs(argv: string[]): Args {
  const env = process.env.CNNVIS_THREADS;
  const a: Args = {
    quick: false,
    md: path.join(ROOT, 'BENCHMARKS.md'),
    models: [...BENCH_MODELS],
    methods: [...BENCH_METHODS],
    profile: false,
    reference: true,
    overrides: {},
    threads: env !== undefined && env !== '' ? threadCount(env, 'CNNVIS_THREADS') : Math.max(1, os.cpus().length),
  };
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
    else if (flag === '--threads') a.threads = threadCount(value(), '--threads');
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
    } else throw new Error(`unknown option '${flag}'; options: --quick, --json <file>, --md <file>, --models a,b, --methods a,b, --set key=n,..., --threads n, --profile, --no-reference`);
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

/**
 * One side's process for one model, driven by SIDE_PROTOCOL (bench/settings.ts): started at once,
 * `ready` after it built the model, then one method at a time, then its report.
 */
class Side {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  private exited: Promise<number | null>;

  constructor(
    readonly name: string,
    cmd: string,
    args: string[],
    env: Record<string, string>,
  ) {
    this.child = spawn(cmd, args, { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve(code ?? (signal ? -1 : null))));
    this.lines = readline.createInterface({ input: this.child.stdout!, terminal: false })[Symbol.asyncIterator]();
  }

  /** The JSON after the next line that starts with `tag` (other stdout lines are ignored). */
  private async next<T>(tag: (typeof SIDE_PROTOCOL)[number]): Promise<T> {
    for (;;) {
      const r = await this.lines.next();
      if (r.done) throw new Error(`${this.name} ended before ${tag} (exit ${await this.exited})`);
      if (r.value.startsWith(`${tag} `)) return JSON.parse(r.value.slice(tag.length + 1)) as T;
    }
  }

  ready(): Promise<SideReady> {
    return this.next<SideReady>('BENCH_READY');
  }

  /** Runs one method on this side (its result goes into the side's report). */
  async run(method: BenchMethod): Promise<void> {
    this.child.stdin!.write(`${method}\n`);
    await this.next<SideResult | null>('BENCH_RESULT');
  }

  async report(): Promise<SideReport> {
    this.child.stdin!.end();
    const r = await this.next<SideReport>('BENCH_REPORT');
    const code = await this.exited;
    if (code !== 0) throw new Error(`${this.name} failed (exit ${code})`);
    return r;
  }

  kill(): void {
    this.child.kill();
  }
}

/** Runs one process to its end; its stderr (progress) passes through; returns the JSON after `tag`. */
function runProcess<T>(cmd: string, args: string[], env: Record<string, string>, tag = 'BENCH_REPORT'): T {
  const r = spawnSync(cmd, args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024, env: { ...process.env, ...env } });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith(`${tag} `));
  if (r.status !== 0 || !line) throw new Error(`${cmd} ${args[0]} ${args[1]} failed (exit ${r.status ?? r.signal})`);
  return JSON.parse(line.slice(tag.length + 1)) as T;
}

/**
 * One side's results of a method run more than once (A B B A, see main): the fastest of its times
 * (each a median of its calls), all calls counted. The machine's slow spells only ever add time (one
 * side's two runs of a method were 1.32 and 2.05 s, seconds apart), so the faster run is the closer
 * to the method's cost, on every side alike.
 */
function mergeRuns(runs: SideResult[]): SideResult {
  if (runs.length === 1) return runs[0];
  const n = runs.reduce((a, r) => a + r.n, 0);
  const seconds = Math.min(...runs.map((r) => r.seconds));
  const counted = runs.map((r) => r.tensorsPerCall).filter((t): t is number => t !== undefined);
  return { ...runs[0], seconds, n, tensorsPerCall: counted.length ? Math.max(...counted) : undefined };
}

/** A side's report with one result per method: the runs of each method merged (mergeRuns), in first-run order. */
function mergeReport(rep: SideReport): SideReport {
  const byMethod = new Map<BenchMethod, SideResult[]>();
  for (const r of rep.results) byMethod.set(r.method, [...(byMethod.get(r.method) ?? []), r]);
  return { ...rep, results: [...byMethod.values()].map(mergeRuns) };
}

/** Stops the benchmark with one line: the sides did not run on the same number of threads. */
function refuse(message: string): never {
  process.stderr.write(`bench: refusing to compare: ${message}\n`);
  process.exit(2);
}

/** Where exported reference models are kept between runs (never in the repository). */
function exportDir(): string {
  return process.env.BENCH_CACHE ?? path.join(os.tmpdir(), 'cnnvis-bench-onnx');
}

/**
 * The floor for one model: the reference exported whole (once per torch version, kept in
 * exportDir()) and timed in a plain ONNX Runtime session. Null with the reason when it fails.
 */
function runFloor(python: string, torchWhy: string, model: string, settings: BenchSettings, parts: string[], threads: number): { report: FloorReport | null; why: string } {
  try {
    const dir = exportDir();
    fs.mkdirSync(dir, { recursive: true });
    const version = (/torch ([^ )]+)/.exec(torchWhy)?.[1] ?? 'torch').replace(/[^\w.+-]/g, '_');
    // Keyed by torch's version and the reference's model source (its architectures, initialization
    // and export: the file up to SCALE_SIZES, and export_onnx), so a changed model is exported again
    // and a change to the timed methods is not.
    const text = fs.readFileSync(path.join(ROOT, 'bench', 'reference.py'), 'utf8');
    const exporter = /\ndef export_onnx[\s\S]*?\n\n\n/.exec(text)?.[0] ?? text;
    const models = text.slice(0, Math.max(0, text.indexOf('\nSCALE_SIZES')) || text.length);
    const source = createHash('sha1').update(models).update(exporter).digest('hex').slice(0, 10);
    const file = path.join(dir, `${model}-torch${version}-${source}.onnx`);
    if (!fs.existsSync(file)) {
      // Exports of an older reference or torch go (VGG16's is half a gigabyte).
      for (const f of fs.readdirSync(dir)) if (f.startsWith(`${model}-torch`) && f.endsWith('.onnx')) fs.rmSync(path.join(dir, f), { force: true });
      process.stderr.write(`bench: exporting ${model} to ${file}\n`);
      const tmp = `${file}.${process.pid}.tmp`;
      const r = spawnSync(python, [path.join(ROOT, 'bench', 'reference.py'), '--export', model, tmp], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) throw new Error(`torch.onnx.export of ${model} failed (exit ${r.status ?? r.signal})`);
      fs.renameSync(tmp, file);
    }
    const report = runProcess<FloorReport>(process.execPath, [path.join(__dirname, 'floor.js'), file, String(threads), JSON.stringify(settings), parts.join(',')], {}, 'BENCH_FLOOR');
    return { report, why: '' };
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    process.stderr.write(`bench: no ONNX Runtime floor for ${model}: ${why}\n`);
    return { report: null, why };
  }
}

interface Target {
  text: string;
  /** `ratio`: ours / PyTorch; `floorRatio`: ours / the ONNX Runtime floor (forward only). */
  met: (ours: number, ratio: number | null, floorRatio: number | null) => boolean;
}

const ratioAtMost = (r: number): Target => ({ text: `≤ ${r.toFixed(1)}× PyTorch`, met: (_o, ratio) => ratio !== null && ratio <= r });

/** The forward pass against the whole-model ONNX Runtime floor. */
const FLOOR_TARGET = 1.5;

/** Issue 16's targets, on every model at equal threads. */
const TARGETS: Partial<Record<BenchMethod, Target>> = {
  forward: {
    text: `≤ 1.0× PyTorch, ≤ ${FLOOR_TARGET}× floor`,
    met: (_o, ratio, floor) => ratio !== null && ratio <= 1 && floor !== null && floor <= FLOOR_TARGET,
  },
  gradcam: ratioAtMost(1),
  gradcam_class_change: { text: '≤ 50 ms', met: (o) => o <= 0.05 },
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
  activation_max_page: 'lucent render_vis-style, the page as one batch',
};

export interface BenchRow {
  model: string;
  method: BenchMethod;
  ours_s: number;
  reference_s: number | null;
  ratio: number | null;
  /** Forward rows: one pass of the exported reference model in a plain ONNX Runtime session, and ours / it. */
  ort_whole_model_s?: number | null;
  floor_ratio?: number | null;
  target: string | null;
  met: boolean | null;
  tensors_per_call: number | null;
  note: string;
}

/** One cell of the scaling table, both sides (and the floor for predictions). */
export interface ScaleRow {
  model: string;
  task: ScalePoint['task'];
  images: number;
  ours_s: number;
  reference_s: number | null;
  ort_whole_model_s: number | null;
  ours_images_per_s: number;
  reference_images_per_s: number | null;
  ort_whole_model_images_per_s: number | null;
  /** ours / PyTorch, seconds. */
  ratio: number | null;
}

function fmtSeconds(s: number | null): string {
  if (s === null) return '—';
  if (s < 0.1) return `${(s * 1000).toFixed(1)} ms`;
  return `${s.toFixed(s < 10 ? 3 : 1)} s`;
}

function fmtRatio(r: number | null): string {
  return r === null ? '—' : r < 0.1 ? r.toFixed(3) : r.toFixed(2);
}

/**
 * A machine already busy when the run starts: other processes take threads from every side, and
 * unevenly (PyTorch's OpenMP pool suffers far more than ONNX Runtime's), so its ratios mean nothing.
 */
function busyAtStart(): string | null {
  const load = os.loadavg()[0];
  const cpus = Math.max(1, os.cpus().length);
  return load > 0.5 * cpus ? `the machine was busy at the start (1-min load average ${load.toFixed(2)} on ${cpus} CPUs): other work took threads from the sides unevenly, so these times and ratios do not say whether a target is met; rerun on an idle machine` : null;
}

function loadLine(): string {
  const [a, b, c] = os.loadavg();
  return `${a.toFixed(2)}, ${b.toFixed(2)}, ${c.toFixed(2)}`;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const settings: BenchSettings = { ...(args.quick ? QUICK_SETTINGS : FULL_SETTINGS), ...args.overrides };
  const py = args.reference ? findPython() : { exe: null, why: 'skipped (--no-reference)' };
  const threads = args.threads;
  const started = new Date();
  const loadStart = loadLine();
  const busy = busyAtStart();
  if (busy) process.stderr.write(`bench: warning: ${busy}\n`);
  process.stderr.write(`bench: models ${args.models.join(', ')}; ${threads} thread(s) on every side; reference: ${py.why}; load average ${loadStart}\n`);
  const ours: SideReport[] = [];
  const refs: SideReport[] = [];
  const floors = new Map<string, { report: FloorReport | null; why: string }>();
  const floorParts = ['forward', 'scaling'].filter((m) => args.methods.includes(m as BenchMethod));
  const t0 = performance.now();
  // Methods in the user's order, the scaling table last (its peak memory is reported apart).
  const methods = [...args.methods.filter((m) => m !== 'scaling'), ...args.methods.filter((m) => m === 'scaling')];
  for (const model of args.models) {
    const oursArgs = [path.join(__dirname, 'ours.js'), model, JSON.stringify(settings)];
    if (args.profile) oursArgs.push('--profile');
    const sides: Side[] = [new Side(`ours (${model})`, process.execPath, oursArgs, { CNNVIS_THREADS: String(threads) })];
    if (py.exe) {
      const n = String(threads);
      sides.push(new Side(`the reference (${model})`, py.exe, [path.join(ROOT, 'bench', 'reference.py'), model, JSON.stringify(settings)], { BENCH_THREADS: n, OMP_NUM_THREADS: n, MKL_NUM_THREADS: n }));
    }
    try {
      const [o, ref] = await Promise.all(sides.map((sd) => sd.ready()));
      if (ref && o.threads !== threads) {
        refuse(`ours runs ${model} on ${o.threads} thread(s) (${o.engine}) but the reference would run on ${threads}; set CNNVIS_THREADS=${o.threads} (or --threads ${o.threads}) so both sides use the same`);
      }
      if (ref && ref.threads !== o.threads) refuse(`ours runs ${model} on ${o.threads} thread(s) but torch on ${ref.threads} (torch.set_num_threads(${threads}) did not hold)`);
      // Each method on both sides back to back (see below), so a drift of the machine's speed during
      // the run does not favour one side; the floor's forward pass just before and just after the
      // sides' (the faster of the two), its scaling rows after the scaling table, while both sides wait.
      const floor: { report: FloorReport | null; why: string } = { report: null, why: '' };
      const floorForward: number[] = [];
      const timeFloor = (part: string) => {
        const f = runFloor(py.exe!, py.why, model, settings, [part], threads);
        if (!f.report) {
          floor.why = f.why;
          return;
        }
        if (f.report.forwardSeconds !== null) floorForward.push(f.report.forwardSeconds);
        const forwardSeconds = floorForward.length ? Math.min(...floorForward) : null;
        floor.report = floor.report
          ? { ...f.report, forwardSeconds, points: [...floor.report.points, ...f.report.points], peakRssBytes: Math.max(floor.report.peakRssBytes, f.report.peakRssBytes) }
          : { ...f.report, forwardSeconds };
      };
      for (const [k, method] of methods.entries()) {
        if (py.exe && method === 'forward' && floorParts.includes(method)) timeFloor(method);
        // Every method but the scaling table runs twice on each side, in the order A B B A, and each
        // side's time is the faster of its two (mergeRuns): a slow spell of the machine during one
        // run (they last seconds) then counts on neither side.
        const orders = method !== 'scaling' && sides.length > 1 ? [k % 2, (k + 1) % 2] : [k % 2];
        for (const flip of orders) {
          for (const sd of flip ? [...sides].reverse() : sides) {
            // A pause first: the other process' threads (and the system's reclaiming of a model just
            // freed) go quiet before this side is timed.
            await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
            await sd.run(method);
          }
        }
        if (py.exe && floorParts.includes(method)) timeFloor(method);
      }
      const [oursReport, refReport] = await Promise.all(sides.map((sd) => sd.report().then(mergeReport)));
      ours.push(oursReport);
      if (refReport) refs.push(refReport);
      if (floorParts.length && py.exe) floors.set(model, floor.report ? { report: floor.report, why: '' } : floor);
    } catch (e) {
      for (const sd of sides) sd.kill();
      throw e;
    }
  }
  const minutes = (performance.now() - t0) / 60000;
  const loadEnd = loadLine();

  const rows: BenchRow[] = [];
  const scaleRows: ScaleRow[] = [];
  for (const rep of ours) {
    const ref = refs.find((r) => r.model === rep.model);
    const floor = floors.get(rep.model)?.report ?? null;
    for (const r of rep.results) {
      const theirs = ref?.results.find((x) => x.method === r.method) ?? null;
      if (r.method === 'scaling') {
        for (const p of r.points ?? []) {
          const rs = theirs?.points?.find((q) => q.task === p.task && q.images === p.images)?.seconds ?? null;
          const fs_ = p.task === 'predict' ? floor?.points.find((q) => q.images === p.images)?.seconds ?? null : null;
          scaleRows.push({
            model: rep.model,
            task: p.task,
            images: p.images,
            ours_s: p.seconds,
            reference_s: rs,
            ort_whole_model_s: fs_,
            ours_images_per_s: p.images / p.seconds,
            reference_images_per_s: rs ? p.images / rs : null,
            ort_whole_model_images_per_s: fs_ ? p.images / fs_ : null,
            ratio: rs ? p.seconds / rs : null,
          });
        }
        continue;
      }
      const ratio = theirs ? r.seconds / theirs.seconds : null;
      const target = TARGETS[r.method];
      const row: BenchRow = {
        model: r.model,
        method: r.method,
        ours_s: r.seconds,
        reference_s: theirs?.seconds ?? null,
        ratio,
        target: target?.text ?? null,
        met: null,
        tensors_per_call: r.tensorsPerCall ?? null,
        note: r.note ?? '',
      };
      if (r.method === 'forward') {
        row.ort_whole_model_s = floor?.forwardSeconds ?? null;
        row.floor_ratio = row.ort_whole_model_s ? r.seconds / row.ort_whole_model_s : null;
      }
      row.met = target ? target.met(r.seconds, ratio, row.floor_ratio ?? null) : null;
      rows.push(row);
    }
  }

  // Console tables.
  const table = (head: string[], body: string[][]) => {
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
    console.log(line(head));
    for (const b of body) console.log(line(b));
  };
  table(
    ['model', 'method', 'ours', 'PyTorch', 'ratio', 'ORT floor', 'ours/floor', 'target', 'met', 'tensors/call'],
    rows.map((r) => [
      r.model,
      r.method,
      fmtSeconds(r.ours_s),
      fmtSeconds(r.reference_s),
      fmtRatio(r.ratio),
      r.method === 'forward' ? fmtSeconds(r.ort_whole_model_s ?? null) : '',
      r.method === 'forward' ? fmtRatio(r.floor_ratio ?? null) : '',
      r.target ?? '',
      r.met === null ? '' : r.met ? 'yes' : 'NO',
      r.tensors_per_call === null ? '—' : String(r.tensors_per_call),
    ]),
  );
  if (scaleRows.length) {
    console.log('');
    table(
      ['model', 'task', 'images', 'ours img/s', 'PyTorch img/s', 'ORT floor img/s', 'ours/PyTorch'],
      scaleRows.map((r) => [r.model, r.task, String(r.images), fmtRate(r.ours_images_per_s), fmtRate(r.reference_images_per_s), fmtRate(r.ort_whole_model_images_per_s), fmtRatio(r.ratio)]),
    );
  }
  for (const rep of ours) {
    const ref = refs.find((r) => r.model === rep.model);
    console.log(`peak RSS ${rep.model}: ours ${(rep.peakRssBytes / GiB).toFixed(2)} GiB${ref ? `, PyTorch ${(ref.peakRssBytes / GiB).toFixed(2)} GiB` : ''}`);
  }
  console.log(`${threads} thread(s) each side; ${minutes.toFixed(1)} min; load average at start ${loadStart}, at end ${loadEnd}`);
  if (busy) console.log(`WARNING: ${busy}`);

  const refThreads = refs.length ? refs[0].threads : null;
  const machine = {
    cpus: os.cpus().length,
    cpu: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / GiB) * 10) / 10,
    node: process.version,
    ours: ours[0]?.engine ?? '',
    reference: refs[0]?.engine ?? py.why,
    oursThreads: ours[0]?.threads ?? threads,
    referenceThreads: refThreads,
    loadStart,
    loadEnd,
    started: started.toISOString(),
    minutes: Math.round(minutes * 10) / 10,
    mode: args.quick ? 'quick' : 'full',
    busy,
  };
  const peaks = ours.map((o) => {
    const ref = refs.find((r) => r.model === o.model);
    const floor = floors.get(o.model)?.report ?? null;
    return {
      model: o.model,
      ours_bytes: o.peakRssBytes,
      ours_build_bytes: o.buildPeakRssBytes ?? null,
      ours_with_scaling_bytes: o.scalingPeakRssBytes ?? null,
      reference_with_scaling_bytes: ref?.scalingPeakRssBytes ?? null,
      reference_bytes: ref?.peakRssBytes ?? null,
      ort_whole_model_bytes: floor?.peakRssBytes ?? null,
      target: "≤ PyTorch's",
      met: ref ? o.peakRssBytes <= ref.peakRssBytes : null,
    };
  });
  if (args.json) {
    const out = {
      threads: { ours: machine.oursThreads, reference: refThreads },
      results: rows,
      scaling: scaleRows,
      peak_rss: peaks,
      machine,
      settings,
    };
    fs.writeFileSync(args.json, JSON.stringify(out, null, 2) + '\n');
    console.log(`wrote ${args.json}`);
  }
  fs.writeFileSync(args.md, markdown(rows, scaleRows, ours, refs, floors, machine, settings, args));
  console.log(`wrote ${args.md}`);
}

function fmtRate(r: number | null): string {
  return r === null ? '—' : r < 10 ? r.toFixed(2) : r.toFixed(1);
}

function markdown(
  rows: BenchRow[],
  scaleRows: ScaleRow[],
  ours: SideReport[],
  refs: SideReport[],
  floors: Map<string, { report: FloorReport | null; why: string }>,
  machine: Record<string, string | number | null>,
  s: BenchSettings,
  args: Args,
): string {
  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(
    `Generated by \`npm run bench${args.quick ? ' -- --quick' : ''}\` (bench/run.ts) on ${String(machine.started).slice(0, 16).replace('T', ' ')} UTC, ` +
      `${machine.mode} run, ${machine.minutes} min. Ours, the PyTorch reference and the ONNX Runtime floor ran in the same run, ` +
      "each model in its own processes, each method on both sides back to back, twice, in the order A B B A (the floor's forward pass just before and just after the sides', the faster), " +
      `on the same number of threads; a side's time is the faster of its two (each the median of its timed calls; fast methods after ${FAST_WARMUP_SECONDS} s of warm-up calls).`,
    '',
  );
  out.push(
    'Run it: `npm run bench` (all models, every method, then this file), `npm run bench -- --quick` (MobileNetV2, small settings), ' +
      '`--json <file>` for `{threads: {ours, reference}, results: [{model, method, ours_s, reference_s, ratio, ort_whole_model_s, floor_ratio}], scaling: [...]}`, ' +
      '`--md <file>` to write this page elsewhere, `--profile` for the kernel lists, ' +
      '`--models` / `--methods` / `--set key=n` to narrow or change the work (e.g. `--set igSteps=50,smoothSamples=25,occlusionPatch=14` for the issue\'s counts), ' +
      '`CNNVIS_THREADS=n` or `--threads n` for the threads of every side (default: the cores). ' +
      'The reference needs python3 with torch (Debian: python3-torch; `BENCH_PYTHON` picks the interpreter); the floor exports its models to ' +
      '`BENCH_CACHE` (default: the system temp directory, `cnnvis-bench-onnx/`).',
    '',
  );
  out.push('## Machine', '');
  out.push(`- ${machine.cpus} CPUs (${machine.cpu}), ${machine.memoryGiB} GiB RAM, Node ${machine.node}`);
  out.push(
    `- threads: ours ${machine.oursThreads} (ONNX Runtime intra-op threads; the TF.js wasm parts run on 1), ` +
      `reference ${machine.referenceThreads ?? '—'} (torch.set_num_threads and OMP_NUM_THREADS), ` +
      `ONNX Runtime floor ${machine.oursThreads} (intra-op threads)`,
  );
  out.push(`- ours: ${machine.ours}; reference: ${machine.reference}`);
  out.push(
    '- floor: the reference model exported whole with `torch.onnx.export` (eval mode, constant weights, constant folding) and run in a plain ' +
      "onnxruntime-node session (graph optimizations 'all', sequential), input prepared beforehand: the speed of cnnvis' own runtime on one graph",
  );
  out.push(`- load average (1, 5, 15 min) at start: ${machine.loadStart}; at end: ${machine.loadEnd}`, '');
  if (machine.busy) out.push(`**Not a valid run:** ${machine.busy}.`, '');
  out.push('## Settings (every side)', '');
  out.push(
    `Random-init weights (He-uniform), 224×224 inputs, class 3. Batches of ${s.batchSize} for the batched methods; ` +
      `integrated gradients ${s.igSteps} steps (trapezoid, ${s.igSteps + 1} gradients, black baseline); SmoothGrad ${s.smoothSamples} samples; ` +
      `occlusion ${s.occlusionPatch}×${s.occlusionPatch} windows at stride ${s.occlusionPatch}; Score-CAM on the ${s.scoreCamChannels} top-variance channels; ` +
      `activation maximization ${s.actmaxSteps} steps at ${s.actmaxSize}×${s.actmaxSize} (Fourier, decorrelated colour, pad/jitter/scale/rotate/jitter); ` +
      `per page: the filter explorer's page of ${s.pageFilters} filters, ${s.pageSteps} steps at ${s.pagePatternSize}×${s.pagePatternSize}. ` +
      `Every method runs twice on each side, in the order A B B A, and each side's time is the faster of its two: for a fast method each is the median of at least ${s.repeats} calls after ${FAST_WARMUP_SECONDS} s of warm-up calls, more until they add up to ${FAST_MIN_SECONDS} s (at most ${FAST_MAX_CALLS}; explorer changes at least ${Math.max(5, s.repeats)}); for a slow one, ${s.slowRepeats} call(s).`,
    '',
  );
  out.push(
    'Targets (issue 16): every method ≤ 1.0× PyTorch, activation maximization included; a forward pass ≤ 1.5× the ONNX Runtime floor; ' +
      "a class change in the CAM explorer ≤ 50 ms; a layer change in the feature-map explorer ≤ 100 ms; peak memory ≤ PyTorch's for the same sequence.",
    '',
  );
  for (const model of [...new Set([...rows.map((r) => r.model), ...scaleRows.map((r) => r.model)])]) {
    out.push(`## ${model}`, '');
    const mine = rows.filter((x) => x.model === model);
    if (mine.length) {
      out.push('| method | ours | PyTorch | ours / PyTorch | ONNX Runtime floor | ours / floor | target | met | tensors / call | PyTorch computation | ours: what |');
      out.push('|---|---:|---:|---:|---:|---:|---|---|---:|---|---|');
      for (const r of mine) {
        const fwd = r.method === 'forward';
        out.push(
          `| ${r.method} | ${fmtSeconds(r.ours_s)} | ${fmtSeconds(r.reference_s)} | ${fmtRatio(r.ratio)} | ` +
            `${fwd ? fmtSeconds(r.ort_whole_model_s ?? null) : ''} | ${fwd ? fmtRatio(r.floor_ratio ?? null) : ''} | ${r.target ?? ''} | ` +
            `${r.met === null ? '' : r.met ? 'yes' : '**no**'} | ${r.tensors_per_call ?? '—'} | ${REFERENCE_NAMES[r.method] ?? '—'} | ${r.note} |`,
        );
      }
    }
    const floor = floors.get(model);
    if (floor && !floor.report) out.push('', `No ONNX Runtime floor for this model: ${floor.why}.`);
    const scale = scaleRows.filter((x) => x.model === model);
    if (scale.length) {
      out.push('', 'Throughput as work grows (images per second; each count as one batch on PyTorch and the floor; ours: predictions as one batch, Grad-CAM one call per image):', '');
      out.push('| task | images | ours | PyTorch | ONNX Runtime floor | ours / PyTorch (time) |');
      out.push('|---|---:|---:|---:|---:|---:|');
      for (const r of scale) {
        out.push(`| ${r.task === 'predict' ? 'predictions' : 'Grad-CAM'} | ${r.images} | ${fmtRate(r.ours_images_per_s)} | ${fmtRate(r.reference_images_per_s)} | ${r.task === 'predict' ? fmtRate(r.ort_whole_model_images_per_s) : ''} | ${fmtRatio(r.ratio)} |`);
      }
    }
    const o = ours.find((x) => x.model === model);
    const ref = refs.find((x) => x.model === model);
    if (o) {
      const gib = o.peakRssBytes / GiB;
      const build = o.buildPeakRssBytes ? ` (${(o.buildPeakRssBytes / GiB).toFixed(2)} GiB of it already after building and randomizing the model)` : '';
      const target = ref ? ` (target ≤ PyTorch's: ${o.peakRssBytes <= ref.peakRssBytes ? 'met' : '**not met**'})` : '';
      out.push('', `Peak RSS of the methods' sequence: ours ${gib.toFixed(2)} GiB${build}; PyTorch ${ref ? `${(ref.peakRssBytes / GiB).toFixed(2)} GiB` : '—'}${target}.`);
      if (o.scalingPeakRssBytes) {
        out.push(
          `With the scaling table (run last; for Grad-CAM PyTorch keeps a whole batch's pass, ours one image's): ours ${(o.scalingPeakRssBytes / GiB).toFixed(2)} GiB; ` +
            `PyTorch ${ref?.scalingPeakRssBytes ? `${(ref.scalingPeakRssBytes / GiB).toFixed(2)} GiB` : '—'}.`,
        );
      }
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

main().catch((e) => {
  process.stderr.write(`bench: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
