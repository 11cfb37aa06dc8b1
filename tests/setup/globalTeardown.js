const fs = require('fs');
module.exports = async () => {
  const home = globalThis.__CNNVIS_TEST_HOME__;
  if (home && home.includes('cnnvis-test-home-')) fs.rmSync(home, { recursive: true, force: true });
};
