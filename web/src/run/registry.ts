// Which engine runs which language: one registration line per language, below. A language
// without an engine gets a clear "cannot run" answer instead of a Run button that fails.
import { JsEngine, PythonEngine, type RunEngine } from './engines';
import { ServerEngine } from './serverEngine';

interface Registration {
  /** How people call it ("Python"), for messages such as "Loading Python runtime…". */
  name: string;
  engine: () => RunEngine;
}

const registry = new Map<string, Registration>();

/** Makes `create` run code of `language`; it is called once, on the first use. */
export function registerEngine(language: string, name: string, create: () => RunEngine): void {
  registry.set(language, { name, engine: once(create) });
}

function once<T>(create: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= create());
}

// In this browser, in sandboxed workers. JavaScript and TypeScript share one engine.
const browserJs = once(() => new JsEngine());
registerEngine('python', 'Python', () => new PythonEngine());
registerEngine('javascript', 'JavaScript', browserJs);
registerEngine('typescript', 'TypeScript', browserJs);

// On the server, in a fresh sandbox per run (POST /api/sessions/{id}/execute). One engine for all.
const server = once(() => new ServerEngine());
registerEngine('c', 'C', server);
registerEngine('cpp', 'C++', server);
registerEngine('java', 'Java', server);
registerEngine('go', 'Go', server);
registerEngine('rust', 'Rust', server);
registerEngine('ruby', 'Ruby', server);
registerEngine('bash', 'Bash', server);
registerEngine('sql', 'SQLite', server);

/** The engine for a language (created on first use), or null when nothing runs it. */
export function engineFor(language: string): RunEngine | null {
  return registry.get(language)?.engine() ?? null;
}

/** Null when the language can run; otherwise why not, in words for the Run button. */
export function cannotRunReason(language: string, languageName: string): string | null {
  if (registry.has(language)) return null;
  return `${languageName} cannot run here. ${listNames([...registry.values()].map((r) => r.name))} can.`;
}

/** The name of what runs a language ("Python"), for loading messages. */
export function runtimeName(language: string): string {
  return registry.get(language)?.name ?? language;
}

/** "A, B and C". */
function listNames(names: string[]): string {
  return names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}
