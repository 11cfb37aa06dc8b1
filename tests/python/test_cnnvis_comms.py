"""The comm layer and the widget protocol of the cnnvis kernel, with jupyter_client as the front end.

Driven from tests/comms.test.ts (kernelspec in a sandbox, JUPYTER_PATH set, cwd = the repository so
cells resolve `cnnvis`). One kernel serves the whole class; each test uses its own widgets.
"""
import json
import time
import unittest
import uuid

from kernel_session import KernelTestCase

TIMEOUT = KernelTestCase.TIMEOUT
SETUP = "import * as W from 'cnnvis/dist/widgets';\nconst T: any = {};\n"


class CommsTest(KernelTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Globals shared by the tests' cells (each cell is its own module in tslab).
        cls.run_ok(SETUP)

    # ------------------------------------------------------------------ helpers

    @classmethod
    def eval_json(cls, expr):
        """Value of a TypeScript expression, through JSON on stdout."""
        return cls.eval_cell(f"console.log('@@' + JSON.stringify({expr}));")

    @classmethod
    def send_shell(cls, msg_type, content, buffers=None, wait=True):
        msg_id = cls.send(msg_type, content, buffers)
        return cls.drain_iopub(msg_id) if wait else msg_id

    def comm_msg(self, comm_id, data, buffers=None, wait=True):
        return self.send_shell("comm_msg", {"comm_id": comm_id, "data": data}, buffers, wait)

    def comm_info(self, target=None):
        content = {} if target is None else {"target_name": target}
        msg_id = self.kc.comm_info(target) if target else self.kc.comm_info()
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["parent_header"]["msg_id"], msg_id)
        self.assertEqual(reply["msg_type"], "comm_info_reply")
        self.assertEqual(reply["content"]["status"], "ok")
        self.drain_iopub(msg_id)
        del content
        return reply["content"]["comms"]

    def opened(self, msgs):
        return {m["content"]["comm_id"]: m for m in msgs if m["msg_type"] == "comm_open"}

    def make_slider(self, name, init="{value: 3, min: 0, max: 1000}", extra=""):
        msgs = self.run_ok(
            f"const s = new W.IntSlider({init});\n"
            f"T.{name} = {{ slider: s, seen: [] as any[] }};\n"
            f"s.observe((c: any) => {{ T.{name}.seen.push([c.name, c.old, c.new]); }}, 'value');\n"
            + extra +
            "console.log('@@' + JSON.stringify(s.modelId));"
        )
        model_id = json.loads(self.stdout_of(msgs).split("@@")[-1])
        return model_id, msgs

    # ------------------------------------------------------------------ tests

    def test_widget_open_state_layout_style_and_display(self):
        model_id, msgs = self.make_slider("open", extra="W.display(s);\n")
        opens = self.opened(msgs)
        self.assertIn(model_id, opens)
        slider = opens[model_id]
        self.assertEqual(slider["content"]["target_name"], "jupyter.widget")
        self.assertEqual(slider["metadata"], {"version": "2.1.0"})
        state = slider["content"]["data"]["state"]
        self.assertEqual(slider["content"]["data"]["buffer_paths"], [])
        for key, want in {
            "_model_name": "IntSliderModel", "_model_module": "@jupyter-widgets/controls",
            "_model_module_version": "2.0.0", "_view_name": "IntSliderView",
            "_view_module": "@jupyter-widgets/controls", "_view_module_version": "2.0.0",
            "value": 3, "min": 0, "max": 1000, "step": 1, "readout_format": "d",
        }.items():
            self.assertEqual(state[key], want, key)
        # layout and style are their own models, opened before the slider, referenced by id
        order = [m["content"]["comm_id"] for m in msgs if m["msg_type"] == "comm_open"]
        for ref, model in (("layout", "LayoutModel"), ("style", "SliderStyleModel")):
            self.assertTrue(state[ref].startswith("IPY_MODEL_"), state[ref])
            ref_id = state[ref][len("IPY_MODEL_"):]
            self.assertEqual(opens[ref_id]["content"]["data"]["state"]["_model_name"], model)
            self.assertLess(order.index(ref_id), order.index(model_id))
        self.assertEqual(opens[state["layout"][10:]]["content"]["data"]["state"]["_model_module"], "@jupyter-widgets/base")
        self.assertEqual(opens[state["layout"][10:]]["content"]["data"]["state"]["_model_module_version"], "2.0.0")
        # comm_open and display belong to the cell that made them
        cell = [m for m in msgs if m["msg_type"] == "execute_input" or m["msg_type"] == "status"][0]["parent_header"]["msg_id"]
        self.assertTrue(all(m["parent_header"]["msg_id"] == cell for m in msgs))
        shown = [m for m in msgs if m["msg_type"] == "display_data"]
        self.assertEqual(len(shown), 1)
        view = shown[0]["content"]["data"]["application/vnd.jupyter.widget-view+json"]
        self.assertEqual(view, {"version_major": 2, "version_minor": 0, "model_id": model_id})
        self.assertIn("IntSlider", shown[0]["content"]["data"]["text/plain"])

    def test_update_echo_observer_and_parent_headers(self):
        model_id, _ = self.make_slider(
            "upd", extra="s.observe((c: any) => console.log('value now', c.new), 'value');\n")
        msg_id = self.comm_msg(model_id, {"method": "update", "state": {"value": 7}, "buffer_paths": []}, wait=False)
        msgs = self.drain_iopub(msg_id)
        types = [m["msg_type"] for m in msgs]
        self.assertEqual(types[0], "status")
        self.assertEqual(msgs[0]["content"]["execution_state"], "busy")
        self.assertTrue(all(m["parent_header"]["msg_id"] == msg_id for m in msgs), types)
        echoes = [m for m in msgs if m["msg_type"] == "comm_msg"]
        self.assertEqual([e["content"]["data"] for e in echoes],
                         [{"method": "echo_update", "state": {"value": 7}, "buffer_paths": []}])
        self.assertEqual(echoes[0]["content"]["comm_id"], model_id)
        # the handler's output goes out with the comm message as parent
        self.assertEqual(self.stdout_of(msgs), "value now 7\n")
        self.assertEqual(self.eval_json("T.upd.slider.value"), 7)
        self.assertEqual(self.eval_json("T.upd.seen"), [["value", 3, 7]])

    def test_kernel_side_change_sends_update_and_clamps_front_end_values(self):
        model_id, _ = self.make_slider("ks", init="{value: 3, min: 0, max: 10}")
        msgs = self.run_ok("T.ks.slider.value = 5;")
        updates = [m["content"]["data"] for m in msgs if m["msg_type"] == "comm_msg"]
        self.assertEqual(updates, [{"method": "update", "state": {"value": 5}, "buffer_paths": []}])
        # out of range from the front end: echoed as received, then corrected by an update
        msgs = self.comm_msg(model_id, {"method": "update", "state": {"value": 99}, "buffer_paths": []})
        data = [m["content"]["data"] for m in msgs if m["msg_type"] == "comm_msg"]
        self.assertEqual(data[0]["method"], "echo_update")
        self.assertEqual(data[1], {"method": "update", "state": {"value": 10}, "buffer_paths": []})
        self.assertEqual(self.eval_json("T.ks.slider.value"), 10)

    def test_request_state_returns_full_state(self):
        model_id, opened = self.make_slider("rs")
        self.run_ok("T.rs.slider.set({value: 11, description: 'k'});")
        msgs = self.comm_msg(model_id, {"method": "request_state"})
        updates = [m["content"]["data"] for m in msgs if m["msg_type"] == "comm_msg"]
        self.assertEqual(len(updates), 1)
        self.assertEqual(updates[0]["method"], "update")
        initial = self.opened(opened)[model_id]["content"]["data"]["state"]
        want = dict(initial, value=11, description="k")
        self.assertEqual(updates[0]["state"], want)

    def test_binary_buffer_round_trip(self):
        msgs = self.run_ok(
            "const img = new W.Image({value: new Uint8Array([1, 2, 3]), format: 'png'});\n"
            "T.img = { w: img, seen: [] as number[][] };\n"
            "img.observe((c: any) => T.img.seen.push(Array.from(c.new)), 'value');\n"
            "console.log('@@' + JSON.stringify(img.modelId));")
        model_id = json.loads(self.stdout_of(msgs).split("@@")[-1])
        opened = self.opened(msgs)[model_id]
        self.assertEqual(opened["content"]["data"]["buffer_paths"], [["value"]])
        self.assertNotIn("value", opened["content"]["data"]["state"])
        self.assertEqual([bytes(b) for b in opened["buffers"]], [b"\x01\x02\x03"])

        payload = bytes(range(256)) * 4 + b"\x00\xff"
        msgs = self.comm_msg(model_id, {"method": "update", "state": {}, "buffer_paths": [["value"]]}, [payload])
        echo = [m for m in msgs if m["msg_type"] == "comm_msg"][0]
        self.assertEqual(echo["content"]["data"]["method"], "echo_update")
        self.assertEqual(echo["content"]["data"]["buffer_paths"], [["value"]])
        self.assertEqual([bytes(b) for b in echo["buffers"]], [payload])
        self.assertEqual(self.eval_json("T.img.seen.length"), 1)
        self.assertEqual(bytes(self.eval_json("T.img.seen[0]")), payload)
        self.assertEqual(self.eval_json("Buffer.from(T.img.w.value).toString('base64')"),
                         __import__("base64").b64encode(payload).decode())
        msgs = self.comm_msg(model_id, {"method": "request_state"})
        full = [m for m in msgs if m["msg_type"] == "comm_msg"][0]
        self.assertEqual(full["content"]["data"]["buffer_paths"], [["value"]])
        self.assertEqual([bytes(b) for b in full["buffers"]], [payload])

    def test_custom_messages_both_ways_with_buffers(self):
        model_id, _ = self.make_slider("cu", extra=(
            "s.onMsg((content: any, buffers: Uint8Array[]) => s.send({got: content, n: buffers.length},"
            " buffers.map(b => Uint8Array.from(b).reverse())));\n"))
        msgs = self.comm_msg(model_id, {"method": "custom", "content": {"ping": 1}}, [b"abc", b"\x00\x01"])
        out = [m for m in msgs if m["msg_type"] == "comm_msg"]
        self.assertEqual(out[0]["content"]["data"], {"method": "custom", "content": {"got": {"ping": 1}, "n": 2}})
        self.assertEqual([bytes(b) for b in out[0]["buffers"]], [b"cba", b"\x01\x00"])

    def test_comm_info_lists_open_comms_by_target_and_close(self):
        model_id, msgs = self.make_slider("ci")
        widgets = self.comm_info("jupyter.widget")
        for cid in self.opened(msgs):
            self.assertEqual(widgets[cid], {"target_name": "jupyter.widget"})
        self.assertEqual(self.comm_info("no.such.target"), {})
        self.assertIn(model_id, self.comm_info())
        # the front end closes the widget's comm: gone from comm_info, kernel-side closed
        self.send_shell("comm_close", {"comm_id": model_id, "data": {}})
        self.assertNotIn(model_id, self.comm_info("jupyter.widget"))
        self.assertTrue(self.eval_json("T.ci.slider.closed"))
        # closing from the kernel sends comm_close
        model2, _ = self.make_slider("ci2")
        msgs = self.run_ok("T.ci2.slider.close();")
        closes = [m for m in msgs if m["msg_type"] == "comm_close"]
        self.assertEqual([c["content"]["comm_id"] for c in closes], [model2])
        self.assertNotIn(model2, self.comm_info())

    def test_unknown_target_is_closed(self):
        cid = uuid.uuid4().hex
        msgs = self.send_shell("comm_open", {"comm_id": cid, "target_name": "nobody.listens", "data": {}})
        closes = [m for m in msgs if m["msg_type"] == "comm_close"]
        self.assertEqual([c["content"]["comm_id"] for c in closes], [cid])
        self.assertNotIn(cid, self.comm_info())

    def test_control_comm_returns_all_states(self):
        model_id, _ = self.make_slider("ctl")
        cid = uuid.uuid4().hex
        msgs = self.send_shell("comm_open", {"comm_id": cid, "target_name": "jupyter.widget.control", "data": {}})
        self.assertEqual([m for m in msgs if m["msg_type"] == "comm_close"], [])
        msgs = self.comm_msg(cid, {"method": "request_states"})
        reply = [m for m in msgs if m["msg_type"] == "comm_msg"][0]["content"]["data"]
        self.assertEqual(reply["method"], "update_states")
        self.assertEqual(reply["states"][model_id]["_model_name"], "IntSliderModel")
        self.assertEqual(reply["states"][model_id]["value"], 3)

    def test_malformed_messages_and_throwing_handlers_keep_the_kernel_running(self):
        model_id, _ = self.make_slider("bad", extra="s.observe((c: any) => { if (c.new === 13) throw new Error('unlucky 13'); }, 'value');\n")
        cases = [
            ("comm_msg", {"data": {"method": "update", "state": {"value": 1}}}, "without a comm_id"),
            ("comm_msg", {"comm_id": "nope", "data": {}}, "unknown comm nope"),
            ("comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": 5}}, "without a state object"),
            ("comm_msg", {"comm_id": model_id, "data": {"method": "frobnicate"}}, "unknown method"),
            ("comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": {"no_such": 1}}}, "no attribute no_such"),
            ("comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": {}, "buffer_paths": [["value"]]}}, "buffer_paths names 1"),
            ("comm_msg", {"comm_id": model_id, "data": {"method": "update", "state": {"value": 13}}}, "unlucky 13"),
        ]
        for msg_type, content, expect in cases:
            msgs = self.send_shell(msg_type, content)
            errors = [m for m in msgs if m["msg_type"] == "error"]
            self.assertEqual(len(errors), 1, (content, [m["msg_type"] for m in msgs]))
            self.assertIn(expect, errors[0]["content"]["evalue"])
            self.assertEqual(msgs[-1]["content"]["execution_state"], "idle")
        # the next message works
        self.comm_msg(model_id, {"method": "update", "state": {"value": 21}, "buffer_paths": []})
        self.assertEqual(self.eval_json("T.bad.slider.value"), 21)

    def test_burst_of_500_updates_in_order_then_responsive(self):
        model_id, _ = self.make_slider("burst")
        ids = [self.comm_msg(model_id, {"method": "update", "state": {"value": v}, "buffer_paths": []}, wait=False)
               for v in range(1, 501)]
        msgs = self.drain_iopub(ids[-1], timeout=60)
        echoes = [m["content"]["data"]["state"]["value"] for m in msgs
                  if m["msg_type"] == "comm_msg" and m["content"]["data"]["method"] == "echo_update"]
        self.assertEqual(echoes, list(range(1, 501)))
        seen = self.eval_json("T.burst.seen")
        self.assertEqual(seen, [["value", v - 1 if v > 1 else 3, v] for v in range(1, 501)])
        t0 = time.monotonic()
        self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=10)
        self.assertEqual(reply["msg_type"], "kernel_info_reply")
        self.assertLess(time.monotonic() - t0, 5)

    def test_coalesced_observer_sees_latest_value(self):
        model_id, _ = self.make_slider("co", extra=(
            "T.co.calls = [] as number[];\n"
            "s.observe(async (c: any) => { T.co.calls.push(c.new); await new Promise(r => setTimeout(r, 30)); },"
            " 'value', {coalesce: true});\n"))
        ids = [self.comm_msg(model_id, {"method": "update", "state": {"value": v}, "buffer_paths": []}, wait=False)
               for v in range(1, 201)]
        self.drain_iopub(ids[-1], timeout=60)
        deadline = time.monotonic() + 10
        calls = self.eval_json("T.co.calls")
        while calls[-1] != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
            calls = self.eval_json("T.co.calls")
        self.assertEqual(calls[-1], 200)
        self.assertLess(len(calls), 50)
        self.assertEqual(calls, sorted(calls))
        self.assertEqual(len(self.eval_json("T.co.seen")), 200)  # plain observers still see every change

    def test_comm_messages_handled_while_a_cell_awaits(self):
        model_id, _ = self.make_slider("aw")
        cell = self.kc.execute("await new Promise(r => setTimeout(r, 1500)); console.log('cell done', T.aw.slider.value);")
        time.sleep(0.3)
        msg_ids = [self.comm_msg(model_id, {"method": "update", "state": {"value": v}, "buffer_paths": []}, wait=False)
                   for v in (40, 41, 42)]
        got = self.drain_iopub(cell, timeout=30)
        order = [(m["msg_type"], m["parent_header"].get("msg_id")) for m in got]
        idle_of_last_comm = order.index(("status", msg_ids[-1]), order.index(("comm_msg", msg_ids[-1])))
        cell_output = [i for i, m in enumerate(got) if m["msg_type"] == "stream" and "cell done" in m["content"]["text"]]
        self.assertTrue(cell_output and idle_of_last_comm < cell_output[0], order)
        self.assertIn("cell done 42", self.stdout_of(got))
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        while reply["parent_header"]["msg_id"] != cell:
            reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        self.assertEqual(reply["content"]["status"], "ok")
        self.assertEqual(self.eval_json("T.aw.seen.map((c: any) => c[2])"), [40, 41, 42])

    def test_output_widget_captures_handler_output(self):
        model_id, _ = self.make_slider("out", extra=(
            "const out = new W.Output();\n"
            "T.out.output = out;\n"
            "s.observe((c: any) => out.capture(() => console.log('captured', c.new)), 'value');\n"
            "console.log('@@' + JSON.stringify(out.modelId));\n"))
        out_id = self.eval_json("T.out.output.modelId")
        msg_id = self.comm_msg(model_id, {"method": "update", "state": {"value": 8}, "buffer_paths": []}, wait=False)
        msgs = self.drain_iopub(msg_id)
        to_output = [m["content"]["data"]["state"] for m in msgs
                     if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == out_id]
        self.assertEqual(to_output, [{"msg_id": msg_id}, {"msg_id": ""}])
        captured = [m for m in msgs if m["msg_type"] == "stream"]
        self.assertEqual([(m["content"]["text"], m["parent_header"]["msg_id"]) for m in captured],
                         [("captured 8\n", msg_id)])

    def test_long_comm_work_reports_idle_at_once_and_a_layer_move_stops_it(self):
        # A real front end (@jupyter-widgets) sends a widget's next update only after the idle of the
        # previous one: that idle must come once the state is applied, not when the work it started ends.
        model_id = self.eval_cell(
            "import { FilterExplorer } from 'cnnvis/dist/explore';\n"
            "import { buildDemoModel } from 'cnnvis/dist/models/demo';\n"
            "T.am = { ex: await FilterExplorer.open(buildDemoModel({seed: 3}),"
            " {display: false, pageSize: 4, steps: 5000, patternSize: 64}) };\n"
            "console.log('@@' + JSON.stringify(T.am.ex.modelId));")
        state = "[T.am.ex.computed, T.am.ex.get('status'), T.am.ex.get('progress'), T.am.ex.get('mode'), T.am.ex.get('shown_layer')]"
        computed, status, _, mode, layer = self.eval_json(state)
        self.assertEqual([computed, status, mode, layer], [0, "idle", "weights", 0])
        # 5000 steps for a page of 4 patterns: minutes of work, far longer than any wait below.
        t0 = time.monotonic()
        start = self.comm_msg(model_id, {"method": "update", "state": {"mode": "patterns"}, "buffer_paths": []}, wait=False)
        seen = self.drain_iopub(start, timeout=20)
        self.assertLess(time.monotonic() - t0, 20)
        computed, status, progress, mode, _ = self.eval_json(state)
        self.assertEqual([computed, status, mode], [0, "busy", "patterns"])
        self.assertLess(progress, 0.5)
        # The work goes on in the background and shows its progress through the widget's state, its
        # updates still parented to the message that started it.
        def background_progress():
            return [m for m in seen if m["msg_type"] == "comm_msg" and m["content"]["comm_id"] == model_id
                    and m["content"]["data"]["method"] == "update"
                    and 0 < (m["content"]["data"]["state"].get("progress") or 0) < 0.5]
        deadline = time.monotonic() + 60
        while not background_progress() and time.monotonic() < deadline:
            time.sleep(0.3)
            seen += self.run_ok("T.am.ex.get('progress');")
        background = background_progress()
        self.assertTrue(background)
        self.assertTrue(all(m["parent_header"]["msg_id"] == start for m in background))
        # The layer moves while it runs: applied at once, the run stops, no pattern is made.
        t0 = time.monotonic()
        move = self.comm_msg(model_id, {"method": "update", "state": {"layer_index": 1}, "buffer_paths": []}, wait=False)
        self.drain_iopub(move, timeout=20)
        self.assertLess(time.monotonic() - t0, 20)
        deadline = time.monotonic() + 30
        now = self.eval_json(state)
        while now[1] == "busy" and time.monotonic() < deadline:
            time.sleep(0.3)
            now = self.eval_json(state)
        self.assertEqual([now[0], now[1], now[3], now[4]], [0, "idle", "weights", 1])
        time.sleep(2)
        self.assertEqual(self.eval_json(state), now)
        self.run_ok("T.am.ex.close();")

    def test_failure_of_background_comm_work_is_reported_after_idle(self):
        model_id, _ = self.make_slider("late", extra=(
            "s.observe(async (c: any) => { await new Promise(r => setTimeout(r, 3000));"
            " if (c.new === 17) throw new Error('late 17'); T.late.done = c.new; }, 'value');\n"))
        t0 = time.monotonic()
        msg_id = self.comm_msg(model_id, {"method": "update", "state": {"value": 17}, "buffer_paths": []}, wait=False)
        msgs = self.drain_iopub(msg_id)
        # idle before the observer's 3 s are over; its failure comes after, with the same parent
        self.assertLess(time.monotonic() - t0, 3)
        self.assertEqual([m for m in msgs if m["msg_type"] == "error"], [])
        deadline = t0 + TIMEOUT
        errors = []
        while not errors and time.monotonic() < deadline:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            if msg["msg_type"] == "error":
                errors.append(msg)
        self.assertEqual(len(errors), 1)
        self.assertEqual(errors[0]["parent_header"]["msg_id"], msg_id)
        self.assertIn("late 17", errors[0]["content"]["evalue"])
        self.assertEqual(len(errors[0]["content"]["evalue"].splitlines()), 1)
        self.assertEqual(self.eval_json("T.late.slider.value"), 17)
        # the kernel carries on
        self.comm_msg(model_id, {"method": "update", "state": {"value": 18}, "buffer_paths": []})
        deadline = time.monotonic() + 10
        while self.eval_json("T.late.done ?? null") != 18 and time.monotonic() < deadline:
            time.sleep(0.1)
        self.assertEqual(self.eval_json("T.late.done ?? null"), 18)

    def test_issue_example_through_the_cnnvis_entry_point(self):
        # The cell is type-checked by tslab: the typed API must accept this as written.
        msgs = self.run_ok(
            "import * as cnnvis from 'cnnvis';\n"
            "const ex = new cnnvis.widgets.IntSlider({value: 3, min: 0, max: 10});\n"
            "ex.observe(change => console.log('ex', change.name, change.old, change.new), 'value');\n"
            "const dd = new cnnvis.widgets.Dropdown({options: ['a', 'b'], value: 'b'});\n"
            "const box = new cnnvis.widgets.VBox([new cnnvis.widgets.HBox([ex, dd]), new cnnvis.widgets.Label({value: 'hi'}),\n"
            "  new cnnvis.widgets.Checkbox(), new cnnvis.widgets.Text(), new cnnvis.widgets.Button({description: 'go'}),\n"
            "  new cnnvis.widgets.FloatSlider(), new cnnvis.widgets.Output(), new cnnvis.widgets.Image()]);\n"
            "const play = new cnnvis.widgets.Play({max: 10});\n"
            "cnnvis.widgets.jslink([play, 'value'], [ex, 'value']);\n"
            "cnnvis.display(box);\n"
            "console.log('@@' + JSON.stringify(ex.modelId));")
        model_id = json.loads(self.stdout_of(msgs).split("@@")[-1])
        shown = [m["content"]["data"] for m in msgs if m["msg_type"] == "display_data"]
        self.assertEqual(len(shown), 1)
        box_id = shown[0]["application/vnd.jupyter.widget-view+json"]["model_id"]
        self.assertEqual(self.opened(msgs)[box_id]["content"]["data"]["state"]["_model_name"], "VBoxModel")
        msgs = self.comm_msg(model_id, {"method": "update", "state": {"value": 6}, "buffer_paths": []})
        self.assertEqual(self.stdout_of(msgs), "ex value 3 6\n")


if __name__ == "__main__":
    unittest.main()
