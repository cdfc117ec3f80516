// @ts-check
/**
 * ESLint for the whole workspace (flat config): ESLint's recommended rules and
 * typescript-eslint's recommended type-checked rules, with types from each package's own
 * tsconfig.json through the project service. `pnpm test` runs it (scripts/test-all.mjs) and
 * fails when anything is reported; `pnpm lint` runs it alone.
 */
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const nodeGlobals = Object.fromEntries(
  ['console', 'process', 'URL', 'Buffer', 'setTimeout', 'clearTimeout', 'performance', 'structuredClone', 'queueMicrotask'].map((name) => [name, 'readonly']),
);

export default defineConfig(
  {
    name: 'veridian/ignored',
    ignores: ['**/node_modules/**', '**/dist/**', '**/reports/**', 'docs/**', '**/coverage/**', '**/*.d.ts'],
  },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    name: 'veridian/typed',
    languageOptions: {
      parserOptions: {
        projectService: {
          // Files outside every package's tsconfig.json (the root's tests and configs) get a default project.
          allowDefaultProject: ['*.js', '*.ts', 'tests/*.ts', 'tests/support/*.ts', 'scripts/*.mjs'],
          defaultProject: 'tsconfig.base.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
      globals: nodeGlobals,
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Typed-array reads (`bytes[i]!`) and map lookups right after a `has` are asserted on purpose.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // With noUncheckedIndexedAccess off those `!` are not needed by the types, but they mark
      // reads that could be out of range on purpose (and keep the code ready for the flag).
      '@typescript-eslint/no-unnecessary-type-assertion': 'off',
      // `_name` marks a parameter a signature needs but the body does not use (tsc's noUnusedParameters agrees).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Template literals of numbers and bigints are how this codebase formats hex and sizes.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: false }],
      // Fire-and-forget promises must be marked, so a lost rejection is a decision, not an accident.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: true }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // `let x; spawn(() => use(x)); x = …` is how tests refer to a process that is created later.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  {
    name: 'veridian/plain-js',
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
  },
);
