import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const testOnlyImports = ['vitest', 'fast-check'].map((name) => ({
  name,
  message: 'tests live under test/, not src/',
}));

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'logs/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  {
    // src/ is the product; tests live under test/.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: testOnlyImports }],
    },
  },
  {
    // The domain is pure: it may not reach into any other layer of ours.
    files: ['src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: testOnlyImports,
          patterns: [
            {
              group: ['../*', '!../domain/*'],
              message: 'src/domain imports nothing of ours outside src/domain',
            },
          ],
        },
      ],
    },
  },
  {
    // HTTP routes and Nostr service actions read and change data through the modules' services
    // and read models, never by building queries themselves.
    files: ['src/http/**/*.ts', 'src/nostr/handlers/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name='db']",
          message:
            'http and nostr handlers do not query the database: use the module’s service or read model',
        },
      ],
    },
  },
  {
    // A route file serves its own group: what several groups share lives outside routes/.
    files: ['src/http/routes/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: testOnlyImports,
          patterns: [
            { group: ['./*'], message: 'route files do not import each other: share through src/http/' },
          ],
        },
      ],
    },
  },
);
