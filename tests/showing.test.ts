/** Computing separate from showing: a method computes with display off; the registry's run offers the result once. */
import { DisplayMessage, useDisplayWriter } from '../kernel/src/display/jupyter';
import { Result, showing } from '../kernel/src/display/result';
import { initBackend } from '../kernel/src/engine/backend';
import { explainMethod } from '../kernel/src/explain/registry';
import { loadDemoModel } from '../kernel/src/models/demo';
import * as tf from '@tensorflow/tfjs';

class Line extends Result {
  readonly kind = 'line';
  constructor(private readonly line: string) {
    super({ model: 'm', backend: 'b', timeMs: 0 });
  }
  text(): string {
    return this.line;
  }
}

const shown: DisplayMessage[] = [];
beforeEach(() => {
  shown.length = 0;
  useDisplayWriter((m) => shown.push(m));
});
afterAll(() => useDisplayWriter(null));

test('showing: compute always gets display: false; the result is shown once unless the caller says display: false', async () => {
  const seen: (boolean | undefined)[] = [];
  const fn = showing(async (a: number, b: string, o: { display?: boolean; k?: number }) => {
    seen.push(o.display);
    return new Line(`${a} ${b} ${o.k}`);
  });
  expect((await fn(1, 'x')).text()).toBe('1 x undefined');
  expect(shown.map((m) => m.data['text/plain'])).toEqual(['1 x undefined']);
  await fn(2, 'y', { k: 3, display: false });
  await fn(3, 'z', { display: true });
  expect(seen).toEqual([false, false, false]);
  expect(shown.map((m) => m.data['text/plain'])).toEqual(['1 x undefined', '3 z undefined']);
});

describe('the registry runs a method and shows it once', () => {
  let model: tf.LayersModel;
  beforeAll(async () => {
    await initBackend();
    model = await loadDemoModel();
  });

  test('saliency on the demo model: one display with the picture and the one-line text; none with display: false', async () => {
    const r = await explainMethod('saliency').run(model, 'scene:3');
    expect(shown).toHaveLength(1);
    expect(shown[0].data['text/plain']).toBe(r.text());
    expect(typeof shown[0].data['image/png']).toBe('string');
    await explainMethod('gradcam').run(model, 'scene:3', { display: false });
    expect(shown).toHaveLength(1);
  });
});
