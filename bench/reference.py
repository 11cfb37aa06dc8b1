"""PyTorch reference side of `npm run bench` for one model, in its own process.

    /usr/bin/python3 bench/reference.py <model> '<settings json>'
    /usr/bin/python3 bench/reference.py --export <model> <file.onnx>

Threads: BENCH_THREADS (set by bench/run.ts to the number ours uses) → torch.set_num_threads; run.ts
also sets OMP_NUM_THREADS and MKL_NUM_THREADS to it. The report states the count torch ran with.

Builds VGG16, ResNet50 (v1.5) or MobileNetV2 in plain torch (random init; the same shapes as the
TF.js builders in bench/models.ts) and times the same work as bench/ours.ts, written the way the
usual PyTorch tools compute it (with torch.autograd, written here, not taken from those tools):

- gradcam: Captum LayerGradCam style — gradient of the class logit w.r.t. the layer output only
  (autograd.grad), spatial mean → channel weights, ReLU(Σ w·A), bilinear upsampling, min-max.
- gradcam_class_change: pytorch-grad-cam GradCAM style — the whole recompute a class change costs
  there: forward with activation/gradient hooks, zero_grad, loss.backward() (parameter gradients
  included), CAM, resize, normalize.
- saliency / guided_backprop: Captum Saliency / GuidedBackprop style (ReLU backward hooks).
- integrated_gradients / smoothgrad / occlusion: Captum IntegratedGradients (trapezoid points and
  weights as ours), NoiseTunnel(smoothgrad), Occlusion (softmax-probability drop), batched.
- scorecam: pytorch-grad-cam ScoreCAM style, on the same number of top-variance channels.
- activation_max: lucent style — Fourier parameterization with colour decorrelation, pad/jitter/
  scale/rotate/jitter, resize to 224, channel objective, normalized gradient ascent.
- activation_max_page: the same for one page of filters at once (a batch, image k maximizing filter k
  of the layer), as the filter explorer computes a page.
- scaling: predictions (no grad) and Grad-CAM of 1, 4, 16, 64 images, each size as one batch.

--export writes the model (the same architecture and seeded random weights) as one ONNX graph with
constant weights (torch.onnx.export, eval mode, constant folding, a dynamic batch axis) for the
ONNX Runtime floor (bench/floor.ts).

Speaks run.ts' side protocol (bench/settings.ts SIDE_PROTOCOL): builds the model, prints
`BENCH_READY`, runs each method named on stdin and prints its `BENCH_RESULT` (null for a method
without a reference), and at the end of stdin prints `BENCH_REPORT <json>` (SideReport); progress
goes to stderr.
"""
import functools
import json
import math
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


# ---------------------------------------------------------------- architectures (named layers)


class Named(nn.Module):
    """A sequential-ish module keeping a name → module map for the layers the benchmark hooks."""

    def __init__(self):
        super().__init__()
        self.by_name = {}

    def name(self, key, module):
        self.by_name[key] = module
        return module


class VGG16(Named):
    def __init__(self, classes=1000):
        super().__init__()
        layers = []
        cin = 3
        for b, (n, width) in enumerate(zip([2, 2, 3, 3, 3], [64, 128, 256, 512, 512])):
            for i in range(n):
                layers += [nn.Conv2d(cin, width, 3, padding=1), self.name(f"block{b + 1}_conv{i + 1}", nn.ReLU())]
                cin = width
            layers.append(self.name(f"block{b + 1}_pool", nn.MaxPool2d(2, 2)))
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Sequential(
            nn.Linear(512 * 7 * 7, 4096), nn.ReLU(), nn.Linear(4096, 4096), nn.ReLU(), nn.Linear(4096, classes)
        )

    def forward(self, x):
        return self.classifier(torch.flatten(self.features(x), 1))


class Bottleneck(nn.Module):
    def __init__(self, cin, width, stride, owner, name):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu1 = nn.ReLU()
        self.conv2 = owner.name(f"{name}_2_conv", nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False))
        self.bn2 = nn.BatchNorm2d(width)
        self.relu2 = nn.ReLU()
        self.conv3 = nn.Conv2d(width, width * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(width * 4)
        self.downsample = None
        if stride != 1 or cin != width * 4:
            self.downsample = nn.Sequential(nn.Conv2d(cin, width * 4, 1, stride=stride, bias=False), nn.BatchNorm2d(width * 4))
        self.out = owner.name(f"{name}_out", nn.ReLU())

    def forward(self, x):
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.relu2(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        s = x if self.downsample is None else self.downsample(x)
        return self.out(y + s)


class ResNet50(Named):
    def __init__(self, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(64), self.name("conv1_relu", nn.ReLU()),
            nn.MaxPool2d(3, stride=2, padding=1),
        )
        blocks = []
        cin = 64
        for s, (width, n, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]):
            for b in range(n):
                blocks.append(Bottleneck(cin, width, stride if b == 0 else 1, self, f"conv{s + 2}_block{b + 1}"))
                cin = width * 4
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, t, owner, prefix):
        super().__init__()
        hidden = cin * t
        layers = []
        if t != 1:
            layers += [
                owner.name(f"{prefix}expand", nn.Conv2d(cin, hidden, 1, bias=False)), nn.BatchNorm2d(hidden),
                owner.name(f"{prefix}expand_relu", nn.ReLU6()),
            ]
        layers += [
            nn.Conv2d(hidden, hidden, 3, stride=stride, padding=1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
            owner.name(f"{prefix}depthwise_relu", nn.ReLU6()),
            nn.Conv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout),
        ]
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and cin == cout

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


class MobileNetV2(Named):
    def __init__(self, classes=1000):
        super().__init__()
        layers = [nn.Conv2d(3, 32, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(32), self.name("Conv1_relu", nn.ReLU6())]
        cin = 32
        block = 0
        for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
            for i in range(n):
                prefix = "expanded_conv_" if block == 0 else f"block_{block}_"
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t, self, prefix))
                cin = c
                block += 1
        layers += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), self.name("out_relu", nn.ReLU6())]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1280, classes)

    def forward(self, x):
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(self.features(x), 1), 1))


def init_weights(model):
    """He-uniform kernels, zero biases, identity batch norm (as bench/models.ts)."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_uniform_(m.weight, a=0, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


# Per model: (constructor, CAM layer, activation-maximization layer, input preprocessing, filter-page
# layer: a convolution as the filter explorer lists it; VGG16's Keras conv includes its ReLU).
MODELS = {
    "vgg16": (VGG16, "block5_conv3", "block4_conv3", "caffe", "block4_conv3"),
    "resnet50": (ResNet50, "conv5_block3_out", "conv4_block6_out", "caffe", "conv4_block6_2_conv"),
    "mobilenetv2": (MobileNetV2, "out_relu", "block_13_expand_relu", "tf", "block_13_expand"),
}

# Image counts of the scaling table (the settings' scaleMax keeps the sizes up to it).
SCALE_SIZES = [1, 4, 16, 64]

CAFFE_MEAN_BGR = torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)


def preprocess(rgb255, mode):
    """[B, 3, H, W] RGB in [0, 255] → the model's input (as the TF.js side preprocesses)."""
    if mode == "caffe":
        return rgb255.flip(1) - CAFFE_MEAN_BGR
    return rgb255 / 127.5 - 1


@functools.lru_cache(maxsize=None)
def test_image(seed, size=224):
    """A smooth seeded picture, [1, 3, H, W] in [0, 255] (the same formula as bench/ours.ts), made once per seed."""
    f = [v + (seed % 7) * 0.11 for v in (0.7, 1.3, 2.1)]
    coords = torch.arange(size, dtype=torch.float64) / size * 6.28
    planes = []
    for c in range(3):
        v = torch.sin(coords[None, :] * f[c] + seed) * torch.cos(coords[:, None] * f[(c + 1) % 3] - seed * 0.5)
        planes.append(torch.round(127.5 + 120 * v))
    return torch.stack(planes)[None].float()


class Hook:
    """Keeps a module's latest output (the activation A)."""

    def __init__(self, module):
        self.value = None
        self.handle = module.register_forward_hook(self.keep)

    def keep(self, _module, _inputs, output):
        self.value = output

    def remove(self):
        self.handle.remove()


def normalize01(m):
    lo, hi = m.min(), m.max()
    return (m - lo) / (hi - lo) if hi > lo else torch.zeros_like(m)


# ---------------------------------------------------------------- methods


class Bench:
    def __init__(self, name, settings):
        ctor, self.cam_layer, self.max_layer, self.mode, self.page_layer = MODELS[name]
        self.model = init_weights(ctor()).eval()
        self.layers = self.model.by_name
        self.s = settings

    def input(self, seed):
        return preprocess(test_image(seed), self.mode)

    def forward(self, i):
        with torch.no_grad():
            self.model(self.input(100 + i)).numpy()

    def gradcam(self, i, cls=3, seed=200):
        x = self.input(seed + i)
        hook = Hook(self.layers[self.cam_layer])
        try:
            logits = self.model(x)
            a = hook.value
            (g,) = torch.autograd.grad(logits[0, cls], a)
        finally:
            hook.remove()
        with torch.no_grad():
            w = g.mean((2, 3), keepdim=True)
            cam = F.relu((w * a).sum(1, keepdim=True))
            cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
            return normalize01(cam[0, 0]).numpy()

    def gradcam_class_change(self, i):
        # What a pytorch-grad-cam GradCAM call costs for the new class on the same image.
        x = self.input(300)
        cls = 500 + i
        store = {}
        layer = self.layers[self.cam_layer]

        def keep(_m, _inp, out):
            store["a"] = out.detach()
            out.register_hook(lambda g: store.__setitem__("g", g.detach()))

        handle = layer.register_forward_hook(keep)
        try:
            logits = self.model(x)
            self.model.zero_grad()
            logits[:, cls].sum().backward(retain_graph=True)
        finally:
            handle.remove()
        a, g = store["a"], store["g"]
        w = g.mean((2, 3), keepdim=True)
        cam = F.relu((w * a).sum(1, keepdim=True))
        cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
        return normalize01(cam[0, 0]).numpy()

    def input_grad(self, x, cls):
        x = x.detach().requires_grad_(True)
        logits = self.model(x)
        (g,) = torch.autograd.grad(logits[:, cls].sum(), x)
        return g

    def saliency(self, i, cls=3):
        g = self.input_grad(self.input(500 + i), cls)
        return g.abs().amax(1)[0].numpy()

    def guided_backprop(self, i, cls=3):
        def guided(_m, grad_in, _grad_out):
            return (torch.clamp(grad_in[0], min=0.0),)

        handles = [m.register_full_backward_hook(guided) for m in self.model.modules() if isinstance(m, (nn.ReLU, nn.ReLU6))]
        try:
            g = self.input_grad(self.input(600 + i), cls)
        finally:
            for h in handles:
                h.remove()
        return g[0].numpy()

    def batches(self, n):
        b = self.s["batchSize"]
        return [(i0, min(n, i0 + b)) for i0 in range(0, n, b)]

    def integrated_gradients(self, i, cls=3):
        steps = self.s["igSteps"]
        x = self.input(700 + i)
        base = preprocess(torch.zeros_like(x), self.mode)  # the black picture
        alphas = torch.arange(steps + 1, dtype=torch.float32) / steps
        weights = torch.full((steps + 1,), 1.0 / steps)
        weights[0] = weights[-1] = 0.5 / steps
        diff = x - base
        total = torch.zeros_like(x)
        for i0, i1 in self.batches(steps + 1):
            xb = base + alphas[i0:i1].view(-1, 1, 1, 1) * diff
            g = self.input_grad(xb, cls)
            total += (g * weights[i0:i1].view(-1, 1, 1, 1)).sum(0, keepdim=True)
        attr = diff * total
        with torch.no_grad():
            ends = self.model(torch.cat([x, base]))[:, cls]
        return attr.sum().item() - (ends[0] - ends[1]).item()

    def smoothgrad(self, i, cls=3):
        n = self.s["smoothSamples"]
        x = self.input(800 + i)
        std = 0.15 * (x.max() - x.min()).item()
        gen = torch.Generator().manual_seed(i)
        total = torch.zeros_like(x)
        for i0, i1 in self.batches(n):
            xb = x + torch.randn((i1 - i0,) + tuple(x.shape[1:]), generator=gen) * std
            total += self.input_grad(xb, cls).sum(0, keepdim=True)
        return (total / n).abs().amax(1)[0].numpy()

    def occlusion(self, i, cls=3):
        p = self.s["occlusionPatch"]
        x = self.input(900 + i)
        fill = preprocess(torch.full_like(x, 128.0), self.mode)
        H, W = x.shape[2:]
        origins = [(y, xx) for y in range(0, H - p + 1, p) for xx in range(0, W - p + 1, p)]
        drops = torch.zeros(len(origins))
        with torch.no_grad():
            base = F.softmax(self.model(x), 1)[0, cls]
            for i0, i1 in self.batches(len(origins)):
                masks = torch.zeros(i1 - i0, 1, H, W)
                for k, (y, xx) in enumerate(origins[i0:i1]):
                    masks[k, :, y:y + p, xx:xx + p] = 1
                occluded = x * (1 - masks) + fill * masks
                drops[i0:i1] = base - F.softmax(self.model(occluded), 1)[:, cls]
        return drops.numpy()

    def scorecam(self, i, cls=3):
        x = self.input(1000 + i)
        hook = Hook(self.layers[self.cam_layer])
        try:
            with torch.no_grad():
                self.model(x)
        finally:
            hook.remove()
        a = hook.value[0]  # [C, h, w]
        with torch.no_grad():
            var = a.flatten(1).var(1, unbiased=False)
            chans = torch.argsort(var, descending=True)[: self.s["scoreCamChannels"]]
            scores = torch.zeros(len(chans))
            for i0, i1 in self.batches(len(chans)):
                maps = F.interpolate(a[chans[i0:i1]][:, None], size=x.shape[2:], mode="bilinear", align_corners=False)
                lo = maps.amin((2, 3), keepdim=True)
                hi = maps.amax((2, 3), keepdim=True)
                masks = torch.where(hi > lo, (maps - lo) / (hi - lo).clamp_min(1e-12), torch.zeros_like(maps))
                scores[i0:i1] = F.softmax(self.model(x * masks), 1)[:, cls]
            w = torch.zeros(a.shape[0])
            w[chans] = F.softmax(scores, 0)
            cam = F.relu((w.view(-1, 1, 1) * a).sum(0))
            cam = F.interpolate(cam[None, None], size=x.shape[2:], mode="bilinear", align_corners=False)
            return normalize01(cam[0, 0]).numpy()

    def ascent(self, layer, channels, steps, size, seed):
        """Lucent-style gradient ascent of a batch of images, image k on channel channels[k] of `layer`."""
        b = len(channels)
        gen = torch.Generator().manual_seed(seed)
        fy = torch.fft.fftfreq(size)[:, None]
        fx = torch.fft.rfftfreq(size)[None, :]
        scale = 1.0 / torch.sqrt(fx * fx + fy * fy).clamp_min(1.0 / size) / size
        spectrum = (torch.randn(b, 3, size, size // 2 + 1, 2, generator=gen) * 0.01).requires_grad_(True)
        color = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
        color = color / color.norm(dim=0).max()
        hook = Hook(self.layers[layer])
        index = torch.tensor(channels)

        def image():
            spec = torch.view_as_complex(spectrum) * scale
            img = torch.fft.irfft2(spec, s=(size, size), norm="ortho") / 4.0
            img = torch.einsum("bchw,dc->bdhw", img, color)
            return torch.sigmoid(img)

        def transform(img):
            img = F.pad(img, (8, 8, 8, 8), mode="constant", value=0.5)
            dy, dx = torch.randint(-8, 9, (2,), generator=gen).tolist()
            img = torch.roll(img, (dy, dx), (2, 3))
            s = [0.95, 0.975, 1.0, 1.025, 1.05][torch.randint(0, 5, (1,), generator=gen).item()]
            r = math.radians(torch.randint(-5, 6, (1,), generator=gen).item())
            theta = torch.tensor([[math.cos(r) / s, -math.sin(r) / s, 0.0], [math.sin(r) / s, math.cos(r) / s, 0.0]])[None]
            grid = F.affine_grid(theta.expand(b, 2, 3), list(img.shape), align_corners=False)
            img = F.grid_sample(img, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
            dy, dx = torch.randint(-4, 5, (2,), generator=gen).tolist()
            return torch.roll(img, (dy, dx), (2, 3))

        try:
            for _ in range(steps):
                seen = F.interpolate(transform(image()), size=(224, 224), mode="bilinear", align_corners=False)
                self.model(preprocess(seen * 255, self.mode))
                act = hook.value[torch.arange(b), index]  # [b, h, w]: image k's own channel
                score = act.mean((1, 2)).sum()
                (g,) = torch.autograd.grad(score, spectrum)
                with torch.no_grad():
                    rms = g.pow(2).mean(tuple(range(1, g.dim())), keepdim=True).sqrt()
                    spectrum += 0.05 * g / (rms + 1e-12)
        finally:
            hook.remove()
        return image().detach().numpy()

    def activation_max(self, i, channel=0):
        return self.ascent(self.max_layer, [channel], self.s["actmaxSteps"], self.s["actmaxSize"], i)

    def activation_max_page(self, i):
        n = self.s["pageFilters"]
        return self.ascent(self.page_layer, list(range(n)), self.s["pageSteps"], self.s["pagePatternSize"], i)

    def activation_max_page_warmup(self):
        """One step of a page, untimed (as ours builds its graphs before the timed pages)."""
        self.ascent(self.page_layer, list(range(self.s["pageFilters"])), 1, self.s["pagePatternSize"], 99)

    def predict_batch(self, raw):
        with torch.no_grad():
            return self.model(preprocess(raw, self.mode)).numpy()

    def gradcam_batch(self, raw, cls=3):
        """Grad-CAM of every image of a batch in one forward and one backward pass."""
        x = preprocess(raw, self.mode)
        hook = Hook(self.layers[self.cam_layer])
        try:
            logits = self.model(x)
            a = hook.value
            (g,) = torch.autograd.grad(logits[:, cls].sum(), a)
        finally:
            hook.remove()
        with torch.no_grad():
            w = g.mean((2, 3), keepdim=True)
            cam = F.relu((w * a).sum(1, keepdim=True))
            cam = F.interpolate(cam, size=x.shape[2:], mode="bilinear", align_corners=False)
            lo = cam.amin((2, 3), keepdim=True)
            hi = cam.amax((2, 3), keepdim=True)
            return torch.where(hi > lo, (cam - lo) / (hi - lo).clamp_min(1e-12), torch.zeros_like(cam)).numpy()

    def scaling(self):
        """Seconds for N images as one batch, per task and N (pictures made before timing)."""
        points = []
        for n in [k for k in SCALE_SIZES if k <= self.s["scaleMax"]]:
            raw = torch.cat([test_image(2000 + k) for k in range(n)])
            calls = scale_calls(n, self.s["repeats"])
            for task, fn in (("predict", self.predict_batch), ("gradcam", self.gradcam_batch)):
                fn(raw)  # warm-up at the timed batch size
                seconds, _ = time_calls(lambda _i: fn(raw), calls, 0)
                points.append({"task": task, "images": n, "seconds": seconds, "calls": calls})
                print(f"[reference] {task} x{n}: {seconds:.3f} s ({n / seconds:.1f} images/s)", file=sys.stderr, flush=True)
        return points


def scale_calls(n, repeats):
    """Timed calls of an N-image batch: enough for about 16 images, at least one, at most `repeats`."""
    return max(1, min(repeats, -(-16 // n)))


def export_onnx(name, path):
    """The model (same seeded weights as a benchmark run) as one ONNX graph with constant weights."""
    ctor = MODELS[name][0]
    model = init_weights(ctor()).eval()
    x = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(
        model, x, path, export_params=True, do_constant_folding=True, opset_version=13,
        input_names=["input"], output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )


FAST = {"forward", "gradcam", "saliency", "guided_backprop"}
SLOW = {"integrated_gradients", "smoothgrad", "occlusion", "scorecam", "activation_max", "activation_max_page"}
REPEATED = {"gradcam_class_change"}
ALL = ["forward", "gradcam", "gradcam_class_change", "saliency", "guided_backprop",
       "integrated_gradients", "smoothgrad", "occlusion", "scorecam", "activation_max", "activation_max_page", "scaling"]


# As bench/settings.ts FAST_MIN_SECONDS / FAST_MAX_CALLS / FAST_WARMUP_SECONDS.
FAST_MIN_SECONDS = 1.0
FAST_MAX_CALLS = 50
FAST_WARMUP_SECONDS = 0.5


def time_calls(fn, n, warmup, distinct=False):
    """Median seconds of fn(i), i = 0..n-1, after `warmup` untimed calls (a fast method's go on until
    they add up to FAST_WARMUP_SECONDS, i = -1, -2, -1, ...); a method with a warm-up is
    called again (i = 0, 1, ... over; `distinct`: i keeps counting) until its timed calls add up to
    FAST_MIN_SECONDS (as ours). Returns the median and the number of timed calls."""
    w, spent = 0, 0.0
    while w < warmup or (warmup > 0 and spent < FAST_WARMUP_SECONDS and w < FAST_MAX_CALLS):
        t0 = time.perf_counter()
        fn(-1 - (w % 2))
        spent += time.perf_counter() - t0
        w += 1
    times = []
    k = 0
    while k < n or (warmup > 0 and sum(times) < FAST_MIN_SECONDS and k < FAST_MAX_CALLS):
        t0 = time.perf_counter()
        fn(k if distinct else k % n)
        times.append(time.perf_counter() - t0)
        k += 1
    return statistics.median(times), len(times)


def set_threads():
    """torch.set_num_threads(BENCH_THREADS) when run.ts gives the count; the count torch runs with."""
    n = os.environ.get("BENCH_THREADS")
    if n:
        torch.set_num_threads(int(n))
    return torch.get_num_threads()


def main():
    if sys.argv[1] == "--export":
        export_onnx(sys.argv[2], sys.argv[3])
        return
    name, settings_json = sys.argv[1], sys.argv[2]
    settings = json.loads(settings_json)
    threads = set_threads()
    # The pictures the timed calls use, made beforehand (as bench/ours.ts makeTestImages).
    for base in range(100, 1001, 100):
        for i in range(-2, max(settings["repeats"], 5) + 2):
            test_image(base + i)
    t0 = time.perf_counter()
    bench = Bench(name, settings)
    engine = f"torch {torch.__version__} ({threads} thread{'s' if threads != 1 else ''})"
    print(f"[reference] {name}: built in {time.perf_counter() - t0:.1f} s on {engine}", file=sys.stderr, flush=True)
    print("BENCH_READY " + json.dumps({"engine": engine, "threads": threads}), flush=True)
    results = []
    peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # noqa: E731
    methods_peak = None
    # run.ts sends the scaling table last; it has its own peak (as bench/ours.ts).
    for line in sys.stdin:
        method = line.strip()
        if not method:
            continue
        result = None
        if method == "scaling":
            methods_peak = peak()
            t1 = time.perf_counter()
            points = bench.scaling()
            result = {"model": name, "method": method, "seconds": time.perf_counter() - t1, "n": 1, "points": points}
        elif method in ALL:  # else no reference for this one (e.g. the feature-map explorer)
            fn = getattr(bench, method)
            if method == "activation_max_page":
                bench.activation_max_page_warmup()
            if method in FAST:
                n, warmup = settings["repeats"], 1
            elif method in REPEATED:
                n, warmup = max(5, settings["repeats"]), 1
            else:
                n, warmup = settings["slowRepeats"], 0
            seconds, n = time_calls(fn, n, warmup, distinct=method in REPEATED)
            result = {"model": name, "method": method, "seconds": seconds, "n": n}
            print(f"[reference] {name} {method}: {seconds:.3f} s (n={n})", file=sys.stderr, flush=True)
        if result is not None:
            results.append(result)
        print("BENCH_RESULT " + json.dumps(result), flush=True)
    report = {
        "side": "reference",
        "model": name,
        "results": results,
        "peakRssBytes": methods_peak if methods_peak is not None else peak(),
        "engine": engine,
        "threads": threads,
    }
    if methods_peak is not None:
        report["scalingPeakRssBytes"] = peak()
    print("BENCH_REPORT " + json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
