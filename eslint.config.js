// ESLint (flat config) for the TypeScript and the launcher; run by scripts/lint.sh from `npm test`.
// Rules: ESLint's and typescript-eslint's recommended sets (syntax-level, no type information, so
// a lint of the whole tree takes seconds). `any` is an error: the addon's surface is declared in
// src/addon_types.ts, so nothing needs it. Formatting is not linted (no mass reformatting).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Everything .gitignore leaves out is built or generated (build-gpu/ by scripts/gpu_train.sh, whose
  // CMake writes compiler_depend.ts files that are not TypeScript).
  { ignores: ['dist/**', 'build/**', 'build-gpu/**', 'gpu-out/**', 'node_modules/**', 'runs/**', 'out/**', 'tmp/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.js'],
    // An eslint-disable comment that disables nothing is an error, so none outlives its reason.
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: 'module',
      globals: {
        process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly',
        clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly',
        URL: 'readonly', performance: 'readonly', NodeJS: 'readonly', queueMicrotask: 'readonly',
        structuredClone: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', AbortController: 'readonly',
        globalThis: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
);
