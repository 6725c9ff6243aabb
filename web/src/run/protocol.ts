// Messages and shared memory between the page and the code-run workers (sandbox-*.worker.ts).
// Output goes through a shared ring buffer that the page drains on a timer, so it keeps flowing
// while the worker's event loop is blocked by a busy program; control messages use postMessage.

export type Stream = 'stdout' | 'stderr' | 'stdin' | 'system';

export interface Chunk {
  stream: Stream;
  text: string;
}

/** The run statuses of docs/API.md; `running` only while a run is in progress. */
export type RunStatus = 'running' | 'ok' | 'error' | 'timeout' | 'stopped';
export type FinalStatus = Exclude<RunStatus, 'running'>;

/** Languages the sandbox workers understand (which language runs where: registry.ts). */
export type SandboxLanguage = 'python' | 'javascript' | 'typescript';

/** Most output one run keeps (UTF-8 bytes); the rest is dropped with a visible mark. */
export const OUTPUT_LIMIT_BYTES = 1024 * 1024;

/** Shared memory handed to a worker at start. Absent where the page is not cross-origin isolated. */
export interface SharedChannels {
  /** Output ring buffer: see ring.ts. */
  output: SharedArrayBuffer;
  /** One line of standard input at a time: see stdin.ts. */
  stdin: SharedArrayBuffer;
  /** Python only: Pyodide's interrupt buffer (Int32Array; 2 = SIGINT). */
  interrupt?: SharedArrayBuffer;
}

export type ToWorker =
  | { type: 'init'; channels: SharedChannels | null; origin: string; pyodidePath?: string }
  | { type: 'run'; id: string; code: string; language: SandboxLanguage };

/** How a run ended, from the worker's point of view. */
export type WorkerOutcome = 'ok' | 'error' | 'interrupted';

export type FromWorker =
  /** Python: the interpreter is loaded (after `init`). */
  | { type: 'ready'; loadMs: number }
  /** The runtime could not start; the worker is useless. */
  | { type: 'fatal'; message: string }
  /** The user's code starts executing now (transpiling and loading are done). */
  | { type: 'started'; id: string }
  /** Output, only when there is no shared ring buffer. */
  | { type: 'output'; id: string; chunks: Chunk[]; truncated: boolean }
  /** The program waits for a line of standard input. */
  | { type: 'stdin'; id: string }
  | { type: 'done'; id: string; outcome: WorkerOutcome; durationMs: number; note?: string };

/** Stream codes in the ring buffer. */
export const STREAM_CODES: Stream[] = ['stdout', 'stderr', 'stdin', 'system'];

/** UTF-8 length of a string without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
