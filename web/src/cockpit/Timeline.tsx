import { useEffect, useId, useMemo, useRef, useState } from 'react';
import type { TimelineEvent } from '../api/cockpit';
import { Spinner } from '../ui/Spinner';
import { CATEGORIES, categoryOf, describeEvent, toneOf, type Category } from './events';
import { sessionClock, wallClock } from '../ui/time';

interface Props {
  events: TimelineEvent[] | null;
  error: string | null;
  startMs: number;
  languageName: (id: string) => string;
  /** The entry the replay shows now, if any. */
  selectedAt: number | null;
  onSelect: (atMs: number) => void;
}

/** What happened, oldest first; each entry moves the replay to its moment. */
export function Timeline({ events, error, startMs, languageName, selectedAt, onSelect }: Props) {
  const [filter, setFilter] = useState<Category | 'all'>('all');
  const filterId = useId();
  const listRef = useRef<HTMLOListElement>(null);
  const stick = useRef(true);

  const shown = useMemo(
    () => (events ?? []).filter((e) => filter === 'all' || categoryOf(e.kind) === filter),
    [events, filter],
  );

  // Follow new entries while the list is scrolled to its end.
  useEffect(() => {
    const el = listRef.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [shown]);

  return (
    <div className="timeline" data-testid="timeline">
      <div className="cockpit-toolbar">
        <label htmlFor={filterId} className="sr-only">
          Show
        </label>
        <select id={filterId} className="select-small" value={filter} onChange={(e) => setFilter(e.target.value as Category | 'all')}>
          {CATEGORIES.map((c) => (
            <option key={c.id} value={c.id}>
              {c.label}
            </option>
          ))}
        </select>
        <span className="muted small" aria-live="polite">
          {events ? `${shown.length} of ${events.length}` : ''}
        </span>
      </div>
      {error && (
        <p className="cockpit-error" role="alert">
          {error}
        </p>
      )}
      {events === null && !error ? (
        <p className="cockpit-empty">
          <Spinner size={14} /> Loading the timeline…
        </p>
      ) : shown.length === 0 && events !== null ? (
        <p className="cockpit-empty">{events.length === 0 ? 'Nothing has happened yet.' : 'No events of this kind.'}</p>
      ) : (
        <ol
          className="timeline-list"
          ref={listRef}
          aria-label="Timeline"
          onScroll={(e) => {
            const el = e.currentTarget;
            stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
          }}
        >
          {shown.map((e, i) => {
            const text = describeEvent(e, languageName);
            const current = selectedAt === e.at_ms;
            return (
              <li key={`${e.at_ms}-${i}`}>
                <button
                  type="button"
                  className={`timeline-entry tone-${toneOf(e)}`}
                  data-testid="timeline-entry"
                  data-kind={e.kind}
                  aria-current={current ? 'true' : undefined}
                  title={`${wallClock(e.at_ms, true)} · show the code at this moment`}
                  onClick={() => onSelect(e.at_ms)}
                >
                  <span className="timeline-time">{sessionClock(e.at_ms, startMs)}</span>
                  <span className="timeline-dot" aria-hidden="true" />
                  <span className="timeline-text">{text}</span>
                </button>
              </li>
            );
          })}
        </ol>
      )}
    </div>
  );
}
