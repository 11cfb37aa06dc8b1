/**
 * `npm run test:e2e`: the end-to-end tests (*.e2e.ts) in a real JupyterLab 4 front end (tests/e2e/app),
 * served by Debian's jupyterlab_server and driven in Debian's Chromium. Kept out of `npm test`.
 */
const path = require('path');
const root = path.resolve(__dirname, '..', '..');

module.exports = {
  rootDir: root,
  testEnvironment: 'node',
  roots: ['<rootDir>/tests/e2e'],
  testMatch: ['**/*.e2e.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tests/tsconfig.json' }] },
  // The same model cache and image folder as the unit tests.
  globalSetup: '<rootDir>/tests/setup/globalSetup.js',
  globalTeardown: '<rootDir>/tests/setup/globalTeardown.js',
  testTimeout: 300000,
  maxWorkers: 1,
};
