"""Jupyter protocol conformance of the cnnvis kernel, with Debian's jupyter_kernel_test.

Driven from tests/jupyter.test.ts, which installs the kernelspec into a sandbox and sets
JUPYTER_PATH. Run from the repository (the kernel resolves `cnnvis` from its working directory).
The comm layer in depth: test_cnnvis_comms.py.
"""
import os
import unittest

import jupyter_kernel_test
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
        self.flush_channels()
        reply, outputs = self.execute_helper("throw new Error('kernel-test failure');")
        self.assertEqual(reply["content"]["status"], "error")
        self.assertIn("kernel-test failure", reply["content"]["evalue"])
        stderr = "".join(m["content"]["text"] for m in outputs
                         if m["msg_type"] == "stream" and m["content"]["name"] == "stderr")
        self.assertIn("kernel-test failure", stderr)

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
