/**
 * Small DOM helpers. Text from models (layer names, labels, titles) only ever goes in through
 * textContent, option text or attribute values — never as HTML.
 */
import type { Pixels } from './pixels';

let counter = 0;
/** A page-unique id for label/control pairs. */
export function uid(prefix: string): string {
  counter += 1;
  return `cnnvis-${prefix}-${counter}`;
}

/** Controls that take keys of their own (arrows move a slider, letters type, Enter presses a button). */
const KEYED_TAGS = new Set(['input', 'select', 'button', 'textarea']);

/**
 * Keeps the host application's keyboard shortcuts away from a focused control. JupyterLab's notebook
 * binds arrows and letters on any focused element in command mode unless it is `:read-write` (range
 * inputs, selects and buttons are not): ArrowRight on a slider would move the notebook instead. Lumino
 * skips shortcuts for an event target carrying `data-lm-suppress-shortcuts`.
 */
export function ownKeys<T extends HTMLElement>(node: T): T {
  node.setAttribute('data-lm-suppress-shortcuts', 'true');
  return node;
}

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className = '', text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (KEYED_TAGS.has(tag)) ownKeys(node);
  return node;
}

/** Puts RGBA pixels on a canvas at their own size (CSS keeps them crisp when scaled). */
export function paint(canvas: HTMLCanvasElement, pixels: Pixels): void {
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.imageSmoothingEnabled = false;
  const img = ctx.createImageData(pixels.width, pixels.height);
  img.data.set(pixels.data);
  ctx.putImageData(img, 0, 0);
}

/** A labelled control in a row: <label for=id>text</label> control. */
export function field(label: string, control: HTMLElement): HTMLElement {
  const row = el('div', 'cnnvis-field');
  const id = control.id || uid('control');
  control.id = id;
  const l = el('label', 'cnnvis-field-label', label);
  l.htmlFor = id;
  row.append(l, control);
  return row;
}

export function slider(min: number, max: number, step: number, value: number, aria: string): HTMLInputElement {
  const s = el('input', 'cnnvis-slider');
  s.type = 'range';
  s.min = String(min);
  s.max = String(max);
  s.step = String(step);
  s.value = String(value);
  s.setAttribute('aria-label', aria);
  return s;
}

/** A <select> with options (value, text), text set as text. */
export function select(options: ReadonlyArray<readonly [string, string]>, value: string, aria: string): HTMLSelectElement {
  const s = el('select', 'cnnvis-select');
  s.setAttribute('aria-label', aria);
  setOptions(s, options, value);
  return s;
}

export function setOptions(s: HTMLSelectElement, options: ReadonlyArray<readonly [string, string]>, value: string): void {
  const same = s.options.length === options.length && options.every(([v, t], i) => s.options[i].value === v && s.options[i].text === t);
  if (!same) {
    s.replaceChildren(
      ...options.map(([v, t]) => {
        const o = el('option');
        o.value = v;
        o.text = t;
        return o;
      }),
    );
  }
  s.value = value;
}

/** A progress bar with a cancel button and a message line. */
/** What every panel shows of a computation: its title and status line. */
export interface PanelStatus {
  title: string;
  status: string;
  progress: number;
  message: string;
}

/** The photo a panel draws on (RGBA bytes). */
export interface PanelImage {
  image: Uint8Array;
  imageWidth: number;
  imageHeight: number;
}

export class ProgressLine {
  readonly node = el('div', 'cnnvis-progress');
  private readonly bar = el('progress', 'cnnvis-progress-bar');
  private readonly text = el('span', 'cnnvis-progress-text');
  readonly cancel = el('button', 'cnnvis-button cnnvis-cancel', 'Cancel');

  constructor(onCancel: (() => void) | null) {
    this.bar.max = 1;
    this.bar.setAttribute('aria-label', 'progress');
    this.cancel.type = 'button';
    if (onCancel) this.cancel.addEventListener('click', onCancel);
    else this.cancel.hidden = true;
    this.node.append(this.bar, this.text, this.cancel);
    this.node.setAttribute('role', 'status');
  }

  show(status: string, progress: number, message: string): void {
    const busy = status === 'busy';
    this.node.dataset.status = status;
    this.bar.hidden = !busy;
    if (progress >= 0) this.bar.value = progress;
    else this.bar.removeAttribute('value');
    this.cancel.disabled = !busy;
    this.text.textContent = status === 'error' ? `Error: ${message}` : status === 'cancelled' ? 'Cancelled' : busy ? message : '';
  }
}
