/**
 * Checks a Keras-style model config (the `modelTopology` of a model.json, or a Keras `model_config`)
 * before TF.js builds it. TF.js layers loops forever when a functional graph refers to a layer that is
 * not in the config, to a node the layer does not have, or forms a cycle; and deep nesting overflows
 * its recursive readers. These checks turn such files into one clear error naming the layer.
 */
import { CnnvisError, listChoices } from '../errors';

/** Deepest JSON nesting accepted; real configs (even models nested in models) stay far below it. */
export const MAX_CONFIG_DEPTH = 200;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Nesting depth of a JSON value, stopping (with a CnnvisError) past `max`. Iterative: no stack limit. */
export function checkJsonDepth(value: unknown, where: string, max = MAX_CONFIG_DEPTH): void {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop() as [unknown, number];
    if (typeof v !== 'object' || v === null) continue;
    if (d > max) throw new CnnvisError(`${where} is nested more than ${max} levels deep; a model config never is, so the file is corrupt`);
    for (const x of Array.isArray(v) ? v : Object.values(v)) if (typeof x === 'object' && x !== null) stack.push([x, d + 1]);
  }
}

const MODEL_CLASSES = new Set(['Model', 'Functional', 'Sequential']);

/** The name TF.js looks a functional model's layer up by: the entry's own `name` key. */
function layerName(layer: Obj): unknown {
  return layer.name;
}

/** A reference [layerName, nodeIndex, tensorIndex, kwargs?] in inbound_nodes / input_layers / output_layers. */
function checkRef(ref: unknown, nodes: Map<string, number>, where: string, owner: string): string {
  if (!Array.isArray(ref) || ref.length < 3 || typeof ref[0] !== 'string') {
    throw new CnnvisError(`${where}: ${owner} has a malformed layer reference ${short(ref)}; expected [layer name, node index, tensor index]`);
  }
  const [name, node, tensor] = ref as [string, unknown, unknown];
  const count = nodes.get(name);
  if (count === undefined) {
    throw new CnnvisError(`${where}: ${owner} refers to layer '${name}', which is not in the model; layers: ${listChoices([...nodes.keys()])}`);
  }
  if (!Number.isInteger(node) || (node as number) < 0 || (node as number) >= count) {
    throw new CnnvisError(`${where}: ${owner} refers to node ${short(node)} of layer '${name}', which has ${count} node(s)${count ? '' : ' (it is not connected to anything)'}`);
  }
  if (!Number.isInteger(tensor) || (tensor as number) < 0) {
    throw new CnnvisError(`${where}: ${owner} refers to tensor ${short(tensor)} of layer '${name}'; tensor indices are whole numbers ≥ 0`);
  }
  return name;
}

function short(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function checkFunctional(cfg: Obj, where: string): void {
  const layers = cfg.layers as unknown[];
  const nodes = new Map<string, number>();
  for (const l of layers) {
    if (!isObj(l)) throw new CnnvisError(`${where}: a layer entry is ${short(l)}, not an object`);
    const name = layerName(l);
    if (typeof name !== 'string' || !name) {
      const inner = isObj(l.config) && typeof l.config.name === 'string' ? ` (its config calls it '${l.config.name}')` : '';
      throw new CnnvisError(`${where}: a ${short(l.class_name)} layer entry has no 'name'${inner}`);
    }
    if (nodes.has(name)) throw new CnnvisError(`${where}: two layers are named '${name}'; layer names must be unique`);
    if (l.inbound_nodes !== undefined && !Array.isArray(l.inbound_nodes)) {
      throw new CnnvisError(`${where}: layer '${name}' has inbound_nodes ${short(l.inbound_nodes)}; expected a list`);
    }
    // Nodes a layer has: one per inbound node; an InputLayer has its own single node, and a nested
    // model one more than its calls (node 0 is its own construction, so its first call is node 1).
    const calls = Array.isArray(l.inbound_nodes) ? l.inbound_nodes.length : 0;
    nodes.set(name, l.class_name === 'InputLayer' ? 1 : MODEL_CLASSES.has(String(l.class_name)) ? calls + 1 : calls);
  }
  // Every reference exists, and the graph has no cycle (TF.js would wait forever for its inputs).
  const deps = new Map<string, string[]>();
  for (const l of layers as Obj[]) {
    const name = layerName(l) as string;
    const list: string[] = [];
    for (const node of (l.inbound_nodes as unknown[] | undefined) ?? []) {
      if (!Array.isArray(node)) throw new CnnvisError(`${where}: layer '${name}' has an inbound node ${short(node)}; expected a list of layer references`);
      for (const ref of node) list.push(checkRef(ref, nodes, where, `layer '${name}'`));
    }
    deps.set(name, list);
  }
  for (const key of ['input_layers', 'output_layers']) {
    const refs = cfg[key];
    if (refs === undefined) continue;
    if (!Array.isArray(refs)) throw new CnnvisError(`${where}: ${key} is ${short(refs)}; expected a list of layer references`);
    for (const ref of refs) checkRef(ref, nodes, where, key);
  }
  const state = new Map<string, 1 | 2>(); // 1 = on the current path, 2 = done
  for (const start of deps.keys()) {
    if (state.get(start)) continue;
    const stack: Array<[string, number]> = [[start, 0]];
    state.set(start, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const next = (deps.get(top[0]) as string[])[top[1]++];
      if (next === undefined) {
        state.set(top[0], 2);
        stack.pop();
      } else if (state.get(next) === 1) {
        throw new CnnvisError(`${where}: layer '${next}' depends on itself through ${stack.map((s) => s[0]).join(' ← ')}; a model graph has no cycles`);
      } else if (!state.get(next)) {
        state.set(next, 1);
        stack.push([next, 0]);
      }
    }
  }
}

/**
 * Checks the graph of a model config ({class_name, config}) and of every model nested in it.
 * Sequential models need only a list of layer objects; functional ones are checked as described above.
 */
export function checkModelConfig(model: unknown, where: string): void {
  checkJsonDepth(model, where);
  const visit = (m: unknown): void => {
    if (!isObj(m) || typeof m.class_name !== 'string' || !MODEL_CLASSES.has(m.class_name)) return;
    const cfg = Array.isArray(m.config) ? { layers: m.config } : m.config;
    if (!isObj(cfg) || !Array.isArray(cfg.layers)) {
      throw new CnnvisError(`${where}: the ${m.class_name} config has no 'layers' list`);
    }
    if (m.class_name === 'Sequential') {
      for (const l of cfg.layers) if (!isObj(l)) throw new CnnvisError(`${where}: a layer entry is ${short(l)}, not an object`);
    } else {
      checkFunctional(cfg, where);
    }
    for (const l of cfg.layers as Obj[]) visit(l);
  };
  visit(model);
}
