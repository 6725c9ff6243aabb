// Lint rules for the web app (this folder) and, through ../tests/eslint.config.js, for the Node
// tests. `npm run lint` runs ESLint on both and the TypeScript checker on both.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import { defineConfig, globalIgnores } from 'eslint/config';

/** Rules that hold everywhere. @type {import('eslint').Linter.Config} */
const common = {
  rules: {
    eqeqeq: ['error', 'always', { null: 'ignore' }],
    'no-console': ['error', { allow: ['warn', 'error'] }],
  },
  // A disable comment that no longer disables anything is an error, so none outlives its reason.
  linterOptions: { reportUnusedDisableDirectives: 'error' },
};

export default defineConfig([
  globalIgnores(['dist/', 'node_modules/']),
  {
    files: ['**/*.{ts,tsx,js,mjs}'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: {
          // Build and lint configuration: Node code, type-checked by tsconfig.node.json.
          allowDefaultProject: ['*.config.ts', '*.config.js'],
          defaultProject: 'tsconfig.node.json',
        },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    ...common,
    rules: {
      ...common.rules,
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      // yjs defines YText.prototype.toString (the text), but its type declarations leave it out.
      '@typescript-eslint/no-base-to-string': ['error', { ignoredTypeNames: ['Error', 'RegExp', 'URL', 'URLSearchParams', 'YText'] }],
    },
  },
  {
    // The JavaScript sandbox runs the candidate's program (through the Function constructor, on
    // purpose) and prints its values as the language does: String(value) is the specification here.
    files: ['src/run/sandbox-js.worker.ts'],
    rules: {
      '@typescript-eslint/no-implied-eval': 'off',
      '@typescript-eslint/no-base-to-string': 'off',
      // process.exit() unwinds the program with a signal that is deliberately not an Error, so the
      // program's own `catch (e) { if (e instanceof Error) ... }` does not swallow it.
      '@typescript-eslint/only-throw-error': ['error', { allow: [{ from: 'file', name: 'ExitSignal' }] }],
    },
  },
  {
    files: ['src/**/*.{ts,tsx}'],
    extends: [reactHooks.configs.flat.recommended],
    languageOptions: { globals: globals.browser },
    rules: {
      'react-hooks/exhaustive-deps': 'error',
      // One React Compiler check is not on yet: state set from effects. What it still flags (about
      // 25 places) is a live document or socket opened in an effect whose handle becomes state,
      // or state brought in line with new data; each wants restructuring of its own.
      'react-hooks/set-state-in-effect': 'off',
    },
  },
  {
    files: ['*.config.{ts,js}'],
    languageOptions: { globals: globals.node },
  },
]);

/** The Node tests: plain JavaScript checked by tests/tsconfig.json (allowJs + checkJs). */
export const testsConfig = defineConfig([
  // eslint.config.js there only re-exports this; tsc checks it.
  globalIgnores(['node_modules/', 'eslint.config.js']),
  {
    files: ['**/*.{js,mjs}'],
    extends: [js.configs.recommended],
    languageOptions: {
      // Node, and the browser: functions passed to page.evaluate() run in the page.
      globals: { ...globals.node, ...globals.browser },
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: new URL('../tests/', import.meta.url).pathname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    ...common,
    rules: {
      ...common.rules,
      'no-console': 'off',
      'no-unused-vars': ['error', { argsIgnorePattern: '^_', caughtErrors: 'none' }],
      // A test that forgets to await an assertion passes whatever happens.
      // node:test runs top-level tests without an await (and reports their failures itself).
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['test', 'it', 'describe', 'suite'] }] }],
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
]);
