// ESLint: typescript-eslint's recommended type-checked rules, the promise rules made explicit, and
// exhaustive switches. Import boundaries are dependency-cruiser's (.dependency-cruiser.mjs) and
// test/lint/folder-cycles.mjs's; layout is Prettier's.
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const tests = ['**/*.spec.ts', '**/*-spec.ts', '**/*.contract.ts', 'test/**/*.ts'];

export default defineConfig(
  globalIgnores(['dist/', 'coverage/', 'data/', 'src/generated/', 'test/fixtures/', 'test/bench/results/']),
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      // tsconfig.json covers every .ts file in src and test; one program for all (less memory than projectService).
      parserOptions: { project: ['./tsconfig.json', './src/web/tsconfig.json'], tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      // `return await` inside try, so that the catch and finally see the rejection.
      '@typescript-eslint/return-await': ['error', 'in-try-catch'],
      // A switch with a default case handles every value; without one it must name every member of the union.
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
      // Abort reasons are passed on as they came (our aborts carry `{ kind }` objects, not Errors).
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingAny: true, allowThrowingUnknown: true }],
      // `_name` marks a parameter a signature needs, or a property left out of a rest copy.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // An async method that fulfils a Promise-returning contract (a driver, a fake) needs no await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    files: tests,
    rules: {
      // Tests read HTTP and WebSocket bodies as parsed JSON (`any`) and assert on them as they came.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Stand-ins and probes stringify whatever the server sent them; a wrong string fails the test anyway.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    // Plain JavaScript (workers loaded by path, the CLI launcher, tool configs): not in the TypeScript program.
    files: ['**/*.{js,mjs,cjs}'],
    extends: [js.configs.recommended],
    languageOptions: { globals: globals.node },
  },
  {
    // Last, so that it holds over the recommended sets above.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // We match control characters on purpose: stripping NUL and C0 from text, ANSI escapes in the CLI.
      'no-control-regex': 'off',
    },
  },
);
