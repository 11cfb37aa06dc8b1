"""Jupyter protocol conformance of the cnnvis kernel, with Debian's jupyter_kernel_test.

Driven from tests/jupyter.test.ts, which installs the kernelspec into a sandbox and sets
JUPYTER_PATH. Run from the repository (the kernel resolves `cnnvis` from its working directory).
The comm layer in depth: test_cnnvis_comms.py.
"""
import base64
import os
import struct
import unittest
from queue import Empty

import jupyter_kernel_test
from jupyter_client.utils import run_sync
from jupyter_kernel_test import TIMEOUT
from jupyter_kernel_test.msgspec_v5 import validate_message

BRIDGE = "import { displayBundle } from 'cnnvis/dist/display/jupyter';\n"


class CnnvisKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = os.environ.get("CNNVIS_KERNEL_NAME", "cnnvis")
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world");'
    code_stderr = 'console.error("to stderr");'
    code_display_data = [
        {
            "code": BRIDGE + "const sent = displayBundle({'text/plain': 'two', 'text/html': '<i>two</i>'});",
            "mime": "text/html",
        },
    ]
    complete_code_samples = ["const a = 1;", "function f() { return 1; }"]
    incomplete_code_samples = ["function f() {"]
    completion_samples = [{"text": "Math.ab", "matches": ["abs"]}]
    code_inspect_sample = "Math"
    code_generate_error = "throw new Error('generated')"
    code_execute_result = [
        {"code": "6 * 7", "result": "42"},
        {"code": "const answer = 'forty-two'; answer.length", "result": "9"},
        {"code": "[1, 2, 3].map((x) => x * 2) // a comment after the value", "result": "[ 2, 4, 6 ]"},
    ]

    def flush_channels(self):
        """jupyter_kernel_test's flush, except that comm messages (its schemas do not cover them; explorers
        send their snapshot on their comm after the cell) are checked by hand: a comm id and a data dict."""
        for channel in (self.kc.shell_channel, self.kc.iopub_channel):
            while True:
                try:
                    msg = run_sync(channel.get_msg)(timeout=0.1)
                except Empty:
                    break
                if msg["msg_type"] in ("comm_open", "comm_msg", "comm_close"):
                    self.assertIsInstance(msg["content"]["comm_id"], str)
                    self.assertIsInstance(msg["content"].get("data", {}), dict)
                else:
                    validate_message(msg)

    def run_cell(self, code, **kw):
        """Executes `code`; returns the reply and the cell's iopub messages (parent checked) up to idle."""
        msg_id = self.kc.execute(code, **kw)
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        validate_message(reply, "execute_reply", msg_id)
        outputs = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=TIMEOUT)
            if msg["msg_type"] == "comm_open" and not msg["parent_header"]:
                outputs.append(msg)  # explorers open their comm outside the cell
                continue
            self.assertEqual(msg["parent_header"]["msg_id"], msg_id, msg["msg_type"])
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return reply, outputs
            if msg["msg_type"] != "status":
                outputs.append(msg)

    def shown(self, outputs):
        """(msg_type, execution_count or None, sorted MIME types) of the cell's display outputs."""
        return [(m["msg_type"], m["content"].get("execution_count"), sorted(m["content"]["data"]))
                for m in outputs if m["msg_type"] in ("display_data", "execute_result")]

    def test_cnnvis_bundle_then_update(self):
        # One display_data with every MIME type, then an update_display_data for the same id.
        self.flush_channels()
        code = BRIDGE + (
            "const id = 'kernel-test-id';\n"
            "displayBundle({'text/plain': 'first', 'application/json': {n: 1}}, {displayId: id});\n"
            "displayBundle({'text/plain': 'second', 'application/json': {n: 2}}, {displayId: id, update: true});\n"
        )
        reply, outputs = self.execute_helper(code)
        self.assertEqual(reply["content"]["status"], "ok")
        shown = [m for m in outputs if m["msg_type"] in ("display_data", "update_display_data")]
        for m in shown:
            validate_message(m, m["msg_type"], reply["parent_header"]["msg_id"])
        self.assertEqual([m["msg_type"] for m in shown], ["display_data", "update_display_data"])
        self.assertEqual([m["content"]["transient"]["display_id"] for m in shown], ["kernel-test-id"] * 2)
        self.assertEqual(shown[0]["content"]["data"], {"text/plain": "first", "application/json": {"n": 1}})
        self.assertEqual(shown[1]["content"]["data"], {"text/plain": "second", "application/json": {"n": 2}})

    def test_cnnvis_failed_cell_reports_error(self):
        # Like Jupyter's own: an `error` output and an error reply with the same ename / evalue.
        self.flush_channels()
        reply, outputs = self.run_cell("throw new Error('kernel-test failure');")
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "Error")
        self.assertEqual(reply["content"]["evalue"], "kernel-test failure")
        errors = [m for m in outputs if m["msg_type"] == "error"]
        self.assertEqual(len(errors), 1)
        validate_message(errors[0], "error", reply["parent_header"]["msg_id"])
        self.assertEqual(errors[0]["content"]["evalue"], "kernel-test failure")
        self.assertIn("Error: kernel-test failure", "\n".join(errors[0]["content"]["traceback"]))
        # A type error is reported by the compiler, before anything runs.
        reply, outputs = self.run_cell("const wrong: number = 'text';")
        self.assertEqual(reply["content"]["status"], "error")
        self.assertEqual(reply["content"]["ename"], "TypeScript")
        self.assertIn("not assignable to type 'number'", reply["content"]["evalue"])
        # A user's mistake with cnnvis is one line, without a stack.
        reply, outputs = self.run_cell("import * as cnnvis from 'cnnvis';\nawait cnnvis.loadModel('no_such_model_anywhere');")
        self.assertEqual(reply["content"]["ename"], "CnnvisError")
        [error] = [m for m in outputs if m["msg_type"] == "error"]
        self.assertEqual(len(error["content"]["traceback"]), 1)
        self.assertIn("unknown model 'no_such_model_anywhere'", error["content"]["traceback"][0])

    def test_cnnvis_execute_input_and_counts(self):
        # execute_input first with the code and its count; the count grows by one per stored cell
        # and is on the reply and on the result (Out[n]).
        self.flush_channels()
        counts = []
        for code in ("const seven = 7;", "seven * 6", "seven * 6;"):
            reply, outputs = self.run_cell(code)
            self.assertEqual(outputs[0]["msg_type"], "execute_input")
            validate_message(outputs[0], "execute_input", reply["parent_header"]["msg_id"])
            self.assertEqual(outputs[0]["content"]["code"], code)
            n = reply["content"]["execution_count"]
            self.assertEqual(outputs[0]["content"]["execution_count"], n)
            counts.append(n)
            results = [m for m in outputs if m["msg_type"] == "execute_result"]
            if code == "seven * 6":
                self.assertEqual(len(results), 1)
                validate_message(results[0], "execute_result", reply["parent_header"]["msg_id"])
                self.assertEqual(results[0]["content"]["execution_count"], n)
                self.assertEqual(results[0]["content"]["data"], {"text/plain": "42"})
            else:
                self.assertEqual(results, [])  # a declaration has no value; `;` suppresses it
        self.assertEqual(counts, [counts[0], counts[0] + 1, counts[0] + 2])
        # silent: nothing on iopub but busy/idle, and the count does not move; store_history=False neither.
        reply, outputs = self.run_cell("seven * 6", silent=True)
        self.assertEqual(outputs, [])
        self.assertEqual(reply["content"]["execution_count"], counts[-1])
        reply, outputs = self.run_cell("seven * 6", store_history=False)
        self.assertEqual(reply["content"]["execution_count"], counts[-1])
        self.assertEqual([m["content"]["data"] for m in outputs if m["msg_type"] == "execute_result"], [{"text/plain": "42"}])

    def test_cnnvis_semicolon_rule(self):
        self.flush_channels()
        for code, shown in (("1 + 1", True), ("1 + 1;", False), ("1 + 1 // two", True), ("1 + 1; // two", False),
                            ("1 + 1; /* two */", False), ("const s = ';'; s", True)):
            reply, outputs = self.run_cell(code)
            self.assertEqual(reply["content"]["status"], "ok", code)
            results = [m for m in outputs if m["msg_type"] == "execute_result"]
            self.assertEqual(len(results), 1 if shown else 0, code)

    def test_cnnvis_result_shown_once(self):
        # A cnnvis result displays itself once per cell: as Out[n] when it is the cell's value, else
        # as a display where it was computed (an assignment, a trailing `;`); never twice, never its internals.
        self.flush_channels()
        reply, _ = self.run_cell("import * as cnnvis from 'cnnvis';\nconst m = await cnnvis.loadModel('demo');")
        self.assertEqual(reply["content"]["status"], "ok")
        png_text = ["image/png", "text/plain"]
        reply, outputs = self.run_cell("await cnnvis.gradCam(m, 'scene:7')")
        n = reply["content"]["execution_count"]
        self.assertEqual(self.shown(outputs), [("execute_result", n, png_text)])
        [result] = [m for m in outputs if m["msg_type"] == "execute_result"]
        plain = result["content"]["data"]["text/plain"]
        self.assertTrue(plain.startswith("Grad-CAM of demo for class 2 'triangle'"), plain)
        self.assertNotIn("shown above", plain)
        png = base64.b64decode(result["content"]["data"]["image/png"])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", png[16:24])
        self.assertEqual(result["content"]["metadata"]["image/png"], {"width": width, "height": height})
        for code in ("const g = await cnnvis.gradCam(m, 'scene:7')", "await cnnvis.gradCam(m, 'scene:7');",
                     "const h = await cnnvis.gradCam(m, 'scene:7'); console.log('after'); h"):
            reply, outputs = self.run_cell(code)
            self.assertEqual(self.shown(outputs), [("display_data", None, png_text)], code)
            self.assertFalse(any("gradCam" in m["content"].get("text", "") or "Grad-CAM" in m["content"].get("text", "")
                                 for m in outputs if m["msg_type"] == "stream"), code)
        # Evaluated again in a later cell, it shows again as that cell's value; console.log prints one line.
        reply, outputs = self.run_cell("g")
        self.assertEqual(self.shown(outputs), [("execute_result", reply["content"]["execution_count"], png_text)])
        reply, outputs = self.run_cell("console.log(g); console.log(m)")
        lines = "".join(m["content"]["text"] for m in outputs if m["msg_type"] == "stream").splitlines()
        self.assertEqual(len(lines), 2, lines)
        self.assertTrue(lines[0].startswith("Grad-CAM of demo for class 2 'triangle'") and len(lines[0]) <= 160, lines[0])
        self.assertTrue(lines[1].startswith("CnnModel demo"), lines[1])
        reply, outputs = self.run_cell("await cnnvis.gradCam(m, 'scene:7', {display: false});")
        self.assertEqual(self.shown(outputs), [])

    def test_cnnvis_explorer_bundle(self):
        # The explorer is the cell's value: one execute_result with the live view, its snapshot, a PNG
        # and one short text line; its comm is opened outside the cell (executors do not save its
        # state, so static viewers fall back to the PNG); printing it gives the same line.
        self.flush_channels()
        self.run_cell("import * as cnnvis from 'cnnvis';\nconst m = await cnnvis.loadModel('demo');")
        reply, outputs = self.run_cell("await cnnvis.explore.filters(m)")
        n = reply["content"]["execution_count"]
        mimes = ["application/vnd.cnnvis.result.v1+json", "application/vnd.jupyter.widget-view+json", "image/png", "text/plain"]
        self.assertEqual(self.shown(outputs), [("execute_result", n, mimes)])
        [result] = [m for m in outputs if m["msg_type"] == "execute_result"]
        data = result["content"]["data"]
        plain = data["text/plain"]
        self.assertEqual(plain.count("\n"), 0)
        self.assertLess(len(plain), 200)
        self.assertTrue(plain.startswith("FilterExplorer(demo: block1_conv1"), plain)
        opened = [m for m in outputs if m["msg_type"] == "comm_open"
                  and m["content"]["comm_id"] == data["application/vnd.jupyter.widget-view+json"]["model_id"]]
        self.assertEqual(len(opened), 1)
        self.assertEqual(opened[0]["parent_header"], {})
        png = base64.b64decode(data["image/png"])
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(list(struct.unpack(">II", png[16:24])),
                         [result["content"]["metadata"]["image/png"][k] for k in ("width", "height")])
        stream = [m for m in outputs if m["msg_type"] == "stream"]
        self.assertEqual(stream, [])  # no dump of the explorer's internals
        reply, outputs = self.run_cell("const ex = await cnnvis.explore.filters(m);\nconsole.log(ex); String(ex) === `${ex}`")
        printed = "".join(m["content"]["text"] for m in outputs if m["msg_type"] == "stream")
        self.assertEqual(printed.strip(), plain.replace("filters 0–15", "filters 0–15"))
        self.assertEqual([m["msg_type"] for m in outputs if m["msg_type"] in ("display_data", "execute_result")],
                         ["display_data", "execute_result"])

    def test_cnnvis_queued_cells_after_an_error(self):
        # Like ipykernel: requests queued behind a failing cell are aborted; with stop_on_error=False they run.
        self.flush_channels()
        for stop, want in ((True, ["error", "aborted", "aborted"]), (False, ["error", "ok", "ok"])):
            ids = [self.kc.execute("await new Promise((r) => setTimeout(r, 300)); throw new Error('first fails');", stop_on_error=stop),
                   self.kc.execute("1 + 1", stop_on_error=stop), self.kc.execute("2 + 2", stop_on_error=stop)]
            replies = {}
            while len(replies) < 3:
                reply = self.kc.get_shell_msg(timeout=TIMEOUT)
                replies[reply["parent_header"]["msg_id"]] = reply["content"]["status"]
            self.assertEqual([replies[i] for i in ids], want)
            self.flush_channels()
            reply, _ = self.run_cell("3 + 3")  # the kernel runs cells again after the abort
            self.assertEqual(reply["content"]["status"], "ok")

    def test_cnnvis_comm_info(self):
        # comm_info_reply (not tslab's complete_reply), valid per the 5.x schema, filtered by target.
        self.flush_channels()
        code = ("import { commManager } from 'cnnvis/dist/kernel/comms';\n"
                "const c1 = commManager().open('kernel.test.a', {});\n"
                "const c2 = commManager().open('kernel.test.b', {});\n"
                "console.log(c1.commId + ' ' + c2.commId);\n")
        # jupyter_kernel_test's schemas do not cover comm_open, so this cell is run by hand.
        exec_id = self.kc.execute(code)
        reply = self.kc.get_shell_msg(timeout=TIMEOUT)
        validate_message(reply, "execute_reply", exec_id)
        self.assertEqual(reply["content"]["status"], "ok")
        outputs = []
        while not outputs or outputs[-1]["msg_type"] != "status" or outputs[-1]["content"]["execution_state"] != "idle":
            outputs.append(self.kc.get_iopub_msg(timeout=TIMEOUT))
        opened = [m for m in outputs if m["msg_type"] == "comm_open"]
        self.assertEqual([m["content"]["target_name"] for m in opened], ["kernel.test.a", "kernel.test.b"])
        a, b = [m["content"]["comm_id"] for m in opened]
        for target, want in ((None, {a: "kernel.test.a", b: "kernel.test.b"}), ("kernel.test.b", {b: "kernel.test.b"})):
            msg_id = self.kc.comm_info(target) if target else self.kc.comm_info()
            reply = self.kc.get_shell_msg(timeout=TIMEOUT)
            validate_message(reply, "comm_info_reply", msg_id)
            self.kc.get_iopub_msg(timeout=TIMEOUT)  # busy
            self.kc.get_iopub_msg(timeout=TIMEOUT)  # idle
            comms = {k: v["target_name"] for k, v in reply["content"]["comms"].items() if v["target_name"].startswith("kernel.test.")}
            self.assertEqual(comms, want)


if __name__ == "__main__":
    unittest.main()
