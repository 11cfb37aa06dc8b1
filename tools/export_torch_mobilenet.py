#!/usr/bin/env python3
"""Builds MobileNet v1 (width 0.25, 224x224) as a PyTorch nn.Module, loads the pretrained ImageNet
weights of Keras' MobileNet(alpha=0.25) into it, and exports it with torch.onnx.export. Notebook 09 and
tests/onnxImportMobilenet.test.ts use the file: a pretrained PyTorch model without internet access
(torchvision's pretrained weights are a download).

Usage: /usr/bin/python3 tools/export_torch_mobilenet.py [--h5 KERAS_H5] [--out FILE.onnx] [--check PHOTO]

  --h5     Keras' MobileNet 0.25 weights: a full model saved by model.save (e.g. the test data's
           keras_mobilenet_0.25_224_h5/keras.h5) or Keras' weights file mobilenet_2_5_224_tf.h5.
           Default: $CNNVIS_SHARED/data/models/keras_mobilenet_0.25_224_h5/keras.h5, else the one
           beside this repository (../shared/...).
  --out    Default: $CNNVIS_HOME/models/pytorch/mobilenet_v1_0.25_torch.onnx (CNNVIS_HOME defaults to
           ~/.cache/cnnvis, as for cnnvis itself), where notebook 09 looks for it.
  --check  Also predict PHOTO with torch (Keras' load_img resizing: 224x224, nearest) and with cnnvis'
           own loader of the same .h5 (node kernel/bin/cnnvis.js predict; needs `npx tsc -b kernel`),
           and fail unless the top-5 classes are the same.

The module is named like torchvision's models: `features.0` (the stem: conv, BN, ReLU6), `features.1` …
`features.13` (depthwise-separable blocks, each with `dw`, `dw_bn`, `dw_relu`, `pw`, `pw_bn`, `pw_relu`:
Keras' conv_dw_N … conv_pw_N_relu), `pool`, `classifier` (Dropout, Linear; Keras' 1x1 conv_preds).
It returns logits (Keras' model ends with a softmax; apply it yourself, as with torchvision models).
It takes torchvision's normalization (RGB / 255, ImageNet mean and std): the TF-slim weights were trained
on x / 127.5 - 1, so its first module, `input_scale`, is a fixed 1x1 convolution that maps one to the other
(x / 127.5 - 1 = 2 * std * t + 2 * mean - 1 per channel). Stride-2 layers pad only bottom and right
(ZeroPad2d((0, 1, 0, 1))), as Keras' ZeroPadding2D((0, 1), (0, 1)) does.
"""
import argparse
import json
import os
import subprocess
import sys
import warnings

import h5py
import numpy as np
import torch
import torch.nn as nn

torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]
EPS = 1e-3  # Keras' BatchNormalization epsilon in MobileNet
# Keras' MobileNet v1: (pointwise filters at alpha 1, depthwise stride) for blocks 1..13.
BLOCKS = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def bn(c):
    return nn.BatchNorm2d(c, eps=EPS)


class Stem(nn.Module):
    def __init__(self, out):
        super().__init__()
        self.pad = nn.ZeroPad2d((0, 1, 0, 1))
        self.conv = nn.Conv2d(3, out, 3, stride=2, bias=False)
        self.bn = bn(out)
        self.relu = nn.ReLU6()

    def forward(self, x):
        return self.relu(self.bn(self.conv(self.pad(x))))


class DepthwiseSeparable(nn.Module):
    def __init__(self, inp, out, stride):
        super().__init__()
        self.pad = nn.ZeroPad2d((0, 1, 0, 1)) if stride == 2 else nn.Identity()
        self.dw = nn.Conv2d(inp, inp, 3, stride=stride, padding=0 if stride == 2 else 1, groups=inp, bias=False)
        self.dw_bn = bn(inp)
        self.dw_relu = nn.ReLU6()
        self.pw = nn.Conv2d(inp, out, 1, bias=False)
        self.pw_bn = bn(out)
        self.pw_relu = nn.ReLU6()

    def forward(self, x):
        x = self.dw_relu(self.dw_bn(self.dw(self.pad(x))))
        return self.pw_relu(self.pw_bn(self.pw(x)))


class MobileNetV1(nn.Module):
    def __init__(self, alpha=0.25, num_classes=1000):
        super().__init__()
        self.input_scale = nn.Conv2d(3, 3, 1)
        with torch.no_grad():
            self.input_scale.weight.copy_(torch.diag(2 * torch.tensor(STD)).reshape(3, 3, 1, 1))
            self.input_scale.bias.copy_(2 * torch.tensor(MEAN) - 1)
        c = int(32 * alpha)
        layers = [Stem(c)]
        for filters, stride in BLOCKS:
            layers.append(DepthwiseSeparable(c, int(filters * alpha), stride))
            c = int(filters * alpha)
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(1e-3), nn.Linear(c, num_classes))

    def forward(self, x):
        x = self.features(self.input_scale(x))
        return self.classifier(torch.flatten(self.pool(x), 1))


def load_keras_weights(model, h5_path):
    """Copies Keras' MobileNet weights (HWIO kernels, HWC1 depthwise kernels, BN gamma/beta/mean/var)."""
    with h5py.File(h5_path, 'r') as f:
        g = f['model_weights'] if 'model_weights' in f else f

        def w(layer, name):
            grp = g[layer]
            for key in (f'{layer}/{name}:0', f'{layer}/{name}'):
                if key in grp:
                    return torch.from_numpy(np.asarray(grp[key], dtype=np.float32))
            raise KeyError(f'{h5_path}: no weight {layer}/{name} (is this Keras MobileNet 0.25?)')

        def conv(dst, layer):
            k = w(layer, 'kernel').permute(3, 2, 0, 1)  # HWIO -> OIHW
            assert k.shape == dst.weight.shape, (layer, tuple(k.shape), tuple(dst.weight.shape))
            dst.weight.copy_(k)

        def depthwise(dst, layer):
            k = w(layer, 'depthwise_kernel').permute(2, 3, 0, 1)  # H W C 1 -> C 1 H W
            assert k.shape == dst.weight.shape, (layer, tuple(k.shape), tuple(dst.weight.shape))
            dst.weight.copy_(k)

        def batchnorm(dst, layer):
            dst.weight.copy_(w(layer, 'gamma'))
            dst.bias.copy_(w(layer, 'beta'))
            dst.running_mean.copy_(w(layer, 'moving_mean'))
            dst.running_var.copy_(w(layer, 'moving_variance'))

        with torch.no_grad():
            stem = model.features[0]
            conv(stem.conv, 'conv1')
            batchnorm(stem.bn, 'conv1_bn')
            for i in range(1, 14):
                b = model.features[i]
                depthwise(b.dw, f'conv_dw_{i}')
                batchnorm(b.dw_bn, f'conv_dw_{i}_bn')
                conv(b.pw, f'conv_pw_{i}')
                batchnorm(b.pw_bn, f'conv_pw_{i}_bn')
            lin = model.classifier[1]
            lin.weight.copy_(w('conv_preds', 'kernel')[0, 0].t())
            lin.bias.copy_(w('conv_preds', 'bias'))


def default_h5():
    shared = os.environ.get('CNNVIS_SHARED') or os.path.join(ROOT, '..', 'shared')
    return os.path.join(shared, 'data', 'models', 'keras_mobilenet_0.25_224_h5', 'keras.h5')


def default_out():
    home = os.environ.get('CNNVIS_HOME', '').strip() or os.path.join(os.path.expanduser('~'), '.cache', 'cnnvis')
    return os.path.join(home, 'models', 'pytorch', 'mobilenet_v1_0.25_torch.onnx')


def check(model, h5, photo):
    """torch's top-5 on PHOTO against cnnvis' predictions from the Keras file itself."""
    from PIL import Image
    img = Image.open(photo).convert('RGB').resize((224, 224), Image.NEAREST)  # Keras' load_img(target_size)
    t = (torch.from_numpy(np.asarray(img, dtype=np.float32) / 255) - torch.tensor(MEAN)) / torch.tensor(STD)
    with torch.no_grad():
        probs = torch.softmax(model(t.permute(2, 0, 1)[None]), 1)[0]
    top = torch.topk(probs, 5)
    mine = [(int(i), float(p)) for p, i in zip(top.values, top.indices)]
    r = subprocess.run(['node', os.path.join(ROOT, 'kernel', 'bin', 'cnnvis.js'), 'predict', photo, '--model', h5, '--top', '5', '--json'],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        sys.exit(f'cnnvis predict failed: {r.stderr[-1000:]}')
    theirs = [(p['index'], p['probability']) for p in json.loads(r.stdout)]
    for (i, p), (j, q) in zip(mine, theirs):
        print(f'  torch class {i:4d} {p:.4f}   cnnvis (Keras .h5) class {j:4d} {q:.4f}')
    if [i for i, _ in mine] != [j for j, _ in theirs]:
        sys.exit('top-5 classes differ between torch and cnnvis')
    print('top-5 agree')


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--h5', default=None)
    ap.add_argument('--out', default=None)
    ap.add_argument('--check', metavar='PHOTO', default=None)
    a = ap.parse_args()
    h5 = a.h5 or default_h5()
    out = a.out or default_out()
    if not os.path.exists(h5):
        sys.exit(f'Keras MobileNet 0.25 weights not found at {h5}; pass --h5 FILE')
    model = MobileNetV1()
    load_keras_weights(model, h5)
    model.eval()
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    tmp = f'{out}.{os.getpid()}.tmp'
    warnings.filterwarnings('ignore', message='Constant folding')  # ZeroPad2d's Slice of the pads: harmless
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), tmp, opset_version=13, input_names=['input'], output_names=['logits'])
    os.replace(tmp, out)  # never a half-written model where a reader looks
    print(f'wrote {out}')
    if a.check:
        check(model, h5, a.check)


if __name__ == '__main__':
    main()
