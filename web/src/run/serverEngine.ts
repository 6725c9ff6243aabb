// Languages that run on the server (C, C++, Java, Go, Rust, Ruby, Bash, SQL): the code goes over
// a WebSocket to /api/sessions/{id}/execute/ws, which compiles and runs it in a fresh sandbox,
// streams the output back and takes the input typed while it runs (after the stdin box's text).
// The runner writes it into the shared `runs` document like any other run; the server puts the
// run on the timeline itself.
import type { ExecuteEvent } from '../api/sessions';
import type { ExecHooks, ExecResult, Execution, RunContext, RunEngine } from './engines';

export class ServerEngine implements RunEngine {
  readonly recordsOnServer = true;
  readonly wantsStdinUpfront = true;

  execute(_id: string, code: string, language: string, _limitMs: number, hooks: ExecHooks, ctx?: RunContext): Execution {
    const startedAt = performance.now();
    let settled = false;
    let resolve!: (r: ExecResult) => void;
    const done = new Promise<ExecResult>((r) => (resolve = r));
    const finish = (r: ExecResult) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const elapsed = () => performance.now() - startedAt;

    // A refusal ('error') is handled where messages arrive: it may or may not end the run.
    const onEvent = (e: Exclude<ExecuteEvent, { type: 'error' }>) => {
      switch (e.type) {
        case 'queued':
          hooks.onPhase('loading');
          hooks.onOutput([{ stream: 'system', text: `Waiting for a free place on the server (${e.ahead} ahead)…\n` }]);
          break;
        case 'start':
          hooks.onPhase('running');
          break;
        case 'stdout':
        case 'stderr':
          hooks.onOutput([{ stream: e.type, text: e.text }]);
          break;
        case 'exit':
          finish({
            status: e.status,
            durationMs: e.time_ms,
            truncated: false,
            message: [e.message, figures(e)].filter(Boolean).join('\n'),
          });
          break;
      }
    };

    let socket: WebSocket | null = null;
    let stopped = false;
    let startedRun = false;
    const send = (msg: unknown) => {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
    };
    if (!ctx) {
      finish({ status: 'error', durationMs: 0, truncated: false, message: 'This run has no session to run on.' });
    } else {
      hooks.onPhase('running');
      socket = ctx.api.session.executeSocket();
      const ws = socket;
      // Input given in the box is the whole input (its end is sent at once); with an empty box,
      // the program gets what is typed while it runs.
      const interactive = ctx.stdin === '';
      ws.onopen = () => {
        ws.send(JSON.stringify({ language, code, stdin: ctx.stdin }));
        if (!interactive) ws.send(JSON.stringify({ eof: true }));
      };
      ws.onmessage = (m) => {
        let e: ExecuteEvent;
        try {
          e = JSON.parse(String(m.data)) as ExecuteEvent;
        } catch {
          return;
        }
        if (e.type === 'error') {
          // A refusal of the run itself (execution off, queue full...) ends it; one of a line of input does not.
          if (!startedRun) finish({ status: 'error', durationMs: 0, truncated: false, message: `The server did not run the code: ${e.error}` });
          else hooks.onOutput([{ stream: 'system', text: `${e.error}\n` }]);
          return;
        }
        if (e.type === 'start') startedRun = true;
        onEvent(e);
      };
      ws.onclose = () => {
        if (stopped) finish({ status: 'stopped', durationMs: elapsed(), truncated: false, message: 'Stopped.' });
        else finish({ status: 'error', durationMs: elapsed(), truncated: false, message: 'The connection to the server was lost before the run ended.' });
      };
    }
    return {
      done,
      stop: () => {
        stopped = true;
        socket?.close();
      },
      // After the stdin box's text, which goes with the run, the program gets what is typed.
      input: (line: string) => send({ stdin: `${line}\n` }),
      eof: () => send({ eof: true }),
    };
  }
}

/** "Exit code 0 · compiled in 0.61 s · ran in 0.01 s · CPU 8 ms · 2.1 MB". */
function figures(e: Extract<ExecuteEvent, { type: 'exit' }>): string {
  const parts: string[] = [];
  if (e.step === 'compile' && e.status === 'error' && e.code !== null) parts.push('Compilation failed');
  else if (e.code !== null) parts.push(`Exit code ${e.code}`);
  if (e.compile_ms !== null) parts.push(`compiled in ${seconds(e.compile_ms)}`);
  if (e.step === 'run') parts.push(`ran in ${seconds(e.time_ms)}`);
  if (e.step === 'run' && typeof e.cpu_ms === 'number') parts.push(`CPU ${seconds(e.cpu_ms)}`);
  if (e.memory_bytes) parts.push(`${(e.memory_bytes / (1 << 20)).toFixed(1)} MB`);
  return parts.join(' · ');
}

function seconds(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(2)} s`;
}
