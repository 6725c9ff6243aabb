import { useEffect, useImperativeHandle, useLayoutEffect, useRef, useState, type Ref } from 'react';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { useSession } from '../core/SessionContext';
import { Spinner } from '../ui/Spinner';

export interface TerminalHandle {
  focus: () => void;
}

type ConnState =
  | { kind: 'connecting' }
  | { kind: 'connected' }
  | { kind: 'retrying'; at: number }
  | { kind: 'exited'; code: number | null }
  | { kind: 'gone' };

interface Props {
  /** The interviewer watches: keystrokes are not sent. */
  watchOnly: boolean;
  /** Ended sessions keep the output but take no input. */
  ended: boolean;
  visible: boolean;
  handleRef?: Ref<TerminalHandle>;
}

// VS Code's Dark Modern terminal colours.
const THEME = {
  background: '#181818',
  foreground: '#cccccc',
  cursor: '#e7e7e7',
  cursorAccent: '#181818',
  selectionBackground: '#264f78',
  black: '#000000',
  red: '#f14c4c',
  green: '#23d18b',
  yellow: '#f5f543',
  blue: '#3b8eea',
  magenta: '#d670d6',
  cyan: '#29b8db',
  white: '#e5e5e5',
  brightBlack: '#8f8f8f',
  brightRed: '#f14c4c',
  brightGreen: '#23d18b',
  brightYellow: '#f5f543',
  brightBlue: '#3b8eea',
  brightMagenta: '#d670d6',
  brightCyan: '#29b8db',
  brightWhite: '#e5e5e5',
};

const MAX_BACKOFF_MS = 10_000;

/**
 * The workspace's shared terminal (xterm.js over `/terminal`): binary frames are output, text frames
 * JSON. The candidate types; the interviewer watches. Reconnects with backoff; after the shell exits,
 * a new one starts on request.
 */
export function TerminalView({ watchOnly, ended, visible, handleRef }: Props) {
  const { api } = useSession();
  const hostRef = useRef<HTMLDivElement>(null);
  const termRef = useRef<Terminal | null>(null);
  const [state, setState] = useState<ConnState>({ kind: 'connecting' });
  const [generation, setGeneration] = useState(0);
  const [now, setNow] = useState(() => Date.now());
  const inputAllowed = !watchOnly && !ended;
  const allowed = useRef(inputAllowed);
  useLayoutEffect(() => {
    allowed.current = inputAllowed;
  });
  const sendRef = useRef<(msg: object) => void>(() => {});
  const fitRef = useRef<() => void>(() => {});

  useImperativeHandle(handleRef, () => ({ focus: () => termRef.current?.focus() }));

  // The terminal itself: created once, kept while the workspace is open.
  useEffect(() => {
    const host = hostRef.current!;
    const term = new Terminal({
      theme: THEME,
      fontFamily: "'JetBrains Mono', 'Fira Code', 'Cascadia Code', Menlo, Consolas, 'DejaVu Sans Mono', monospace",
      fontSize: 13,
      lineHeight: 1.15,
      scrollback: 5000,
      cursorBlink: false,
      disableStdin: !allowed.current,
      allowProposedApi: false,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(host);
    termRef.current = term;

    let last = { cols: 0, rows: 0 };
    const doFit = () => {
      if (host.clientWidth < 20 || host.clientHeight < 20) return;
      try {
        fit.fit();
      } catch {
        return;
      }
      if (term.cols !== last.cols || term.rows !== last.rows) {
        last = { cols: term.cols, rows: term.rows };
        if (allowed.current) sendRef.current({ type: 'resize', cols: term.cols, rows: term.rows });
      }
    };
    fitRef.current = () => {
      last = { cols: 0, rows: 0 };
      doFit();
    };
    const ro = new ResizeObserver(() => doFit());
    ro.observe(host);
    const dataSub = term.onData((data) => {
      if (allowed.current) sendRef.current({ type: 'input', data });
    });
    doFit();
    return () => {
      ro.disconnect();
      dataSub.dispose();
      term.dispose();
      termRef.current = null;
    };
  }, []);

  useEffect(() => {
    const term = termRef.current;
    if (term) term.options.disableStdin = !inputAllowed;
  }, [inputAllowed]);

  // The connection; a new generation after the shell exited starts a new shell.
  useEffect(() => {
    let disposed = false;
    let ws: WebSocket | null = null;
    let attempt = 0;
    let timer: number | undefined;
    let exited = false;

    const connect = () => {
      if (disposed) return;
      setState({ kind: 'connecting' });
      const socket = new WebSocket(api.workspace.terminalUrl());
      socket.binaryType = 'arraybuffer';
      ws = socket;
      let first = true;
      socket.onopen = () => {
        attempt = 0;
        setState({ kind: 'connected' });
        fitRef.current();
      };
      socket.onmessage = (ev) => {
        const term = termRef.current;
        if (!term) return;
        if (first) {
          // The server starts with the recent scrollback: replace what we showed before.
          first = false;
          term.reset();
        }
        if (typeof ev.data === 'string') {
          try {
            const msg = JSON.parse(ev.data) as { type?: string; code?: number };
            if (msg.type === 'exit') {
              exited = true;
              const code = typeof msg.code === 'number' ? msg.code : null;
              term.write(`\r\n\x1b[90m[the shell exited${code === null ? '' : ` with code ${code}`}]\x1b[0m\r\n`);
              setState({ kind: 'exited', code });
            }
          } catch {
            /* not for us */
          }
          return;
        }
        term.write(new Uint8Array(ev.data as ArrayBuffer));
      };
      socket.onclose = (ev) => {
        if (ws === socket) ws = null;
        if (disposed) return;
        if (ev.code === 4404) {
          setState({ kind: 'gone' });
          return;
        }
        if (exited) return;
        const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt);
        attempt += 1;
        setState({ kind: 'retrying', at: Date.now() + delay });
        timer = window.setTimeout(connect, delay);
      };
    };

    sendRef.current = (msg) => {
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg));
    };
    const onOnline = () => {
      if (!ws && !exited && !disposed) {
        window.clearTimeout(timer);
        attempt = 0;
        connect();
      }
    };
    window.addEventListener('online', onOnline);
    connect();
    return () => {
      disposed = true;
      window.clearTimeout(timer);
      window.removeEventListener('online', onOnline);
      sendRef.current = () => {};
      ws?.close(1000);
    };
  }, [api, generation]);

  // A countdown while waiting to reconnect.
  useEffect(() => {
    if (state.kind !== 'retrying') return;
    const t = window.setInterval(() => setNow(Date.now()), 500);
    return () => window.clearInterval(t);
  }, [state.kind]);

  useEffect(() => {
    if (visible) fitRef.current();
  }, [visible]);

  return (
    <div className="terminal-panel">
      <div className="terminal-bar">
        <TerminalState state={state} now={now} />
        {watchOnly && (
          <span className="terminal-watch" data-testid="terminal-readonly">
            watching (read-only)
          </span>
        )}
        {(state.kind === 'exited' || state.kind === 'retrying') && (
          <button
            type="button"
            className="btn btn-small"
            onClick={() => setGeneration((g) => g + 1)}
            data-testid="terminal-reconnect"
          >
            {state.kind === 'exited' ? 'Start a new shell' : 'Reconnect now'}
          </button>
        )}
      </div>
      <div
        className="terminal-host"
        ref={hostRef}
        data-testid="terminal"
        data-state={state.kind}
        role="region"
        aria-label={watchOnly ? 'Shared terminal, watching (read-only)' : 'Shared terminal'}
      />
    </div>
  );
}

function TerminalState({ state, now }: { state: ConnState; now: number }) {
  let text: string;
  let cls = 'warn';
  switch (state.kind) {
    case 'connecting':
      text = 'Connecting…';
      break;
    case 'connected':
      text = 'Connected';
      cls = 'ok';
      break;
    case 'retrying':
      text = `Disconnected, retrying in ${Math.max(1, Math.ceil((state.at - now) / 1000))} s`;
      cls = 'bad';
      break;
    case 'exited':
      text = state.code === null ? 'Shell exited' : `Shell exited (code ${state.code})`;
      cls = 'bad';
      break;
    case 'gone':
      text = 'This session no longer exists';
      cls = 'bad';
      break;
  }
  return (
    <span className={`proc-state ${cls}`} role="status" data-testid="terminal-state" data-state={state.kind}>
      {state.kind === 'connecting' ? <Spinner size={10} /> : <span className="proc-dot" aria-hidden="true" />}
      {text}
    </span>
  );
}
