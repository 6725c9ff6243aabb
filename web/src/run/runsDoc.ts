// The `runs` live document (docs/API.md): a Y.Array of Y.Maps, newest last, each with an output
// Y.Array of chunks. The person running the code writes it; everyone reads it.
import * as Y from 'yjs';
import type { WebsocketProvider } from 'y-websocket';
import type { Participant } from '../api/sessions';
import { OUTPUT_LIMIT_BYTES, utf8Length, type Chunk, type FinalStatus, type RunStatus } from './protocol';

/** Runs kept in the document. */
export const MAX_RUNS = 20;
/** Output is written to the document at most this often while a program prints. */
export const BATCH_MS = 50;

export const TRUNCATED_MARK = '… output truncated: a run keeps at most 1 MB of output.';

export interface RunInfo {
  id: string;
  by: string;
  color: string;
  /** 'interviewer' or 'candidate'; a string, as read from a shared document anyone may write. */
  role: string;
  participantId: string;
  language: string;
  startedAt: number;
  status: RunStatus;
  /** What a running program is doing, for the others: loading the runtime or waiting for input. */
  phase: 'loading' | 'running' | 'input' | null;
  durationMs: number | null;
  truncated: boolean;
}

export type RunMap = Y.Map<unknown>;

export function readRun(m: RunMap): RunInfo {
  const str = (k: string, d = '') => {
    const v = m.get(k);
    return typeof v === 'string' ? v : d;
  };
  const num = (k: string) => {
    const v = m.get(k);
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  };
  const status = str('status', 'running');
  const phase = str('phase');
  return {
    id: str('id'),
    by: str('by', 'Someone'),
    color: str('color', '#8f8f8f'),
    role: str('role'),
    participantId: str('participant_id'),
    language: str('language'),
    startedAt: num('started_at') ?? 0,
    status: (['running', 'ok', 'error', 'timeout', 'stopped'].includes(status) ? status : 'error') as RunStatus,
    phase: phase === 'loading' || phase === 'running' || phase === 'input' ? phase : null,
    durationMs: num('duration_ms'),
    truncated: m.get('truncated') === true,
  };
}

/**
 * The output chunks of a run as written (one per batch), or with neighbours of the same stream
 * merged. The panel shows them unmerged: text already on screen then stays untouched as more
 * arrives, so the browser does not lay all of it out again.
 */
export function readOutput(m: RunMap, merge = true): Chunk[] {
  const arr = m.get('output');
  if (!(arr instanceof Y.Array)) return [];
  const out: Chunk[] = [];
  for (const c of arr.toArray() as unknown[]) {
    if (!c || typeof c !== 'object') continue;
    const { stream, text } = c as { stream?: unknown; text?: unknown };
    if (typeof text !== 'string' || !text) continue;
    const s = stream === 'stderr' || stream === 'stdin' || stream === 'system' ? stream : 'stdout';
    const last = out[out.length - 1];
    if (merge && last && last.stream === s) last.text += text;
    else out.push({ stream: s, text });
  }
  return out;
}

export interface RunsDoc {
  doc: Y.Doc;
  runs: Y.Array<RunMap>;
  provider: WebsocketProvider;
}

export interface NewRun {
  id: string;
  participant: Participant;
  language: string;
}

/** Appends a run (status running) and keeps only the last MAX_RUNS. */
export function addRun(rd: RunsDoc, run: NewRun): RunMap {
  const m = new Y.Map<unknown>();
  rd.doc.transact(() => {
    rd.runs.push([m]);
    m.set('id', run.id);
    m.set('by', run.participant.name);
    m.set('color', run.participant.color);
    m.set('role', run.participant.role);
    m.set('participant_id', run.participant.id);
    m.set('language', run.language);
    m.set('started_at', Date.now());
    m.set('status', 'running');
    m.set('phase', 'running');
    m.set('duration_ms', null);
    m.set('truncated', false);
    m.set('output', new Y.Array<Chunk>());
    if (rd.runs.length > MAX_RUNS) rd.runs.delete(0, rd.runs.length - MAX_RUNS);
  });
  return m;
}

/**
 * Writes one run's output into the document: batched (at most one update per BATCH_MS, the first
 * chunk at once), capped at OUTPUT_LIMIT_BYTES with a visible mark.
 */
export class RunWriter {
  private pending: Chunk[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private lastWrite = 0;
  private bytes = 0;
  truncated = false;

  constructor(
    private readonly doc: Y.Doc,
    private readonly map: RunMap,
  ) {}

  get outputBytes(): number {
    return this.bytes;
  }

  /** Program output (and echoed input): counted against the cap. */
  append(chunks: Chunk[]): void {
    for (const chunk of chunks) {
      if (chunk.stream === 'system') {
        this.push(chunk);
        continue;
      }
      if (this.truncated) continue;
      const size = utf8Length(chunk.text);
      if (this.bytes + size <= OUTPUT_LIMIT_BYTES) {
        this.bytes += size;
        this.push(chunk);
        continue;
      }
      const kept = cutToBytes(chunk.text, OUTPUT_LIMIT_BYTES - this.bytes);
      this.bytes += utf8Length(kept);
      if (kept) this.push({ stream: chunk.stream, text: kept });
      this.markTruncated();
    }
    this.schedule();
  }

  markTruncated(): void {
    if (this.truncated) return;
    this.truncated = true;
    this.system(TRUNCATED_MARK);
    this.flush();
    this.map.set('truncated', true);
  }

  /** A line from the runner itself, on a line of its own. */
  system(text: string): void {
    const newline = this.lastChar !== '' && this.lastChar !== '\n' ? '\n' : '';
    this.push({ stream: 'system', text: `${newline}${text}\n` });
    this.schedule();
  }

  private lastChar = '';

  private push(chunk: Chunk): void {
    if (chunk.text) this.lastChar = chunk.text[chunk.text.length - 1];
    const last = this.pending[this.pending.length - 1];
    if (last && last.stream === chunk.stream) last.text += chunk.text;
    else this.pending.push({ ...chunk });
  }

  private schedule(): void {
    if (this.pending.length === 0 || this.timer !== undefined) return;
    const wait = BATCH_MS - (performance.now() - this.lastWrite);
    if (wait <= 0) this.flush();
    else this.timer = setTimeout(() => this.flush(), wait);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const chunks = this.pending;
    this.pending = [];
    this.lastWrite = performance.now();
    const output = this.map.get('output');
    if (output instanceof Y.Array) this.doc.transact(() => output.push(chunks));
  }

  set(fields: Record<string, unknown>): void {
    this.doc.transact(() => {
      for (const [k, v] of Object.entries(fields)) this.map.set(k, v);
    });
  }

  finish(status: FinalStatus, durationMs: number): void {
    this.flush();
    this.set({ status, phase: null, duration_ms: Math.round(durationMs) });
  }
}

/** The longest prefix of `text` whose UTF-8 size is at most `max`. */
export function cutToBytes(text: string, max: number): string {
  if (max <= 0) return '';
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const size = c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdbff ? 4 : 3;
    if (n + size > max) return text.slice(0, i);
    n += size;
    if (size === 4) i++;
  }
  return text;
}

/** Marks this participant's runs left `running` by an earlier page load as stopped. */
export function closeOrphanRuns(rd: RunsDoc, participantId: string, activeId: string | null): void {
  rd.doc.transact(() => {
    for (const m of rd.runs.toArray()) {
      if (m.get('participant_id') !== participantId || m.get('status') !== 'running' || m.get('id') === activeId) continue;
      m.set('status', 'stopped');
      m.set('phase', null);
      const output = m.get('output');
      if (output instanceof Y.Array) output.push([{ stream: 'system', text: '\nThe page was closed or reloaded during this run.\n' }]);
    }
  });
}
