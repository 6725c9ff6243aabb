/** What a workspace file is, from its name: the editor language (an id `languageInfo` knows) and a display name. */
export interface FileType {
  language: string;
  name: string;
}

const BY_EXT: Record<string, FileType> = {
  py: { language: 'python', name: 'Python' },
  pyi: { language: 'python', name: 'Python' },
  js: { language: 'javascript', name: 'JavaScript' },
  mjs: { language: 'javascript', name: 'JavaScript' },
  cjs: { language: 'javascript', name: 'JavaScript' },
  jsx: { language: 'javascript', name: 'JavaScript' },
  ts: { language: 'typescript', name: 'TypeScript' },
  tsx: { language: 'typescript', name: 'TypeScript' },
  json: { language: 'json', name: 'JSON' },
  md: { language: 'markdown', name: 'Markdown' },
  markdown: { language: 'markdown', name: 'Markdown' },
  toml: { language: 'ini', name: 'TOML' },
  ini: { language: 'ini', name: 'INI' },
  cfg: { language: 'ini', name: 'Config' },
  txt: { language: 'plaintext', name: 'Plain text' },
  html: { language: 'html', name: 'HTML' },
  htm: { language: 'html', name: 'HTML' },
  css: { language: 'css', name: 'CSS' },
  yaml: { language: 'yaml', name: 'YAML' },
  yml: { language: 'yaml', name: 'YAML' },
  sh: { language: 'shell', name: 'Shell' },
  bash: { language: 'shell', name: 'Shell' },
  sql: { language: 'sql', name: 'SQL' },
  xml: { language: 'xml', name: 'XML' },
  go: { language: 'go', name: 'Go' },
  rs: { language: 'rust', name: 'Rust' },
  java: { language: 'java', name: 'Java' },
  rb: { language: 'ruby', name: 'Ruby' },
  c: { language: 'c', name: 'C' },
  h: { language: 'c', name: 'C' },
  cpp: { language: 'cpp', name: 'C++' },
};

const BY_NAME: Record<string, FileType> = {
  dockerfile: { language: 'dockerfile', name: 'Dockerfile' },
  makefile: { language: 'plaintext', name: 'Makefile' },
  '.gitignore': { language: 'plaintext', name: 'Ignore' },
  '.env': { language: 'ini', name: 'Environment' },
};

const PLAIN: FileType = { language: 'plaintext', name: 'Plain text' };

export function baseName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? path : path.slice(i + 1);
}

/** The folder of a path ('' at the root). */
export function dirName(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export function fileType(path: string): FileType {
  const name = baseName(path).toLowerCase();
  if (BY_NAME[name]) return BY_NAME[name];
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return PLAIN;
  return BY_EXT[name.slice(dot + 1)] ?? PLAIN;
}

/** True when `path` is `base` or lies inside the folder `base`. */
export function isWithin(path: string, base: string): boolean {
  return path === base || path.startsWith(`${base}/`);
}

/** Checks a path typed by someone before it goes to the server (which checks it again). */
export function pathProblem(path: string): string | null {
  if (!path) return 'Enter a name.';
  if (path.startsWith('/')) return 'Use a path relative to the workspace (no leading /).';
  if (path.includes('\\')) return 'Use / between folders.';
  const parts = path.split('/');
  if (parts.some((p) => p === '')) return 'The path has an empty part (//, or / at the end).';
  if (parts.some((p) => p === '.' || p === '..')) return 'The path cannot contain . or .. parts.';
  if (path.startsWith('.iide')) return 'Paths starting with .iide are reserved.';
  return null;
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} byte${n === 1 ? '' : 's'}`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
