// Two tiers, one transform. `npx jest` runs both; `npm run test:unit` runs the unit tier alone.
//  - unit: src/**/*.spec.ts. Logic in this process with hand-written fakes: no database, no
//    servers or network (S3, Redis, an upstream), no worker threads or child processes, no files
//    written (fixtures in test/fixtures may be read). It needs no migrated database, so it has no
//    global setup; it runs in seconds.
//  - integration: src/**/*.int-spec.ts (a repository on a real database, a driver against a real
//    server or disk, worker threads), test/**/*.spec.ts and test/**/*.e2e-spec.ts (the app over HTTP).
const shared = {
  testEnvironment: 'node',
  moduleFileExtensions: ['ts', 'js', 'mjs', 'cjs', 'json'],
  transform: {
    '^.+\\.(t|j|mj|cj)s$': [
      '@swc/jest',
      {
        jsc: {
          target: 'es2023',
          parser: { syntax: 'typescript', decorators: true, dynamicImport: true },
          transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
          keepClassNames: true,
        },
        module: { type: 'commonjs' },
      },
    ],
  },
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs/[^/]+|file-type|strtok3|token-types|@tokenizer|@borewit|uint8array-extras|content-disposition|cookie|@electric-sql|pdf-parse|pdfjs-dist|@prisma/client|uuid)/)',
  ],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
};

/** @type {import('jest').Config} */
export default {
  // Both global: jest reads them from the root config only.
  testTimeout: 30_000,
  workerIdleMemoryLimit: '1500MB',
  projects: [
    { ...shared, displayName: 'unit', roots: ['<rootDir>/src'], testMatch: ['**/*.spec.ts'] },
    {
      ...shared,
      displayName: 'integration',
      roots: ['<rootDir>/src', '<rootDir>/test'],
      testMatch: ['**/*.int-spec.ts', '<rootDir>/test/**/*.spec.ts', '**/*.e2e-spec.ts'],
      // Migrates once per run (a PGlite snapshot, a PostgreSQL template); only when this tier runs.
      globalSetup: '<rootDir>/test/support/global-setup.ts',
    },
  ],
};
