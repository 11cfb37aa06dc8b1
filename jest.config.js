/** Jest runs the TypeScript tests in tests/ against kernel/src (type-checked separately by `npm run typecheck`). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: '<rootDir>/tests/tsconfig.json' }],
  },
  testTimeout: 120000,
  maxWorkers: 2,
};
