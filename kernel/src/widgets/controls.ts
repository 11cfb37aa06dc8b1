/**
 * The standard widgets of @jupyter-widgets/controls 2.0 and base 2.0 (ipywidgets 8), with
 * ipywidgets' Python names and state keys. Each class lists its synced state and defaults once;
 * layout and style are separate LayoutModel / *StyleModel widgets referenced as 'IPY_MODEL_<id>'.
 *
 *   const s = new IntSlider({value: 3, min: 0, max: 10, description: 'k'});
 *   s.observe(change => console.log(change.new), 'value');
 *   display(s);
 */
import { BASE_MODULE, BASE_VERSION, ModelSpec, OUTPUT_MODULE, OUTPUT_VERSION, controlsModel, styleModel } from './schema';
import { commManager } from '../kernel/comms';
import { AnyWidget, Change, Widget } from './widget';

type Nullable<T> = T | null;

// ---------------------------------------------------------------- layout and styles

export interface LayoutState {
  align_content: Nullable<string>;
  align_items: Nullable<string>;
  align_self: Nullable<string>;
  border_top: Nullable<string>;
  border_right: Nullable<string>;
  border_bottom: Nullable<string>;
  border_left: Nullable<string>;
  bottom: Nullable<string>;
  display: Nullable<string>;
  flex: Nullable<string>;
  flex_flow: Nullable<string>;
  grid_area: Nullable<string>;
  grid_auto_columns: Nullable<string>;
  grid_auto_flow: Nullable<string>;
  grid_auto_rows: Nullable<string>;
  grid_column: Nullable<string>;
  grid_gap: Nullable<string>;
  grid_row: Nullable<string>;
  grid_template_areas: Nullable<string>;
  grid_template_columns: Nullable<string>;
  grid_template_rows: Nullable<string>;
  height: Nullable<string>;
  justify_content: Nullable<string>;
  justify_items: Nullable<string>;
  left: Nullable<string>;
  margin: Nullable<string>;
  max_height: Nullable<string>;
  max_width: Nullable<string>;
  min_height: Nullable<string>;
  min_width: Nullable<string>;
  object_fit: Nullable<string>;
  object_position: Nullable<string>;
  order: Nullable<string>;
  overflow: Nullable<string>;
  padding: Nullable<string>;
  right: Nullable<string>;
  top: Nullable<string>;
  visibility: Nullable<string>;
  width: Nullable<string>;
}
const LAYOUT_KEYS: Array<keyof LayoutState> = [
  'align_content', 'align_items', 'align_self', 'border_top', 'border_right', 'border_bottom', 'border_left',
  'bottom', 'display', 'flex', 'flex_flow', 'grid_area', 'grid_auto_columns', 'grid_auto_flow', 'grid_auto_rows',
  'grid_column', 'grid_gap', 'grid_row', 'grid_template_areas', 'grid_template_columns', 'grid_template_rows',
  'height', 'justify_content', 'justify_items', 'left', 'margin', 'max_height', 'max_width', 'min_height',
  'min_width', 'object_fit', 'object_position', 'order', 'overflow', 'padding', 'right', 'top', 'visibility', 'width',
];
const LAYOUT_SPEC: ModelSpec = {
  _model_name: 'LayoutModel',
  _model_module: BASE_MODULE,
  _model_module_version: BASE_VERSION,
  _view_name: 'LayoutView',
  _view_module: BASE_MODULE,
  _view_module_version: BASE_VERSION,
};

export interface Layout extends LayoutState {}
/** CSS layout of a widget (LayoutModel, @jupyter-widgets/base). */
export class Layout extends Widget<LayoutState> {
  constructor(init: Partial<LayoutState> = {}) {
    const state = Object.fromEntries(LAYOUT_KEYS.map((k) => [k, null])) as unknown as LayoutState;
    super(LAYOUT_SPEC, { ...state, ...init });
  }
}

export interface DescriptionStyleState {
  description_width: string;
}
export interface DescriptionStyle extends DescriptionStyleState {}
export class DescriptionStyle extends Widget<DescriptionStyleState> {
  constructor(init: Partial<DescriptionStyleState> = {}) {
    super(styleModel('DescriptionStyleModel'), { description_width: '', ...init });
  }
}

export interface SliderStyleState extends DescriptionStyleState {
  handle_color: Nullable<string>;
}
export interface SliderStyle extends SliderStyleState {}
export class SliderStyle extends Widget<SliderStyleState> {
  constructor(init: Partial<SliderStyleState> = {}) {
    super(styleModel('SliderStyleModel'), { description_width: '', handle_color: null, ...init });
  }
}

export interface TextStyleState extends DescriptionStyleState {
  background: Nullable<string>;
  font_size: Nullable<string>;
  text_color: Nullable<string>;
}
export interface TextStyle extends TextStyleState {}
export class TextStyle extends Widget<TextStyleState> {
  constructor(init: Partial<TextStyleState> = {}) {
    super(styleModel('TextStyleModel'), { description_width: '', background: null, font_size: null, text_color: null, ...init });
  }
}

export interface CheckboxStyleState extends DescriptionStyleState {
  background: Nullable<string>;
}
export interface CheckboxStyle extends CheckboxStyleState {}
export class CheckboxStyle extends Widget<CheckboxStyleState> {
  constructor(init: Partial<CheckboxStyleState> = {}) {
    super(styleModel('CheckboxStyleModel'), { description_width: '', background: null, ...init });
  }
}

interface FontState {
  font_family: Nullable<string>;
  font_size: Nullable<string>;
  font_style: Nullable<string>;
  font_variant: Nullable<string>;
  font_weight: Nullable<string>;
  text_color: Nullable<string>;
  text_decoration: Nullable<string>;
}
const NO_FONT: FontState = {
  font_family: null, font_size: null, font_style: null, font_variant: null, font_weight: null, text_color: null, text_decoration: null,
};

export interface ButtonStyleState extends FontState {
  button_color: Nullable<string>;
}
export interface ButtonStyle extends ButtonStyleState {}
export class ButtonStyle extends Widget<ButtonStyleState> {
  constructor(init: Partial<ButtonStyleState> = {}) {
    super(styleModel('ButtonStyleModel'), { button_color: null, ...NO_FONT, ...init });
  }
}

export interface LabelStyleState extends FontState, DescriptionStyleState {
  background: Nullable<string>;
}
export interface LabelStyle extends LabelStyleState {}
export class LabelStyle extends Widget<LabelStyleState> {
  constructor(init: Partial<LabelStyleState> = {}) {
    super(styleModel('LabelStyleModel'), { description_width: '', background: null, ...NO_FONT, ...init });
  }
}

// ---------------------------------------------------------------- shared state

/** State of every widget with a view. */
export interface DOMWidgetState {
  _dom_classes: string[];
  layout: Layout;
  tabbable: Nullable<boolean>;
  tooltip: Nullable<string>;
}
/** Layout may be given as a Layout widget or as its CSS values. */
export type DOMInit<S extends DOMWidgetState> = Partial<Omit<S, 'layout'>> & { layout?: Layout | Partial<LayoutState> };

function domDefaults(layout: Layout | Partial<LayoutState> | undefined): DOMWidgetState {
  return {
    _dom_classes: [],
    layout: layout instanceof Layout ? layout : new Layout(layout ?? {}),
    tabbable: null,
    tooltip: null,
  };
}

export interface DescriptionState<St> extends DOMWidgetState {
  description: string;
  description_allow_html: boolean;
  style: St;
}

/** Builds the state of a described widget: its own defaults, then the caller's values. */
function described<S extends DescriptionState<St>, St>(
  init: DOMInit<S> & { style?: St },
  makeStyle: () => St,
  own: Omit<S, keyof DescriptionState<St>>,
): S {
  const { layout, style, ...rest } = init;
  return {
    ...domDefaults(layout),
    description: '',
    description_allow_html: false,
    style: style ?? makeStyle(),
    ...own,
    ...rest,
  } as unknown as S;
}

function checkFinite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${name} must be a finite number, got ${String(v)}`);
  return v;
}

// ---------------------------------------------------------------- sliders

interface BoundedState {
  value: number;
  min: number;
  max: number;
  step: number;
}

/** Keeps min <= max, and value inside [min, max] (integers for Int widgets), like ipywidgets 8. */
function normalizeBounded<S extends BoundedState>(current: S, changes: Partial<S>, integer: boolean, widget: string): Partial<S> {
  const out: Partial<S> = { ...changes };
  for (const key of ['value', 'min', 'max', 'step'] as const) {
    if (key in changes) {
      let v = checkFinite(`${widget}.${key}`, changes[key]);
      if (integer) v = Math.round(v);
      (out as BoundedState)[key] = v;
    }
  }
  const min = out.min ?? current.min;
  const max = out.max ?? current.max;
  if (min > max) throw new RangeError(`${widget}: min (${min}) is larger than max (${max})`);
  const value = out.value ?? current.value;
  const clamped = Math.min(max, Math.max(min, value));
  if (clamped !== current.value || 'value' in out) (out as BoundedState).value = clamped;
  return out;
}

export interface SliderState extends DescriptionState<SliderStyle>, BoundedState {
  orientation: 'horizontal' | 'vertical';
  readout: boolean;
  readout_format: string;
  continuous_update: boolean;
  disabled: boolean;
  behavior: string;
}

export interface IntSlider extends SliderState {}
/** Slider over integers (IntSliderModel). */
export class IntSlider extends Widget<SliderState> {
  constructor(init: DOMInit<SliderState> = {}) {
    const state = described<SliderState, SliderStyle>(init, () => new SliderStyle(), {
      value: 0, min: 0, max: 100, step: 1, orientation: 'horizontal', readout: true, readout_format: 'd',
      continuous_update: true, disabled: false, behavior: 'drag-tap',
    });
    super(controlsModel('IntSliderModel', 'IntSliderView'), {
      ...state,
      ...normalizeBounded({ ...state, min: state.min, max: state.max }, { value: state.value, min: state.min, max: state.max, step: state.step }, true, 'IntSlider'),
    });
  }
  protected override normalize(changes: Partial<SliderState>): Partial<SliderState> {
    return normalizeBounded(this.state, changes, true, 'IntSlider');
  }
}

export interface FloatSlider extends SliderState {}
/** Slider over floats (FloatSliderModel). */
export class FloatSlider extends Widget<SliderState> {
  constructor(init: DOMInit<SliderState> = {}) {
    const state = described<SliderState, SliderStyle>(init, () => new SliderStyle(), {
      value: 0, min: 0, max: 100, step: 0.1, orientation: 'horizontal', readout: true, readout_format: '.2f',
      continuous_update: true, disabled: false, behavior: 'drag-tap',
    });
    super(controlsModel('FloatSliderModel', 'FloatSliderView'), {
      ...state,
      ...normalizeBounded(state, { value: state.value, min: state.min, max: state.max, step: state.step }, false, 'FloatSlider'),
    });
  }
  protected override normalize(changes: Partial<SliderState>): Partial<SliderState> {
    return normalizeBounded(this.state, changes, false, 'FloatSlider');
  }
}

export interface PlayState extends DescriptionState<DescriptionStyle>, BoundedState {
  interval: number;
  playing: boolean;
  repeat: boolean;
  show_repeat: boolean;
  disabled: boolean;
}
export interface Play extends PlayState {}
/** Play button stepping an integer value over time in the front end (PlayModel). */
export class Play extends Widget<PlayState> {
  constructor(init: DOMInit<PlayState> = {}) {
    const state = described<PlayState, DescriptionStyle>(init, () => new DescriptionStyle(), {
      value: 0, min: 0, max: 100, step: 1, interval: 100, playing: false, repeat: false, show_repeat: true, disabled: false,
    });
    super(controlsModel('PlayModel', 'PlayView'), {
      ...state,
      ...normalizeBounded(state, { value: state.value, min: state.min, max: state.max, step: state.step }, true, 'Play'),
    });
  }
  protected override normalize(changes: Partial<PlayState>): Partial<PlayState> {
    return normalizeBounded(this.state, changes, true, 'Play');
  }
}

// ---------------------------------------------------------------- text, label, checkbox, button

export interface TextState extends DescriptionState<TextStyle> {
  value: string;
  placeholder: string;
  continuous_update: boolean;
  disabled: boolean;
}
export interface Text extends TextState {}
/** One-line text input (TextModel). */
export class Text extends Widget<TextState> {
  private submitHandlers: Array<(w: Text) => unknown> = [];
  constructor(init: DOMInit<TextState> = {}) {
    super(
      controlsModel('TextModel', 'TextView'),
      described<TextState, TextStyle>(init, () => new TextStyle(), {
        value: '', placeholder: '\u200b', continuous_update: true, disabled: false,
      }),
    );
    this.onMsg((content) => {
      if ((content as { event?: string } | null)?.event === 'submit') return Promise.all(this.submitHandlers.map((h) => h(this)));
      return undefined;
    });
  }
  /** Runs `handler` when the user presses Enter (ipywidgets' on_submit). */
  onSubmit(handler: (w: Text) => unknown): void {
    this.submitHandlers.push(handler);
  }
}

export interface LabelState extends DescriptionState<LabelStyle> {
  value: string;
  placeholder: string;
}
export interface Label extends LabelState {}
/** Plain text label (LabelModel). */
export class Label extends Widget<LabelState> {
  constructor(init: DOMInit<LabelState> = {}) {
    super(controlsModel('LabelModel', 'LabelView'), described<LabelState, LabelStyle>(init, () => new LabelStyle(), { value: '', placeholder: '\u200b' }));
  }
}

export interface CheckboxState extends DescriptionState<CheckboxStyle> {
  value: boolean;
  indent: boolean;
  disabled: boolean;
}
export interface Checkbox extends CheckboxState {}
/** Checkbox (CheckboxModel). */
export class Checkbox extends Widget<CheckboxState> {
  constructor(init: DOMInit<CheckboxState> = {}) {
    super(controlsModel('CheckboxModel', 'CheckboxView'), described<CheckboxState, CheckboxStyle>(init, () => new CheckboxStyle(), { value: false, indent: true, disabled: false }));
  }
}

export interface ButtonState extends DOMWidgetState {
  description: string;
  button_style: '' | 'primary' | 'success' | 'info' | 'warning' | 'danger';
  icon: string;
  disabled: boolean;
  style: ButtonStyle;
}
export interface Button extends ButtonState {}
/** Button (ButtonModel); the front end reports clicks as custom messages {event: 'click'}. */
export class Button extends Widget<ButtonState> {
  private clickHandlers: Array<(b: Button) => unknown> = [];
  constructor(init: DOMInit<ButtonState> = {}) {
    const { layout, style, ...rest } = init;
    super(controlsModel('ButtonModel', 'ButtonView'), {
      ...domDefaults(layout),
      description: '', button_style: '', icon: '', disabled: false,
      style: style ?? new ButtonStyle(),
      ...rest,
    } as ButtonState);
    this.onMsg((content) => {
      if ((content as { event?: string } | null)?.event === 'click') return this.click();
      return undefined;
    });
  }
  /** Runs `handler` on every click (ipywidgets' on_click); returns a function that removes it. */
  onClick(handler: (b: Button) => unknown): () => void {
    this.clickHandlers.push(handler);
    return () => (this.clickHandlers = this.clickHandlers.filter((h) => h !== handler));
  }
  /** Clicks the button from code: runs the click handlers. */
  click(): Promise<unknown[]> | undefined {
    const results = this.clickHandlers.map((h) => h(this)).filter((r) => r instanceof Promise);
    return results.length > 0 ? Promise.all(results) : undefined;
  }
}

// ---------------------------------------------------------------- selection

export type DropdownOption<T> = string | readonly [string, T];
export interface DropdownState extends DescriptionState<DescriptionStyle> {
  _options_labels: string[];
  index: number | null;
  disabled: boolean;
}
/** What Dropdown observers can watch: the synced state plus the selected value and label. */
export type DropdownView<T> = DropdownState & { value: T | null; label: string | null };

export interface DropdownInit<T> extends Omit<DOMInit<DropdownState>, '_options_labels'> {
  options?: ReadonlyArray<DropdownOption<T>>;
  value?: T;
}
export interface Dropdown<T = string> extends DropdownState {}
/**
 * Drop-down list (DropdownModel). Options are labels, or [label, value] pairs; only labels and the
 * selected index are synced, `value` and `label` are derived here, like ipywidgets.
 */
export class Dropdown<T = string> extends Widget<DropdownState, DropdownView<T>> {
  private opts: Array<readonly [string, T]>;
  constructor(init: DropdownInit<T> = {}) {
    const { options = [], value, ...rest } = init;
    const pairs = options.map((o) => (typeof o === 'string' ? ([o, o as unknown as T] as const) : o));
    let index = rest.index ?? (pairs.length > 0 ? 0 : null);
    if (value !== undefined) {
      index = pairs.findIndex(([, v]) => v === value);
      if (index < 0) throw new RangeError(`Dropdown: value ${String(value)} is not among the options`);
    }
    super(
      controlsModel('DropdownModel', 'DropdownView'),
      described<DropdownState, DescriptionStyle>(rest, () => new DescriptionStyle(), {
        _options_labels: pairs.map(([label]) => label),
        index,
        disabled: false,
      }),
    );
    this.opts = pairs;
    this.allowNull('index'); // no selection
  }
  get options(): Array<readonly [string, T]> {
    return [...this.opts];
  }
  /** Replaces the options; selects the first (or none). */
  set options(options: ReadonlyArray<DropdownOption<T>>) {
    this.opts = options.map((o) => (typeof o === 'string' ? ([o, o as unknown as T] as const) : o));
    this.set({ _options_labels: this.opts.map(([l]) => l), index: this.opts.length > 0 ? 0 : null });
  }
  get value(): T | null {
    const i = this.get('index');
    return i === null ? null : this.opts[i]?.[1] ?? null;
  }
  set value(value: T | null) {
    if (value === null) {
      this.set({ index: null });
      return;
    }
    const i = this.opts.findIndex(([, v]) => v === value);
    if (i < 0) throw new RangeError(`Dropdown: value ${String(value)} is not among the options`);
    this.set({ index: i });
  }
  get label(): string | null {
    const i = this.get('index');
    return i === null ? null : this.opts[i]?.[0] ?? null;
  }
  protected override normalize(changes: Partial<DropdownState>): Partial<DropdownState> {
    const labels = changes._options_labels ?? this.get('_options_labels');
    const i = changes.index;
    if (i !== undefined && i !== null && (!Number.isInteger(i) || i < 0 || i >= labels.length)) {
      throw new RangeError(`Dropdown: index ${String(i)} is out of range for ${labels.length} options`);
    }
    return changes;
  }
  protected override derive(changes: Array<Change<DropdownView<T>>>): Array<Change<DropdownView<T>>> {
    const byIndex = changes.find((c) => c.name === 'index');
    if (!byIndex) return changes;
    const at = (i: unknown, k: 0 | 1) => (typeof i === 'number' ? this.opts[i]?.[k] ?? null : null);
    const extra = [
      { ...byIndex, name: 'value', old: at(byIndex.old, 1), new: at(byIndex.new, 1) },
      { ...byIndex, name: 'label', old: at(byIndex.old, 0), new: at(byIndex.new, 0) },
    ] as Array<Change<DropdownView<T>>>;
    return [...changes, ...extra];
  }
}

// ---------------------------------------------------------------- containers

export interface BoxState extends DOMWidgetState {
  children: Array<AnyWidget>;
  box_style: '' | 'success' | 'info' | 'warning' | 'danger';
}
function boxState(children: Array<AnyWidget>, init: DOMInit<BoxState>): BoxState {
  const { layout, ...rest } = init;
  return { ...domDefaults(layout), children, box_style: '', ...rest } as BoxState;
}

export interface HBox extends BoxState {}
/** Children side by side (HBoxModel). */
export class HBox extends Widget<BoxState> {
  constructor(children: Array<AnyWidget> = [], init: DOMInit<BoxState> = {}) {
    super(controlsModel('HBoxModel', 'HBoxView'), boxState(children, init));
  }
}

export interface VBox extends BoxState {}
/** Children stacked (VBoxModel). */
export class VBox extends Widget<BoxState> {
  constructor(children: Array<AnyWidget> = [], init: DOMInit<BoxState> = {}) {
    super(controlsModel('VBoxModel', 'VBoxView'), boxState(children, init));
  }
}

// ---------------------------------------------------------------- media

export interface ImageState extends DOMWidgetState {
  value: Uint8Array;
  format: string;
  width: string;
  height: string;
}
export interface Image extends ImageState {}
/** An image from encoded bytes (ImageModel); the bytes travel as a binary buffer. */
export class Image extends Widget<ImageState> {
  constructor(init: DOMInit<ImageState> = {}) {
    const { layout, ...rest } = init;
    super(controlsModel('ImageModel', 'ImageView'), {
      ...domDefaults(layout),
      value: new Uint8Array(0), format: 'png', width: '', height: '',
      ...rest,
    } as ImageState);
  }
}

// ---------------------------------------------------------------- output

/** One output as nbformat stores it. */
export type OutputRecord =
  | { output_type: 'stream'; name: 'stdout' | 'stderr'; text: string }
  | { output_type: 'display_data'; data: Record<string, unknown>; metadata: Record<string, unknown> }
  | { output_type: 'execute_result'; data: Record<string, unknown>; metadata: Record<string, unknown>; execution_count: number | null }
  | { output_type: 'error'; ename: string; evalue: string; traceback: string[] };

export interface OutputState extends DOMWidgetState {
  msg_id: string;
  outputs: OutputRecord[];
}
export interface Output extends OutputState {}
/**
 * Output area (OutputModel, @jupyter-widgets/output). `capture(fn)` routes what `fn` prints or
 * displays into the widget: while it runs, `msg_id` names the request producing outputs (the cell,
 * or the comm message whose handler runs) and the front end moves those outputs here.
 */
export class Output extends Widget<OutputState> {
  constructor(init: DOMInit<OutputState> = {}) {
    const { layout, ...rest } = init;
    super(
      {
        _model_name: 'OutputModel',
        _model_module: OUTPUT_MODULE,
        _model_module_version: OUTPUT_VERSION,
        _view_name: 'OutputView',
        _view_module: OUTPUT_MODULE,
        _view_module_version: OUTPUT_VERSION,
      },
      { ...domDefaults(layout), msg_id: '', outputs: [], ...rest } as OutputState,
    );
  }

  async capture<T>(fn: () => T | Promise<T>): Promise<T> {
    const parent = commManager().currentParentId();
    const previous = this.get('msg_id');
    if (parent) this.set({ msg_id: parent });
    try {
      return await fn();
    } finally {
      if (parent) this.set({ msg_id: previous });
    }
  }

  appendStdout(text: string): void {
    this.set({ outputs: [...this.get('outputs'), { output_type: 'stream', name: 'stdout', text }] });
  }
  appendStderr(text: string): void {
    this.set({ outputs: [...this.get('outputs'), { output_type: 'stream', name: 'stderr', text }] });
  }
  /** Appends a display (a MIME bundle, e.g. a cnnvis result's mimeBundle()). */
  appendDisplayData(data: Record<string, unknown>, metadata: Record<string, unknown> = {}): void {
    this.set({ outputs: [...this.get('outputs'), { output_type: 'display_data', data, metadata }] });
  }
  clearOutput(): void {
    this.set({ outputs: [] });
  }
}

// ---------------------------------------------------------------- links

export type LinkEnd = readonly [AnyWidget, string];
export interface LinkState {
  source: LinkEnd;
  target: LinkEnd;
}
export interface Link extends LinkState {}
/** Keeps two attributes equal in the front end, both ways (LinkModel). */
export class Link extends Widget<LinkState> {
  constructor(source: LinkEnd, target: LinkEnd, directional = false) {
    for (const [w, name] of [source, target]) {
      if (!(name in w.fullState())) throw new TypeError(`${w.constructor.name} has no attribute ${name} to link`);
    }
    super(controlsModel(directional ? 'DirectionalLinkModel' : 'LinkModel', null), { source, target });
  }
  /** Removes the link (closes its model). */
  unlink(): void {
    this.close();
  }
}

/** Links `source` and `target` attributes in the front end (ipywidgets' jslink). */
export function jslink(source: LinkEnd, target: LinkEnd): Link {
  return new Link(source, target);
}

/** Copies `source` to `target` in the front end, one way (ipywidgets' jsdlink). */
export function jsdlink(source: LinkEnd, target: LinkEnd): Link {
  return new Link(source, target, true);
}
