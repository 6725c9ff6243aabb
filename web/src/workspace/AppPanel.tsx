import { useCallback, useEffect, useLayoutEffect, useRef, useState } from 'react';
import { ApiError, timeMs } from '../api/client';
import type { LogLine, ProcessState, WorkspaceStatus } from '../api/workspace';
import { useSession } from '../core/SessionContext';
import { Spinner } from '../ui/Spinner';
import { RequestConsole } from './RequestConsole';
import { usePolling } from '../ui/usePolling';

interface Props {
  status: WorkspaceStatus | null;
  onStatus: (s: WorkspaceStatus) => void;
  visible: boolean;
  ended: boolean;
}

const MAX_LINES = 2000;

/**
 * The level a line announces, as an extra class: Python's logging (uvicorn's included) writes every
 * level to stderr, so the stream alone would show plain INFO lines as errors.
 */
function logLevel(text: string): string {
  const m = /^\s*(INFO|DEBUG|TRACE|WARN(?:ING)?|ERROR|CRITICAL|FATAL)\b/.exec(text);
  if (!m) return '';
  const level = m[1];
  if (level.startsWith('WARN')) return ' warn';
  if (level === 'ERROR' || level === 'CRITICAL' || level === 'FATAL') return ' error';
  return ' info';
}

/** The "App" tab: the app's state, a restart button, its logs (polled) and the request console. */
export function AppPanel({ status, onStatus, visible, ended }: Props) {
  return (
    <div className="app-panel">
      <AppLogs status={status} onStatus={onStatus} visible={visible} ended={ended} />
      <RequestConsole />
    </div>
  );
}

const STATE_TEXT: Record<ProcessState, string> = {
  running: 'Running',
  starting: 'Starting…',
  stopped: 'Stopped',
  crashed: 'Crashed',
};

export function AppStateBadge({
  state,
  error,
  since,
  testId = 'app-state',
}: {
  state: ProcessState | null;
  error?: string | null;
  since?: number | null;
  testId?: string;
}) {
  const cls = state === 'running' ? 'ok' : state === 'crashed' ? 'bad' : 'warn';
  const title = [
    error ? `Error: ${error}` : null,
    since ? `Since ${new Date(since).toLocaleTimeString()}` : null,
  ]
    .filter(Boolean)
    .join('. ');
  return (
    <span className={`proc-state ${cls}`} data-testid={testId} data-state={state ?? 'unknown'} title={title || undefined}>
      {state === 'starting' || state === null ? <Spinner size={10} /> : <span className="proc-dot" aria-hidden="true" />}
      {state === null ? 'Checking…' : `App: ${STATE_TEXT[state] ?? state}`}
    </span>
  );
}

function AppLogs({ status, onStatus, visible, ended }: Props) {
  const { api } = useSession();
  const [lines, setLines] = useState<LogLine[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [restarting, setRestarting] = useState(false);
  const [restartError, setRestartError] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);
  const after = useRef(0);
  const listRef = useRef<HTMLDivElement>(null);

  const poll = useCallback(async () => {
    try {
      const res = await api.workspace.logs(after.current);
      setError(null);
      const got = Array.isArray(res.lines) ? res.lines : [];
      const next = typeof res.next === 'number' ? res.next : (got[got.length - 1]?.n ?? after.current);
      if (next < after.current) {
        // The log started over (the server restarted): take it from the top.
        after.current = 0;
        setLines([]);
        return;
      }
      after.current = next;
      if (got.length) setLines((old) => [...old, ...got].slice(-MAX_LINES));
    } catch (err) {
      setError(err instanceof ApiError && err.status === 0 ? 'Cannot reach the server. Retrying…' : `Logs unavailable: ${(err as Error).message}`);
    }
  }, [api]);

  usePolling(poll, 1000, visible);

  // Keep the newest line in view while following (scrolling up stops following).
  useLayoutEffect(() => {
    const el = listRef.current;
    if (el && follow) el.scrollTop = el.scrollHeight;
  }, [lines, follow, visible]);

  const onScroll = () => {
    const el = listRef.current;
    if (!el) return;
    const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    if (atBottom !== follow) setFollow(atBottom);
  };

  const restart = () => {
    setRestarting(true);
    setRestartError(null);
    api.workspace.restart().then(
      (s) => {
        setRestarting(false);
        onStatus(s);
      },
      (err: Error) => {
        setRestarting(false);
        setRestartError(`Restart failed: ${err.message}`);
      },
    );
  };

  const app = status?.app ?? null;
  const since = timeMs(app?.since);

  useEffect(() => {
    if (!restartError) return;
    const t = window.setTimeout(() => setRestartError(null), 8000);
    return () => window.clearTimeout(t);
  }, [restartError]);

  return (
    <section className="app-logs" aria-label="App logs" data-testid="app-logs">
      <div className="panel-toolbar">
        <AppStateBadge state={app?.state ?? null} error={app?.error} since={since} />
        <button
          type="button"
          className="btn btn-small"
          onClick={restart}
          disabled={restarting || ended}
          data-testid="app-restart"
          title="Restart the app (its logs continue below)"
        >
          {restarting && <Spinner size={10} />}
          Restart
        </button>
        <button type="button" className="btn btn-small btn-ghost" onClick={() => setLines([])} title="Clear the lines shown here (the app keeps them)">
          Clear
        </button>
        {!follow && (
          <button type="button" className="btn btn-small btn-ghost" onClick={() => setFollow(true)}>
            ↓ Follow
          </button>
        )}
      </div>
      {app?.state === 'crashed' && app.error && (
        <p className="panel-error" role="alert">
          The app crashed: {app.error}
        </p>
      )}
      {restartError && (
        <p className="panel-error" role="alert">
          {restartError}
        </p>
      )}
      {error && <p className="panel-error">{error}</p>}
      <div
        className="log-lines"
        ref={listRef}
        onScroll={onScroll}
        tabIndex={0}
        role="log"
        aria-label="App output"
        aria-live="off"
        data-testid="app-log-lines"
      >
        {lines.length === 0 ? (
          <div className="log-empty">No output yet.</div>
        ) : (
          lines.map((l) => (
            <div key={l.n} className={`log-line ${l.stream}${logLevel(l.text)}`}>
              <span className="log-time">{new Date(l.at_ms).toLocaleTimeString([], { hour12: false })}</span>
              <span className="log-text">{l.text}</span>
            </div>
          ))
        )}
      </div>
    </section>
  );
}
