/**
 * The comm layer and widget protocol of the cnnvis kernel, end to end: Debian's jupyter_client
 * (/usr/bin/python3) acts as the front end against the real kernel process
 * (tests/python/test_cnnvis_comms.py).
 */
import { runKernelUnittest } from './helpers/jupyter';

const EXPECTED = [
  'test_widget_open_state_layout_style_and_display',
  'test_update_echo_observer_and_parent_headers',
  'test_kernel_side_change_sends_update_and_clamps_front_end_values',
  'test_request_state_returns_full_state',
  'test_binary_buffer_round_trip',
  'test_custom_messages_both_ways_with_buffers',
  'test_comm_info_lists_open_comms_by_target_and_close',
  'test_unknown_target_is_closed',
  'test_control_comm_returns_all_states',
  'test_malformed_messages_and_throwing_handlers_keep_the_kernel_running',
  'test_burst_of_500_updates_in_order_then_responsive',
  'test_coalesced_observer_sees_latest_value',
  'test_comm_messages_handled_while_a_cell_awaits',
  'test_output_widget_captures_handler_output',
  'test_long_comm_work_reports_idle_at_once_and_a_layer_move_stops_it',
  'test_failure_of_background_comm_work_is_reported_after_idle',
  'test_issue_example_through_the_cnnvis_entry_point',
];

test('comms and widgets: jupyter_client as the front end', async () => {
  const result = await runKernelUnittest('test_cnnvis_comms', 190000);
  const report = result.stderr;
  if (result.code !== 0) throw new Error(`comm tests failed:\n${report}`);
  // The kernel's own stderr (its error log) is interleaved with unittest's report.
  for (const name of EXPECTED) expect(report).toContain(`${name} (test_cnnvis_comms.CommsTest.${name}) ... `);
  expect(report).toMatch(new RegExp(`^Ran ${EXPECTED.length} tests in [\\d.]+s\\s+OK\\s*$`, 'm'));
}, 200000);
