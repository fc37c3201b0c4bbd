// Lint rules, chiefly the import direction of STYLE.md: functions → use cases → adapters → foundation.
import tseslint from 'typescript-eslint';
import { layersPlugin } from './scripts/eslint-plugin-layers.js';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'client/dist/**', '.local/**', 'test-results/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    plugins: { layers: layersPlugin },
    rules: {
      'layers/import-direction': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportAllDeclaration', message: 'No export * barrels (STYLE.md).' },
        { selector: 'ExportDefaultDeclaration', message: 'Named exports only (STYLE.md).' },
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
    rules: { 'no-restricted-syntax': 'off' },
  },
);
