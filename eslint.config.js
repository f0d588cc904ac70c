import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const SCHEMA_FROM_MIGRATIONS = { selector: "Property[key.name='synchronize'][value.value=true]", message: 'Schema changes come from migrations only.' };

/** Production code never reaches the fake Atlassian (it mints tokens without a login): only the testing entry does. */
const TEST_CODE = {
  group: ['**/test/**', '**/testing/**', '**/testing/index.js', '**/testing', '@nestjs/testing'],
  message: 'Test code (the fake Atlassian, src/integrations/jira/testing) stays out of production code paths.',
};

/*
 * The module (src/integrations/jira/, the jira-connect package) is self-contained: it imports packages
 * and its own files, never the standalone server (config/, teams/, common/, ... under src/, or
 * migrations/ and test/ at the root); the server imports the module, not the reverse. A relative
 * import leaves the module when it climbs more folders than its file is deep in the module, so each
 * depth gets its own pattern (files deeper than MODULE_MAX_DEPTH fail scripts/lint-boundary.spec.ts).
 */
const MODULE = 'src/integrations/jira';
const MODULE_MAX_DEPTH = 6;
const leavesModule = (depth) => ({
  regex: `^(\\./)?(\\.\\./){${depth}}\\.\\.(/|$)`,
  message: 'The Jira module must not import the standalone server (or anything outside src/integrations/jira/): move what it needs into the module.',
});
const moduleBoundary = Array.from({ length: MODULE_MAX_DEPTH + 1 }, (_, depth) => {
  const files = [`${MODULE}/${'*/'.repeat(depth)}*.ts`];
  return [
    // Specs and the testing entry: the boundary alone.
    { files, rules: { 'no-restricted-imports': ['error', { patterns: [leavesModule(depth)] }] } },
    // Production files: the boundary and, as everywhere in src/ (the block above), no test code.
    {
      files,
      ignores: [`${MODULE}/testing/**`, 'src/**/*.spec.ts'],
      rules: { 'no-restricted-imports': ['error', { patterns: [leavesModule(depth), TEST_CODE] }] },
    },
  ];
}).flat();

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
  {
    files: ['src/**/*.ts'],
    ignores: ['src/integrations/jira/testing/**', 'src/**/*.spec.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [TEST_CODE] }] },
  },
  // After the block above: a later block replaces a rule's options for the files it matches, so the
  // module's production files get both pattern groups here.
  ...moduleBoundary,
);
