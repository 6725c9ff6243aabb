// The Python runtime (Pyodide, served by our own server under /pyodide/), loaded once and kept
// warm. A run is interrupted through Pyodide's interrupt buffer (KeyboardInterrupt; the
// interpreter survives); the page terminates the worker if that does not work.
import type { SharedChannels, ToWorker } from './protocol';
import { neuterScope, OutputSink, post } from './sandbox';
import { readLine } from './stdin';

/** The part of Pyodide's API this worker uses. */
interface PyCallable {
  (...args: unknown[]): unknown;
  destroy?: () => void;
}
interface Pyodide {
  runPython(code: string): unknown;
  registerJsModule(name: string, module: object): void;
  setInterruptBuffer(buffer: Int32Array): void;
  checkInterrupt(): void;
  setStdout(options: { write: (buffer: Uint8Array) => number; isatty?: boolean }): void;
  setStderr(options: { write: (buffer: Uint8Array) => number; isatty?: boolean }): void;
  setStdin(options: { stdin: () => string | null; isatty?: boolean }): void;
}
interface PyodideModule {
  loadPyodide(options: Record<string, unknown>): Promise<Pyodide>;
}

// Runs main.py in fresh globals; prints the traceback from the user's first frame on; returns
// "status\nmissing-module".
const RUNNER = `
def _iide_make_runner():
    import sys, traceback, linecache

    def run(src):
        linecache.cache['main.py'] = (len(src), None, src.splitlines(True), 'main.py')
        g = {'__name__': '__main__', '__file__': 'main.py', '__builtins__': __builtins__}
        status, missing = 'ok', ''
        try:
            exec(compile(src, 'main.py', 'exec'), g)
        except SystemExit as e:
            if e.code is not None and e.code != 0:
                status = 'error'
                if not isinstance(e.code, int):
                    print(e.code, file=sys.stderr)
        except KeyboardInterrupt:
            status = 'interrupted'
        except BaseException as e:
            status = 'error'
            try:
                tb = e.__traceback__
                while tb is not None and tb.tb_frame.f_code.co_filename != 'main.py':
                    tb = tb.tb_next
                traceback.print_exception(type(e), e, tb)
                if isinstance(e, ModuleNotFoundError) and e.name:
                    missing = e.name
            except KeyboardInterrupt:
                status = 'interrupted'
            except BaseException:
                pass
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except BaseException:
                    pass
        return status + '\\n' + missing

    def guarded(src):
        # An interrupt can land anywhere, even in the handlers above.
        try:
            return run(src)
        except KeyboardInterrupt:
            return 'interrupted\\n'

    return guarded


def _iide_patch_sleep():
    # Pyodide's time.sleep does not notice an interrupt; this one waits on the interrupt buffer,
    # so Stop and the time limit end a sleeping program at once.
    import time
    from _iide import sleep as wait

    def sleep(seconds):
        if seconds < 0:
            raise ValueError('sleep length must be non-negative')
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            wait(min(left, 1.0))

    sleep.__doc__ = time.sleep.__doc__
    time.sleep = sleep


_iide_patch_sleep()
_iide_make_runner()
`;

let py: Pyodide | null = null;
let runner: PyCallable | null = null;
let channels: SharedChannels | null = null;
let interrupt: Int32Array | null = null;
let sink = new OutputSink(null);
let currentRun = '';

self.onmessage = (event: MessageEvent<ToWorker>) => {
  const msg = event.data;
  if (msg.type === 'init') void init(msg.channels, msg.origin, msg.pyodidePath ?? '/pyodide/');
  else if (msg.type === 'run') run(msg.id, msg.code);
};

async function init(shared: SharedChannels | null, origin: string, path: string): Promise<void> {
  const t0 = performance.now();
  channels = shared;
  sink = new OutputSink(shared);
  interrupt = shared?.interrupt ? new Int32Array(shared.interrupt) : null;
  try {
    const base = `${origin}${path}`;
    const mod = (await import(/* @vite-ignore */ `${base}pyodide.mjs`)) as PyodideModule;
    py = await mod.loadPyodide({ indexURL: base, packages: [], fullStdLib: false });
    py.registerJsModule('_iide', { sleep: jsSleep });
    const writer = (stream: 'stdout' | 'stderr') => {
      const decoder = new TextDecoder();
      return {
        write: (buffer: Uint8Array) => {
          sink.write(stream, decoder.decode(buffer, { stream: true }));
          return buffer.length;
        },
        isatty: false,
      };
    };
    py.setStdout(writer('stdout'));
    py.setStderr(writer('stderr'));
    py.setStdin({ stdin: readStdin, isatty: false });
    runner = py.runPython(RUNNER) as PyCallable;
    if (interrupt) py.setInterruptBuffer(interrupt);
    // The runtime is in memory: from here on nothing in this worker needs the network.
    neuterScope();
    post({ type: 'ready', loadMs: performance.now() - t0 });
  } catch (err) {
    post({ type: 'fatal', message: err instanceof Error ? err.message : String(err) });
  }
}

/** Sleeps without spinning; wakes early when the page raises the interrupt. */
function jsSleep(seconds: number): void {
  const ms = Math.max(0, seconds * 1000);
  if (interrupt) {
    Atomics.wait(interrupt, 0, 0, ms);
    return;
  }
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* no shared memory: nothing better than spinning */
  }
}

function readStdin(): string | null {
  if (!channels) {
    sink.write('system', '\n(No input: this browser cannot pass input to the program.)\n');
    return null;
  }
  sink.flush();
  post({ type: 'stdin', id: currentRun });
  const result = readLine(channels.stdin, () => interrupt !== null && interrupt[0] !== 0);
  if (result.kind === 'line') return `${result.text}\n`;
  // Raises KeyboardInterrupt inside input() when Stop or the time limit interrupted the wait.
  if (result.kind === 'interrupted') py?.checkInterrupt();
  return null;
}

function run(id: string, code: string): void {
  currentRun = id;
  sink.start(id);
  if (!py || !runner) {
    post({ type: 'done', id, outcome: 'error', durationMs: 0, note: 'The Python runtime is not loaded.' });
    return;
  }
  post({ type: 'started', id });
  const t0 = performance.now();
  let outcome: 'ok' | 'error' | 'interrupted' = 'error';
  let note: string | undefined;
  try {
    const [status, missing] = String(runner(code)).split('\n');
    outcome = status === 'ok' || status === 'interrupted' ? status : 'error';
    if (missing) {
      const top = missing.split('.')[0];
      sink.write(
        'system',
        `\nThe module '${top}' is not available here. Python runs in your browser, offline, with the standard library only: packages such as numpy or pandas cannot be installed.\n`,
      );
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    if (/KeyboardInterrupt\s*$/.test(message)) {
      outcome = 'interrupted';
    } else {
      // Not a Python exception: the runtime itself failed (e.g. its stack overflowed).
      sink.write('stderr', `${message}\n`);
      note = 'fatal';
    }
  }
  const durationMs = performance.now() - t0;
  sink.flush();
  post({ type: 'done', id, outcome, durationMs, note });
}
