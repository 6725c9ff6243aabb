// Runs one JavaScript or TypeScript program per worker (the page starts a fresh worker for each
// run). No access to the page, its storage or the network: see sandbox.ts and the server's CSP.
import { format, inspect } from './inspect';
import type { SharedChannels, ToWorker, WorkerOutcome } from './protocol';
import { hidePostMessage, neuterScope, OutputSink, post } from './sandbox';
import { readLine } from './stdin';

type Fn = (...args: unknown[]) => unknown;

// The scheduling functions the run relies on, kept before user code can replace them.
const realSetTimeout = globalThis.setTimeout.bind(globalThis);
const realClearTimeout = globalThis.clearTimeout.bind(globalThis);
const realSetInterval = globalThis.setInterval.bind(globalThis);
const realClearInterval = globalThis.clearInterval.bind(globalThis);
const now = performance.now.bind(performance);
const AsyncFunction = (async () => {}).constructor as new (...args: string[]) => () => Promise<unknown>;

let channels: SharedChannels | null = null;
let sink = new OutputSink(null);
let ran = false;

/** Thrown by process.exit() to unwind the program. */
class ExitSignal {
  constructor(readonly code: number) {}
}

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  if (msg.type === 'init') {
    channels = msg.channels;
    sink = new OutputSink(channels);
  } else if (msg.type === 'run' && !ran) {
    ran = true;
    void run(msg.id, msg.code, msg.language === 'typescript');
  }
};

async function run(id: string, source: string, typescript: boolean): Promise<void> {
  const file = typescript ? 'main.ts' : 'main.js';
  sink.start(id);
  let finished = false;
  let failed = false;
  let startedAt = now();
  const finish = (outcome: WorkerOutcome) => {
    if (finished) return;
    finished = true;
    sink.flush();
    post({ type: 'done', id, outcome, durationMs: now() - startedAt });
  };

  let code = source;
  if (typescript) {
    try {
      const { transform } = await import('sucrase');
      code = transform(source, { transforms: ['typescript'], disableESTransforms: true, filePath: file }).code;
    } catch (err) {
      post({ type: 'started', id });
      startedAt = now();
      sink.write('stderr', await syntaxReport(err, source, file));
      finish('error');
      return;
    }
  }

  neuterScope();
  hidePostMessage();
  const lineOffset = functionLineOffset();

  const report = (err: unknown) => {
    if (err instanceof ExitSignal) return;
    failed = true;
    sink.write('stderr', `Uncaught ${inspect(err, { stack: (s) => cleanStack(s, file, lineOffset) })}\n`);
  };
  const exit = (code: number) => finish(code === 0 && !failed ? 'ok' : 'error');

  // Timers are tracked so the run ends when the program has nothing left to do, as in Node.
  const active = new Set<unknown>();
  let mainDone = false;
  let idleCheck: ReturnType<typeof setTimeout> | undefined;
  const checkIdle = () => {
    if (!mainDone || active.size > 0 || finished) return;
    realClearTimeout(idleCheck);
    // Two turns of the event loop: an unhandled rejection is reported in a task of its own.
    idleCheck = realSetTimeout(() => {
      idleCheck = realSetTimeout(() => {
        if (active.size === 0) finish(failed ? 'error' : 'ok');
      }, 1);
    }, 0);
  };
  const invoke = (fn: unknown, args: unknown[]) => {
    if (finished) return;
    try {
      if (typeof fn === 'function') (fn as Fn)(...args);
      else if (typeof fn === 'string') (0, eval)(fn);
    } catch (err) {
      if (err instanceof ExitSignal) return exit(err.code);
      report(err);
      return finish('error');
    }
    checkIdle();
  };

  const scope = globalThis as unknown as Record<string, unknown>;
  scope.setTimeout = (fn: unknown, ms?: number, ...args: unknown[]) => {
    const handle = realSetTimeout(() => {
      active.delete(handle);
      invoke(fn, args);
    }, ms);
    active.add(handle);
    return handle;
  };
  scope.clearTimeout = (handle: ReturnType<typeof setTimeout>) => {
    active.delete(handle);
    realClearTimeout(handle);
    checkIdle();
  };
  scope.setInterval = (fn: unknown, ms?: number, ...args: unknown[]) => {
    const handle = realSetInterval(() => invoke(fn, args), ms);
    active.add(handle);
    return handle;
  };
  scope.clearInterval = (handle: ReturnType<typeof setInterval>) => {
    active.delete(handle);
    realClearInterval(handle);
    checkIdle();
  };
  scope.setImmediate = (fn: unknown, ...args: unknown[]) => (scope.setTimeout as Fn)(fn, 0, ...args);
  scope.clearImmediate = scope.clearTimeout;

  installConsole(file, lineOffset);
  installDialogs(id);
  installProcess(exit);
  installRequire(id);

  self.addEventListener('unhandledrejection', (event) => {
    event.preventDefault();
    report(event.reason);
    finish('error');
  });
  self.addEventListener('error', (event) => {
    event.preventDefault();
    report(event.error ?? event.message);
    finish('error');
  });

  let main: () => Promise<unknown>;
  try {
    main = new AsyncFunction(`${code}\n//# sourceURL=${file}`);
  } catch (err) {
    post({ type: 'started', id });
    startedAt = now();
    sink.write('stderr', await syntaxReport(err, code, file));
    finish('error');
    return;
  }

  post({ type: 'started', id });
  startedAt = now();
  try {
    await main();
  } catch (err) {
    if (err instanceof ExitSignal) return exit(err.code);
    report(err);
    return finish('error');
  }
  mainDone = true;
  checkIdle();
}

/** How many lines the Function constructor puts before the body (2 in V8). */
function functionLineOffset(): number {
  try {
    const probe = new Function('return new Error().stack\n//# sourceURL=__probe.js') as () => unknown;
    const stack = String(probe());
    const m = /__probe\.js:(\d+):\d+/.exec(stack);
    if (m) return Number(m[1]) - 1;
  } catch {
    /* fall through */
  }
  return 2;
}

/** Keeps the stack frames of the user's file, with line numbers of the file as written. */
function cleanStack(text: string, file: string, lineOffset: number): string {
  const lines = text.split('\n');
  const out: string[] = [];
  for (const line of lines) {
    const isFrame = /^\s+at /.test(line);
    if (isFrame && !line.includes(file)) continue;
    out.push(line.replace(new RegExp(`${file.replace('.', '\\.')}:(\\d+):(\\d+)`, 'g'), (_, l: string, c: string) => `${file}:${Math.max(1, Number(l) - lineOffset)}:${c}`).replace(/\bat eval \((.*)\)$/, 'at $1'));
  }
  return out.join('\n');
}

/** A syntax error with the line it is on, when the parser says where. */
async function syntaxReport(err: unknown, source: string, file: string): Promise<string> {
  const message = err instanceof Error ? err.message : String(err);
  // Sucrase reports "(line:column)"; V8's SyntaxError from new Function has no position, so the
  // source is parsed again by Sucrase just to find it.
  let m = /\((\d+):(\d+)\)\s*$/.exec(message);
  let name = err instanceof Error ? err.name : 'SyntaxError';
  const text = message.replace(/\s*\(\d+:\d+\)\s*$/, '').replace(/^Error transforming \S+: /, '');
  if (!m) {
    try {
      const { transform } = await import('sucrase');
      transform(source, { transforms: file.endsWith('.ts') ? ['typescript'] : [], filePath: file });
    } catch (again) {
      m = /\((\d+):(\d+)\)\s*$/.exec(again instanceof Error ? again.message : '');
    }
  }
  if (name === 'Error') name = 'SyntaxError';
  if (!m) return `${file}\n${name}: ${text}\n`;
  const line = Number(m[1]);
  const column = Number(m[2]);
  const src = source.split('\n')[line - 1] ?? '';
  return `${file}:${line}:${column + 1}\n${src}\n${' '.repeat(column)}^\n\n${name}: ${text}\n`;
}

function installConsole(file: string, lineOffset: number): void {
  let indent = '';
  const counts = new Map<string, number>();
  const timers = new Map<string, number>();
  const write = (stream: 'stdout' | 'stderr', text: string) => {
    sink.write(stream, (indent ? text.replace(/^/gm, indent) : text) + '\n');
  };
  const opts = { stack: (s: string) => cleanStack(s, file, lineOffset) };
  const out = (...args: unknown[]) => sink.dropping || write('stdout', format(args, opts));
  const err = (...args: unknown[]) => sink.dropping || write('stderr', format(args, opts));
  const label = (l: unknown) => (l === undefined ? 'default' : String(l));
  // Each method takes the arguments console methods take.
  const console: Record<string, (...args: never[]) => unknown> = {
    log: out,
    info: out,
    debug: out,
    warn: err,
    error: err,
    dir: (value: unknown, options?: { depth?: number }) => write('stdout', inspect(value, { ...opts, depth: options?.depth ?? 2 })),
    dirxml: out,
    trace: (...args: unknown[]) => {
      const stack = cleanStack(new Error().stack ?? '', file, lineOffset).split('\n').slice(1).join('\n');
      write('stderr', `Trace${args.length ? `: ${format(args)}` : ''}\n${stack}`);
    },
    assert: (cond: unknown, ...args: unknown[]) => {
      if (!cond) write('stderr', `Assertion failed${args.length ? `: ${format(args)}` : ''}`);
    },
    count: (l?: unknown) => {
      const key = label(l);
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      write('stdout', `${key}: ${n}`);
    },
    countReset: (l?: unknown) => void counts.delete(label(l)),
    time: (l?: unknown) => void timers.set(label(l), now()),
    timeLog: (l?: unknown, ...args: unknown[]) => {
      const start = timers.get(label(l));
      if (start === undefined) write('stderr', `Warning: No such label '${label(l)}' for console.timeLog()`);
      else write('stdout', `${label(l)}: ${formatMs(now() - start)}${args.length ? ` ${format(args)}` : ''}`);
    },
    timeEnd: (l?: unknown) => {
      const start = timers.get(label(l));
      if (start === undefined) write('stderr', `Warning: No such label '${label(l)}' for console.timeEnd()`);
      else write('stdout', `${label(l)}: ${formatMs(now() - start)}`);
      timers.delete(label(l));
    },
    group: (...args: unknown[]) => {
      if (args.length) out(...args);
      indent += '  ';
    },
    groupEnd: () => {
      indent = indent.slice(2);
    },
    table: (data: unknown) => write('stdout', table(data)),
    clear: () => {},
  };
  console.groupCollapsed = console.group;
  (globalThis as unknown as Record<string, unknown>).console = console;
}

function formatMs(ms: number): string {
  return ms < 1000 ? `${ms.toFixed(3)}ms` : `${(ms / 1000).toFixed(3)}s`;
}

/** console.table as Node draws it. */
function table(data: unknown): string {
  if (typeof data !== 'object' || data === null) return format([data]);
  const rows: [unknown, unknown][] = data instanceof Map ? [...(data as Map<unknown, unknown>).entries()] : Object.entries(data);
  const columns: string[] = [];
  let hasValues = false;
  for (const [, row] of rows) {
    if (typeof row === 'object' && row !== null) {
      for (const key of Object.keys(row)) if (!columns.includes(key)) columns.push(key);
    } else hasValues = true;
  }
  const header = ['(index)', ...columns, ...(hasValues ? ['Values'] : [])];
  const cell = (v: unknown) => (v === undefined ? '' : inspect(v, { depth: 0, breakLength: Infinity }));
  const body = rows.map(([key, row]) => {
    const isObj = typeof row === 'object' && row !== null;
    const r = row as Record<string, unknown>;
    return [String(key), ...columns.map((c) => (isObj && c in r ? cell(r[c]) : '')), ...(hasValues ? [isObj ? '' : cell(row)] : [])];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)) + 2);
  const line = (l: string, m: string, r: string) => l + widths.map((w) => '─'.repeat(w)).join(m) + r;
  const fmt = (cells: string[]) =>
    '│' +
    cells
      .map((c, i) => {
        const pad = widths[i] - c.length;
        return ' '.repeat(Math.floor(pad / 2)) + c + ' '.repeat(Math.ceil(pad / 2));
      })
      .join('│') +
    '│';
  return [line('┌', '┬', '┐'), fmt(header), line('├', '┼', '┤'), ...body.map(fmt), line('└', '┴', '┘')].join('\n');
}

/** prompt(), alert() and confirm() read from and write to the run panel. */
function installDialogs(id: string): void {
  const scope = globalThis as unknown as Record<string, unknown>;
  const ask = (message?: unknown): string | null => {
    if (message !== undefined && message !== '') {
      const text = String(message);
      sink.write('stdout', /\s$/.test(text) ? text : `${text} `);
    }
    if (!channels) {
      sink.write('system', '\n(No input: this browser cannot pass input to the program.)\n');
      return null;
    }
    sink.flush();
    post({ type: 'stdin', id });
    const result = readLine(channels.stdin);
    return result.kind === 'line' ? result.text : null;
  };
  scope.prompt = (message?: unknown, fallback?: unknown) => {
    const answer = ask(message);
    return answer === null ? (fallback === undefined ? null : String(fallback)) : answer;
  };
  scope.alert = (message?: unknown) => sink.write('stdout', `${message === undefined ? '' : String(message)}\n`);
  scope.confirm = (message?: unknown) => /^\s*y/i.test(ask(`${message === undefined ? '' : String(message)} [y/N]`) ?? '');
}

/**
 * `require('fs').readFileSync(0)` (or `'/dev/stdin'`), the usual way an interview program reads
 * its whole input: the lines typed in the run panel until end of input (Ctrl+D there). No other
 * module exists in the browser.
 */
function installRequire(id: string): void {
  const readAll = (): string => {
    if (!channels) {
      sink.write('system', '\n(No input: this browser cannot pass input to the program.)\n');
      return '';
    }
    let text = '';
    for (;;) {
      sink.flush();
      post({ type: 'stdin', id });
      const result = readLine(channels.stdin);
      if (result.kind !== 'line') return text;
      text += `${result.text}\n`;
    }
  };
  const fs = {
    readFileSync(file: unknown, options?: unknown): unknown {
      if (file !== 0 && file !== '/dev/stdin') {
        throw new Error(`ENOENT: no such file '${String(file)}' (in the browser only standard input, fd 0, can be read)`);
      }
      const text = readAll();
      const encoding = typeof options === 'string' ? options : (options as { encoding?: string } | undefined)?.encoding;
      // Without an encoding Node gives a Buffer, which programs turn into text with toString().
      return encoding ? text : Object.assign(new TextEncoder().encode(text), { toString: () => text });
    },
  };
  (globalThis as unknown as Record<string, unknown>).require = (name: unknown) => {
    if (name === 'fs' || name === 'node:fs') return fs;
    throw new Error(`Cannot find module '${String(name)}': the browser runs JavaScript without Node's modules (require('fs').readFileSync(0) reads the input)`);
  };
}

/** Just enough of Node's `process` for the usual interview snippets. */
function installProcess(exit: (code: number) => void): void {
  const write = (stream: 'stdout' | 'stderr') => (chunk: unknown) => {
    sink.write(stream, typeof chunk === 'string' ? chunk : chunk instanceof Uint8Array ? new TextDecoder().decode(chunk) : String(chunk));
    return true;
  };
  (globalThis as unknown as Record<string, unknown>).process = {
    argv: ['node', 'main.js'],
    env: {},
    platform: 'browser',
    stdout: { write: write('stdout'), isTTY: false },
    stderr: { write: write('stderr'), isTTY: false },
    exit: (code = 0) => {
      exit(Number(code) || 0);
      throw new ExitSignal(Number(code) || 0);
    },
    nextTick: (fn: Fn, ...args: unknown[]) => queueMicrotask(() => fn(...args)),
    hrtime: Object.assign(
      (prev?: [number, number]) => {
        const t = now() * 1e6;
        const s = Math.floor(t / 1e9);
        const ns = Math.floor(t % 1e9);
        return prev ? [s - prev[0] - (ns < prev[1] ? 1 : 0), (ns - prev[1] + 1e9) % 1e9] : [s, ns];
      },
      { bigint: () => BigInt(Math.floor(now() * 1e6)) },
    ),
    memoryUsage: () => ({}),
  };
}
