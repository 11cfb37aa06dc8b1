// Seeds a fresh model cache (CNNVIS_HOME) from ../shared/data, exactly as a user's downloaded copies
// would be found: one folder per named model (linked, not copied) and Keras' class index in data/.
const fs = require('fs');
const os = require('os');
const path = require('path');

module.exports = async () => {
  const shared = process.env.CNNVIS_SHARED || path.resolve(__dirname, '../../../shared');
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'cnnvis-test-home-'));
  fs.mkdirSync(path.join(home, 'models'));
  fs.mkdirSync(path.join(home, 'data'));
  const models = path.join(shared, 'data', 'models');
  for (const name of ['mobilenet_v1_0.25_224', 'mobilenet_v1_0.75_224']) {
    if (fs.existsSync(path.join(models, name))) fs.symlinkSync(path.join(models, name), path.join(home, 'models', name));
  }
  const labels = path.join(shared, 'data', 'imagenet_classes.json');
  if (fs.existsSync(labels)) fs.symlinkSync(labels, path.join(home, 'data', 'imagenet_class_index.json'));
  process.env.CNNVIS_SHARED = shared;
  process.env.CNNVIS_HOME = home;
  process.env.CNNVIS_DATA = path.join(shared, 'data', 'images');
  // Tests never reach the network; a missing file must fail fast and clearly.
  process.env.CNNVIS_OFFLINE = '1';
  globalThis.__CNNVIS_TEST_HOME__ = home;
};
