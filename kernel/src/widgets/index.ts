/**
 * Jupyter widgets from TypeScript cells, with ipywidgets' names:
 *
 *   const s = new cnnvis.widgets.IntSlider({value: 3, min: 0, max: 10});
 *   s.observe(change => console.log(change.old, '->', change.new), 'value');
 *   cnnvis.display(s);
 */
export { Widget, coalesce, widgetRegistry } from './widget';
export type { AnyWidget, Change, Observer, ObserveOptions, CustomMessageHandler } from './widget';
export * from './controls';
export { display } from './display';
export {
  WIDGET_PROTOCOL_VERSION,
  WIDGET_VIEW_MIME,
  CONTROLS_MODULE,
  CONTROLS_VERSION,
  BASE_MODULE,
  BASE_VERSION,
  OUTPUT_MODULE,
  OUTPUT_VERSION,
} from './schema';
export { commManager } from '../kernel/comms';
export type { Comm, CommManager, CommMessage } from '../kernel/comms';
