/**
 * Kernel-side comm targets of the widget protocol.
 *
 * 'jupyter.widget.control' (ipywidgets 8): a front end that (re)connects opens it and sends
 * {method: 'request_states'}; the kernel answers {method: 'update_states', states, buffer_paths}
 * with every live widget's full state in one message, binary values as buffers.
 */
import type { CommManager } from '../kernel/comms';
import { CONTROL_TARGET, encodeState } from './schema';
import { widgetRegistry } from './widget';

export function registerWidgetTargets(comms: CommManager): void {
  comms.registerTarget(CONTROL_TARGET, (comm) => {
    comm.onMsg((msg) => {
      if (msg.data.method !== 'request_states') {
        throw new TypeError(`${CONTROL_TARGET}: unknown method ${JSON.stringify(msg.data.method)}`);
      }
      const states: Record<string, unknown> = {};
      for (const [id, widget] of widgetRegistry()) {
        if (!widget.closed) states[id] = widget.fullState();
      }
      // Encoded as one object keyed by model id, so buffer paths start with the model id.
      const { state, buffer_paths, buffers } = encodeState(states);
      comm.send({ method: 'update_states', states: state, buffer_paths }, { buffers });
    });
  });
}
