/**
 * The report's faithfulness section and CAM variants: every number it prints is the evaluation API's
 * number for the same model, image, map and class (deletion / insertion, ROAD, confidence change), and
 * every method section shows what the method's own function returns.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { main } from '../kernel/src/cli/main';
import * as cnnvis from '../kernel/src/index';
import { svgCurves } from '../kernel/src/report/chart';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-report-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const unescape = (s: string) => s.replace(/&#(\d+);/g, (_, c) => String.fromCharCode(Number(c)));
/** A result's text without its timing ('[backend, 12.3 ms]'), which differs from run to run. */
const untimed = (s: string) => s.replace(/\[[^\]]*? ms\]/g, '[…]');

function section(html: string, heading: string): string {
  const i = html.indexOf(`<h2>${heading}</h2>`);
  if (i < 0) throw new Error(`no section '${heading}'`);
  return html.slice(i, html.indexOf('</section>', i));
}

function metric(html: string, id: string): { value: number; shown: string } {
  const m = new RegExp(`data-metric="${id}" data-value="([^"]+)">([^<]*)<`).exec(html);
  if (!m) throw new Error(`no metric ${id}`);
  return { value: Number(m[1]), shown: unescape(m[2]) };
}

test('report --all on the demo: the faithfulness numbers and every CAM variant equal the API on the same input', async () => {
  const page = path.join(tmp, 'all.html');
  const out: string[] = [];
  const code = await main(['report', 'scene:7', '--model', 'demo', '--all', '--out', page], { out: (s) => out.push(s), err: (s) => out.push(s) });
  expect(code).toBe(0);
  const html = fs.readFileSync(page, 'utf8');

  const model = await cnnvis.loadModel('demo');
  const image = 'scene:7';
  const g = await cnnvis.gradCam(model, image, { display: false });
  const classIndex = g.target.index;
  const f = section(html, `Faithfulness: the Grad-CAM map of ${g.target.label} (class ${classIndex})`);
  const del = await cnnvis.evaluation.deletionCurve(model, image, g.map, { classIndex });
  const ins = await cnnvis.evaluation.insertionCurve(model, image, g.map, { classIndex });
  const road = await cnnvis.evaluation.road(model, image, g.map, { classIndex });
  const conf = await cnnvis.evaluation.confidenceChange(model, image, g.map, { classIndex });
  const avg = cnnvis.evaluation.averageDropIncrease([conf]);
  const expected: Record<string, number> = {
    'deletion-auc': del.auc,
    'insertion-auc': ins.auc,
    'road-morf-auc': road.morf.auc,
    'road-morf-mean': road.morf.mean,
    'road-lerf-auc': road.lerf.auc,
    'road-lerf-mean': road.lerf.mean,
    'road-combined': road.combined,
    'confidence-original': conf.original,
    'confidence-explanation': conf.explanation,
    'average-drop': avg.averageDrop,
    'absolute-drop': conf.absoluteDrop,
    'increase-in-confidence': avg.increaseInConfidence,
  };
  for (const [id, v] of Object.entries(expected)) {
    const m = metric(f, id);
    expect([id, m.value]).toEqual([id, v]);
    expect(m.shown.replace(/ %$/, '')).toBe(v.toPrecision(4));
  }
  // Average Drop of one image is 100·max(0, Y − O)/Y, from the two probabilities the table shows.
  expect(avg.averageDrop).toBeCloseTo((100 * Math.max(0, conf.original - conf.explanation)) / conf.original, 4);
  // The curves are drawn from the results' points: one polyline per curve, with its AUC in the legend.
  expect((f.match(/<svg /g) ?? []).length).toBe(2);
  const polylines = [...f.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1].split(' ').length);
  expect(polylines).toEqual([del.fractions.length, ins.fractions.length, road.morf.fractions.length, road.lerf.fractions.length]);
  for (const c of [del, ins, road.morf, road.lerf]) expect(f).toContain(`AUC ${c.auc.toFixed(3)}`);

  // Each CAM variant (and FullGrad, RISE) is its method's result for the same image.
  const variants: Array<[string, () => Promise<{ text(): string }>]> = [
    ['Eigen-Grad-CAM', () => cnnvis.eigenGradCam(model, image, { display: false })],
    ['Grad-CAM element-wise', () => cnnvis.gradCamElementWise(model, image, { display: false })],
    ['KPCA-CAM', () => cnnvis.kpcaCam(model, image, { display: false })],
    ['Finer-CAM', () => cnnvis.finerCam(model, image, { display: false })],
    ['FEM', () => cnnvis.fem(model, image, { display: false })],
    ['Ablation-CAM', () => cnnvis.ablationCam(model, image, { display: false })],
    ['FullGrad', () => cnnvis.fullGrad(model, image, { display: false })],
  ];
  for (const [name, run] of variants) {
    const s = section(html, `${name}: ${g.target.label} (class ${classIndex})`);
    const text = /<pre>([\s\S]*?)<\/pre>/.exec(s)?.[1];
    expect(untimed(unescape(text ?? ''))).toBe(untimed((await run()).text()));
    expect(s).toMatch(/<img alt="[^"]*" width="\d+"/);
  }
  expect(section(html, `RISE: ${g.target.label} (class ${classIndex})`)).toMatch(/<pre>RISE of demo for class 2 [^<]*samples 4000/);
}, 180_000);

test('the default report leaves Ablation-CAM and RISE out, keeps ROAD on a small input, and adds no tensors', async () => {
  const model = await cnnvis.loadModel('demo');
  // FullGrad's first call on a model keeps what later calls reuse; after it, the report adds no tensors.
  await cnnvis.fullGrad(model, 'scene:7', { display: false });
  const tensors = tf.memory().numTensors;
  const { html, sections } = await cnnvis.buildReport(model, 'scene:7');
  const titles = sections.map((s) => s.title);
  expect(titles.some((t) => t.startsWith('Ablation-CAM') || t.startsWith('RISE'))).toBe(false);
  // 64×64 pixels: ROAD is cheap and in the default report.
  expect(html).toContain('data-metric="road-morf-auc"');
  expect(tf.memory().numTensors).toBe(tensors);
}, 120_000);

test('the SVG chart puts each point where its fraction and probability say', () => {
  const svg = svgCurves([{ kind: 'deletion', fractions: [0, 0.5, 1], probabilities: [1, 0.25, 0], auc: 0.375 }], { title: 'a <b>' });
  const pts = /points="([^"]+)"/.exec(svg)![1].split(' ').map((p) => p.split(',').map(Number));
  // Plot area: x 48 … 348, y 30 (p = 1) … 230 (p = 0).
  expect(pts).toEqual([[48, 30], [198, 180], [348, 230]]);
  expect(svg).toContain('a &#60;b&#62;');
  expect(svg).toContain('AUC 0.375');
});
