// Page side of code runs: owns the sandbox workers, enforces the time limit, interrupts and, when
// needed, kills and replaces a worker. One instance of each per page (see registry.ts).
import type { SessionApi } from '../api/sessionApi';
import { createRing, RingReader } from './ring';
import { createStdin, StdinWriter } from './stdin';
import { type Chunk, type FinalStatus, type FromWorker, type SharedChannels, type ToWorker } from './protocol';
import JsWorker from './sandbox-js.worker?worker';
import PythonWorker from './sandbox-python.worker?worker';

export type Phase = 'loading' | 'running' | 'input';

declare const __PYODIDE_PATH__: string;
/** Where the self-hosted Python runtime is served (set at build time: /pyodide/v<version>/). */
const PYODIDE_PATH: string = __PYODIDE_PATH__;

export interface ExecHooks {
  onPhase(phase: Phase): void;
  onOutput(chunks: Chunk[]): void;
}

export interface ExecResult {
  status: FinalStatus;
  durationMs: number;
  /** The worker capped the output. */
  truncated: boolean;
  /** A line for the output, from the runner itself (why it stopped, runtime restarts…). */
  message?: string;
}

export interface Execution {
  readonly done: Promise<ExecResult>;
  stop(): void;
  input(line: string): void;
  eof(): void;
}

/** What a run may need beyond its code: the session's API and the stdin box's text. */
export interface RunContext {
  api: SessionApi;
  stdin: string;
}

/** Runs code of one or more languages (see registry.ts for which). */
export interface RunEngine {
  /** Gets ready ahead of the first run, where that is cheap. */
  warm?(): void;
  /** The server puts its runs on the timeline itself: the page does not report them. */
  readonly recordsOnServer?: boolean;
  /** The program's input is given before the run (a stdin box), not while it runs. */
  readonly wantsStdinUpfront?: boolean;
  execute(id: string, code: string, language: string, limitMs: number, hooks: ExecHooks, ctx?: RunContext): Execution;
}

/** How long an interrupted Python program gets to stop before its worker is terminated. */
const INTERRUPT_GRACE_MS = 1000;
const POLL_MS = 16;

const isolated = () => typeof SharedArrayBuffer !== 'undefined' && globalThis.crossOriginIsolated === true;

/** Shared memory of one engine, reused by its successive workers. */
class Channels {
  readonly shared: SharedChannels | null;
  readonly ring: RingReader | null;
  readonly stdin: StdinWriter | null;
  readonly interrupt: Int32Array | null;

  constructor(withInterrupt: boolean) {
    if (!isolated()) {
      this.shared = null;
      this.ring = null;
      this.stdin = null;
      this.interrupt = null;
      return;
    }
    const output = createRing();
    const stdin = createStdin();
    const interrupt = withInterrupt ? new SharedArrayBuffer(4) : undefined;
    this.shared = { output, stdin, interrupt };
    this.ring = new RingReader(output);
    this.stdin = new StdinWriter(stdin);
    this.interrupt = interrupt ? new Int32Array(interrupt) : null;
  }

  reset(): void {
    this.ring?.reset();
    this.stdin?.reset();
    if (this.interrupt) Atomics.store(this.interrupt, 0, 0);
  }
}

type StopReason = 'timeout' | 'stopped';

/**
 * The bookkeeping of one run on a worker: output polling, the time limit (which does not count
 * time spent waiting for input), stdin, and how it ended.
 */
class RunState {
  private pollTimer: number | undefined;
  private limitTimer: number | undefined;
  private runningSince = 0;
  private consumed = 0;
  private startedAt = 0;
  private truncatedByWorker = false;
  private settled = false;
  stopReason: StopReason | null = null;
  started = false;
  private resolve!: (r: ExecResult) => void;
  readonly done: Promise<ExecResult>;

  constructor(
    readonly id: string,
    private readonly channels: Channels,
    private readonly hooks: ExecHooks,
    private readonly limitMs: number,
    private readonly onLimit: () => void,
  ) {
    this.done = new Promise((r) => (this.resolve = r));
  }

  drain(): void {
    const chunks = this.channels.ring?.drain() ?? [];
    if (chunks.length) this.hooks.onOutput(chunks);
  }

  onStarted(): void {
    if (this.started) return;
    this.started = true;
    this.startedAt = performance.now();
    this.hooks.onPhase('running');
    if (this.channels.ring) this.pollTimer = window.setInterval(() => this.drain(), POLL_MS);
    this.resumeClock();
  }

  onOutput(chunks: Chunk[], truncated: boolean): void {
    if (truncated) this.truncatedByWorker = true;
    if (chunks.length) this.hooks.onOutput(chunks);
  }

  onStdinRequest(): void {
    this.drain();
    this.pauseClock();
    this.hooks.onPhase('input');
  }

  input(line: string): void {
    if (!this.channels.stdin || this.settled) return;
    this.channels.stdin.line(line);
    this.hooks.onPhase('running');
    this.resumeClock();
  }

  eof(): void {
    if (!this.channels.stdin || this.settled) return;
    this.channels.stdin.eof();
    this.hooks.onPhase('running');
    this.resumeClock();
  }

  private resumeClock(): void {
    if (this.settled) return;
    this.runningSince = performance.now();
    window.clearTimeout(this.limitTimer);
    this.limitTimer = window.setTimeout(() => this.onLimit(), Math.max(0, this.limitMs - this.consumed));
  }

  private pauseClock(): void {
    window.clearTimeout(this.limitTimer);
    this.consumed += performance.now() - this.runningSince;
  }

  elapsed(): number {
    return this.started ? performance.now() - this.startedAt : 0;
  }

  finish(result: Omit<ExecResult, 'truncated'>): void {
    if (this.settled) return;
    this.settled = true;
    this.drain();
    window.clearInterval(this.pollTimer);
    window.clearTimeout(this.limitTimer);
    this.resolve({ ...result, truncated: this.truncatedByWorker || (this.channels.ring?.truncated ?? false) });
  }

  get isSettled(): boolean {
    return this.settled;
  }
}

function limitMessage(limitMs: number): string {
  return `Time limit reached: the program ran for ${formatSeconds(limitMs)} and was stopped.`;
}

export function formatSeconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : s.toFixed(1)} s`;
}

/** JavaScript and TypeScript: one fresh worker per run, the next one started in advance. */
export class JsEngine implements RunEngine {
  private readonly channels = new Channels(false);
  private spare: Worker | null = null;

  /** Starts a worker ahead of the first run. */
  warm(): void {
    if (!this.spare) this.spare = this.spawn();
  }

  private spawn(): Worker {
    const worker = new JsWorker({ name: 'sandbox-js' });
    worker.postMessage({ type: 'init', channels: this.channels.shared, origin: location.origin } satisfies ToWorker);
    return worker;
  }

  execute(id: string, code: string, language: string, limitMs: number, hooks: ExecHooks): Execution {
    const worker = this.spare ?? this.spawn();
    this.spare = null;
    this.channels.reset();
    const kill = () => {
      worker.terminate();
      // The next run gets a clean worker straight away.
      this.warm();
    };
    const stopWith = (reason: StopReason) => {
      if (state.isSettled) return;
      state.stopReason = reason;
      kill();
      state.finish({
        status: reason,
        durationMs: state.elapsed(),
        message: reason === 'timeout' ? limitMessage(limitMs) : 'Stopped.',
      });
    };
    const state = new RunState(id, this.channels, hooks, limitMs, () => stopWith('timeout'));
    hooks.onPhase('running');

    worker.onmessage = (event: MessageEvent<FromWorker>) => {
      const msg = event.data;
      if (!msg || typeof msg !== 'object' || state.isSettled) return;
      switch (msg.type) {
        case 'started':
          state.onStarted();
          break;
        case 'output':
          state.onOutput(msg.chunks, msg.truncated);
          break;
        case 'stdin':
          state.onStdinRequest();
          break;
        case 'done':
          state.drain();
          kill();
          state.finish({ status: msg.outcome === 'ok' ? 'ok' : 'error', durationMs: msg.durationMs });
          break;
        case 'ready':
        case 'fatal':
          // Loading messages: handled while the worker starts, never sent during a run.
          break;
      }
    };
    worker.onerror = (event) => {
      event.preventDefault();
      if (state.isSettled) return;
      kill();
      state.finish({
        status: 'error',
        durationMs: state.elapsed(),
        message: `The JavaScript sandbox failed: ${event.message || 'it could not be started'}.`,
      });
    };
    worker.postMessage({ type: 'run', id, code, language: language === 'typescript' ? 'typescript' : 'javascript' } satisfies ToWorker);
    // The worker's own clock starts once the code is compiled; this one covers a worker that never
    // answers (e.g. a transpiler stuck on pathological input).
    window.setTimeout(() => {
      if (!state.started) stopWith('timeout');
    }, limitMs + 10_000);

    return {
      done: state.done,
      stop: () => stopWith('stopped'),
      input: (line) => state.input(line),
      eof: () => state.eof(),
    };
  }
}

/** Python: one long-lived Pyodide worker, loaded on the first run and kept warm. */
export class PythonEngine implements RunEngine {
  private readonly channels = new Channels(true);
  private worker: Worker | null = null;
  private ready: Promise<number> | null = null;
  private current: RunState | null = null;
  private loaded = false;

  /** Loads the runtime (once); resolves with the load time. */
  load(): Promise<number> {
    if (this.ready) return this.ready;
    const spawnedAt = performance.now();
    const worker = new PythonWorker({ name: 'sandbox-python' });
    this.worker = worker;
    this.loaded = false;
    this.ready = new Promise<number>((resolve, reject) => {
      worker.onmessage = (event: MessageEvent<FromWorker>) => {
        const msg = event.data;
        if (!msg || typeof msg !== 'object') return;
        if (msg.type === 'ready') {
          this.loaded = true;
          // For the curious and for benchmarks: performance.getEntriesByName('iide:python-ready').
          performance.measure('iide:python-ready', { start: spawnedAt, end: performance.now() });
          resolve(msg.loadMs);
        } else if (msg.type === 'fatal') {
          this.discard(worker);
          reject(new Error(msg.message));
        } else {
          this.route(msg);
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        this.discard(worker);
        reject(new Error(event.message || 'the Python worker could not be started'));
      };
    });
    // A failed load is retried on the next run.
    this.ready.catch(() => {});
    worker.postMessage({ type: 'init', channels: this.channels.shared, origin: location.origin, pyodidePath: PYODIDE_PATH } satisfies ToWorker);
    return this.ready;
  }

  private discard(worker: Worker): void {
    worker.terminate();
    if (this.worker === worker) {
      this.worker = null;
      this.ready = null;
      this.loaded = false;
    }
  }

  private route(msg: FromWorker): void {
    const state = this.current;
    if (!state || state.isSettled || !('id' in msg) || msg.id !== state.id) return;
    switch (msg.type) {
      case 'started':
        state.onStarted();
        break;
      case 'output':
        state.onOutput(msg.chunks, msg.truncated);
        break;
      case 'stdin':
        state.onStdinRequest();
        break;
      case 'done': {
        state.drain();
        const interrupted = msg.outcome === 'interrupted';
        const status: FinalStatus = interrupted ? (state.stopReason ?? 'stopped') : msg.outcome === 'ok' ? 'ok' : 'error';
        let message: string | undefined;
        if (interrupted) message = state.stopReason === 'timeout' ? limitMessage(this.limitMs) : 'Stopped.';
        if (msg.note === 'fatal') {
          message = 'The Python runtime crashed and is being restarted.';
          this.restart();
        }
        state.finish({ status, durationMs: msg.durationMs, message });
        this.current = null;
        break;
      }
    }
  }

  private limitMs = 0;

  /** Kills the worker and loads a fresh one in the background. */
  private restart(): void {
    if (this.worker) this.discard(this.worker);
    if (this.channels.interrupt) Atomics.store(this.channels.interrupt, 0, 0);
    void this.load().catch(() => {});
  }

  execute(id: string, code: string, _language: string, limitMs: number, hooks: ExecHooks): Execution {
    this.limitMs = limitMs;
    let cancelled = false;
    let state: RunState | null = null;
    let graceTimer: number | undefined;
    const pending = new RunState(id, this.channels, hooks, limitMs, () => interruptWith('timeout'));

    const interruptWith = (reason: StopReason) => {
      const s = state;
      if (!s) {
        // Still loading: nothing runs yet.
        cancelled = true;
        pending.finish({ status: reason, durationMs: 0, message: 'Stopped before the program started.' });
        return;
      }
      if (s.isSettled || s.stopReason) return;
      s.stopReason = reason;
      if (this.channels.interrupt) {
        Atomics.store(this.channels.interrupt, 0, 2); // SIGINT
        Atomics.notify(this.channels.interrupt, 0); // wakes time.sleep
        this.channels.stdin?.interrupt();
      }
      graceTimer = window.setTimeout(() => {
        if (s.isSettled) return;
        // The program ignored KeyboardInterrupt (or there is no interrupt buffer): hard stop.
        this.current = null;
        this.restart();
        s.finish({
          status: reason,
          durationMs: s.elapsed(),
          message: `${reason === 'timeout' ? limitMessage(limitMs) : 'Stopped.'} The Python runtime did not stop on its own and was restarted.`,
        });
      }, this.channels.interrupt ? INTERRUPT_GRACE_MS : 0);
    };

    const start = async () => {
      if (!this.loaded) hooks.onPhase('loading');
      try {
        await this.load();
      } catch (err) {
        if (!cancelled)
          pending.finish({
            status: 'error',
            durationMs: 0,
            message: `The Python runtime could not be loaded: ${(err as Error).message}`,
          });
        return;
      }
      if (cancelled) return;
      state = pending;
      this.current = state;
      this.channels.reset();
      hooks.onPhase('running');
      this.worker!.postMessage({ type: 'run', id, code, language: 'python' } satisfies ToWorker);
    };
    void start();
    void pending.done.then(() => window.clearTimeout(graceTimer));

    return {
      done: pending.done,
      stop: () => interruptWith('stopped'),
      input: (line) => state?.input(line),
      eof: () => state?.eof(),
    };
  }
}
