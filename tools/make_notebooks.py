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

# The model every ImageNet notebook loads, said in words in each notebook's introduction.
MODEL_WORDS = """The articles use VGG16. Its weights are 528 MB, so these notebooks use **MobileNet v1 (width 0.75)**
instead: an ImageNet classifier of 10 MB with the same kind of inside (convolution layers, ReLU, a global average
pooling and a 1000-class softmax) that runs in seconds on a laptop. Its layers have names such as `conv1` (the first
convolution), `conv_pw_5_relu` (the ReLU after the 5th pointwise convolution) and `conv_pw_13_relu` (the last layer
that still has a picture-like output, 7×7). To follow the articles with VGG16, load `'vgg16'` instead and use its
layer names (`block1_conv1` … `block5_conv3`)."""

LOAD = """
import * as cnnvis from 'cnnvis';
const model = await cnnvis.loadModel('mobilenet_v1_0.75_224');
"""

DISPLAY_NOTE = """A cnnvis call shows its result once: a cell that ends with the call shows it as the cell's output
(`Out[n]`); a call assigned to a name (`const fm = await …`) shows its picture too, and the name keeps the raw
numbers. `{display: false}` shows nothing."""

ANATOMY = [
('markdown', """
# 1 · Model anatomy (模型结构)

This notebook follows the first step of the classic CNN-visualization articles on a real ImageNet model: look at
the model's layers (层), their configuration and weights (权重) and how many parameters (参数) each has, then ask
it what it sees in a photo. The next notebooks open it up: feature maps (特征图, notebook 2), filters (卷积核,
notebook 3), class activation maps (类激活热力图, notebook 4), occlusion (遮挡图, notebook 5) and gradients
(显著图, notebook 6).

""" + MODEL_WORDS + """

The notebook runs on the `TypeScript (cnnvis)` kernel (`npx cnnvis install`). Models come from the cnnvis model
cache (`$CNNVIS_HOME`, default `~/.cache/cnnvis`; a missing model is downloaded once); photos are found by file
name in the folder named by `$CNNVIS_DATA`. """ + DISPLAY_NOTE + """
"""),
('code', LOAD),
('markdown', """
## The layers

`summary` shows what Keras' `model.summary()` shows: every layer, its output shape and its parameter count.
"""),
('code', """
cnnvis.summary(model)
"""),
('markdown', """
A layer's configuration and its weights, like Keras' `get_config()` and `get_weights()`. The first convolution
has 24 filters of 3×3 pixels × 3 colours, moved 2 pixels at a time:
"""),
('code', """
const config = cnnvis.layerConfig(model, 'conv1');
const weights = cnnvis.layerWeights(model, 'conv1');
console.log(`filters ${config.filters}, kernel ${JSON.stringify(config.kernel_size)}, strides ${JSON.stringify(config.strides)}, padding ${config.padding}`);
console.log(weights.map(w => `${w.name}: [${w.shape.join(', ')}]`).join('\\n'));
"""),
('markdown', """
The kernel's numbers, summarized (a first-layer kernel of a trained network is centred near zero), and where
the parameters are: MobileNet keeps most of them in its late pointwise convolutions and the classifier (VGG16 in
its first fully connected layer).
"""),
('code', """
const anatomy = cnnvis.summary(model, {display: false});
const stats = cnnvis.weightStats(weights[0].values);
console.log(`conv1 kernel: ${stats.count} values, mean ${stats.mean.toFixed(3)}, spread (std) ${stats.std.toFixed(2)}, from ${stats.min.toFixed(2)} to ${stats.max.toFixed(2)}`);
console.log(`${(anatomy.totalParams / 1e6).toFixed(1)} million parameters`);
const heaviest = [...anatomy.layers].sort((a, b) => b.params - a.params).slice(0, 5);
for (const l of heaviest) console.log(`${l.name.padEnd(16)} ${l.className.padEnd(18)} ${(l.params / 1e3).toFixed(0).padStart(5)} thousand (${(100 * l.params / anatomy.totalParams).toFixed(0)} %)`);
"""),
('markdown', """
## What does it see?

`cat_dog.png` is the picture of the Grad-CAM paper: a bull mastiff and a tiger cat. The model is asked for its
top-5 classes; the probabilities come from its softmax layer. The chart is vega-lite; the table and the picture
are there for viewers without it.
"""),
('code', """
const preds = await cnnvis.predict(model, 'cat_dog.png', {top: 5})
"""),
('markdown', """
The numbers stay on the result object:
"""),
('code', """
console.log(preds.predictions.map(p => `${p.label}: ${(100 * p.probability).toFixed(0)} %`).join(', '));
"""),
('markdown', """
## What we learned

- A CNN is a stack of named layers; each convolution has a kernel of shape height × width × input channels × filters.
- Most parameters sit in the last layers, not in the early convolutions that see the pixels.
- The model's answer is a probability per class (a softmax); the photo holds two animals and the model ranks both.

**Exercises.** 1. Which layer of MobileNet has the most parameters, and why (look at its shape)? 2. Load `'vgg16'`
if you have its weights and compare the two summaries: where does VGG16 keep its parameters? 3. Ask for the top 10
classes: how many of them are dog breeds?
"""),
]

FEATURES = [
('markdown', """
# 2 · Feature maps (特征图)

What do the intermediate layers compute? Each convolution layer turns its input into a stack of **feature maps**
(特征图), one per channel (通道). This notebook looks at them for the photo of notebook 1: one layer's channels as a
grid, the layers from low to high side by side, and the channels ranked by how strongly they respond, the
strongest one over the photo.

The model is MobileNet v1 0.75, as in notebook 1 (the articles' VGG16 is 528 MB; with its weights, load `'vgg16'`
and use its layer names).
"""),
('code', LOAD),
('markdown', """
## One layer's channels

Each channel of a convolution layer is one feature detector slid over the whole image; its output is a map of
where it responded. The first layers respond to edges and colours, deeper ones to textures and parts. Here are
the 24 channels of the first convolution after its ReLU (each tile normalized on its own):
"""),
('code', """
await cnnvis.featureMaps(model, 'cat_dog.png', {layer: 'conv1_relu'})
"""),
('markdown', """
Layer outputs from low to high, the first 8 channels of each (the top row is the input): the maps get smaller
(112 → 7 pixels a side) and more abstract, because each deeper position sees a larger part of the photo (its
receptive field, 感受野).
"""),
('code', """
await cnnvis.layerOutputs(model, 'cat_dog.png', {layers: ['conv1_relu', 'conv_pw_2_relu', 'conv_pw_5_relu', 'conv_pw_9_relu', 'conv_pw_13_relu'], channels: 8})
"""),
('markdown', """
Channels of the last convolution block ranked by mean activation, strongest first, and the strongest one
upsampled and laid over the photo:
"""),
('code', """
const deep = await cnnvis.featureMaps(model, 'cat_dog.png', {layer: 'conv_pw_13_relu', channels: 16, sort: 'mean'});
console.log(`strongest channels: ${deep.ranking.slice(0, 5).join(', ')}`);
new cnnvis.ImageResult(deep.meta, deep.overlay(), `channel ${deep.topChannel} of conv_pw_13_relu over the photo`)
"""),
('markdown', """
## What we learned

- A feature map is one channel's response at every position; a layer has as many as it has filters.
- Early layers keep the picture's detail (edges, colours); late layers are small (7×7) and respond to parts of objects.
- Ranking channels by their mean activation finds the ones this photo excites most.

**Exercises.** 1. Show `conv_pw_5_relu` with `{channels: 32}`: which channels look like edge detectors, which like
textures? 2. Run the last cell on another photo from `$CNNVIS_DATA`: is the strongest channel the same? 3. Sort by
`'max'` instead of `'mean'` and compare the rankings.
"""),
]

FILTERS = [
('markdown', """
# 3 · Filters (卷积核) and activation maximization (激活最大化)

A filter (卷积核, also called a kernel) is a small stack of weights slid over its input. The first layer's filters
see RGB pixels and can be looked at directly. Deeper kernels mix hundreds of channels and are hard to read as
numbers, so the articles ask a different question: *what input does a filter respond to most?*
**Activation maximization** (激活最大化; Erhan et al. 2009; Olah et al. 2017, "Feature Visualization") starts from
noise and follows the gradient (梯度) of the filter's mean activation with respect to the image, uphill.

Done naively, the result is high-frequency noise that the filter happens to like. Three things make it readable,
and this notebook shows each:
- a **Fourier parameterization with decorrelated colour**: the optimizer works on the image's spectrum, scaled by
  1/frequency, and on decorrelated colour channels;
- **transforms**: small random jitter, scaling and rotation at every step, so only robust patterns survive;
- **regularizers** (正则项): L2, total variation and blur penalties.

This notebook uses the smallest MobileNet, `mobilenet_v1_0.25_224` (4 times fewer channels than the others):
activation maximization runs hundreds of forward and backward passes, and this keeps them to a few minutes on a
laptop CPU.
"""),
('code', """
import * as cnnvis from 'cnnvis';
const model = await cnnvis.loadModel('mobilenet_v1_0.25_224');
"""),
('markdown', """
## First-layer kernels

Each 3×3×3 kernel of the first layer is drawn as a tiny RGB picture, normalized per filter. Deeper kernels have
many input channels; they are drawn per input channel in gray (one row per filter, one column per input channel).
"""),
('code', """
await cnnvis.filters(model, {layer: 'conv1'})
"""),
('code', """
await cnnvis.filters(model, {layer: 'conv_pw_1', filters: 8, inputChannels: 8})
"""),
('markdown', """
The deeper kernels are 1×1 (pointwise): each tile is a single weight, so the picture is a table of how much each
filter takes from each input channel. Numbers of this kind do not say what the filter *looks for* — hence the next part.

## Filter patterns across depth

Eight channels each of a low, a middle and a high layer. Low layers respond to colours and edges, middle layers
to textures, high layers to parts of objects.
"""),
('code', """
await cnnvis.filterPatterns(model, 'conv_pw_2_relu', {channels: 8, steps: 48, size: 96})
"""),
('code', """
await cnnvis.filterPatterns(model, 'conv_pw_6_relu', {channels: 8, steps: 48, size: 96})
"""),
('code', """
await cnnvis.filterPatterns(model, 'conv_pw_11_relu', {channels: 8, steps: 48, size: 96})
"""),
('markdown', """
## A class visualization

The same ascent on a class score (the logit, before softmax): what does the model find most "flamingo"
(class 130)? The chart shows the objective per step.
"""),
('code', """
await cnnvis.maximize(model, {classIndex: 130}, {steps: 64, size: 128})
"""),
('markdown', """
## Why the tricks matter

One channel, same seed and same number of steps: plain pixels with no transforms and no regularizers, then the
Fourier parameterization with transforms and a total-variation penalty. The first reaches a higher objective on
its own terms but looks like noise; the second is a pattern a person can read.
"""),
('code', """
const naive = await cnnvis.maximize(model, 'conv_pw_6_relu:5', {steps: 48, size: 96, param: 'pixel', transforms: 'none', decorrelate: false});
"""),
('code', """
const readable = await cnnvis.maximize(model, 'conv_pw_6_relu:5', {steps: 48, size: 96, param: 'fourier', transforms: 'standard', regularizers: {tv: 0.05}});
console.log(`objective reached: naive ${naive.finalValue.toFixed(1)}, readable ${readable.finalValue.toFixed(1)}`);
"""),
('markdown', """
## What we learned

- First-layer filters are small colour and edge detectors that can be read directly; deeper ones cannot.
- Activation maximization shows what a filter (or a class) responds to by optimizing the input instead of the weights.
- Without a good parameterization, transforms and regularizers the optimum is noise: a higher score is not a better picture.

**Exercises.** 1. Visualize 8 channels of `conv_pw_13_relu`: are they more object-like than `conv_pw_11_relu`?
2. Maximize another class (e.g. 1, goldfish, or 949, strawberry) with more steps (`steps: 128`). 3. Run the
readable pattern with `transforms: 'none'`: which of the three tricks matters most?
"""),
]

CAMS = [
('markdown', """
# 4 · Class activation maps (类激活热力图)

Which part of the picture made the model say "dog"? Class activation maps (CAM, 类激活热力图) answer with a heatmap
over the image. They all take the activation **A** of a late convolution layer (a stack of 7×7 feature maps here),
weight its channels, sum them and keep the positive part; they differ only in how the channel weights are found.

- **CAM** (Zhou et al. 2016): for networks that end in global average pooling (全局平均池化) and one dense layer,
  the weights are the dense layer's weights of the class.
- **Grad-CAM** (Selvaraju et al. 2017): the weights are the gradients (梯度) of the class score with respect to A,
  averaged over each channel. On a global-average-pooling + dense network this is exactly CAM.
- **Grad-CAM++** (Chattopadhyay et al. 2018): weights positive gradients per position, which helps when several
  objects of the class are present.
- **XGrad-CAM**, **LayerCAM**, **HiResCAM**: other weightings of gradients and activations.
- **Eigen-CAM** uses no class at all: the first principal component of A.
- **Score-CAM** (Wang et al. 2020) uses no gradients: each channel, upsampled, masks the input, and the class
  probability of the masked picture is the channel's weight.

The score explained is the class *logit* (before softmax), as keras-vis and tf-keras-vis do. The model is
MobileNet v1 0.75 (notebook 1 says why not VGG16); it ends with global average pooling and one dense layer, so
plain CAM works on it.
"""),
('code', LOAD),
('code', """
await cnnvis.predict(model, 'cat_dog.png', {top: 3})
"""),
('markdown', """
## Grad-CAM for the dog and for the cat

The model's top class is the bull mastiff; the tiger cat comes second. A class-discriminative method shows
different evidence for each: the dog's head for one, the cat for the other.
"""),
('code', """
const dog = await cnnvis.gradCam(model, 'cat_dog.png', {label: 'bull_mastiff'});
"""),
('code', """
const cat = await cnnvis.gradCam(model, 'cat_dog.png', {label: 'tiger cat'});
const at = (p: {x: number, y: number}) => `(${p.x}, ${p.y})`;
console.log(`strongest point: dog at ${at(dog.peak())}, cat at ${at(cat.peak())} (pixels, from the top left of the 224×224 picture)`);
"""),
('markdown', """
## The rest of the family, for the dog

All of them run on the same layer, the last one with a spatial output, found automatically (`conv_pw_13_relu`).
"""),
('code', """
await cnnvis.gradCamPlusPlus(model, 'cat_dog.png', {label: 'bull_mastiff'})
"""),
('code', """
const original = await cnnvis.cam(model, 'cat_dog.png', {label: 'bull_mastiff'});
// On a global-average-pooling + dense head, CAM and Grad-CAM are the same map:
let maxDiff = 0;
for (let i = 0; i < dog.map.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(dog.map.data[i] - original.map.data[i]));
console.log(maxDiff < 1e-4 ? 'CAM and Grad-CAM: the same map (they differ by less than 0.0001)' : `CAM and Grad-CAM differ by up to ${maxDiff.toFixed(3)}`);
"""),
('code', """
for (const f of [cnnvis.xGradCam, cnnvis.layerCam, cnnvis.hiResCam, cnnvis.eigenCam]) {
  await f(model, 'cat_dog.png', {label: 'bull_mastiff'});
}
"""),
('markdown', """
Score-CAM needs one forward pass per channel; `topN` keeps only the 64 channels with the largest variance.
"""),
('code', """
await cnnvis.scoreCam(model, 'cat_dog.png', {label: 'bull_mastiff', topN: 64})
"""),
('markdown', """
**Why do these pictures look alike?** On this photo six of the methods draw nearly the same blob on the dog's
head, and that is expected, not a bug. They all weight the same 7×7 activation of the same layer; on a network
that ends in global average pooling and one dense layer the gradient of the class score is the same at every
position, so CAM, Grad-CAM, XGrad-CAM and HiResCAM reduce to the same weighted sum, and Grad-CAM++ and LayerCAM
differ from it only by leaving out the channels whose weight is negative. The bull mastiff is one large object that dominates the
strongest channels, so even class-agnostic Eigen-CAM finds it. Finally, a 7×7 map upsampled to 224×224 hides
small differences. The methods part ways on other photos: several objects of one class (Grad-CAM++), an earlier
layer with more detail (LayerCAM at `conv_pw_11_relu`), or a second class (Eigen-CAM draws the same map for every
class: here it spreads over the cat too, but it cannot single the cat out).

## The overlay recipe

The articles' recipe: normalize the map to [0, 1], upsample it to the image size (bilinear), colour it with
`jet` and blend it over the photo. The result object keeps the raw map (`.map`, 224×224 values in [0, 1], and
`.lowRes`, the 7×7 map before upsampling) so other recipes are one call away:
"""),
('code', """
console.log(`7×7 map, first row: ${Array.from(dog.lowRes.data, v => v.toFixed(2)).slice(0, 7).join(' ')}`);
new cnnvis.ImageResult(dog.meta, dog.overlay({alpha: 0.35, colormap: 'viridis'}), 'Grad-CAM of the dog, viridis at 35 %')
"""),
('markdown', """
## What we learned

- A class activation map weights the channels of a late layer and keeps the positive part; the methods differ
  only in the weights.
- Grad-CAM is class-discriminative: the dog and the cat get different maps from the same photo.
- On a global-average-pooling network most CAM variants agree; agreement is a property of the network and the
  photo, not proof that a map is right (notebook 6 tests that).

**Exercises.** 1. Run Grad-CAM for the cat at `conv_pw_11_relu` (`{layer: 'conv_pw_11_relu'}`): sharper or noisier?
2. Compare Eigen-CAM for the dog and for the cat: why are they the same? 3. Use `topN: 16` in Score-CAM and
compare the time and the map.
"""),
]

OCCLUSION = [
('markdown', """
# 5 · Occlusion (遮挡图)

Which part of the picture does the model need? **Occlusion** (Zeiler & Fergus 2014) answers with forward passes
only: slide a gray patch over the image and watch the class probability. Where covering the picture makes the
probability drop, the model was looking. The map of those drops is the **occlusion map** (遮挡图), also called a
sensitivity map. It needs no gradients and no access to the model's inside, but one forward pass per patch position.

The model is MobileNet v1 0.75 (notebook 1 says why not the articles' VGG16); the picture is `cat_dog.png`.
"""),
('code', LOAD),
('markdown', """
## Occlusion sensitivity

A 32×32 gray patch, moved 16 pixels at a time (169 forward passes, run in batches). The map is the drop in the
bull mastiff's probability when each region is covered.
"""),
('code', """
const occ = await cnnvis.occlusion(model, 'cat_dog.png', {label: 'bull_mastiff', patchSize: 32, stride: 16, fill: 'gray'});
"""),
('markdown', """
The article's next step: keep only the regions whose occlusion hurts most (at least half of the largest drop)
and show the picture through that mask.
"""),
('code', """
const masked = cnnvis.occlusionMask(occ, {threshold: 0.5});
console.log(`kept ${(100 * masked.kept).toFixed(0)} % of the pixels`);
cnnvis.display(new cnnvis.ImageResult(occ.meta, cnnvis.applyColormap(masked.mask, 'gray'), 'the thresholded mask (white: kept)'));
new cnnvis.ImageResult(occ.meta, cnnvis.toRGBA(masked.image), 'the picture through the occlusion mask')
"""),
('markdown', """
## What we learned

- Occlusion asks the model directly: cover a region, measure how much the class probability falls.
- It needs only forward passes, so it works on any model, at the price of one pass per patch position.
- The patch size sets the detail: a 32-pixel patch cannot show anything smaller than itself.

**Exercises.** 1. Run occlusion for the tiger cat: does the map move to the cat? 2. Try `patchSize: 16, stride: 8`
(4 times more passes): what do you gain? 3. Use `fill: 'black'` instead of gray: does the colour of the patch
change the map, and why might it?
"""),
]

GRADIENTS = [
('markdown', """
# 6 · Gradient maps (显著图) and a sanity check (合理性检验)

Occlusion (notebook 5) needs one forward pass per patch. **Gradient maps** (显著图, saliency maps) ask the model
directly, with one backward pass (反向传播): how much would the class score change if this pixel changed?
- **Saliency** (Simonyan et al. 2014): the gradient (梯度) of the class score with respect to the input pixels
  (largest absolute value over the colour channels).
- **Gradient × input**: the gradient times the pixel values.
- **Guided backpropagation** (导向反向传播, Springenberg et al. 2015): on the way back, a ReLU passes a gradient
  only where its input was positive *and* the gradient is positive — sharp, edge-like pictures.
- **Deconvnet** (反卷积网络, Zeiler & Fergus 2014): the backward ReLU passes only positive gradients, whatever
  the forward input was. It can project a single feature map back to pixels.
- **SmoothGrad** (Smilkov et al. 2017): the average saliency over noisy copies of the image.
- **Integrated Gradients** (积分梯度, Sundararajan et al. 2017): gradients along a straight path from a black
  image to the photo; they add up to the score difference (completeness).
- **Guided Grad-CAM** (Selvaraju et al. 2017): guided backpropagation times the Grad-CAM map, fine detail and
  class focus together.

Then the sanity check of Adebayo et al. (2018) tells which of these pictures depend on what the model learned.
The model is MobileNet v1 0.75 (notebook 1 says why not the articles' VGG16).
"""),
('code', LOAD),
('markdown', """
## Gradient maps, side by side
"""),
('code', """
await cnnvis.saliency(model, 'cat_dog.png', {label: 'bull_mastiff'})
"""),
('code', """
await cnnvis.gradientXInput(model, 'cat_dog.png', {label: 'bull_mastiff'})
"""),
('code', """
await cnnvis.guidedBackprop(model, 'cat_dog.png', {label: 'bull_mastiff'})
"""),
('code', """
await cnnvis.deconvnet(model, 'cat_dog.png', {label: 'bull_mastiff'})
"""),
('markdown', """
Guided backpropagation and deconvnet look much alike here: both keep only positive gradients at every ReLU, and
the pictures are dominated by the photo's strong edges (fur, the cat's stripes) rather than by the class. That
is the point of the sanity check at the end of this notebook.

The deconvnet paper projects single feature maps back to pixels. Here: channel 3 of a middle layer.
"""),
('code', """
await cnnvis.deconvnet(model, 'cat_dog.png', {target: 'conv_pw_5_relu:3'})
"""),
('code', """
await cnnvis.smoothGrad(model, 'cat_dog.png', {label: 'bull_mastiff', samples: 16, sigma: 0.15})
"""),
('code', """
const ig = await cnnvis.integratedGradients(model, 'cat_dog.png', {label: 'bull_mastiff', steps: 32});
const gap = Number(ig.details['S(x)']) - Number(ig.details['S(baseline)']);
console.log(`completeness: the attributions add up to ${Number(ig.details.sum).toFixed(2)}; the score rose by ${gap.toFixed(2)} from the black image to the photo ` +
  `(${(100 * Math.abs(Number(ig.details.delta)) / Math.abs(gap)).toFixed(0)} % apart at 32 steps; more steps close the gap)`);
"""),
('code', """
await cnnvis.guidedGradCam(model, 'cat_dog.png', {label: 'bull_mastiff'})
"""),
('markdown', """
## A sanity check (Adebayo et al. 2018)

A good explanation should depend on what the model learned. Randomize the top layers one by one and compare each
map with the trained model's map (Spearman rank correlation ρ: 1 = same ranking of pixels, 0 = unrelated):
Grad-CAM falls apart, as it should; guided backpropagation barely changes — it mostly shows edges of the image,
whatever the weights.
"""),
('code', """
const layers = cnnvis.evaluation.layersFromTop(model).slice(0, 3);
const forGradCam = await cnnvis.evaluation.cascadingRandomization(model, m => cnnvis.gradCam(m, 'cat_dog.png', {classIndex: 243, display: false}), {layers});
const forGuided = await cnnvis.evaluation.cascadingRandomization(model, m => cnnvis.guidedBackprop(m, 'cat_dog.png', {classIndex: 243, display: false}), {layers, absolute: true});
for (let i = 0; i < layers.length; i++) {
  console.log(`randomized down to ${layers[i].padEnd(16)} Grad-CAM ρ = ${forGradCam.steps[i].spearman.toFixed(2)}   guided backprop ρ = ${forGuided.steps[i].spearman.toFixed(2)}`);
}
"""),
('markdown', """
## What we learned

- A gradient map needs one backward pass: how sensitive the class score is to each pixel.
- The variants differ in what they do at each ReLU on the way back; guided backpropagation and deconvnet give
  sharp pictures that are mostly the photo's edges.
- Integrated Gradients add up to the change of the score (completeness); the sanity check shows which maps
  depend on the learned weights (Grad-CAM) and which barely do (guided backpropagation).

**Exercises.** 1. Make the same sanity check for SmoothGrad: is it closer to Grad-CAM or to guided
backpropagation? 2. Run Integrated Gradients with `steps: 128`: how close do the two numbers of the completeness
line get? 3. Compare saliency for the dog and for the tiger cat: are the two maps different?
"""),
]

LIVE = [
('markdown', """
# 7 · Live exploration

The explorers put the previous notebooks' pictures behind sliders. They run on the `TypeScript (cnnvis)` kernel
with the cnnvis JupyterLab extension installed (`npm run build -w labextension && npx cnnvis install`). The model is
MobileNet v1 0.75, as in the other notebooks.

- **CamExplorer** (类激活热力图): a class slider and a search box over all 1000 classes (the top-k first, with a chart),
  a layer picker, a method picker (the CAM family) and the overlay opacity. The forward pass of the image is kept;
  a new class or method recomputes only what it needs, and while the slider is dragged only the latest value is computed.
- **FeatureMapExplorer** (特征图): a layer slider over every layer with a spatial output, channel pages, colormap and
  normalization; hover a tile for its channel and mean activation, click to enlarge, overlay the strongest channel on
  the image.
- **FilterExplorer** (卷积核): the convolution layers' filters page by page, as weights or as activation-maximization
  patterns.
- **SaliencyExplorer** (显著图): the gradient maps with a method picker, the class picker and the overlay opacity.
- **OcclusionExplorer** (遮挡图): occlusion maps for any class, patch size and stride, and the thresholded mask.

Each explorer's output also carries a PNG of what it shows (GitHub, nbviewer and `jupyter nbconvert` show that
picture) and a snapshot (`application/vnd.cnnvis.result.v1+json`: the top classes, or a page of each layer): a
reopened notebook with the extension, and no kernel, still switches classes and layers, and `npm run export` keeps
them interactive in a self-contained HTML page.
"""),
('code', LOAD),
('code', """
await cnnvis.explore.cam(model, 'cat_dog.png')
"""),
('code', """
await cnnvis.explore.featureMaps(model, 'cat_dog.png')
"""),
('markdown', """
The filters of notebook 3 (卷积核): a layer slider over the convolution layers and pages of filters, as weights
(first layer in RGB, deeper ones one grey tile per input channel) or, on demand, as activation-maximization
patterns computed for the page shown.
"""),
('code', """
await cnnvis.explore.filters(model)
"""),
('markdown', """
The gradient family of notebook 6 (显著图), behind the same class picker: saliency, gradient × input, guided
backpropagation (导向反向传播), deconvnet, SmoothGrad, Integrated Gradients and guided Grad-CAM.
"""),
('code', """
await cnnvis.explore.saliency(model, 'cat_dog.png', {method: 'guided-backprop'})
"""),
('markdown', """
Occlusion (遮挡图, notebook 5): one run keeps every class's probability for every patch, so a class change is
free; a new patch size or stride runs again; the threshold slider redraws the mask and the masked picture.
"""),
('code', """
const occlusionExplorer = await cnnvis.explore.occlusion(model, 'cat_dog.png', {patchSize: 32, stride: 16});
"""),
('markdown', """
An explorer kept in a name can be driven from code: its controls are properties (`occlusionExplorer.threshold = 0.3`),
and it prints as one line:
"""),
('code', """
console.log(`${occlusionExplorer}`);
"""),
('markdown', """
Widgets from TypeScript: the standard ipywidgets controls are there with their Python names, and react to
changes like in Python.
"""),
('code', """
const slider = new cnnvis.widgets.IntSlider({value: 243, min: 0, max: 999, description: 'class'});
const label = new cnnvis.widgets.Label({value: model.label(243)});
slider.observe(change => { label.value = model.label(change.new as number); }, 'value');
new cnnvis.widgets.HBox([slider, label])
"""),
('markdown', """
## What we learned

- One explorer call keeps the image's forward pass and recomputes only what a control change needs.
- The same methods as notebooks 2–6, with any class, layer or method one click away.
- Outputs carry a picture and a snapshot, so the notebook still shows (and, with the extension, still explores)
  without a kernel.

**Exercises.** 1. In the CAM explorer, search for "tiger cat" and switch the method to Eigen-CAM: why does the
map not change? 2. In the feature-map explorer, find a channel of `conv_pw_13_relu` that responds to the cat only.
3. Set `occlusionExplorer.threshold` to 0.2 and 0.8 from a cell and watch the mask.
"""),
]

OWN_MODEL = [
('markdown', """
# 8 · Your own model

The notebooks so far explain ImageNet models that cnnvis knows by name. Most people come with **their own**
network: a `Sequential` model from a tutorial, a pretrained base with a new head (transfer learning, 迁移学习),
a cat-vs-dog classifier with **one sigmoid unit**, a model that rescales its own pixels, a Keras 3 `.keras`
file or a Teachable Machine export. This notebook builds such models in a few lines and shows that every cnnvis
call works on them unchanged. It uses the small demo CNN bundled with cnnvis (trained on generated shapes:
circle, square, triangle, plus, ring, diamond), so it runs in seconds and needs no download.
"""),
('code', """
import * as cnnvis from 'cnnvis';
const tf = cnnvis.tf;
const demo = await cnnvis.loadModel('demo');
console.log(`${demo.name}: ${demo.net.layers.length} layers, classes ${demo.labels!.names.join(', ')}`);
"""),
('markdown', """
## A Sequential model written in code

The TF.js and Keras tutorials write models as `tf.sequential([...])`. Here is the demo network written that way,
given the demo's trained weights. cnnvis turns any model into one graph of named layers before it looks inside,
so the Sequential model is explained exactly like the functional original. `CnnModel` attaches what the file
would otherwise say: class names and preprocessing (pixels / 255).
"""),
('code', """
const conv = (filters: number, first = false) => tf.layers.conv2d({
  ...(first ? {inputShape: [64, 64, 3]} : {}), filters, kernelSize: 3, padding: 'same', activation: 'relu'});
const seq = tf.sequential({name: 'shapes_sequential', layers: [
  conv(16, true), conv(16), tf.layers.maxPooling2d({poolSize: 2}),
  conv(32), conv(32), tf.layers.maxPooling2d({poolSize: 2}),
  conv(64), conv(64),
  tf.layers.globalAveragePooling2d({}),
  tf.layers.dense({units: 6, activation: 'softmax'}),
]});
seq.setWeights(demo.net.getWeights());
const mine = new cnnvis.CnnModel(seq, {labels: demo.labels!.names, preprocess: 'unit'});
const p1 = await cnnvis.predict(mine, 'scene:3', {top: 3, display: false});
const p0 = await cnnvis.predict(demo, 'scene:3', {top: 3, display: false});
console.log(p1.text());
console.log(`largest difference from the functional demo: ${Math.max(...p1.probabilities.map((p, i) => Math.abs(p - p0.probabilities[i]))).toExponential(1)}`);
"""),
('code', """
await cnnvis.gradCam(mine, 'scene:3')
"""),
('markdown', """
## Transfer learning: a base model inside your model, with a one-sigmoid head

In Keras one writes `base = MobileNetV2(include_top=False)`, then `x = base(inputs)` and a new head. The base
is then a single "layer" of the outer model, and most tools can no longer see inside it. cnnvis flattens it:
the base's layers appear in the summary (indented under the base, like Keras' `expand_nested`) and can be named
anywhere a layer is asked for.

The head here is **one sigmoid unit**: "is it a circle (rather than a square)?". Its weights are the difference
of the demo classifier's circle and square rows, so it works without training. A one-sigmoid model is a binary
classifier with two classes: class 1 (circle) has probability p, class 0 (square) 1 − p. Explanations of
class 1 differentiate the pre-sigmoid logit z, those of class 0 its negation −z, as the results say.
"""),
('code', """
const base = tf.model({inputs: demo.net.inputs, outputs: demo.net.getLayer('block3_conv2').output as any, name: 'shape_base'});
const image = tf.input({shape: [64, 64, 3], name: 'image'});
const features = base.apply(image) as any;
const pooled = tf.layers.globalAveragePooling2d({name: 'gap'}).apply(features);
const isCircle = tf.layers.dense({units: 1, activation: 'sigmoid', name: 'is_circle'});
const binary = tf.model({inputs: image, outputs: isCircle.apply(pooled) as any, name: 'circle_or_square'});
const [W, b] = demo.net.getLayer('predictions').getWeights();
const headWeights = tf.tidy(() => [W.slice([0, 0], [-1, 1]).sub(W.slice([0, 1], [-1, 1])), b.slice([0], [1]).sub(b.slice([1], [1]))]);
isCircle.setWeights(headWeights);
tf.dispose(headWeights);
const circleOrSquare = new cnnvis.CnnModel(binary, {labels: ['square', 'circle'], preprocess: 'unit'});
cnnvis.summary(circleOrSquare)
"""),
('markdown', """
A scene with a circle and one with a square, found among the generated demo scenes by asking the demo model:
"""),
('code', """
const scenes = Array.from({length: 40}, (_, i) => `scene:${i}`);
const truth = await Promise.all(scenes.map(s => cnnvis.predict(demo, s, {top: 1, display: false})));
const circle = scenes[truth.findIndex(t => t.predictions[0].label === 'circle')];
const square = scenes[truth.findIndex(t => t.predictions[0].label === 'square')];
console.log(`circle: ${circle}, square: ${square}`);
await cnnvis.predict(circleOrSquare, circle)
"""),
('code', """
// Grad-CAM of both classes at a layer inside the base: z for circle, −z for square.
const forCircle = await cnnvis.gradCam(circleOrSquare, circle, {label: 'circle', layer: 'block2_conv2'});
const forSquare = await cnnvis.gradCam(circleOrSquare, square, {label: 'square', layer: 'block2_conv2'});
"""),
('markdown', """
## Preprocessing that lives in the model

Keras tutorials often start the model with `Rescaling(1/255)`: the model then takes raw pixels 0–255, and scaling
them again outside would show it an almost black picture. cnnvis finds such a layer and uses no preprocessing of
its own; `summary` and the model say why.
"""),
('code', """
const raw = tf.input({shape: [64, 64, 3], name: 'pixels'});
const scaled = tf.layers.rescaling({scale: 1 / 255, name: 'rescaling'}).apply(raw);
const logits = tf.layers.dense({units: 6, activation: 'softmax', name: 'classes'});
const withRescaling = tf.model({inputs: raw, name: 'shapes_with_rescaling',
  outputs: logits.apply(tf.layers.globalAveragePooling2d({}).apply(base.apply(scaled) as any)) as any});
logits.setWeights(demo.net.getLayer('predictions').getWeights());
const selfScaling = new cnnvis.CnnModel(withRescaling, {labels: demo.labels!.names});
console.log(`preprocessing: ${selfScaling.preprocessNote}`);
await cnnvis.predict(selfScaling, circle, {top: 3})
"""),
('markdown', """
## Files

Every format people publish loads with one call; the format is read from the file's first bytes, not its name.

```ts
await cnnvis.loadModel('potato.keras');                  // Keras 3 .keras (zip: config.json + model.weights.h5)
await cnnvis.loadModel('mnist_cnn.h5');                  // Keras 2 / Keras 3 legacy HDF5 (also when named .keras)
await cnnvis.loadModel('tm_export/');                    // Teachable Machine TF.js export: labels from metadata.json,
                                                         // its [-1, 1] preprocessing
await cnnvis.loadModel('converted_keras/keras_model.h5');// Teachable Machine Keras export, labels.txt beside it
await cnnvis.loadModel('my_tfjs_model/model.json');      // TF.js layers model
await cnnvis.loadModel('any_size.keras', {size: [240, 320]});  // a model that takes any input size
```

On the command line the same files go to `--model` (`npx cnnvis explain leaf.jpg --model potato.keras --method gradcam`).

## What we learned

- cnnvis looks inside any Keras-style model: Sequential, functional, nested; inner layers keep their names.
- A one-sigmoid head is a two-class classifier; explanations of the negative class use −z.
- Preprocessing that lives in the model is honoured; the result says which preprocessing ran and why.

**Exercises.** 1. Give the transfer model a three-unit softmax head (circle, square, triangle) and compare its
Grad-CAM with the demo's. 2. Put `tf.layers.dropout` and a `Flatten` before the sigmoid head: does cnnvis still
find the sigmoid? 3. Build the Sequential model with an input of `[null, null, 3]` and explain it with
`new cnnvis.CnnModel(seq, {size: [96, 96]})`.
"""),
]

# Notebook 9's model: a PyTorch nn.Module exported to ONNX by tools/export_torch_mobilenet.py (see its text).
TORCH_LOAD = """
import * as cnnvis from 'cnnvis';
const model = await cnnvis.loadModel(`${cnnvis.cnnvisHome()}/models/pytorch/mobilenet_v1_0.25_torch.onnx`);
"""

PYTORCH = [
('markdown', """
# 9 · PyTorch models (PyTorch 模型)

The PyTorch article of this series loads torchvision's VGG16, registers **hooks** (钩子) on its modules to catch
their outputs, shows one block's feature maps (特征图) channel by channel with `make_grid`, ranks the channels by
their mean activation and lays the strongest over the photo, reads the class probabilities with a softmax, and
finally computes Grad-CAM (类激活热力图) with a forward and a backward hook. This notebook takes the same steps on
a PyTorch model in cnnvis: no hooks to write, because every module's output is a layer that can be named.

A PyTorch model reaches cnnvis as an **ONNX** file, written by `torch.onnx.export` (PyTorch's own way to hand a
model to other runtimes). With internet access, the article's model is three lines of Python:

```python
import torch, torchvision
model = torchvision.models.vgg16(weights='IMAGENET1K_V1').eval()
torch.onnx.export(model, torch.randn(1, 3, 224, 224), 'vgg16.onnx', opset_version=13)
```

and `cnnvis.loadModel('vgg16.onnx')`, with the layer names `features.0` … `features.30`. VGG16 is 528 MB, so this
notebook uses a small pretrained network exported the same way: **MobileNet v1 (width 0.25)** written as a PyTorch
`nn.Module` whose modules are named like torchvision's (`features.0` … `features.13`, `classifier`), holding the
ImageNet weights of Keras' `MobileNet(alpha=0.25)` (torchvision has no MobileNet v1). `tools/export_torch_mobilenet.py`
in the cnnvis repository builds it, copies the weights in and exports it into the model cache:

```
python3 tools/export_torch_mobilenet.py --h5 mobilenet_2_5_224_tf.h5   # Keras' MobileNet 0.25 weights file
# wrote ~/.cache/cnnvis/models/pytorch/mobilenet_v1_0.25_torch.onnx      ($CNNVIS_HOME/models/pytorch/)
```

(`npm run notebooks` and the tests run it themselves.) Like torchvision's models, it takes pictures normalized
with ImageNet's mean and standard deviation and returns **logits** (未归一化的分数), not probabilities.
"""),
('code', TORCH_LOAD),
('markdown', """
## The modules

`summary` lists the layers under PyTorch's module paths: `features.3.pw` is the pointwise convolution of block
`features[3]`, `features.3.pw_relu` its ReLU6; a module's own path (`features.3`, `features`) names its last layer.
BatchNorm (批归一化) is folded into the convolution before it, as inference runtimes do. cnnvis chose the `torch`
preprocessing (torchvision's `transforms.Normalize`) because the file is ONNX.
"""),
('code', """
cnnvis.summary(model)
"""),
('markdown', """
## One block's feature maps, like `make_grid`

The article hooks an early block and shows every channel of its output as a grid. Here is block `features.4`
(after its ReLU6: 64 channels of 28×28), each tile normalized on its own:
"""),
('code', """
await cnnvis.featureMaps(model, 'cat_dog.png', {layer: 'features.4'})
"""),
('markdown', """
## Channels ranked by mean activation

The article averages each channel over its positions (`act.mean((2, 3))`) and sorts. The 16 strongest channels,
strongest first:
"""),
('code', """
const ranked = await cnnvis.featureMaps(model, 'cat_dog.png', {layer: 'features.4', channels: 16, sort: 'mean'});
"""),
('markdown', """
The strongest channel, upsampled to the photo's size and laid over it. A channel of an early block with the
largest mean is one that responds over large areas of the photo, not a detector of one object; the deeper
blocks' channels are more selective (exercise 1).
"""),
('code', """
const top5 = ranked.ranking.slice(0, 5).map(k => `${k} (${ranked.means[k].toFixed(2)})`).join(', ');
console.log(`strongest channels of features.4 (mean activation): ${top5}`);
new cnnvis.ImageResult(ranked.meta, ranked.overlay(), `channel ${ranked.topChannel} of features.4 over the photo`)
"""),
('markdown', """
## Softmax: from logits to probabilities

The model's output is 1000 logits; the article applies `torch.softmax` to read them as probabilities (概率).
`predict` does the same and names the classes (ImageNet's, in torchvision's order):
"""),
('code', """
await cnnvis.predict(model, 'cat_dog.png', {top: 5})
"""),
('markdown', """
A small network (0.25 width, about 50 % top-1 accuracy on ImageNet) sees dog breeds in this photo and barely the
cat. Another photo from `$CNNVIS_DATA`:
"""),
('code', """
await cnnvis.predict(model, 'beagle.jpg', {top: 3})
"""),
('markdown', """
## Grad-CAM, without writing hooks

The article registers a forward hook on the last convolution block to keep its activation A and a backward hook
to keep the gradient (梯度) of the class logit with respect to A, averages the gradient of each channel into a
weight, sums the weighted channels and keeps the positive part. cnnvis does the same at the layer named; by
default the last module with a spatial output, here `features` (= `features.13.pw_relu`, 7×7×256). The score is
the logit before the softmax.
"""),
('code', """
await cnnvis.gradCam(model, 'cat_dog.png', {layer: 'features'})
"""),
('markdown', """
Grad-CAM is class-discriminative: for "tiger cat" (a class the model rates low here) it looks elsewhere.
"""),
('code', """
await cnnvis.gradCam(model, 'cat_dog.png', {layer: 'features', label: 'tiger cat'})
"""),
('markdown', """
## Guided backpropagation (导向反向传播)

The gradient of the class logit with respect to the input pixels, where every ReLU passes back only positive
gradients at positive inputs (Springenberg et al. 2015). The rule applies to the model's ReLU6 (ONNX `Clip`) as it
does to a Keras ReLU. The regular dotted pattern is the footprint of the stride-2 convolutions, common in
gradient maps of MobileNets.
"""),
('code', """
await cnnvis.guidedBackprop(model, 'cat_dog.png')
"""),
('markdown', """
## The same network from TF.js

These weights came from Keras' MobileNet 0.25, which cnnvis also has as a TF.js model (`mobilenet_v1_0.25_224`,
preprocessing [−1, 1] instead of torchvision's). The PyTorch export should give the same answer:
"""),
('code', """
const fromTfjs = await cnnvis.loadModel('mobilenet_v1_0.25_224');
const a = await cnnvis.predict(model, 'cat_dog.png', {display: false});
const b = await cnnvis.predict(fromTfjs, 'cat_dog.png', {display: false});
const pct = (p: number) => `${(100 * p).toFixed(1)} %`;
console.log(`PyTorch (ONNX): ${a.predictions[0].label} ${pct(a.predictions[0].probability)}; TF.js: ${b.predictions[0].label} ${pct(b.predictions[0].probability)}`);
console.log(`largest difference over the 1000 probabilities: ${Math.max(...a.probabilities.map((p, i) => Math.abs(p - b.probabilities[i]))).toExponential(1)}`);
"""),
('markdown', """
Both give the same top class and the same probabilities up to float rounding: the export kept the network. The
two preprocessings (torchvision's normalization, MobileNet's [−1, 1]) meet in the model's first module,
`input_scale`, a fixed 1×1 convolution that maps one to the other.

## What we learned

- `torch.onnx.export` hands a PyTorch model to cnnvis; its modules keep their paths (`features.4`, `features`) as
  layer names, so the article's hooks become a `layer` option.
- A block's feature maps, channels ranked by mean activation, the strongest over the photo, the softmax, Grad-CAM
  and guided backprop are the same calls for a PyTorch model as for a Keras or TF.js one.
- torchvision-style models return logits and expect ImageNet's mean and std; cnnvis reads both from the file type.

**Exercises.** 1. Show `features.1` and `features.12` with `{channels: 16, sort: 'mean'}`: how do the strongest
channels change with depth? 2. Run Grad-CAM at `features.11` and compare it with `features`. 3. Export
torchvision's `resnet18` (`weights='IMAGENET1K_V1'` if you have internet, random weights otherwise) and repeat the
notebook with `layer4` as the Grad-CAM layer.
"""),
]

NOTEBOOKS = {
    '01-model-anatomy.ipynb': ANATOMY,
    '02-feature-maps.ipynb': FEATURES,
    '03-filters-and-activation-maximization.ipynb': FILTERS,
    '04-class-activation-maps.ipynb': CAMS,
    '05-occlusion.ipynb': OCCLUSION,
    '06-gradients-and-sanity-check.ipynb': GRADIENTS,
    '07-live-exploration.ipynb': LIVE,
    '08-your-own-model.ipynb': OWN_MODEL,
    '09-pytorch-models.ipynb': PYTORCH,
}

if __name__ == '__main__':
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'notebooks')
    for name, cells in NOTEBOOKS.items():
        if len(sys.argv) > 1 and name not in sys.argv[1:]:
            continue
        with open(os.path.join(here, name), 'w') as f:
            json.dump(nb(cells), f, indent=1, ensure_ascii=False)
            f.write('\n')
        print('wrote', name)
