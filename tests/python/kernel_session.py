"""One cnnvis kernel per test class, driven through jupyter_client as the front end: run cells, send shell
messages, read iopub up to the idle statuses that answer them. Shared by test_cnnvis_comms.py and
test_cnnvis_flood.py (run with tests/python as the working directory, so this module is importable)."""
import json
import os
import time
import unittest

from jupyter_client.manager import start_new_kernel

KERNEL_NAME = os.environ.get("CNNVIS_KERNEL_NAME", "cnnvis")


class KernelTestCase(unittest.TestCase):
    #: Seconds to wait for a shell reply, and by default for the iopub messages of a request.
    TIMEOUT = 30

    @classmethod
    def setUpClass(cls):
        cls.km, cls.kc = start_new_kernel(kernel_name=KERNEL_NAME, startup_timeout=60)

    @classmethod
    def tearDownClass(cls):
        cls.kc.stop_channels()
        cls.km.shutdown_kernel(now=False)

    @classmethod
    def drain_iopub(cls, until_idle_of, timeout=None):
        """iopub messages up to (and including) the idle statuses answering the request id(s) `until_idle_of`."""
        pending = {until_idle_of} if isinstance(until_idle_of, str) else set(until_idle_of)
        deadline = time.monotonic() + (cls.TIMEOUT if timeout is None else timeout)
        got = []
        while pending:
            msg = cls.kc.get_iopub_msg(timeout=max(0.1, deadline - time.monotonic()))
            got.append(msg)
            if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                pending.discard(msg["parent_header"].get("msg_id"))
        return got

    @classmethod
    def execute(cls, code):
        """Runs a cell: (its execute_reply, its iopub messages)."""
        msg_id = cls.kc.execute(code)
        reply = cls.kc.get_shell_msg(timeout=cls.TIMEOUT)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = cls.kc.get_shell_msg(timeout=cls.TIMEOUT)
        return reply, cls.drain_iopub(msg_id)

    @classmethod
    def run_ok(cls, code):
        """Runs a cell that must succeed; its iopub messages."""
        reply, msgs = cls.execute(code)
        if reply["content"]["status"] != "ok":
            raise AssertionError(f"cell failed: {reply['content']}\n{code}")
        return msgs

    @staticmethod
    def stdout_of(msgs):
        return "".join(m["content"]["text"] for m in msgs
                       if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")

    @classmethod
    def eval_cell(cls, code):
        """Runs a cell that prints '@@' + JSON; the value of its last such line."""
        line = [l for l in cls.stdout_of(cls.run_ok(code)).splitlines() if l.startswith("@@")][-1]
        return json.loads(line[2:])

    @classmethod
    def send(cls, msg_type, content, buffers=None):
        """Sends a shell message without waiting; its msg_id."""
        msg = cls.kc.session.msg(msg_type, content)
        if buffers:
            msg["buffers"] = buffers
        cls.kc.shell_channel.send(msg)
        return msg["header"]["msg_id"]
