/** Jest runs the TypeScript tests in tests/ against kernel/src (type-checked separately by `npm run typecheck`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tests/tsconfig.json' }],
    // Jupyter front-end packages ship ES modules as .js; the widget view tests (jsdom) load them.
    '^.+/node_modules/@(jupyter-widgets|jupyterlab)/.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2020', esModuleInterop: true, skipLibCheck: true }, isolatedModules: true }],
  },
  transformIgnorePatterns: ['/node_modules/(?!@(jupyter-widgets|jupyterlab)/)'],
  // The front end imports the kernel's pure modules (schema, colormaps) through the package name.
  // The lab extension imports the widgets package by name: its sources, so no build of widgets/lib is needed.
  moduleNameMapper: { '^cnnvis/dist/(.*)$': '<rootDir>/kernel/src/$1', '^@cnnvis/widgets$': '<rootDir>/widgets/src' },
  globalSetup: '<rootDir>/tests/setup/globalSetup.js',
  globalTeardown: '<rootDir>/tests/setup/globalTeardown.js',
  testTimeout: 120000,
  maxWorkers: 2,
};
