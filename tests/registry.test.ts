/** The one method registry (explain/registry.ts): every lookup normalises names the same way. */
import { attributionMethod, ATTRIBUTION_METHODS } from '../kernel/src/explain/attribution';
import { CAM_METHODS, camMethod } from '../kernel/src/explain/methods';
import { explainMethod, explainMethods, findMethod, methodKey, registerExplainMethod } from '../kernel/src/explain/registry';
import { CnnvisError } from '../kernel/src/errors';

test('the registry holds the CAM and attribution method objects once each, in their order, with a kind, a summary and conventions', () => {
  const ids = explainMethods().map((m) => m.id);
  expect(ids.slice(0, CAM_METHODS.length)).toEqual(CAM_METHODS.map((m) => m.id));
  expect(ids.slice(CAM_METHODS.length, CAM_METHODS.length + ATTRIBUTION_METHODS.length)).toEqual(ATTRIBUTION_METHODS.map((m) => m.id));
  expect(new Set(ids).size).toBe(ids.length);
  expect(explainMethods(['cam']).map((m) => m.id)).toEqual(CAM_METHODS.map((m) => m.id));
  expect(explainMethods(['perturbation']).map((m) => m.id)).toEqual(['occlusion', 'rise']);
  for (const m of explainMethods()) {
    expect(m.summary.length).toBeGreaterThan(10);
    expect(m.summary).not.toBe(m.name);
    expect(m.conventions[0]).toBe('cnnvis');
  }
  expect(explainMethod('scorecam').options).toEqual(['topN']);
  expect(explainMethod('cam').conventions).toEqual(CAM_METHODS.find((m) => m.id === 'cam')?.conventions);
});

test.each([
  ['Grad-CAM++', 'gradcampp'],
  ['grad_cam_pp', 'gradcampp'],
  ['GRADCAM', 'gradcam'],
  ['IG', 'integrated-gradients'],
  ['Integrated Gradients', 'integrated-gradients'],
  ['guided', 'guided-backprop'],
  ['Guided Grad-CAM', 'guided-gradcam'],
  ['Gradient × Input', 'gradxinput'],
  ['grad-x-input', 'gradxinput'],
  ['Eigen-Grad-CAM', 'eigengradcam'],
  ['kpca_cam', 'kpcacam'],
])('%s names %s in every lookup that holds it', (name, id) => {
  expect(explainMethod(name).id).toBe(id);
  const family = CAM_METHODS.some((m) => m.id === id) ? camMethod : attributionMethod;
  expect(family(name).id).toBe(id);
});

test('each id, display name and alias finds its own method', () => {
  for (const m of explainMethods()) {
    for (const name of [m.id, m.name, ...m.aliases, m.name.toUpperCase()]) expect(findMethod(name).id).toBe(m.id);
  }
  expect(methodKey('Grad-CAM++')).toBe('gradcampp');
});

test('an unknown name, or a name of another kind, is a CnnvisError listing the valid ids of the family', () => {
  expect(() => explainMethod('gradcam9')).toThrow(CnnvisError);
  expect(() => camMethod('saliency')).toThrow(/^unknown CAM method 'saliency'; methods: gradcam, gradcampp, xgradcam/);
  expect(() => attributionMethod('gradcam')).toThrow(/^unknown attribution method 'gradcam'; methods: saliency, .*occlusion, fullgrad, rise$/);
  expect(() => findMethod('rise', { kinds: ['cam'], family: 'CAM method' })).toThrow(/unknown CAM method 'rise'/);
});

test('registerExplainMethod adds a method with defaults and replaces one with the same id', async () => {
  const run = jest.fn();
  registerExplainMethod({ id: 'my-method', name: 'My Method', run });
  expect(findMethod('My method')).toMatchObject({ id: 'my-method', kind: 'attribution', aliases: [], options: [], summary: 'My Method', conventions: ['cnnvis'] });
  registerExplainMethod({ id: 'my-method', name: 'Mine', run, kind: 'perturbation', aliases: ['mm'], summary: 'a test method' });
  expect(findMethod('mm')).toMatchObject({ name: 'Mine', kind: 'perturbation' });
  expect(explainMethods().filter((m) => m.id === 'my-method')).toHaveLength(1);
});
