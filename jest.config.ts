import type { Config } from 'jest';

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
