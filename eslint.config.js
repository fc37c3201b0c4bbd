// Lint rules, chiefly the import direction of STYLE.md: functions → use cases → adapters → foundation.
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import tseslint from 'typescript-eslint';
import { sharedLayers } from './scripts/layers.js';

// Each layer may import only from layers listed after it; `test/` and `bench/` may import anything.
const higherThan = (index) => [
  ...sharedLayers.slice(0, index).flatMap((layer) => layer.folders.map((folder) => `./shared/${folder}`)),
  './functions',
  './test',
  './bench',
  './scripts',
];

const zones = [
  ...sharedLayers.map((layer, index) => ({
    target: layer.folders.map((folder) => `./shared/${folder}`),
    from: higherThan(index),
    message: `shared/${layer.name} sits below this import: imports point downward (STYLE.md).`,
  })),
  { target: './functions', from: ['./test', './bench', './scripts'], message: 'functions must not import test code.' },
];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '.local/**', 'test-results/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { 'import-x': importX },
    settings: {
      'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { zones }],
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
      'import-x/no-default-export': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'No export * barrels (STYLE.md).' },
      ],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  {
    // Only the shared library and the functions are bound by "nothing else reads process.env".
    files: ['shared/**/*.ts', 'functions/**/*.ts'],
    ignores: ['shared/config/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through loadConfig(env) only.' },
      ],
    },
  },
  {
    // Config files are the tools' own convention.
    files: ['*.config.ts', '*.config.js', 'eslint.config.js'],
    rules: { 'import-x/no-default-export': 'off' },
  },
);
