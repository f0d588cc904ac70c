import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SCHEMA_FROM_MIGRATIONS = { selector: "Property[key.name='synchronize'][value.value=true]", message: 'Schema changes come from migrations only.' };

export default tseslint.config(
  { ignores: ['dist/', 'dist-bench/', 'node_modules/', 'coverage/', '.data/', '.data-sandbox/', 'bench/.out/', 'test/openapi-client/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', fetch: 'readonly', TextEncoder: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'off',
      'no-restricted-syntax': [
        'error',
        SCHEMA_FROM_MIGRATIONS,
        // Nest's ConsoleLogger prints each extra argument as an entry of its own (and takes a last string for the
        // context): one event is one argument, a string or an object with its `msg` (pino keeps it as the message).
        ...['callee.object.property.name', 'callee.object.name'].map((logger) => ({
          selector: `CallExpression[${logger}=/^logger$/i][callee.property.name=/^(log|warn|error|debug|verbose|fatal)$/][arguments.length>1]`,
          message: 'One log event, one argument: `logger.warn({ msg: \'what happened\', ...fields })`, or a single string.',
        })),
      ],
    },
  },
  // Production code never reaches the fake Atlassian (it mints tokens without a login): only the testing entry does.
  {
    files: ['src/**/*.ts'],
    ignores: ['src/integrations/jira/testing/**', 'src/**/*.spec.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{
        group: ['**/test/**', '**/testing/**', '**/testing/index.js', '**/testing', '@nestjs/testing'],
        message: 'Test code (the fake Atlassian, src/integrations/jira/testing) stays out of production code paths.',
      }] }],
    },
  },
);
