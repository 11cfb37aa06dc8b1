/**
 * cnnvis in a real JupyterLab 4: a notebook on the "TypeScript (cnnvis)" kernel opens a CamExplorer
 * and a FeatureMapExplorer on MobileNet v1 0.25 and cat_dog.png; moving the class slider changes the
 * overlay's pixels and the label, the search box finds tiger cat, moving the layer slider changes the
 * grid; the notebook is saved, its kernel shut down, and the reopened notebook's saved results
 * (RESULT_MIME, rendered in the browser) open on the class found by search and still switch classes
 * and layers with no kernel. An OcclusionExplorer on the bundled demo
 * model: its threshold slider redraws the mask in the browser, and neither the threshold nor a class
 * change runs a new occlusion (the kernel's run count, read over the kernel connection, stays put);
 * the saved occlusion snapshot opens at the class and threshold left and its threshold works without a
 * kernel too. Any browser console error
 * fails the test.
 *
 * Screenshots, the server log and the browser console are in tests/e2e/artifacts/run-<stamp>/.
 * Run: npm run test:e2e (builds the app first). Needs Debian's chromium and python3-jupyterlab-server.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { Locator } from 'playwright-core';
import { RESULT_MIME } from '../../kernel/src/schema/explorers';
import { Notebook } from '../helpers/jupyter';
import {
  BrowserSession,
  canvasPixels,
  changedFraction,
  checkPrerequisites,
  closeNotebook,
  COMPUTE_TIMEOUT,
  createRunDirs,
  expectEventually,
  kernelJson,
  LabServer,
  openBrowser,
  openLab,
  openNotebook,
  savedMenus,
  saveNotebook,
  shutdownKernel,
  startLabServer,
  stepSlider,
  stepSliderTimes,
  waitForKernel,
  waitForText,
  waitIdle,
} from './harness';

const MODEL = 'mobilenet_v1_0.25_224';
const IMAGE = 'cat_dog.png';
const NOTEBOOK = 'explorers.ipynb';
/** The occlusion step runs on the bundled demo model (64×64, 8 px patches, stride 4: 225 patches) and a generated scene. */
const OCCLUSION_IMAGE = 'scene:7';

function notebookJson(): Notebook {
  const code = (source: string) => ({ cell_type: 'code', source, metadata: {}, outputs: [], execution_count: null });
  return {
    nbformat: 4,
    nbformat_minor: 5,
    metadata: {
      kernelspec: { name: 'cnnvis', display_name: 'TypeScript (cnnvis)', language: 'typescript' },
      language_info: { name: 'typescript' },
    },
    cells: [
      code(`import * as cnnvis from 'cnnvis';\nconst model = await cnnvis.loadModel('${MODEL}');\nmodel.name`),
      code(`const cam = await cnnvis.explore.cam(model, '${IMAGE}');`),
      code(`const maps = await cnnvis.explore.featureMaps(model, '${IMAGE}');`),
      code(`const demo = await cnnvis.loadModel('demo');\nconst occ = await cnnvis.explore.occlusion(demo, '${OCCLUSION_IMAGE}');`),
      // A standard ipywidgets 8 IntSlider from TypeScript; the kernel's observer writes what it saw into a Label.
      code(
        `const probe = new cnnvis.widgets.IntSlider({value: 3, min: 0, max: 10, description: 'probe'});\n` +
          `const echo = new cnnvis.widgets.Label({value: 'kernel saw 3'});\n` +
          `probe.observe(c => { echo.value = \`kernel saw \${c.new}\`; }, 'value');\n` +
          `cnnvis.display(new cnnvis.widgets.HBox([probe, echo]));`,
      ),
    ],
  };
}

/** The OcclusionExplorer's count of occlusion runs and forward passes, and the threshold the kernel has. */
interface OcclusionCounts {
  runs: number;
  forwards: number;
  threshold: number;
}
const OCCLUSION_COUNTS = `console.log('@@' + JSON.stringify({runs: occ.runsDone, forwards: occ.forwards, threshold: occ.get('threshold')}))`;

/** The '… keeps N% of the pixels' figure of an occlusion view's info line. */
async function keptPercent(view: Locator): Promise<number> {
  const text = (await view.locator('.cnnvis-info').textContent()) ?? '';
  const m = /keeps ([\d.]+)% of the pixels/.exec(text);
  if (!m) throw new Error(`no 'keeps N%' in the occlusion info line: '${text}'`);
  return Number(m[1]);
}

describe('cnnvis explorers in JupyterLab 4', () => {
  let server: LabServer | null = null;
  let session: BrowserSession | null = null;

  beforeAll(async () => {
    checkPrerequisites({ model: MODEL, image: IMAGE });
    const dirs = createRunDirs();
    fs.writeFileSync(path.join(dirs.root, NOTEBOOK), JSON.stringify(notebookJson(), null, 1));
    server = await startLabServer(dirs);
    session = await openBrowser(dirs);
  });

  afterAll(async () => {
    await session?.screenshot('end').catch(() => undefined);
    await session?.close();
    await server?.stop();
  });

  test('live explorers follow their sliders; the saved notebook still switches classes without a kernel', async () => {
    const { page, errors, screenshot } = session!;
    const { url, dirs, getJson } = server!;

    await openLab(page, url);
    await openNotebook(page, NOTEBOOK);
    await waitForKernel(page);
    await screenshot('notebook-open');

    // Run the five cells from the keyboard: Shift+Enter four times, Ctrl+Enter on the last one.
    await page.locator('.jp-Notebook .jp-Cell').first().locator('.jp-InputArea-editor').click();
    await page.keyboard.press('Escape');
    for (let i = 0; i < 4; i++) await page.keyboard.press('Shift+Enter');
    await page.keyboard.press('Control+Enter');
    await screenshot('cells-queued');

    // CamExplorer, live (the widget view, not the saved snapshot).
    const cam = page.locator('.jp-OutputArea .cnnvis-widget:not(.cnnvis-static) .cnnvis-cam');
    await cam.waitFor({ timeout: COMPUTE_TIMEOUT });
    const caption = cam.locator('.cnnvis-caption').first();
    await expectEventually(async () => /^class \d+ · /.test((await caption.textContent()) ?? ''), 'the CAM caption');
    await waitIdle(cam);
    const overlay = cam.locator('canvas.cnnvis-overlay');
    const before = await canvasPixels(overlay);
    const firstCaption = (await caption.textContent()) ?? '';
    const firstClass = Number(/^class (\d+)/.exec(firstCaption)![1]);
    await screenshot('cam-live');

    await stepSlider(page, cam.locator('input[aria-label="class"]'));
    const secondCaption = await waitForText(caption, firstCaption);
    await waitIdle(cam);
    expect(secondCaption).toMatch(new RegExp(`^class ${firstClass + 1} · `));
    expect(secondCaption.split(' · ')[1]).not.toBe(firstCaption.split(' · ')[1]);
    await expectEventually(async () => changedFraction(before, await canvasPixels(overlay)) > 0.05, 'the overlay to change');
    await screenshot('cam-live-next-class');

    // The search box finds a class the slider would take long to reach.
    const afterStep = await canvasPixels(overlay);
    const search = cam.locator('input[aria-label="search classes"]');
    await search.fill('tiger cat');
    await search.press('Enter');
    const tigerCaption = await waitForText(caption, secondCaption);
    await waitIdle(cam);
    expect(tigerCaption).toMatch(/^class \d+ · tiger.cat · /);
    await expectEventually(async () => changedFraction(afterStep, await canvasPixels(overlay)) > 0.05, 'the tiger cat overlay');
    const tigerOverlay = await canvasPixels(overlay);
    await screenshot('cam-live-search');

    // FeatureMapExplorer, live: the layer slider changes the layer name and the grid.
    const fm = page.locator('.jp-OutputArea .cnnvis-widget:not(.cnnvis-static) .cnnvis-featuremaps');
    await fm.waitFor({ timeout: COMPUTE_TIMEOUT });
    await waitIdle(fm);
    const layerName = fm.locator('.cnnvis-layer-name');
    await expectEventually(async () => ((await layerName.textContent()) ?? '').length > 0, 'the layer name');
    const firstLayer = (await layerName.textContent()) ?? '';
    const grid = fm.locator('canvas.cnnvis-grid');
    const gridBefore = await canvasPixels(grid);
    await fm.scrollIntoViewIfNeeded();
    await screenshot('featuremaps-live');
    await stepSlider(page, fm.locator('input[aria-label="layer"]'));
    const secondLayer = await waitForText(layerName, firstLayer);
    await waitIdle(fm);
    await expectEventually(async () => changedFraction(gridBefore, await canvasPixels(grid)) > 0.05, 'the grid to change');
    expect(secondLayer).not.toBe(firstLayer);
    await screenshot('featuremaps-live-next-layer');

    // The ipywidgets IntSlider renders (jupyterlab-manager's controls) and a drag reaches the kernel,
    // whose observer updates the Label in the browser.
    const probe = page.locator('.jp-OutputArea .widget-hslider').filter({ hasText: 'probe' });
    await probe.waitFor({ timeout: COMPUTE_TIMEOUT });
    const echo = page.locator('.jp-OutputArea .widget-label').filter({ hasText: 'kernel saw' });
    await expectEventually(async () => ((await echo.textContent()) ?? '') === 'kernel saw 3', 'the label from the kernel');
    await probe.scrollIntoViewIfNeeded();
    const handle = probe.locator('.noUi-handle').first();
    const track = probe.locator('.noUi-target').first();
    const hb = (await handle.boundingBox())!;
    const tb = (await track.boundingBox())!;
    await page.mouse.move(hb.x + hb.width / 2, hb.y + hb.height / 2);
    await page.mouse.down();
    await page.mouse.move(tb.x + tb.width * 0.8, hb.y + hb.height / 2, { steps: 8 });
    await page.mouse.up();
    const readout = probe.locator('.widget-readout');
    await expectEventually(async () => Number((await readout.textContent()) ?? '3') > 3, 'the slider readout to move');
    const moved = Number((await readout.textContent()) ?? '');
    await expectEventually(async () => ((await echo.textContent()) ?? '') === `kernel saw ${moved}`, `the kernel to see ${moved}`);
    await screenshot('intslider-moved');

    // OcclusionExplorer on the demo model, live: the threshold slider redraws the mask and the masked
    // picture in the browser at once; the kernel receives the threshold but runs no occlusion. A class
    // step shows another class's map from the same run.
    const occ = page.locator('.jp-OutputArea .cnnvis-widget:not(.cnnvis-static) .cnnvis-occlusion');
    await occ.waitFor({ timeout: COMPUTE_TIMEOUT });
    const occCaption = occ.locator('.cnnvis-caption').first();
    await expectEventually(async () => /^class \d+ · .* · patch 8 stride 4 \(225 patches\)$/.test((await occCaption.textContent()) ?? ''), 'the occlusion caption');
    await waitIdle(occ);
    await occ.scrollIntoViewIfNeeded();
    const counts = await kernelJson<OcclusionCounts>(page, OCCLUSION_COUNTS);
    expect(counts).toEqual({ runs: 1, forwards: 225, threshold: 0.5 });
    const mask = occ.locator('canvas.cnnvis-mask');
    const masked = occ.locator('canvas.cnnvis-masked');
    const maskBefore = await canvasPixels(mask);
    const maskedBefore = await canvasPixels(masked);
    const keptBefore = await keptPercent(occ);
    await screenshot('occlusion-live');
    await stepSliderTimes(page, occ.locator('input[aria-label="mask threshold"]'), 4);
    await expectEventually(async () => ((await occ.locator('.cnnvis-info').textContent()) ?? '').startsWith('threshold 0.70 '), 'the threshold to read 0.70', 10000);
    expect(await keptPercent(occ)).toBeLessThan(keptBefore);
    expect(changedFraction(maskBefore, await canvasPixels(mask))).toBeGreaterThan(0.001);
    expect(changedFraction(maskedBefore, await canvasPixels(masked))).toBeGreaterThan(0.001);
    expect(await occ.locator('.cnnvis-progress').getAttribute('data-status')).toBe('idle');
    await expectEventually(async () => (await kernelJson<OcclusionCounts>(page, OCCLUSION_COUNTS)).threshold === 0.7, 'the kernel to have threshold 0.7', 10000);
    expect(await kernelJson<OcclusionCounts>(page, OCCLUSION_COUNTS)).toEqual({ runs: 1, forwards: 225, threshold: 0.7 });
    await screenshot('occlusion-live-threshold');
    const occFirst = (await occCaption.textContent()) ?? '';
    const occOverlay = occ.locator('canvas.cnnvis-overlay');
    const occOverlayBefore = await canvasPixels(occOverlay);
    await stepSlider(page, occ.locator('input[aria-label="class"]'));
    const occSecond = await waitForText(occCaption, occFirst);
    await waitIdle(occ);
    expect(occSecond.split(' · ')[1]).not.toBe(occFirst.split(' · ')[1]);
    await expectEventually(async () => changedFraction(occOverlayBefore, await canvasPixels(occOverlay)) > 0.01, 'the occlusion map to change');
    expect(await kernelJson<OcclusionCounts>(page, OCCLUSION_COUNTS)).toEqual({ runs: 1, forwards: 225, threshold: 0.7 });
    const occMaskLast = await canvasPixels(mask);
    const occCaptionLast = (await occCaption.textContent()) ?? '';
    await screenshot('occlusion-live-next-class');

    // Save from the keyboard; the file on disk then holds both results.
    await saveNotebook(page);
    const saved = JSON.parse(fs.readFileSync(path.join(dirs.root, NOTEBOOK), 'utf8')) as Notebook;
    const kinds = saved.cells.flatMap((c) => (c.outputs ?? []).map((o) => (o.data?.[RESULT_MIME] as { kind?: string } | undefined)?.kind)).filter(Boolean);
    expect(kinds).toEqual(['cam', 'feature-maps', 'occlusion']);

    // Shut the kernel down and close the notebook; the server then runs no kernel.
    await shutdownKernel(page);
    await closeNotebook(page);
    await expectEventually(async () => (await getJson<unknown[]>('/api/kernels')).length === 0, 'no kernels on the server', 30000);

    // Reopen. Opening starts a fresh kernel (which never had the explorers); it is shut down at once,
    // and the saved results are explored in the browser alone.
    await openNotebook(page, NOTEBOOK);
    const staticCam = page.locator('.jp-OutputArea .cnnvis-static .cnnvis-cam');
    await staticCam.waitFor({ timeout: 60000 });
    await shutdownKernel(page);
    await expectEventually(async () => (await getJson<unknown[]>('/api/kernels')).length === 0, 'no kernels after reopening', 30000);
    expect(await page.locator('.jp-OutputArea .cnnvis-widget:not(.cnnvis-static)').count()).toBe(0);

    // The saved CAM opens on the class found by search, drawn as live; the slider moves over the
    // saved classes, and the search box finds tiger cat again.
    const staticCaption = staticCam.locator('.cnnvis-caption').first();
    const savedFirst = (await staticCaption.textContent()) ?? '';
    expect(savedFirst.split(' · ').slice(0, 2)).toEqual(tigerCaption.split(' · ').slice(0, 2));
    const staticOverlay = staticCam.locator('canvas.cnnvis-overlay');
    const staticBefore = await canvasPixels(staticOverlay);
    expect(changedFraction(staticBefore, tigerOverlay)).toBe(0);
    await screenshot('cam-saved');
    const staticSlider = staticCam.locator('input[aria-label="class"]');
    const atEnd = Number(await staticSlider.inputValue()) >= Number(await staticSlider.getAttribute('max'));
    await stepSlider(page, staticSlider, atEnd ? 'ArrowLeft' : 'ArrowRight');
    const savedSecond = await waitForText(staticCaption, savedFirst);
    expect(savedSecond.split(' · ')[1]).not.toBe(savedFirst.split(' · ')[1]);
    expect(changedFraction(staticBefore, await canvasPixels(staticOverlay))).toBeGreaterThan(0.05);
    await screenshot('cam-saved-next-class');
    const staticSearch = staticCam.locator('input[aria-label="search classes"]');
    await staticSearch.fill('tiger cat');
    await staticSearch.press('Enter');
    await waitForText(staticCaption, savedSecond);
    expect(((await staticCaption.textContent()) ?? '').split(' · ').slice(0, 2)).toEqual(tigerCaption.split(' · ').slice(0, 2));
    expect(changedFraction(tigerOverlay, await canvasPixels(staticOverlay))).toBe(0);

    const staticFm = page.locator('.jp-OutputArea .cnnvis-static .cnnvis-featuremaps');
    const staticLayer = staticFm.locator('.cnnvis-layer-name');
    const savedLayer = (await staticLayer.textContent()) ?? '';
    const staticGrid = await canvasPixels(staticFm.locator('canvas.cnnvis-grid'));
    await stepSlider(page, staticFm.locator('input[aria-label="layer"]'));
    await waitForText(staticLayer, savedLayer);
    expect(changedFraction(staticGrid, await canvasPixels(staticFm.locator('canvas.cnnvis-grid')))).toBeGreaterThan(0.05);
    await staticFm.scrollIntoViewIfNeeded();
    await screenshot('featuremaps-saved-next-layer');

    // The saved occlusion snapshot opens as it was left (the stepped class, threshold 0.70, the same
    // mask); the threshold still makes the mask, in the browser alone.
    const staticOcc = page.locator('.jp-OutputArea .cnnvis-static .cnnvis-occlusion');
    await staticOcc.scrollIntoViewIfNeeded();
    const staticMask = staticOcc.locator('canvas.cnnvis-mask');
    expect(((await staticOcc.locator('.cnnvis-info').textContent()) ?? '').startsWith('threshold 0.70 ')).toBe(true);
    expect(((await staticOcc.locator('.cnnvis-caption').first().textContent()) ?? '').split(' · ').slice(0, 2)).toEqual(occCaptionLast.split(' · ').slice(0, 2));
    const staticMaskBefore = await canvasPixels(staticMask);
    expect(changedFraction(staticMaskBefore, occMaskLast)).toBe(0);
    const staticKept = await keptPercent(staticOcc);
    await stepSliderTimes(page, staticOcc.locator('input[aria-label="mask threshold"]'), 4);
    await expectEventually(async () => ((await staticOcc.locator('.cnnvis-info').textContent()) ?? '').startsWith('threshold 0.90 '), 'the saved threshold to read 0.90', 10000);
    expect(await keptPercent(staticOcc)).toBeLessThan(staticKept);
    expect(changedFraction(staticMaskBefore, await canvasPixels(staticMask))).toBeGreaterThan(0.001);
    await screenshot('occlusion-saved-threshold');
    const menus = await savedMenus(page);
    expect(menus.shown).toBeGreaterThan(5);
    expect(menus.blank).toEqual([]);

    expect(errors).toEqual([]);
  });
});
