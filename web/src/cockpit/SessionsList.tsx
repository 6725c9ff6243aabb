import { useEffect, useState } from 'react';
import { ApiError } from '../api/client';
import { sessionApi } from '../api/sessionApi';
import type { RecentSession } from '../home/recentSessions';
import { CopyButton } from '../ui/CopyButton';
import { Spinner } from '../ui/Spinner';
import './cockpit.css';

type Status =
  | { kind: 'loading' }
  | { kind: 'open' | 'ended'; participants: number; endedAt: string | null }
  | { kind: 'gone' }
  | { kind: 'unknown'; message: string };

/** The interviewer token of a stored session, from its interviewer link. */
function tokenOf(s: RecentSession): string | null {
  try {
    return new URL(s.interviewerUrl, window.location.origin).searchParams.get('token');
  } catch {
    return null;
  }
}

/** Each session's status, asked of the server with the interviewer token stored in its link. */
function useStatuses(sessions: RecentSession[]): Record<string, Status> {
  const [statuses, setStatuses] = useState<Record<string, Status>>({});
  const ids = sessions.map((s) => s.id).join(',');

  useEffect(() => {
    let alive = true;
    for (const s of sessions) {
      const token = tokenOf(s);
      setStatuses((m) => (m[s.id] ? m : { ...m, [s.id]: { kind: 'loading' } }));
      sessionApi(s.id, token).session.get().then(
        (v) => {
          if (!alive) return;
          const status: Status = { kind: v.ended_at ? 'ended' : 'open', participants: v.participants.length, endedAt: v.ended_at ?? null };
          setStatuses((m) => ({ ...m, [s.id]: status }));
        },
        (err: unknown) => {
          if (!alive) return;
          const status: Status =
            err instanceof ApiError && (err.status === 404 || err.status === 401)
              ? { kind: 'gone' }
              : { kind: 'unknown', message: (err as Error).message };
          setStatuses((m) => ({ ...m, [s.id]: status }));
        },
      );
    }
    return () => {
      alive = false;
    };
    // The list's identity changes on every render of the home page; its ids are what matter.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ids]);

  return statuses;
}

/** The sessions created in this browser, with their status and links. */
export function SessionsList({ sessions, onForget }: { sessions: RecentSession[]; onForget: (id: string) => void }) {
  const statuses = useStatuses(sessions);
  return (
    <section className="recent" aria-labelledby="recent-heading" data-testid="sessions-list">
      <h2 id="recent-heading">Your sessions</h2>
      {sessions.length === 0 ? (
        <p className="muted">Sessions you create in this browser appear here.</p>
      ) : (
        <ul className="recent-list">
          {sessions.map((s) => {
            const st = statuses[s.id] ?? { kind: 'loading' };
            return (
              <li key={s.id} data-testid="session-row" data-session-id={s.id} data-status={st.kind}>
                <div className="recent-info">
                  {st.kind === 'gone' ? (
                    <span className="recent-title">{s.title}</span>
                  ) : (
                    <a href={s.interviewerUrl} className="recent-title" title="Open as the interviewer">
                      {s.title}
                    </a>
                  )}
                  <span className="muted">
                    <time dateTime={s.createdAt}>{formatDate(s.createdAt)}</time>
                    {(st.kind === 'open' || st.kind === 'ended') && ` · ${st.participants} ${st.participants === 1 ? 'participant' : 'participants'}`}
                  </span>
                </div>
                <StatusPill status={st} />
                {s.candidateUrl && st.kind === 'open' && (
                  <CopyButton value={s.candidateUrl} label="Copy candidate link" title={`Copy the candidate link of “${s.title}”`} />
                )}
                <button
                  type="button"
                  className="btn btn-ghost btn-small"
                  onClick={() => onForget(s.id)}
                  aria-label={`Remove “${s.title}” from this list`}
                  title="Remove from this list (the session itself is kept)"
                >
                  Remove
                </button>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

function StatusPill({ status }: { status: Status }) {
  switch (status.kind) {
    case 'loading':
      return (
        <span className="status-pill" aria-label="Checking status">
          <Spinner size={9} />
        </span>
      );
    case 'open':
      return <span className="status-pill open">Open</span>;
    case 'ended':
      return (
        <span className="status-pill ended" title={status.endedAt ? `Ended ${formatDate(status.endedAt)}` : undefined}>
          Ended
        </span>
      );
    case 'gone':
      return (
        <span className="status-pill gone" title="The server no longer has this session">
          Deleted
        </span>
      );
    case 'unknown':
      return (
        <span className="status-pill" title={status.message}>
          Unknown
        </span>
      );
  }
}

export function formatDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
