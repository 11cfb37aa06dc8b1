#!/usr/bin/env node
/** Writes docs/demo-features.png for the README: the demo model on scene:7 (feature maps, filters, Grad-CAM). */
'use strict';
const fs = require('fs');
const path = require('path');
const c = require('../kernel/dist/index.js');
const { hconcat, scaleNearest, vconcat } = require('../kernel/dist/render/compose.js');
const { textImage } = require('../kernel/dist/render/text.js');

(async () => {
  const model = await c.loadModel('demo');
  const image = 'scene:7';
  const fm = await c.featureMaps(model, image, { layer: 'block1_conv2', channels: 12, nrow: 4, scale: 2, display: false });
  const deep = await c.featureMaps(model, image, { layer: 'block3_conv2', channels: 16, sort: 'mean', scale: 4, display: false });
  const cam = await c.gradCam(model, image, { display: false });
  const filt = await c.filters(model, { layer: 'block1_conv1', scale: 8, display: false });
  const white = [255, 255, 255, 255];
  const titled = (title, img) => vconcat([textImage(title, { width: img.width, background: white, padding: 3 }), img], 0, { background: white });
  const left = vconcat([titled('feature maps: block1_conv2', fm.image()), titled('first-layer filters', filt.image())], 8, { background: white });
  const right = vconcat([titled(`Grad-CAM: ${cam.target.label}`, scaleNearest(cam.image(), 3)), titled('strongest channels of block3_conv2', deep.image())], 8, { background: white });
  const out = path.resolve(__dirname, '../docs/demo-features.png');
  fs.writeFileSync(out, c.encodePng(hconcat([left, right], 16, { background: white })));
  console.log(`wrote ${out}: ${cam.text()}`);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
