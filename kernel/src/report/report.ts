/** The `report`: everything cnnvis can show for one image and model, as one self-contained HTML page. */
import { featureMaps, layerOutputs } from '../basics/featureMaps';
import { filters } from '../basics/filters';
import { ImageSource, InputOptions } from '../basics/input';
import { predict, topK } from '../basics/predict';
import { summary } from '../basics/summary';
import { gradCam } from '../explain/cam/gradcam';
import { gradCamPlusPlus } from '../explain/cam/gradcampp';
import { guidedBackprop } from '../explain/attribution/guided';
import { saliency } from '../explain/attribution/saliency';
import { occlusion } from '../explain/occlusion';
import { explanationTarget } from '../explain/registry';
import { engineInfo } from '../engine/about';
import { ImageResult } from '../display/imageResult';
import { modelHead } from '../models/head';
import { CnnModel } from '../models/model';
import { htmlPage, Section } from './html';

export interface ReportOptions extends InputOptions {
  top?: number;
  /** Layer for the feature-map grid (default: the first conv layer). */
  layer?: string;
  /** Called after each section, for progress. */
  onSection?: (title: string, done: number, total: number) => void;
}

/** What a section explains, for its heading (the method is already named before the colon): "triangle (class 2)". */
function explained(r: Parameters<typeof explanationTarget>[0]): string {
  const t = explanationTarget(r);
  if (t.class) return `${t.class.label} (class ${t.class.index})`;
  return t.channel ? `channel ${t.channel.channel} of ${t.channel.layer}` : t.title;
}

export async function buildReport(model: CnnModel, image: ImageSource, opts: ReportOptions = {}): Promise<{ html: string; sections: Section[] }> {
  const display = false;
  const resize = opts.resize;
  const sections: Section[] = [];
  // One prediction pass serves the first section, the page title and the runner-up class.
  const preds = await predict(model, image, { top: opts.top ?? 5, resize, display });
  const spatial = model.spatialLayers();
  const deepest = spatial[spatial.length - 1];
  const steps: [string, () => Promise<Section>][] = [
    // One predictions block: the table (exact numbers, bars) beside the image the model saw.
    ['Top predictions', async () => ({ title: 'Top predictions', result: preds, picture: preds.input })],
    ['Model summary', async () => ({ title: 'Model summary', result: summary(model, { display }) })],
    ['Feature maps', async () => {
      const fm = await featureMaps(model, image, { layer: opts.layer, channels: 64, resize, display });
      return { title: `Feature maps: ${fm.layer}`, result: fm, note: 'Each tile is one channel of the layer output, normalized per tile (viridis).' };
    }],
    ['Strongest channel', async () => {
      const fm = await featureMaps(model, image, { layer: deepest, channels: 16, sort: 'mean', resize, display });
      return {
        title: `Strongest channel of ${fm.layer}: ${fm.topChannel}`,
        result: new ImageResult(fm.meta, fm.overlay(), `Channel ${fm.topChannel} of ${fm.layer} (highest mean activation ${fm.means[fm.topChannel].toFixed(4)}) overlaid on the image`),
      };
    }],
    ['Layer outputs', async () => ({
      title: 'Layer outputs, low to high',
      result: await layerOutputs(model, image, { channels: 8, resize, display }),
      note: 'First 8 channels of conv blocks spread over the depth; the top row is the input.',
    })],
    ['Grad-CAM, top class', async () => {
      const r = await gradCam(model, image, { resize, display });
      return {
        title: `Grad-CAM: ${explained(r)}`,
        result: r,
        note: `Where the evidence for the top class is (Selvaraju et al. 2017): gradients of the class score (${r.target.scoreName}), averaged per channel, weight the last spatial layer.`,
      };
    }],
    // A model with one class (a single softmax unit) has no runner-up.
    ...(preds.probabilities.length < 2 ? [] : ([['Grad-CAM, second class', async () => {
      const second = topK(preds.probabilities, 2, (i) => model.label(i))[1];
      const r = await gradCam(model, image, { classIndex: second.index, resize, display });
      const what = modelHead(model.net).kind === 'binary' ? 'The other class of the binary classifier' : 'The same for the runner-up class';
      return { title: `Grad-CAM: ${explained(r)}, the second class`, result: r, note: `${what} (${r.target.scoreName}): a class-discriminative map looks elsewhere.` };
    }]] as [string, () => Promise<Section>][])),
    ['Grad-CAM++', async () => {
      const r = await gradCamPlusPlus(model, image, { resize, display });
      return { title: `Grad-CAM++: ${explained(r)}`, result: r, note: 'Positive gradients weighted per position (Chattopadhyay et al. 2018).' };
    }],
    ['Saliency', async () => {
      const r = await saliency(model, image, { resize, display });
      return { title: `Saliency: ${explained(r)}`, result: r, note: 'The gradient of the class score with respect to the pixels, largest |value| over colour channels (Simonyan et al. 2014).' };
    }],
    ['Guided backpropagation', async () => {
      const r = await guidedBackprop(model, image, { resize, display });
      return { title: `Guided backpropagation: ${explained(r)}`, result: r, note: 'Backward ReLUs pass only positive gradients where the forward input was positive (Springenberg et al. 2015).' };
    }],
    ['Occlusion', async () => {
      const patch = Math.max(4, Math.round(model.inputHeight / 7));
      const r = await occlusion(model, image, { patchSize: patch, stride: patch, resize, display, progress: false });
      return { title: `Occlusion: ${explained(r)}`, result: r, note: `Drop of the class probability when a ${patch}×${patch} gray patch covers each region (Zeiler & Fergus 2014).` };
    }],
    ['Filters', async () => {
      const f = await filters(model, { display });
      return { title: `Filters: ${f.layer}`, result: f };
    }],
  ];
  let done = 0;
  for (const [title, run] of steps) {
    sections.push(await run());
    opts.onSection?.(title, ++done, steps.length);
  }
  const html = htmlPage(`cnnvis report: ${model.name} on ${preds.imageName}`, sections, `Engine: ${(await engineInfo()).line}. Model source: ${model.source}.`);
  return { html, sections };
}
