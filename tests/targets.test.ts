/** The one Target type and the one 'layer:channel' reader (explain/targets.ts). */
import { CnnvisError } from '../kernel/src/errors';
import { parseLayerChannel, toTarget } from '../kernel/src/explain/targets';

test("parseLayerChannel: the channel is the whole number after the last ':'; spaces around the parts do not matter", () => {
  expect(parseLayerChannel('conv_pw_13_relu:42')).toEqual({ layer: 'conv_pw_13_relu', channel: 42 });
  expect(parseLayerChannel('base_model/block:1:7')).toEqual({ layer: 'base_model/block:1', channel: 7 });
  expect(parseLayerChannel(' conv1 : 0 ')).toEqual({ layer: 'conv1', channel: 0 });
});

test.each(['c1', ':3', 'conv1:', 'conv1:-1', 'conv1:1.5', 'conv1:x', ''])("parseLayerChannel('%s') is a CnnvisError naming the text and the form", (text) => {
  expect(() => parseLayerChannel(text)).toThrow(CnnvisError);
  expect(() => parseLayerChannel(text)).toThrow(`target '${text}' is not 'layer:channel' (e.g. 'conv1:0'); give a layer name and a channel number`);
});

test('parseLayerChannel words its error for the caller', () => {
  expect(() => parseLayerChannel('x', 'objective', 'conv2d_1:7')).toThrow("objective 'x' is not 'layer:channel' (e.g. 'conv2d_1:7')");
});

test('toTarget: every written form becomes one Target', () => {
  expect(toTarget(3)).toEqual({ kind: 'class', index: 3 });
  expect(toTarget({ classIndex: 5 })).toEqual({ kind: 'class', index: 5 });
  expect(toTarget({ label: 'tabby' })).toEqual({ kind: 'label', label: 'tabby' });
  expect(toTarget('conv1:2')).toEqual({ kind: 'channel', layer: 'conv1', channel: 2 });
  expect(toTarget({ layer: 'conv1', channel: 2 })).toEqual({ kind: 'channel', layer: 'conv1', channel: 2 });
  const t = { kind: 'label', label: 'x' } as const;
  expect(toTarget(t)).toBe(t);
  expect(() => toTarget({} as never)).toThrow(/unknown target \{\}; give a class index/);
});
