"""Writes the teaching notebooks' sources (cells without outputs). Run, then execute them with
`npm run notebooks` to store their outputs. Kept in the repo so the notebooks can be regenerated."""
import json, hashlib, os, sys

def nb(cells):
    out = []
    for i, (kind, src) in enumerate(cells):
        cid = hashlib.sha1(f'{i}:{src}'.encode()).hexdigest()[:8]
        c = {"cell_type": kind, "id": cid, "metadata": {}, "source": src.strip('\n').splitlines(True)}
        if kind == 'code':
            c.update({"execution_count": None, "outputs": []})
        out.append(c)
    return {"cells": out,
            "metadata": {"kernelspec": {"display_name": "TypeScript (cnnvis)", "language": "typescript", "name": "cnnvis"},
                         "language_info": {"name": "typescript", "file_extension": ".ts", "mimetype": "text/typescript"}},
            "nbformat": 4, "nbformat_minor": 5}

ANATOMY = [
('markdown', """
# 1 · Model anatomy and feature maps (特征图)

This notebook follows the first steps of the classic CNN-visualization articles on a real ImageNet model:
look at the model's layers and weights, ask it what it sees in a photo, then look at what its intermediate
layers compute — the **feature maps** (特征图) — and at the **filters** (卷积核) of its first layer.

It runs on the `TypeScript (cnnvis)` kernel (`npx cnnvis install`). Models come from the cnnvis model cache
(`$CNNVIS_HOME`, default `~/.cache/cnnvis`); photos are found by file name in the folder named by `$CNNVIS_DATA`.
Every call shows its result inline and returns an object that keeps the raw numbers.
"""),
('code', """
import * as cnnvis from 'cnnvis';
console.log(await cnnvis.backendReport());
"""),
('markdown', """
## The model

MobileNet v1 with width 0.75 is a small ImageNet classifier: depthwise-separable convolutions, global average
pooling and a 1000-way softmax. If it is not in the cache, `loadModel` downloads it once from its official place.
`summary` shows what Keras' `model.summary()` shows: every layer, its output shape and its parameter count.
"""),
('code', """
const model = await cnnvis.loadModel('mobilenet_v1_0.75_224');
const anatomy = cnnvis.summary(model);
"""),
('markdown', """
A layer's configuration and its weights, like Keras' `get_config()` and `get_weights()`:
"""),
('code', """
const config = cnnvis.layerConfig(model, 'conv1');
const weights = cnnvis.layerWeights(model, 'conv1');
console.log(JSON.stringify({filters: config.filters, kernel_size: config.kernel_size, strides: config.strides, padding: config.padding}));
console.log(weights.map(w => `${w.name}: [${w.shape.join(', ')}]`).join('\\n'));
console.log(`parameters: ${anatomy.totalParams.toLocaleString('en-US')} (${anatomy.trainableParams.toLocaleString('en-US')} trainable)`);
"""),
('markdown', """
## What does it see?

`cat_dog.png` is the picture of the Grad-CAM paper: a bull mastiff and a tiger cat. The model is asked for its
top-5 classes; the probabilities come from its softmax layer. The chart is vega-lite; the table and the
picture are there for viewers without it.
"""),
('code', """
const preds = await cnnvis.predict(model, 'cat_dog.png', {top: 5});
"""),
('markdown', """
The numbers stay on the result object:
"""),
('code', """
console.log(preds.predictions.map(p => `${p.label}: ${(100 * p.probability).toFixed(1)}%`).join(', '));
"""),
('markdown', """
## Feature maps (特征图)

Each channel of a convolution layer is one feature detector slid over the whole image; its output is a map of
where it responded. The first layers respond to edges and colours, deeper ones to textures and parts.
Here are the 24 channels of the first convolution block after its ReLU (each tile normalized on its own):
"""),
('code', """
const fm = await cnnvis.featureMaps(model, 'cat_dog.png', {layer: 'conv1_relu'});
"""),
('markdown', """
Layer-wise outputs from low to high layers, first 8 channels of each (the top row is the input): the maps get
smaller and more abstract.
"""),
('code', """
const rows = await cnnvis.layerOutputs(model, 'cat_dog.png', {layers: ['conv1_relu', 'conv_pw_2_relu', 'conv_pw_5_relu', 'conv_pw_9_relu', 'conv_pw_13_relu'], channels: 8});
"""),
('markdown', """
Channels of the last convolution block ranked by mean activation, strongest first, and the strongest one
upsampled and overlaid on the photo:
"""),
('code', """
const deep = await cnnvis.featureMaps(model, 'cat_dog.png', {layer: 'conv_pw_13_relu', channels: 16, sort: 'mean'});
console.log(`strongest channels: ${deep.ranking.slice(0, 5).join(', ')}`);
const top = new cnnvis.ImageResult(deep.meta, deep.overlay(), `channel ${deep.topChannel} of conv_pw_13_relu over the photo`).show();
"""),
('markdown', """
## Filters (卷积核)

The first layer's kernels can be looked at directly: each 3×3×3 kernel is drawn as a tiny RGB picture,
normalized per filter. Deeper kernels have many input channels; they are drawn per input channel in gray
(one row per filter, one column per input channel).
"""),
('code', """
const first = await cnnvis.filters(model, {layer: 'conv1'});
"""),
('code', """
const deeper = await cnnvis.filters(model, {layer: 'conv_pw_1', filters: 8, inputChannels: 12});
"""),
]

NOTEBOOKS = {'01-anatomy-and-feature-maps.ipynb': ANATOMY}

if __name__ == '__main__':
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'notebooks')
    for name, cells in NOTEBOOKS.items():
        if len(sys.argv) > 1 and name not in sys.argv[1:]:
            continue
        with open(os.path.join(here, name), 'w') as f:
            json.dump(nb(cells), f, indent=1, ensure_ascii=False)
            f.write('\n')
        print('wrote', name)
