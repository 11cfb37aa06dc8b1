/** The `report`: everything cnnvis can show for one image and model, as one self-contained HTML page. */
import { featureMaps, layerOutputs } from '../basics/featureMaps';
import { filters } from '../basics/filters';
import { ImageSource, InputOptions } from '../basics/input';
import { predict, topK } from '../basics/predict';
import { summary } from '../basics/summary';
import { ExplainResult } from '../explain/explainResult';
import { explainMethod, ExplainOptions, explanationTarget } from '../explain/registry';
import { engineInfo } from '../engine/about';
import { ImageResult } from '../display/imageResult';
import { CnnModel } from '../models/model';
import { CnnvisError } from '../errors';
import { Result } from '../display/result';
import { htmlPage, Section } from './html';
import { faithfulness } from './faithfulness';

export interface ReportOptions extends InputOptions {
  top?: number;
  /** Layer for the feature-map grid (default: the first conv layer). */
  layer?: string;
  /**
   * Also the slow parts: ROAD on inputs larger than 128×128 pixels, Ablation-CAM (one forward pass per
   * channel) and RISE (4000 masked images); minutes on a 224×224 model, seconds on the demo.
   */
  all?: boolean;
  /** Called after each section, for progress. */
  onSection?: (title: string, done: number, total: number) => void;
}

/** Inputs up to this many pixels get ROAD without `all` (its imputation grows faster than the pixel count). */
export const ROAD_DEFAULT_PIXELS = 128 * 128;

/** A section's text when its method does not apply to the model (its one-line reason). */
class NoteResult extends Result {
  readonly kind = 'note';
  constructor(
    private readonly line: string,
    model: string,
  ) {
    super({ model, backend: '-', timeMs: 0 });
  }
  text(): string {
    return this.line;
  }
}

/** A method's section, or a note saying why the method does not apply to this model. */
async function orNote(title: string, model: CnnModel, run: () => Promise<Section>): Promise<Section> {
  try {
    return await run();
  } catch (e) {
    if (!(e instanceof CnnvisError)) throw e;
    return { title: `${title}: not computed`, result: new NoteResult(e.message, model.name) };
  }
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
  const all = opts.all ?? false;
  const pixels = model.inputWidth * model.inputHeight;
  const withRoad = all || pixels <= ROAD_DEFAULT_PIXELS;
  // The main map: Grad-CAM of the top class, shown and then evaluated.
  let main: ExplainResult | undefined;
  type Step = [string, () => Promise<Section>];
  /**
   * A method's section from the registry: heading `title: what it explains`, the note under it; with
   * `orNote`, a note instead when the method does not apply to the model.
   */
  const method = (title: string, id: string, note: string, o: { orNote?: boolean; opts?: ExplainOptions } = {}): Step => {
    const section = async (): Promise<Section> => {
      const r = await explainMethod(id).run(model, image, { ...o.opts, resize, display });
      return { title: `${title}: ${explained(r)}`, result: r, note };
    };
    return [title, o.orNote ? () => orNote(title, model, section) : section];
  };
  /** A CAM variant's section (a note instead when the method does not apply). */
  const variant = (title: string, id: string, note: string): Step => method(title, id, note, { orNote: true });
  const patch = Math.max(4, Math.round(model.inputHeight / 7));
  const steps: Step[] = [
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
      const r = (await explainMethod('gradcam').run(model, image, { resize, display })) as ExplainResult;
      main = r;
      return {
        title: `Grad-CAM: ${explained(r)}`,
        result: r,
        note: `Where the evidence for the top class is (Selvaraju et al. 2017): gradients of the class score (${r.target.scoreName}), averaged per channel, weight the last spatial layer.`,
      };
    }],
    // A model with one class (a single softmax unit) has no runner-up.
    ...(preds.probabilities.length < 2 ? [] : ([['Grad-CAM, second class', async () => {
      const second = topK(preds.probabilities, 2, (i) => model.label(i))[1];
      const r = (await explainMethod('gradcam').run(model, image, { classIndex: second.index, resize, display })) as ExplainResult;
      const what = model.head.kind === 'binary' ? 'The other class of the binary classifier' : 'The same for the runner-up class';
      return { title: `Grad-CAM: ${explained(r)}, the second class`, result: r, note: `${what} (${r.target.scoreName}): a class-discriminative map looks elsewhere.` };
    }]] as Step[])),
    ['Faithfulness', async () => {
      if (!main) throw new Error('the faithfulness section needs the Grad-CAM section first');
      const roadNote = withRoad
        ? undefined
        : `ROAD was not computed: its imputation takes minutes on ${model.inputWidth}×${model.inputHeight} inputs (cnnvis report --all computes it; in code: cnnvis.evaluation.road(model, image, map)).`;
      const r = await faithfulness(model, image, main, { road: withRoad, roadNote, resize });
      return {
        title: `Faithfulness: the ${main.method} map of ${explained(main)}`,
        result: r,
        note:
          'Does the class probability depend on the pixels the map ranks high? Deletion removes them (to black) most relevant first, insertion puts them into a blurred copy (Petsiuk et al. 2018); ' +
          'ROAD removes them most (MoRF) or least (LeRF) relevant first and fills them by noisy linear imputation (Rong et al. 2022); Average Drop / Increase in Confidence show the image through the map (Chattopadhyay et al. 2018). Definitions: METHODS.md.',
      };
    }],
    method('Grad-CAM++', 'gradcampp', 'Positive gradients weighted per position (Chattopadhyay et al. 2018).'),
    variant('Eigen-Grad-CAM', 'eigengradcam', 'The first principal component of gradient ⊙ activation over positions (pytorch-grad-cam).'),
    variant('Grad-CAM element-wise', 'gradcamelementwise', 'Σ over channels of ReLU(gradient ⊙ activation), position by position (pytorch-grad-cam).'),
    variant('KPCA-CAM', 'kpcacam', 'The first kernel principal component of the activations (sigmoid kernel; Karmani et al. 2024).'),
    variant('Finer-CAM', 'finercam', 'Grad-CAM of the class score minus those of the most similar classes, weighted by their probabilities (Zhang et al. 2025).'),
    variant('FEM', 'fem', 'Channel weights: the share of positions where a channel exceeds its mean + 2 standard deviations (Fuad et al. 2020).'),
    ...(all ? [variant('Ablation-CAM', 'ablationcam', 'Channel weights: the relative drop of the class score when the channel is set to 0 (Desai & Ramaswamy 2020).')] : []),
    method('Saliency', 'saliency', 'The gradient of the class score with respect to the pixels, largest |value| over colour channels (Simonyan et al. 2014).'),
    method('Guided backpropagation', 'guided-backprop', 'Backward ReLUs pass only positive gradients where the forward input was positive (Springenberg et al. 2015).'),
    method('FullGrad', 'fullgrad', 'Input gradient × input plus the bias gradients of every conv and batch-norm layer, each rectified, scaled and resized, summed (Srinivas & Fleuret 2019).', { orNote: true }),
    method('Occlusion', 'occlusion', `Drop of the class probability when a ${patch}×${patch} gray patch covers each region (Zeiler & Fergus 2014).`, { opts: { patchSize: patch, stride: patch, progress: false } }),
    ...(all ? [method('RISE', 'rise', 'The class probability of randomly masked copies, averaged with their masks (Petsiuk et al. 2018).', { orNote: true })] : []),
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
