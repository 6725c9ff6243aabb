import { memo, useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState, type FormEvent, type KeyboardEvent, type PointerEvent, type RefObject } from 'react';
import type { Policy, Role } from '../api/sessions';
import { modKey } from '../ui/shortcuts';
import { Spinner } from '../ui/Spinner';
import type { Chunk } from './protocol';
import { runtimeName } from './registry';
import type { RunInfo } from './runsDoc';
import { MAX_TIME_LIMIT, MIN_TIME_LIMIT } from './usePolicy';
import type { Runner } from './useRunner';
import './run.css';

interface Props {
  runner: Runner;
  role: Role;
  policy: Policy;
  onPolicy: (patch: Partial<Policy>) => void;
  fileName: string;
  languageNames: (id: string) => string;
}

const HEIGHT_KEY = 'iide:run-panel-height';
const COLLAPSED_KEY = 'iide:run-panel-collapsed';
const MIN_HEIGHT = 120;
const DEFAULT_HEIGHT = 260;

function storedNumber(key: string, fallback: number): number {
  try {
    const v = Number(localStorage.getItem(key));
    return Number.isFinite(v) && v > 0 ? v : fallback;
  } catch {
    return fallback;
  }
}

function store(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    /* private mode */
  }
}

export function formatDuration(ms: number | null): string {
  if (ms === null) return '';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function formatTime(ms: number): string {
  return ms ? new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '';
}

const ICON_PATHS: Record<RunInfo['status'], string> = {
  running: 'M8 4.5a3.5 3.5 0 1 0 0 7 3.5 3.5 0 0 0 0-7z',
  ok: 'M3 8.5l3 3 7-7',
  error: 'M4 4l8 8M12 4l-8 8',
  timeout: 'M8 2.5a5.5 5.5 0 1 0 0 11 5.5 5.5 0 0 0 0-11zM8 5v3.2l2.2 1.6',
  stopped: 'M4.5 4.5h7v7h-7z',
};

const STATUS_WORD: Record<RunInfo['status'], string> = {
  running: 'running',
  ok: 'finished',
  error: 'error',
  timeout: 'time limit reached',
  stopped: 'stopped',
};

function StatusIcon({ status }: { status: RunInfo['status'] }) {
  const filled = status === 'running' || status === 'stopped';
  return (
    <svg className={`status-icon status-icon-${status}`} viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
      <path d={ICON_PATHS[status]} fill={filled ? 'currentColor' : 'none'} stroke="currentColor" strokeWidth={filled ? 0 : 1.6} strokeLinecap="round" strokeLinejoin="round" />
    </svg>
  );
}

function statusLabel(run: RunInfo, now: number): string {
  switch (run.status) {
    case 'running':
      if (run.phase === 'loading') return `Loading ${runtimeName(run.language)} runtime…`;
      if (run.phase === 'input') return 'Waiting for input…';
      return `Running… ${formatDuration(Math.max(0, now - run.startedAt))}`;
    case 'ok':
      return `Finished in ${formatDuration(run.durationMs)}`;
    case 'error':
      return `Error after ${formatDuration(run.durationMs)}`;
    case 'timeout':
      return `Time limit reached after ${formatDuration(run.durationMs)}`;
    case 'stopped':
      return `Stopped after ${formatDuration(run.durationMs)}`;
  }
}

/** The bottom panel: Run/Stop, status, output of the latest (or chosen) run, input, history. */
export function RunPanel({ runner, role, policy, onPolicy, fileName, languageNames }: Props) {
  const { runs, active, canRun, blocked } = runner;
  const [collapsed, setCollapsed] = useState(() => {
    try {
      return localStorage.getItem(COLLAPSED_KEY) === '1';
    } catch {
      return false;
    }
  });
  const [height, setHeight] = useState(() => storedNumber(HEIGHT_KEY, DEFAULT_HEIGHT));
  const [selected, setSelected] = useState<string | null>(null);
  const stdinRef = useRef<HTMLInputElement>(null);

  const latest = runs[runs.length - 1];
  const shown = (selected && runs.find((r) => r.id === selected)) || latest;
  const { outputOf } = runner;
  const shownId = shown?.id;
  const all = useMemo(() => (shownId ? outputOf(shownId) : []), [outputOf, shownId]);
  const output = useThrottledOutput(all, shown?.status === 'running', shown?.id ?? '');
  const isMine = active !== null && shown?.id === active.id;

  // A new run (anyone's) is shown as it starts, and opens the panel.
  const [seenLatest, setSeenLatest] = useState(latest?.id);
  if (latest && latest.id !== seenLatest) {
    setSeenLatest(latest.id);
    setSelected(null);
    if (latest.status === 'running') setCollapsed(false);
  }

  // The input line takes the focus when the program asks for input.
  useEffect(() => {
    if (active?.phase === 'input') {
      setCollapsed(false);
      requestAnimationFrame(() => stdinRef.current?.focus());
    }
  }, [active?.phase]);

  // Ticks the running clock.
  const [now, setNow] = useState(() => Date.now());
  const running = runs.some((r) => r.status === 'running');
  useEffect(() => {
    if (!running) return;
    const t = window.setInterval(() => setNow(Date.now()), 100);
    return () => window.clearInterval(t);
  }, [running]);

  const toggle = () => {
    setCollapsed((c) => {
      store(COLLAPSED_KEY, c ? '0' : '1');
      return !c;
    });
  };

  const runTitle = blocked ?? (active ? 'A run is in progress' : `Run ${fileName} (${modKey}+Enter)`);
  const status = shown ? statusLabel(shown, now) : 'Not run yet';
  const loading = shown?.status === 'running' && shown.phase === 'loading' ? runtimeName(shown.language) : null;

  return (
    <section className={`run-panel${collapsed ? ' collapsed' : ''}`} style={collapsed ? undefined : { height }} aria-label="Run">
      {!collapsed && <Resizer height={height} onHeight={setHeight} />}
      <div className="run-header">
        <h2 className="run-title">Run</h2>
        <button
          type="button"
          className="run-btn"
          data-testid="run-button"
          onClick={runner.run}
          disabled={!canRun}
          title={runTitle}
          aria-keyshortcuts="Control+Enter Meta+Enter"
        >
          <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
            <path d="M4 2.5v11l9-5.5z" fill="currentColor" />
          </svg>
          Run
        </button>
        <button
          type="button"
          className="stop-btn"
          data-testid="stop-button"
          onClick={runner.stop}
          disabled={active === null}
          title="Stop the program"
        >
          <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
            <rect x="3" y="3" width="10" height="10" rx="1" fill="currentColor" />
          </svg>
          Stop
        </button>
        <span
          className={`run-status status-${shown?.status ?? 'none'}`}
          data-testid="run-status"
          data-status={shown?.status ?? ''}
          role="status"
          aria-live="polite"
        >
          {shown?.status === 'running' ? (
            <Spinner size={12} />
          ) : (
            shown && <StatusIcon status={shown.status} />
          )}
          {status}
        </span>
        <span className="run-spacer" />
        {role === 'interviewer' && <PolicyControls policy={policy} onPolicy={onPolicy} />}
        <button
          type="button"
          className="icon-btn"
          onClick={toggle}
          aria-expanded={!collapsed}
          aria-controls="run-body"
          aria-label={collapsed ? 'Show the run panel' : 'Hide the run panel'}
          title={collapsed ? 'Show the run panel' : 'Hide the run panel'}
        >
          <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
            <path d={collapsed ? 'M4 10l4-4 4 4' : 'M4 6l4 4 4-4'} fill="none" stroke="currentColor" strokeWidth="1.5" />
          </svg>
        </button>
      </div>
      <div className="run-body" id="run-body" hidden={collapsed}>
        <div className="run-main">
          {blocked && role === 'candidate' && policy.execution_enabled === false && (
            <p className="run-notice" role="note" data-testid="execution-off-note">
              <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                <path d="M5 7V5a3 3 0 0 1 6 0v2M4 7h8v6H4z" fill="none" stroke="currentColor" strokeWidth="1.4" />
              </svg>
              Code execution is turned off by the interviewer
            </p>
          )}
          {blocked && !(role === 'candidate' && policy.execution_enabled === false) && blocked !== 'Connecting…' && (
            <p className="run-notice" role="note">
              {blocked}
            </p>
          )}
          {shown && (
            <div className="run-meta">
              <span className="run-dot" style={{ background: shown.color }} aria-hidden="true" />
              <span>
                <strong>{shown.by}</strong> ran {languageNames(shown.language)} at {formatTime(shown.startedAt)}
                {shown !== latest && ' (an earlier run)'}
              </span>
              {shown.truncated && <span className="run-tag">output truncated</span>}
            </div>
          )}
          <Output chunks={output} runId={shown?.id ?? ''} empty={!shown} fileName={fileName} loading={loading} />
          {/* A server-side run given its input in the box keeps it; one started with an empty box
              takes its input from the line below while it runs. */}
          {runner.stdinUpfront && !(isMine && active && runner.stdin === '') ? (
            <label className="stdin-box">
              <span>Input</span>
              <textarea
                data-testid="stdin-box"
                value={runner.stdin}
                onChange={(e) => runner.setStdin(e.target.value)}
                rows={2}
                spellCheck={false}
                placeholder="Sent with Run; leave empty to type it while the program runs"
                title="The program's standard input, sent with the next run"
              />
            </label>
          ) : (
            <StdinLine
              inputRef={stdinRef}
              waiting={isMine && active?.phase === 'input'}
              accepting={runner.stdinUpfront && isMine && active !== null && runner.stdin === ''}
              enabled={active !== null}
              othersWaiting={!active && shown?.status === 'running' && shown.phase === 'input' ? shown.by : null}
              onLine={runner.input}
              onEnd={runner.endInput}
            />
          )}
        </div>
        <History runs={runs} shownId={shown?.id ?? null} onShow={setSelected} languageNames={languageNames} />
      </div>
    </section>
  );
}

/** Output is drawn in blocks of about this many characters, each cut after a newline. */
const BLOCK_CHARS = 4096;

/**
 * Cuts output into blocks that end at a line end. Output only grows, so every block but the last
 * never changes again and is not laid out again (each is an inline-block: its own layout, and no
 * extra line breaks in the element's text).
 */
function toBlocks(chunks: Chunk[]): Chunk[][] {
  const blocks: Chunk[][] = [];
  let block: Chunk[] = [];
  let size = 0;
  for (const chunk of chunks) {
    let text = chunk.text;
    while (text) {
      let cut = text.length;
      const room = BLOCK_CHARS - size;
      if (text.length > room) {
        const nl = text.indexOf('\n', Math.max(0, room - 1));
        cut = nl === -1 ? text.length : nl + 1;
      }
      const piece = text.slice(0, cut);
      text = text.slice(cut);
      block.push({ stream: chunk.stream, text: piece });
      size += piece.length;
      if (size >= BLOCK_CHARS && piece.endsWith('\n')) {
        blocks.push(block);
        block = [];
        size = 0;
      }
    }
  }
  if (block.length) blocks.push(block);
  return blocks;
}

const sameBlock = (a: { chunks: Chunk[] }, b: { chunks: Chunk[] }) =>
  a.chunks.length === b.chunks.length && a.chunks.every((c, i) => c.stream === b.chunks[i].stream && c.text === b.chunks[i].text);

const OutputBlock = memo(function OutputBlock({ chunks }: { chunks: Chunk[] }) {
  return (
    <span className="out-block">
      {chunks.map((c, i) => (
        <span key={i} className={`out-${c.stream}`}>
          {c.text}
        </span>
      ))}
    </span>
  );
}, sameBlock);

/** Above this much text, a running program's output is redrawn at most every THROTTLE_MS. */
const THROTTLE_ABOVE = 64 * 1024;
const THROTTLE_MS = 250;

/**
 * Laying out a large output is the expensive part of showing it: while a program prints a lot, the
 * panel shows the new text a few times per second instead of every frame.
 */
function useThrottledOutput(chunks: Chunk[], running: boolean, runId: string): Chunk[] {
  /** What is on screen, and of which run. */
  const [shown, setShown] = useState({ chunks, runId });
  /** The newest output, for the timer to pick up. */
  const latest = useRef(chunks);
  useLayoutEffect(() => {
    latest.current = chunks;
  });

  const size = chunks.reduce((n, c) => n + c.text.length, 0);
  const throttle = running && size > THROTTLE_ABOVE && shown.runId === runId;
  // Unthrottled, the screen follows the output as it comes.
  if (!throttle && (shown.chunks !== chunks || shown.runId !== runId)) setShown({ chunks, runId });

  // Throttled, it catches up every THROTTLE_MS (however often the output grows meanwhile).
  useEffect(() => {
    if (!throttle) return;
    const t = window.setInterval(() => setShown({ chunks: latest.current, runId }), THROTTLE_MS);
    return () => window.clearInterval(t);
  }, [throttle, runId]);

  return throttle ? shown.chunks : chunks;
}

const Output = memo(function Output({
  chunks,
  runId,
  empty,
  fileName,
  loading,
}: {
  chunks: Chunk[];
  runId: string;
  empty: boolean;
  fileName: string;
  /** What is loading before the run starts ("Python"), or null. */
  loading: string | null;
}) {
  const ref = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    stick.current = true;
  }, [runId]);
  useLayoutEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [chunks]);
  const blocks = useMemo(() => toBlocks(chunks), [chunks]);
  const onScroll = () => {
    const el = ref.current;
    if (el) stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  };
  return (
    <div className="run-output-wrap">
      <pre className="run-output" data-testid="run-output" ref={ref} onScroll={onScroll} tabIndex={0} role="region" aria-label="Program output">
        {blocks.map((block, i) => (
          <OutputBlock key={i} chunks={block} />
        ))}
      </pre>
      {empty && (
        <p className="run-empty">
          Press <strong>Run</strong> or <kbd>{modKey}</kbd>+<kbd>Enter</kbd> to run {fileName}. Everyone in the session sees the output.
        </p>
      )}
      {loading && chunks.length === 0 && (
        <p className="run-empty" aria-hidden="true">
          <Spinner size={14} /> Loading {loading} runtime…
        </p>
      )}
    </div>
  );
});

/** A line typed in the stdin box, or null: end of input (Ctrl+D). */
type StdinEntry = string | null;

function StdinLine({
  inputRef,
  waiting,
  accepting = false,
  enabled,
  othersWaiting,
  onLine,
  onEnd,
}: {
  inputRef: RefObject<HTMLInputElement | null>;
  waiting: boolean;
  /** Lines go to the program as they are typed (a server-side run reads them when it wants). */
  accepting?: boolean;
  enabled: boolean;
  othersWaiting: string | null;
  onLine: (line: string) => void;
  onEnd: () => void;
}) {
  const [value, setValue] = useState('');
  const [queued, setQueued] = useState<StdinEntry[]>([]);
  const hand = useCallback((entry: StdinEntry) => (entry === null ? onEnd() : onLine(entry)), [onLine, onEnd]);
  // Lines typed before the program asks are handed over when it does, end of input last.
  useEffect(() => {
    if ((waiting || accepting) && queued.length > 0) {
      hand(queued[0]);
      setQueued((q) => q.slice(1));
    }
  }, [waiting, accepting, queued, hand]);
  useEffect(() => {
    if (!enabled) setQueued([]);
  }, [enabled]);
  // Focus in the same commit that shows the line as waiting, before anything else can run: the
  // keys typed right after the program asks must land here, not in the editor.
  useLayoutEffect(() => {
    if (waiting && enabled) inputRef.current?.focus();
  }, [waiting, enabled, inputRef]);
  const send = (entries: StdinEntry[]) => {
    if (!enabled) return;
    if ((waiting || accepting) && queued.length === 0) {
      hand(entries[0]);
      setQueued(entries.slice(1));
    } else {
      setQueued((q) => [...q, ...entries]);
    }
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    send([value]);
    setValue('');
  };
  // As in a terminal: Ctrl+D ends the input, after the text typed on the line, if any.
  const end = () => {
    send(value ? [value, null] : [null]);
    setValue('');
  };
  const placeholder = waiting
    ? 'The program is waiting: type a line and press Enter'
    : accepting
      ? 'Input for the running program: Enter sends a line, Ctrl+D ends the input'
      : othersWaiting
        ? `${othersWaiting}'s program is waiting for their input`
        : enabled
          ? 'Input for the program (sent when it asks)'
          : 'Input for input() and prompt() goes here while your program runs';
  return (
    <form className={`run-stdin${waiting ? ' waiting' : ''}`} onSubmit={submit}>
      <label htmlFor="run-stdin-input" className="run-stdin-label">
        Input
      </label>
      <span className="run-stdin-prompt" aria-hidden="true">
        ›
      </span>
      <input
        id="run-stdin-input"
        ref={inputRef}
        type="text"
        data-testid="stdin-input"
        data-waiting={waiting ? 'true' : 'false'}
        value={value}
        onChange={(e) => setValue(e.target.value)}
        disabled={!enabled}
        placeholder={placeholder}
        autoComplete="off"
        spellCheck={false}
        onKeyDown={(e) => {
          if (e.ctrlKey && !e.altKey && !e.metaKey && e.key.toLowerCase() === 'd') {
            e.preventDefault();
            end();
          }
        }}
        aria-keyshortcuts="Control+D"
      />
      {queued.length > 0 && <span className="run-tag">{queued.length} queued</span>}
      <button type="button" className="btn btn-small run-stdin-eof" onClick={end} disabled={!enabled} data-testid="stdin-eof" title="End of input (Ctrl+D): a program reading all of its input gets what was typed">
        End input
      </button>
    </form>
  );
}

function History({ runs, shownId, onShow, languageNames }: { runs: RunInfo[]; shownId: string | null; onShow: (id: string | null) => void; languageNames: (id: string) => string }) {
  const latestId = runs[runs.length - 1]?.id ?? null;
  return (
    <nav className="run-history" aria-label="Recent runs">
      <h3 className="run-history-title">History</h3>
      {runs.length === 0 ? (
        <p className="run-history-empty" data-testid="run-history">
          No runs yet
        </p>
      ) : (
        <ol data-testid="run-history">
          {[...runs].reverse().map((r) => (
            <li key={r.id}>
              <button
                type="button"
                className={`run-history-item status-${r.status}`}
                aria-current={r.id === shownId ? 'true' : undefined}
                data-run-id={r.id}
                data-status={r.status}
                onClick={() => onShow(r.id === latestId ? null : r.id)}
              >
                <StatusIcon status={r.status} />
                <span className="run-history-main">
                  <span className="run-history-row">
                    <span className="run-history-who">
                      <span className="run-dot" style={{ background: r.color }} aria-hidden="true" />
                      {r.by}
                    </span>
                    <span className="run-history-duration">{r.status === 'running' ? 'running' : formatDuration(r.durationMs)}</span>
                  </span>
                  <span className="run-history-sub">
                    {languageNames(r.language)} · {formatTime(r.startedAt)}
                  </span>
                </span>
                <span className="sr-only">{STATUS_WORD[r.status]}</span>
              </button>
            </li>
          ))}
        </ol>
      )}
    </nav>
  );
}

function PolicyControls({ policy, onPolicy }: { policy: Policy; onPolicy: (patch: Partial<Policy>) => void }) {
  const [limit, setLimit] = useState(String(policy.time_limit_seconds));
  const editing = useRef(false);
  const timer = useRef<number | undefined>(undefined);
  useEffect(() => {
    if (!editing.current) setLimit(String(policy.time_limit_seconds));
  }, [policy.time_limit_seconds]);
  useEffect(() => () => window.clearTimeout(timer.current), []);

  const commit = (text: string) => {
    window.clearTimeout(timer.current);
    const n = Math.round(Number(text));
    if (!text.trim() || !Number.isFinite(n)) return;
    const clamped = Math.min(MAX_TIME_LIMIT, Math.max(MIN_TIME_LIMIT, n));
    if (String(clamped) !== text) setLimit(String(clamped));
    if (clamped !== policy.time_limit_seconds) onPolicy({ time_limit_seconds: clamped });
  };

  return (
    <div className="run-policy">
      <label className="run-switch" title="Whether the candidate may run code (you always can)">
        <input
          type="checkbox"
          role="switch"
          data-testid="execution-toggle"
          checked={policy.execution_enabled}
          onChange={(e) => onPolicy({ execution_enabled: e.target.checked })}
        />
        <span className="run-switch-track" aria-hidden="true" />
        Candidate can run code
      </label>
      <label className="run-limit" title={`Programs are stopped after this many seconds (${MIN_TIME_LIMIT}–${MAX_TIME_LIMIT})`}>
        Time limit
        <input
          type="number"
          data-testid="time-limit"
          min={MIN_TIME_LIMIT}
          max={MAX_TIME_LIMIT}
          step={1}
          value={limit}
          onFocus={() => (editing.current = true)}
          onBlur={(e) => {
            editing.current = false;
            commit(e.target.value);
          }}
          onChange={(e) => {
            setLimit(e.target.value);
            const text = e.target.value;
            window.clearTimeout(timer.current);
            timer.current = window.setTimeout(() => commit(text), 600);
          }}
          onKeyDown={(e) => {
            if (e.key === 'Enter') commit((e.target as HTMLInputElement).value);
          }}
        />
        s
      </label>
    </div>
  );
}

function Resizer({ height, onHeight }: { height: number; onHeight: (h: number) => void }) {
  const drag = useRef<{ y: number; h: number } | null>(null);
  const max = () => Math.max(MIN_HEIGHT, window.innerHeight - 220);
  const set = (h: number) => {
    const v = Math.round(Math.min(max(), Math.max(MIN_HEIGHT, h)));
    onHeight(v);
    store(HEIGHT_KEY, String(v));
  };
  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    drag.current = { y: e.clientY, h: height };
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    if (drag.current) set(drag.current.h - (e.clientY - drag.current.y));
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const step = e.shiftKey ? 80 : 20;
    if (e.key === 'ArrowUp') set(height + step);
    else if (e.key === 'ArrowDown') set(height - step);
    else if (e.key === 'Home') set(max());
    else if (e.key === 'End') set(MIN_HEIGHT);
    else return;
    e.preventDefault();
  };
  return (
    <div
      className="run-resizer"
      role="separator"
      aria-orientation="horizontal"
      aria-label="Resize the run panel"
      aria-valuenow={height}
      aria-valuemin={MIN_HEIGHT}
      aria-valuemax={max()}
      tabIndex={0}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={() => (drag.current = null)}
      onPointerCancel={() => (drag.current = null)}
      onKeyDown={onKeyDown}
    />
  );
}
