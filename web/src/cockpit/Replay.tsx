import type { ReplayableDoc } from '../api/docNames';
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import type { TimelineEvent } from '../api/cockpit';
import { useSession } from '../core/SessionContext';
import { languageInfo, monaco } from '../editor/monaco';
import { Spinner } from '../ui/Spinner';
import { describeEvent, toneOf } from './events';
import { sessionClock, wallClock } from '../ui/time';

interface Props {
  language: string;
  endedAt: number | null;
  events: TimelineEvent[] | null;
  languageName: (id: string) => string;
  /** A moment to show (from the timeline); `seq` changes on every request, even for the same moment. */
  jump: { at: number; seq: number } | null;
  /** The document to replay: the pad (`main`, default) or a workspace file (`file:<path>`). */
  doc?: ReplayableDoc;
}

interface Info {
  created: number;
  ended: number | null;
  changes: number[];
  text: string;
}

const SPEEDS = [1, 2, 4, 8, 16, 32];
const TICK_MS = 100;
/** Stretches without changes longer than this (session time) are skipped while playing. */
const IDLE_MS = 1500;
const MARK_BUCKETS = 160;

/** Index of the last change at or before `t`, -1 if none. */
function lastChangeAt(changes: number[], t: number): number {
  let lo = 0;
  let hi = changes.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (changes[mid] <= t) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/** The code at any moment of the session, with play at 1x to 32x. */
export function Replay({ language, endedAt, events, languageName, jump, doc = 'main' }: Props) {
  const { api } = useSession();
  const [info, setInfo] = useState<Info | null>(null);
  const [infoError, setInfoError] = useState<string | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [pos, setPos] = useState<number | null>(null);
  const [playing, setPlaying] = useState(false);
  const [speed, setSpeed] = useState(4);
  const [shown, setShown] = useState<{ at: number; text: string } | null>(null);
  const [loading, setLoading] = useState(false);
  const [viewError, setViewError] = useState<string | null>(null);
  const cache = useRef(new Map<number, string>());
  const speedId = useId();
  const scrubId = useId();

  // The whole history and the current state; refreshed while the session runs.
  useEffect(() => {
    let alive = true;
    let timer: number | undefined;
    const load = () => {
      if (document.visibilityState === 'hidden') {
        timer = window.setTimeout(load, 3000);
        return;
      }
      api.cockpit.replay(doc).then(
        (r) => {
          if (!alive) return;
          setInfo({ created: r.created_at_ms, ended: r.ended_at_ms, changes: r.changes, text: r.text });
          setInfoError(null);
          setNow(Date.now());
          if (r.ended_at_ms === null) timer = window.setTimeout(load, 3000);
        },
        (err: unknown) => {
          if (!alive) return;
          setInfoError(err instanceof ApiError && err.status === 0 ? 'The server could not be reached. Retrying…' : `The replay could not be loaded: ${(err as Error).message}`);
          timer = window.setTimeout(load, 6000);
        },
      );
    };
    load();
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [api, endedAt, doc]);

  // Another document: its own history and states.
  useEffect(() => {
    cache.current.clear();
    setInfo(null);
    setPos(null);
    setPlaying(false);
  }, [doc]);

  // The bar's end follows the clock while the session runs.
  const ended = info?.ended ?? endedAt;
  useEffect(() => {
    if (ended) return;
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [ended]);

  const min = info?.created ?? 0;
  const max = Math.max(min + 1000, ended ?? now);
  const changes = useMemo(() => info?.changes ?? [], [info]);

  useEffect(() => {
    if (jump) {
      setPlaying(false);
      setPos(jump.at);
    }
  }, [jump]);

  // The moment whose state is shown: the last instant before the next change, so that every
  // position between two changes asks for the same state (and hits the cache).
  const fetchAt = useMemo(() => {
    if (pos === null || !info) return null;
    const i = lastChangeAt(changes, pos);
    if (i + 1 < changes.length) return changes[i + 1] - 1;
    return null; // after the last change: the current state
  }, [pos, info, changes]);

  // Following the end (or after the last change), the state is the current one: no request.
  const live = info && fetchAt === null ? { at: pos ?? max, text: info.text } : null;
  const view = live ?? shown;

  useEffect(() => {
    if (fetchAt === null) return;
    const cached = cache.current.get(fetchAt);
    if (cached !== undefined) {
      setShown({ at: fetchAt, text: cached });
      setLoading(false);
      return;
    }
    let alive = true;
    setLoading(true);
    const timer = window.setTimeout(() => {
      api.cockpit.replay(doc, fetchAt).then(
        (r) => {
          cache.current.set(fetchAt, r.text);
          if (!alive) return;
          setShown({ at: fetchAt, text: r.text });
          setViewError(null);
          setLoading(false);
        },
        (err: Error) => {
          if (!alive) return;
          setViewError(`Could not load that moment: ${err.message}`);
          setLoading(false);
        },
      );
    }, playing ? 0 : 120);
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [fetchAt, api, playing, doc]);

  // Playing: time moves at `speed`, long quiet stretches are skipped.
  useEffect(() => {
    if (!playing || !info) return;
    const t = window.setInterval(() => {
      setPos((p) => {
        const from = p ?? min;
        let next = from + TICK_MS * speed;
        const i = lastChangeAt(changes, from);
        const upcoming = i + 1 < changes.length ? changes[i + 1] : max;
        if (upcoming - next > IDLE_MS) next = upcoming - IDLE_MS / 4;
        if (next >= max) {
          setPlaying(false);
          return ended ? max : null;
        }
        return next;
      });
    }, TICK_MS);
    return () => window.clearInterval(t);
  }, [playing, info, speed, changes, min, max, ended]);

  const togglePlay = () => {
    if (playing) {
      setPlaying(false);
      return;
    }
    if (pos === null || pos >= max - 500) setPos(min);
    setPlaying(true);
  };

  // Colour the code the way the editor does.
  const monacoId = languageInfo(language).monacoId;
  const [html, setHtml] = useState<string | null>(null);
  const viewText = view?.text;
  useEffect(() => {
    let alive = true;
    setHtml(null);
    if (viewText === undefined) return;
    monaco.editor.colorize(viewText, monacoId, { tabSize: 4 }).then(
      // Real spaces, so that code copied from the view pastes as code.
      (h) => alive && setHtml(h.replace(/&nbsp;|\u00a0/g, ' ')),
      () => undefined,
    );
    return () => {
      alive = false;
    };
  }, [viewText, monacoId]);

  const marks = useMemo(() => {
    if (!info || changes.length === 0) return [];
    const span = max - min;
    const buckets = new Set<number>();
    for (const c of changes) buckets.add(Math.min(MARK_BUCKETS - 1, Math.max(0, Math.floor(((c - min) / span) * MARK_BUCKETS))));
    return [...buckets].map((b) => (b / MARK_BUCKETS) * 100);
  }, [info, changes, min, max]);

  const eventMarks = useMemo(
    () =>
      (events ?? [])
        .filter((e) => e.at_ms >= min && e.at_ms <= max && e.kind !== 'connected' && e.kind !== 'disconnected')
        .map((e) => ({ left: ((e.at_ms - min) / (max - min)) * 100, tone: toneOf(e), title: describeEvent(e, languageName), at: e.at_ms })),
    [events, min, max, languageName],
  );

  if (!info) {
    return infoError ? (
      <p className="cockpit-error" role="alert">
        {infoError}
      </p>
    ) : (
      <p className="cockpit-empty">
        <Spinner size={14} /> Loading the history…
      </p>
    );
  }

  const value = pos ?? max;
  const following = pos === null;
  const label = `${sessionClock(value, min)} of ${sessionClock(max, min)}`;

  return (
    <div className="replay">
      <div className="replay-bar">
        <div className="replay-marks" aria-hidden="true">
          {marks.map((left) => (
            <span key={left} className="replay-change" style={{ left: `${left}%` }} />
          ))}
          {eventMarks.map((m, i) => (
            <span key={`${m.at}-${i}`} className={`replay-event tone-${m.tone}`} style={{ left: `${m.left}%` }} title={m.title} />
          ))}
        </div>
        <label htmlFor={scrubId} className="sr-only">
          Replay position
        </label>
        <input
          id={scrubId}
          type="range"
          className="replay-scrubber"
          data-testid="replay-scrubber"
          min={min}
          max={max}
          step={100}
          value={value}
          aria-valuetext={label}
          onChange={(e) => {
            setPlaying(false);
            const v = Number(e.target.value);
            setPos(v >= max - 100 && !ended ? null : v);
          }}
          onKeyDown={(e) => {
            // Steps a person can feel: arrows 5 s, Page Up/Down a minute.
            const step = { ArrowLeft: -5000, ArrowDown: -5000, ArrowRight: 5000, ArrowUp: 5000, PageDown: -60_000, PageUp: 60_000 }[e.key];
            if (step === undefined) return;
            e.preventDefault();
            setPlaying(false);
            const v = Math.min(max, Math.max(min, value + step));
            setPos(v >= max && !ended ? null : v);
          }}
        />
      </div>
      <div className="cockpit-toolbar">
        <button
          type="button"
          className="btn btn-small"
          data-testid="replay-play"
          onClick={togglePlay}
          aria-pressed={playing}
          title={playing ? 'Pause the replay' : 'Play the session from the start (quiet stretches are skipped)'}
        >
          {playing ? (
            <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
              <path d="M4 3h3v10H4zM9 3h3v10H9z" fill="currentColor" />
            </svg>
          ) : (
            <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
              <path d="M4 2.5v11l9-5.5z" fill="currentColor" />
            </svg>
          )}
          {playing ? 'Pause' : 'Play'}
        </button>
        <label htmlFor={speedId} className="sr-only">
          Replay speed
        </label>
        <select id={speedId} className="select-small" value={speed} onChange={(e) => setSpeed(Number(e.target.value))}>
          {SPEEDS.map((s) => (
            <option key={s} value={s}>
              {s}x
            </option>
          ))}
        </select>
        <span className="replay-time" aria-live="off">
          <span className="mono">{sessionClock(value, min)}</span>
          <span className="muted"> / {sessionClock(max, min)}</span>
        </span>
        {following ? (
          <span className={`pill ${ended ? '' : 'pill-live'}`}>{ended ? 'Final' : 'Live'}</span>
        ) : (
          <button type="button" className="btn btn-ghost btn-small" onClick={() => { setPlaying(false); setPos(null); }} title="Show the latest code">
            {ended ? 'Final' : 'Live'} ⇥
          </button>
        )}
        {loading && !live && <Spinner size={12} />}
      </div>
      {viewError && !live && (
        <p className="cockpit-error" role="alert">
          {viewError}
        </p>
      )}
      <pre
        className="replay-view"
        data-testid="replay-view"
        data-at={view?.at ?? ''}
        tabIndex={0}
        aria-label={`Code at ${sessionClock(value, min)} (${wallClock(value, true)}), read-only`}
        {...(html !== null ? { dangerouslySetInnerHTML: { __html: html } } : { children: view?.text ?? '' })}
      />
      {changes.length === 0 && <p className="cockpit-empty">No changes to the code yet.</p>}
    </div>
  );
}
