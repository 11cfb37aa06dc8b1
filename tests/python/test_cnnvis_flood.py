"""The cnnvis kernel under load: a burst of 1000 widget updates driving three real explorers on the bundled
demo model (a FeatureMapExplorer's layer slider; a CamExplorer's class, layer and method, which computes
a map per change; an OcclusionExplorer's mask threshold and class, which reuse its one occlusion run),
with malformed comm messages interleaved (bad shapes, unknown comm ids, wrong buffer
counts, missing fields, huge values, wrong types for a trait, prototype-pollution paths, undecodable
wire frames).

Checked: every malformed message gets exactly one `error` output naming the problem and the kernel
carries on; kernel_info is answered within a bound while the burst is being handled and at once after;
the last value wins and observers saw every valid update in order; what the explorers show is the last
value, and the occlusion explorer ran no new occlusion; inside the kernel the tf tensor count is exactly what it was, and memory is flat (see MEMORY).

Driven from tests/flood.test.ts (kernelspec in a sandbox, JUPYTER_PATH set, cwd = the repository).
"""
import hashlib
import hmac
import time
import unittest
import uuid

from jupyter_client.session import Session

from kernel_session import KernelTestCase

VALID = 1000
#: Then this many CAM updates PACE seconds apart (a fast slider drag), so that maps get computed.
PACED = 300
PACE = 0.005
#: kernel_info sent right behind the burst must be answered within this many seconds (the kernel
#: reads shell messages as they come and does not wait for comm handlers, so it is answered as soon as
#: the burst's messages ahead of it have been read and started), and within KERNEL_INFO_AFTER once the
#: burst is done.
KERNEL_INFO_DURING = 30
KERNEL_INFO_AFTER = 2
#: Memory after the burst vs before (both after a warm-up burst of the same kind and two forced GCs):
#: - V8 heap plus external memory (typed arrays: pages, heat maps, message buffers): within 8 MB. A
#:   leak of one feature-map page (4 channels of 64x64 float32 = 64 KB) per update would be 38 MB here.
#: - RSS: within 64 MB. RSS does not shrink when memory is freed (glibc keeps its arenas, ZeroMQ its
#:   queues, the TF backend its pools), so the first bursts after start-up raise it once (15-40 MB seen
#:   here) while the allocator grows to the load; after that it is flat (four measured rounds in one
#:   kernel: 515, 515, 520, 517 MB). Tensor data outside the V8 heap (a backend's own memory) is
#:   covered by the exact tensor count.
HEAP_MARGIN = 8 * 2**20
RSS_MARGIN = 64 * 2**20

SETUP = """
import * as cnnvis from 'cnnvis';
import * as v8 from 'v8';
import * as vm from 'vm';
v8.setFlagsFromString('--expose-gc');
const T: any = { gc: vm.runInNewContext('gc') };
const model = await cnnvis.loadModel('demo');
T.fm = await cnnvis.explore.featureMaps(model, 'scene:7', { display: false, pageSize: 4 });
T.cam = await cnnvis.explore.cam(model, 'scene:7', { display: false });
T.occ = await cnnvis.explore.occlusion(model, 'scene:7', { display: false, patchSize: 16, stride: 16 });
T.fmSeen = [] as number[];
T.fmShown = [] as number[];
T.camSeen = [] as number[];
T.occSeen = [] as Array<[string, number]>;
T.fm.observe((c: any) => { T.fmSeen.push(c.new); }, 'layer_index');
T.fm.observe((c: any) => { T.fmShown.push(c.new); }, 'shown_layer');
T.cam.observe((c: any) => { T.camSeen.push(c.new); }, 'class_index');
T.occ.observe((c: any) => { T.occSeen.push([c.name, c.new]); }, ['threshold', 'class_index']);
console.log('@@' + JSON.stringify({
  fm: T.fm.modelId, cam: T.cam.modelId, occ: T.occ.modelId, occRuns: T.occ.runsDone, fmLayers: T.fm.get('layers').length,
  camLayers: T.cam.get('layers'), classes: T.cam.get('classes').length,
  methods: T.cam.get('methods').map((m: any) => m.id),
}));
"""

PROBE = """
await T.fm.settled(); await T.cam.settled(); await T.occ.settled();
T.gc(); T.gc();
{ const m = process.memoryUsage();
  console.log('@@' + JSON.stringify({ tensors: cnnvis.tf.memory().numTensors, rss: m.rss, heap: m.heapUsed + m.external,
    computed: T.cam.computed, polluted: ({} as any).polluted === undefined && (Object.prototype as any).x === undefined ? null : 'yes' })); }
"""

#: Gradient CAM methods: one backward pass each, so the burst keeps the kernel computing.
CAM_METHODS = ["gradcam", "gradcampp", "xgradcam", "layercam", "hirescam"]


class FloodTest(KernelTestCase):
    TIMEOUT = 60

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.info = cls.eval_cell(SETUP)
        cls.methods = [m for m in CAM_METHODS if m in cls.info["methods"]]
        # Values continue from burst to burst, so consecutive updates always change something.
        cls.fm_count = 0
        cls.cam_count = 0
        cls.occ_count = 0

    # ------------------------------------------------------------------ helpers

    @classmethod
    def send_undecodable(cls):
        """Frames the kernel cannot decode: a bad signature, and content that is not JSON (signed)."""
        wrong = Session(key=b"not-the-key", username="flood")
        wrong.send(cls.kc.shell_channel.socket, "comm_msg", {"comm_id": cls.info["fm"], "data": {}})
        s = cls.kc.session
        header = s.pack(s.msg_header("comm_msg"))
        parts = [header, b"{}", b"{}", b"{not json"]
        sig = hmac.new(s.key, digestmod=hashlib.sha256)
        for p in parts:
            sig.update(p)
        cls.kc.shell_channel.socket.send_multipart([b"<IDS|MSG>", sig.hexdigest().encode(), *parts])

    def malformed(self):
        """(msg_type, content, buffers, expected text of the one error output)."""
        fm, cam, occ = self.info["fm"], self.info["cam"], self.info["occ"]
        n = self.info["fmLayers"]
        upd = lambda cid, state, **kw: {"comm_id": cid, "data": {"method": "update", "state": state, **kw}}
        return [
            ("comm_msg", {"comm_id": "no-such-comm", "data": {"method": "update", "state": {"layer_index": 1}}}, None, "unknown comm no-such-comm"),
            ("comm_msg", {"data": {"method": "update", "state": {"layer_index": 1}}}, None, "comm_msg without a comm_id"),
            ("comm_msg", {"comm_id": fm, "data": [1, 2, 3]}, None, "comm_msg data must be an object, got an array"),
            ("comm_msg", {"comm_id": fm, "data": "update"}, None, "comm_msg data must be an object, got string"),
            ("comm_msg", upd(fm, [1]), None, "without a state object"),
            ("comm_msg", {"comm_id": fm, "data": {"state": {"layer_index": 1}}}, None, "unknown method undefined"),
            ("comm_msg", upd(fm, {}, buffer_paths=[["image"], ["page_data"]]), [b"x"], "buffer_paths names 2 buffers but the message has 1"),
            ("comm_msg", upd(fm, {}, buffer_paths="image"), None, "buffer_paths must be an array"),
            ("comm_msg", upd(fm, {}, buffer_paths=[["__proto__", "polluted"]]), [b"x"], 'buffer path ["__proto__","polluted"] is not a path'),
            ("comm_msg", upd(fm, {"constructor": {}}, buffer_paths=[["constructor", "prototype", "x"]]), [b"x"], "does not exist in the state"),
            ("comm_msg", upd(fm, {"layer_index": "2"}), None, "FeatureMapExplorer.layer_index must be a number, got a string"),
            ("comm_msg", upd(fm, {"layer_index": None}), None, "FeatureMapExplorer.layer_index must be a number, got null"),
            ("comm_msg", upd(fm, {"layer_index": 2.5}), None, f"layer_index must be an integer in 0..{n - 1}, got 2.5"),
            ("comm_msg", upd(fm, {"layer_index": 1e308}), None, f"layer_index must be an integer in 0..{n - 1}, got 1e+308"),
            ("comm_msg", upd(fm, {"layer_index": -1}), None, f"layer_index must be an integer in 0..{n - 1}, got -1"),
            ("comm_msg", upd(fm, {"layers": 5}), None, "FeatureMapExplorer.layers must be a list, got a number"),
            ("comm_msg", upd(fm, {"page_data": [1, 2]}), None, "FeatureMapExplorer.page_data must be bytes, got a list"),
            ("comm_msg", upd(fm, {"colormap": "x" * 1_000_000}), None, "unknown colormap"),
            ("comm_msg", upd(fm, {"__proto__": {"polluted": 1}}), None, "has no attribute __proto__"),
            ("comm_msg", upd(fm, {"toString": 1, "layer_index": 0}), None, "FeatureMapExplorer has no attribute toString"),
            ("comm_msg", {"comm_id": fm, "data": {"method": "custom", "content": {"event": "explode"}}}, None, "unknown request"),
            ("comm_msg", upd(cam, {"class_index": True}), None, "CamExplorer.class_index must be a number, got a boolean"),
            ("comm_msg", upd(cam, {"class_index": 10**6}), None, "1000000"),
            ("comm_msg", upd(cam, {"layer": "no_such_layer"}), None, "layer 'no_such_layer' has no spatial output; layers: "),
            ("comm_msg", upd(cam, {"method": "no_such_method"}), None, "no_such_method"),
            ("comm_msg", upd(cam, {"shown": "x"}), None, "CamExplorer.shown must be an object, got a string"),
            ("comm_msg", upd(occ, {"threshold": 1.5}), None, "threshold must be in [0, 1], got 1.5"),
            ("comm_msg", upd(occ, {"threshold": "0.5"}), None, "OcclusionExplorer.threshold must be a number, got a string"),
            ("comm_msg", upd(occ, {"patch_size": 0}), None, "patch size must be an integer in 1..64, got 0"),
            ("comm_msg", upd(occ, {"class_index": -1}), None, "class index -1 is out of range"),
            ("comm_close", {"comm_id": "no-such-comm", "data": {}}, None, "comm_close for unknown comm no-such-comm"),
            ("comm_open", {"comm_id": uuid.uuid4().hex, "target_name": 5, "data": {}}, None, "comm_open without a target_name string"),
        ]

    def burst(self, valid, malformed_every=4, pace=0.0, cam_only=False):
        """Sends `valid` updates (interleaved FM / CAM / occlusion, or CAM only) with a malformed message
        after every `malformed_every` of them, `pace` seconds apart (0: as fast as they can be sent).
        Returns (valid msg ids, [(msg id, expected error)], FM values, CAM class values, last CAM state,
        occlusion (name, value) changes)."""
        info = self.info
        classes, layers, methods = info["classes"], info["camLayers"], self.methods
        bad = self.malformed()
        ok_ids, bad_ids, fm_values, cam_values, occ_values = [], [], [], [], []
        cam_state = {}
        for i in range(valid):
            if pace:
                time.sleep(pace)
            if cam_only or i % 5 in (1, 3):
                k = self.cam_count
                type(self).cam_count += 1
                state = {"class_index": k % classes}
                if k % classes == 0:  # a new layer and method now and then: new maps, cache evictions
                    j = k // classes
                    state["layer"] = layers[j % len(layers)]
                    state["method"] = methods[(j // len(layers)) % len(methods)]
                cam_values.append(state["class_index"])
                cam_state.update(state)
                ok_ids.append(self.send("comm_msg", {"comm_id": info["cam"], "data": {"method": "update", "state": state, "buffer_paths": []}}))
            elif i % 5 == 4:
                # The mask threshold (the browser's business: the kernel only keeps it) and the class
                # (a map from the kept occlusion run), in turn; consecutive values of each differ.
                k = self.occ_count
                type(self).occ_count += 1
                if k % 2 == 0:
                    change = ("threshold", ((k // 2) % 20 + 1) / 20)
                else:
                    change = ("class_index", (k // 2) % classes)
                occ_values.append(change)
                ok_ids.append(self.send("comm_msg", {"comm_id": info["occ"], "data": {"method": "update", "state": dict([change]), "buffer_paths": []}}))
            else:
                v = self.fm_count % info["fmLayers"]
                type(self).fm_count += 1
                fm_values.append(v)
                ok_ids.append(self.send("comm_msg", {"comm_id": info["fm"], "data": {"method": "update", "state": {"layer_index": v}, "buffer_paths": []}}))
            if i % malformed_every == malformed_every - 1:
                msg_type, content, buffers, expect = bad[(i // malformed_every) % len(bad)]
                bad_ids.append((self.send(msg_type, content, buffers), expect))
                if (i // malformed_every) % len(bad) == 0:
                    self.send_undecodable()
        return ok_ids, bad_ids, fm_values, cam_values, cam_state, occ_values

    def kernel_info_seconds(self, bound):
        t0 = time.monotonic()
        msg_id = self.kc.kernel_info()
        reply = self.kc.get_shell_msg(timeout=bound)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = self.kc.get_shell_msg(timeout=max(0.1, bound - (time.monotonic() - t0)))
        self.assertEqual(reply["msg_type"], "kernel_info_reply")
        return time.monotonic() - t0

    # ------------------------------------------------------------------ the test

    def test_burst_of_1000_updates_with_malformed_messages(self):
        self.assertGreater(self.info["fmLayers"], 2)
        self.assertGreater(self.info["classes"], 2)
        # Warm-up: the same kind of burst, so that what is allocated once (JIT code, caches, the
        # explorers' map cache, socket buffers) is in place before the baseline is taken.
        for kw in ({}, {"pace": PACE, "cam_only": True}):
            ok_ids, bad_ids, _, _, _, _ = self.burst(250 if not kw else 60, **kw)
            self.drain_iopub(ok_ids + [m for m, _ in bad_ids], timeout=120)
        before = self.eval_cell(PROBE)

        t0 = time.monotonic()
        ok_ids, bad_ids, fm_values, cam_values, cam_state, occ_values = self.burst(VALID)
        sent_s = time.monotonic() - t0
        sent_counts = (len(ok_ids), len(bad_ids))
        during = self.kernel_info_seconds(KERNEL_INFO_DURING)
        msgs = self.drain_iopub(ok_ids + [m for m, _ in bad_ids], timeout=180)
        handled_s = time.monotonic() - t0
        after_s = self.kernel_info_seconds(KERNEL_INFO_AFTER)
        # A burst computes little: each update supersedes the one before, so only the last map is
        # computed. Then class changes at the pace of a fast slider drag: maps are computed, and
        # computations are stopped half-way by newer values (the paths where tensors could leak).
        t1 = time.monotonic()
        paced = self.burst(PACED, pace=PACE, cam_only=True)
        msgs += self.drain_iopub(paced[0] + [m for m, _ in paced[1]], timeout=180)
        paced_s = time.monotonic() - t1
        ok_ids += paced[0]
        bad_ids += paced[1]
        cam_values += paced[3]
        cam_state.update(paced[4])

        by_parent = {}
        for m in msgs:
            by_parent.setdefault(m["parent_header"].get("msg_id"), []).append(m)
        # Malformed: exactly one error output each, naming the problem; then idle.
        for msg_id, expect in bad_ids:
            got = by_parent.get(msg_id, [])
            errors = [m["content"]["evalue"] for m in got if m["msg_type"] == "error"]
            self.assertEqual(len(errors), 1, (expect, [m["msg_type"] for m in got]))
            self.assertIn(expect, errors[0])
            self.assertEqual(got[-1]["content"]["execution_state"], "idle")
        # Valid: no error, echoed (in the order sent: the echo goes out before any await).
        for msg_id in ok_ids:
            got = by_parent.get(msg_id, [])
            self.assertEqual([m for m in got if m["msg_type"] == "error"], [], [m["content"] for m in got if m["msg_type"] == "error"])
        echo_parents = [m["parent_header"]["msg_id"] for m in msgs
                        if m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "echo_update"
                        and m["parent_header"]["msg_id"] in set(ok_ids)]
        self.assertEqual(echo_parents, ok_ids)

        after = self.eval_cell(PROBE)
        state = self.eval_cell(
            "console.log('@@' + JSON.stringify({fm: {index: T.fm.get('layer_index'), shown: T.fm.get('shown_layer'),"
            " status: T.fm.get('status'), channels: T.fm.get('page_channels'), seen: T.fmSeen, shownSeen: T.fmShown},"
            " cam: {class_index: T.cam.get('class_index'), layer: T.cam.get('layer'), method: T.cam.get('method'),"
            " status: T.cam.get('status'), shown: T.cam.get('shown'), seen: T.camSeen},"
            " occ: {threshold: T.occ.get('threshold'), class_index: T.occ.get('class_index'), status: T.occ.get('status'),"
            " shown: T.occ.get('shown'), runs: T.occ.runsDone, seen: T.occSeen}}));")

        # Last value wins; observers saw every valid update, in order (the warm-up's first).
        fm, cam, occ = state["fm"], state["cam"], state["occ"]
        self.assertEqual(fm["seen"][-len(fm_values):], fm_values)
        self.assertEqual(cam["seen"][-len(cam_values):], cam_values)
        self.assertEqual((fm["index"], fm["shown"], fm["status"]), (fm_values[-1], fm_values[-1], "idle"))
        self.assertEqual(fm["channels"], [0, 1, 2, 3][:len(fm["channels"])])
        self.assertEqual(fm["shownSeen"][-1], fm_values[-1])
        self.assertEqual((cam["class_index"], cam["layer"], cam["method"], cam["status"]),
                         (cam_state["class_index"], cam_state["layer"], cam_state["method"], "idle"))
        self.assertEqual({k: cam["shown"][k] for k in ("class_index", "layer", "method")},
                         {k: cam_state[k] for k in ("class_index", "layer", "method")})
        last_occ = dict(occ_values)  # the last value of each key
        self.assertEqual([tuple(c) for c in occ["seen"][-len(occ_values):]], occ_values)
        self.assertEqual((occ["threshold"], occ["class_index"], occ["status"], occ["shown"]["class_index"]),
                         (last_occ["threshold"], last_occ["class_index"], "idle", last_occ["class_index"]))
        # Neither the threshold nor a class change ran a new occlusion: the one run at open serves all.
        self.assertEqual(occ["runs"], self.info["occRuns"])
        self.assertEqual(occ["runs"], 1)

        # Flat inside the kernel: same tensors; heap and RSS within their margins; no pollution.
        self.assertGreater(after["computed"] - before["computed"], 20)  # maps were computed (and evicted: cache of 64)
        self.assertEqual(after["tensors"], before["tensors"])
        self.assertIsNone(after["polluted"])
        self.assertLess(after["heap"] - before["heap"], HEAP_MARGIN, (before, after))
        self.assertLess(after["rss"] - before["rss"], RSS_MARGIN, (before, after))
        self.assertLess(during, KERNEL_INFO_DURING)
        self.assertLess(after_s, KERNEL_INFO_AFTER)
        print(f"\nflood: {sent_counts[0]} updates ({len(occ_values)} to the occlusion explorer, still {occ['runs']} occlusion run) + {sent_counts[1]} malformed sent in {sent_s:.1f}s, all handled after "
              f"{handled_s:.1f}s; kernel_info {during:.2f}s during, {after_s:.3f}s after; {len(paced[0])} paced CAM "
              f"updates + {len(paced[1])} malformed in {paced_s:.1f}s; maps computed "
              f"{after['computed'] - before['computed']}; tensors {before['tensors']} -> {after['tensors']}; "
              f"heap+external {before['heap'] / 2**20:.1f} -> {after['heap'] / 2**20:.1f} MB; "
              f"rss {before['rss'] / 2**20:.1f} -> {after['rss'] / 2**20:.1f} MB", flush=True)


if __name__ == "__main__":
    unittest.main()
