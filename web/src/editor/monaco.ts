// Monaco, trimmed to what a pad needs: the core editor API, the everyday editing contributions and
// syntax highlighting (Monarch tokenizers, each loaded lazily the first time its language is used).
// No language-service workers (TypeScript's alone is ~7 MB): highlighting is enough for a pad.
import * as monaco from 'monaco-editor/editor/editor.api';

import 'monaco-editor/editor/browser/coreCommands';
import 'monaco-editor/editor/browser/widget/codeEditor/codeEditorWidget';
import 'monaco-editor/esm/vs/base/browser/ui/codicons/codicon/codicon.css';
import 'monaco-editor/esm/vs/base/browser/ui/codicons/codicon/codicon-modifiers.css';
import 'monaco-editor/editor/contrib/bracketMatching/browser/bracketMatching';
import 'monaco-editor/editor/contrib/caretOperations/browser/caretOperations';
import 'monaco-editor/editor/contrib/caretOperations/browser/transpose';
import 'monaco-editor/editor/contrib/clipboard/browser/clipboard';
import 'monaco-editor/editor/contrib/comment/browser/comment';
import 'monaco-editor/editor/contrib/contextmenu/browser/contextmenu';
import 'monaco-editor/editor/contrib/cursorUndo/browser/cursorUndo';
import 'monaco-editor/editor/contrib/dnd/browser/dnd';
import 'monaco-editor/editor/contrib/find/browser/findController';
import 'monaco-editor/features/find/register';
import 'monaco-editor/editor/contrib/folding/browser/folding';
import 'monaco-editor/editor/contrib/fontZoom/browser/fontZoom';
import 'monaco-editor/editor/contrib/hover/browser/hoverContribution';
import 'monaco-editor/editor/contrib/indentation/browser/indentation';
import 'monaco-editor/editor/contrib/lineSelection/browser/lineSelection';
import 'monaco-editor/editor/contrib/linesOperations/browser/linesOperations';
import 'monaco-editor/editor/contrib/multicursor/browser/multicursor';
import 'monaco-editor/editor/contrib/readOnlyMessage/browser/contribution';
import 'monaco-editor/editor/contrib/smartSelect/browser/smartSelect';
import 'monaco-editor/editor/contrib/snippet/browser/snippetController2';
import 'monaco-editor/editor/contrib/suggest/browser/suggestController';
import 'monaco-editor/editor/contrib/tokenization/browser/tokenization';
import 'monaco-editor/editor/contrib/wordHighlighter/browser/wordHighlighter';
import 'monaco-editor/editor/contrib/wordOperations/browser/wordOperations';
import 'monaco-editor/editor/contrib/wordPartOperations/browser/wordPartOperations';
import 'monaco-editor/editor/contrib/toggleTabFocusMode/browser/toggleTabFocusMode';
import 'monaco-editor/editor/standalone/browser/quickAccess/standaloneCommandsQuickAccess';
import 'monaco-editor/editor/standalone/browser/quickAccess/standaloneGotoLineQuickAccess';
import 'monaco-editor/editor/standalone/browser/quickAccess/standaloneHelpQuickAccess';
import 'monaco-editor/editor/common/standaloneStrings';

import 'monaco-editor/languages/definitions/cpp/register';
import 'monaco-editor/languages/definitions/csharp/register';
import 'monaco-editor/languages/definitions/go/register';
import 'monaco-editor/languages/definitions/java/register';
import 'monaco-editor/languages/definitions/javascript/register';
import 'monaco-editor/languages/definitions/kotlin/register';
import 'monaco-editor/languages/definitions/markdown/register';
import 'monaco-editor/languages/definitions/php/register';
import 'monaco-editor/languages/definitions/python/register';
import 'monaco-editor/languages/definitions/ruby/register';
import 'monaco-editor/languages/definitions/rust/register';
import 'monaco-editor/languages/definitions/scala/register';
import 'monaco-editor/languages/definitions/shell/register';
import 'monaco-editor/languages/definitions/sql/register';
import 'monaco-editor/languages/definitions/swift/register';
import 'monaco-editor/languages/definitions/typescript/register';
// Files of a workspace project.
import 'monaco-editor/languages/definitions/css/register';
import 'monaco-editor/languages/definitions/dockerfile/register';
import 'monaco-editor/languages/definitions/html/register';
import 'monaco-editor/languages/definitions/ini/register';
import 'monaco-editor/languages/definitions/xml/register';
import 'monaco-editor/languages/definitions/yaml/register';

import EditorWorker from 'monaco-editor/editor/editor.worker?worker';

// The editor worker (diffs, word suggestions, link detection) is the only worker we need. It is
// bundled as a same-origin module file, which the CSP's worker-src 'self' allows.
self.MonacoEnvironment = {
  getWorker: () => new EditorWorker(),
};

// vs-dark with a few colours raised to meet WCAG AA contrast on the editor background.
monaco.editor.defineTheme('iide-dark', {
  base: 'vs-dark',
  inherit: true,
  rules: [{ token: 'comment', foreground: '7fa863' }],
  colors: {
    'editor.background': '#1f1f1f',
    'editorLineNumber.foreground': '#8f8f8f',
    'editorLineNumber.activeForeground': '#d4d4d4',
    'editorGutter.background': '#1f1f1f',
  },
});

// JSON highlighting without the JSON language service (and its worker): a small Monarch tokenizer.
monaco.languages.register({ id: 'json', extensions: ['.json'], aliases: ['JSON'] });
monaco.languages.setMonarchTokensProvider('json', {
  tokenizer: {
    root: [
      [/"(?:[^"\\]|\\.)*"(?=\s*:)/, 'type'],
      [/"(?:[^"\\]|\\.)*"/, 'string'],
      [/-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/, 'number'],
      [/\b(?:true|false|null)\b/, 'keyword'],
      [/[{}[\],:]/, 'delimiter'],
    ],
  },
});
monaco.languages.setLanguageConfiguration('json', {
  brackets: [
    ['{', '}'],
    ['[', ']'],
  ],
  autoClosingPairs: [
    { open: '{', close: '}' },
    { open: '[', close: ']' },
    { open: '"', close: '"' },
  ],
});

interface LanguageInfo {
  monacoId: string;
  ext: string;
}

const LANGS: Record<string, LanguageInfo> = {
  python: { monacoId: 'python', ext: 'py' },
  javascript: { monacoId: 'javascript', ext: 'js' },
  typescript: { monacoId: 'typescript', ext: 'ts' },
  java: { monacoId: 'java', ext: 'java' },
  go: { monacoId: 'go', ext: 'go' },
  c: { monacoId: 'c', ext: 'c' },
  cpp: { monacoId: 'cpp', ext: 'cpp' },
  csharp: { monacoId: 'csharp', ext: 'cs' },
  rust: { monacoId: 'rust', ext: 'rs' },
  ruby: { monacoId: 'ruby', ext: 'rb' },
  kotlin: { monacoId: 'kotlin', ext: 'kt' },
  swift: { monacoId: 'swift', ext: 'swift' },
  php: { monacoId: 'php', ext: 'php' },
  scala: { monacoId: 'scala', ext: 'scala' },
  sql: { monacoId: 'sql', ext: 'sql' },
  shell: { monacoId: 'shell', ext: 'sh' },
  markdown: { monacoId: 'markdown', ext: 'md' },
  plaintext: { monacoId: 'plaintext', ext: 'txt' },
  json: { monacoId: 'json', ext: 'json' },
  html: { monacoId: 'html', ext: 'html' },
  css: { monacoId: 'css', ext: 'css' },
  yaml: { monacoId: 'yaml', ext: 'yaml' },
  ini: { monacoId: 'ini', ext: 'ini' },
  xml: { monacoId: 'xml', ext: 'xml' },
  dockerfile: { monacoId: 'dockerfile', ext: 'dockerfile' },
};

const ALIASES: Record<string, string> = {
  py: 'python',
  python3: 'python',
  js: 'javascript',
  node: 'javascript',
  ts: 'typescript',
  golang: 'go',
  'c++': 'cpp',
  cxx: 'cpp',
  'c#': 'csharp',
  cs: 'csharp',
  rs: 'rust',
  rb: 'ruby',
  kt: 'kotlin',
  bash: 'shell',
  sh: 'shell',
  postgresql: 'sql',
  postgres: 'sql',
  sqlite: 'sql',
  mysql: 'sql',
  text: 'plaintext',
  md: 'markdown',
  yml: 'yaml',
  toml: 'ini',
  cfg: 'ini',
  htm: 'html',
};

/** Maps a session language id (from the server) to Monaco's language and a file extension. */
export function languageInfo(id: string): LanguageInfo {
  const key = id.toLowerCase();
  return LANGS[key] ?? LANGS[ALIASES[key] ?? ''] ?? LANGS.plaintext;
}

export { monaco };
