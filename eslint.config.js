// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'scripts/', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // Forgetting to await an activity (or a kill) is the classic Temporal bug.
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          // node:test's describe/it return promises the runner itself tracks.
          allowForKnownSafeCalls: [
            {
              from: 'package',
              package: 'node:test',
              name: ['describe', 'it', 'test', 'before', 'after', 'beforeEach', 'afterEach'],
            },
          ],
        },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O, no execa.
    files: ['src/workflows/**/*.ts', 'src/core/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['node:*'], message: 'Workflow/core code must not use Node built-ins.' },
            {
              group: ['execa', '@temporalio/activity', '@temporalio/worker', '@temporalio/client'],
              message: 'Not allowed in workflow/core code.',
            },
            {
              group: ['**/io/**', '**/activities/**'],
              allowTypeImports: true,
              message: 'Import activities/io as types only.',
            },
          ],
          paths: ['fs', 'path', 'child_process', 'os', 'crypto', 'http', 'https', 'net', 'process'].map(
            (name) => ({
              name,
              message: 'Workflow/core code must not use Node built-ins.',
            }),
          ),
        },
      ],
      'no-restricted-globals': ['error', 'process', 'require', '__dirname'],
    },
  },
);
