"""Jupyter protocol conformance of the cnnvis kernel, with Debian's jupyter_kernel_test.

Driven from tests/jupyter.test.ts, which installs the kernelspec into a sandbox and sets
JUPYTER_PATH. Run from the repository (the kernel resolves `cnnvis` from its working directory).
Comm tests come later.
"""
import os
import unittest

import jupyter_kernel_test
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


if __name__ == "__main__":
    unittest.main()
