import type { Config } from 'jest';

// Every borrowed socket read is poisoned once its reader returns (core's net/read-buffers.ts), so
// a body byte kept without being copied out of a shared buffer fails a test instead of passing.
process.env['STRAND_DEBUG_POISON_READS'] ??= '1';

const moduleNameMapper = {
  '^@strand/(core|client|testing)$': '<rootDir>/../$1/src/index.ts',
  '^(\\.{1,2}/.*)\\.js$': '$1',
};

function project(name: string): Config {
  return {
    displayName: name,
    rootDir: `packages/${name}`,
    testEnvironment: 'node',
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    moduleNameMapper,
    transform: {
      '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/../../tsconfig.test.json' }],
    },
  };
}

const config: Config = {
  projects: ['core', 'client', 'testing'].map(project),
  testTimeout: 15000,
};

export default config;
