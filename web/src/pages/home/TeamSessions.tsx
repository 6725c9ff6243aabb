import { useEffect, useId, useState } from 'react';
import { rotateInterviewerLink, teamSessions, type TeamSession } from '../../api/accounts';
import { CopyField } from '../../ui/CopyField';
import { useLoad } from '../../ui/useLoad';
import { formatDate } from '../../ui/formatDate';
import { Spinner } from '../../ui/Spinner';
import '../account/account.css';
// The status pills.
import '../../cockpit/cockpit.css';

const PAGE = 20;

/** The team's sessions, from the server: search by title, filter open/ended/mine, paged. */
export function TeamSessions({ teamName, refresh }: { teamName: string | null; refresh: number }) {
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const [status, setStatus] = useState<'' | 'open' | 'ended'>('');
  const [mine, setMine] = useState(false);
  const [offset, setOffset] = useState(0);
  const filter = { q: query, status, mine, limit: PAGE, offset };
  // The page on screen stays while the next one loads.
  const list = useLoad(`${JSON.stringify(filter)}:${refresh}`, () => teamSessions(filter), { keepPrevious: true });
  const ids = { q: useId(), status: useId(), mine: useId() };

  // Typing settles before the server is asked.
  useEffect(() => {
    const t = window.setTimeout(() => {
      setQuery(q.trim());
      setOffset(0);
    }, 250);
    return () => window.clearTimeout(t);
  }, [q]);


  return (
    <section className="recent" aria-labelledby="team-heading" data-testid="sessions-list">
      <h2 id="team-heading">{teamName ? `Sessions of ${teamName}` : 'Sessions'}</h2>
      <div className="team-filters" role="search">
        <div className="field">
          <label htmlFor={ids.q}>Search sessions</label>
          <input id={ids.q} type="search" value={q} onChange={(e) => setQ(e.target.value)} data-testid="sessions-search" />
        </div>
        <div className="field field-narrow">
          <label htmlFor={ids.status}>Status</label>
          <select
            id={ids.status}
            value={status}
            data-testid="sessions-status"
            onChange={(e) => {
              setStatus(e.target.value as '' | 'open' | 'ended');
              setOffset(0);
            }}
          >
            <option value="">All</option>
            <option value="open">Open</option>
            <option value="ended">Ended</option>
          </select>
        </div>
        <label className="check" htmlFor={ids.mine}>
          <input
            id={ids.mine}
            type="checkbox"
            checked={mine}
            data-testid="sessions-mine"
            onChange={(e) => {
              setMine(e.target.checked);
              setOffset(0);
            }}
          />
          Only mine
        </label>
      </div>
      {list.error !== null ? (
        <p className="form-error" role="alert">
          The sessions could not be loaded: {list.error}
        </p>
      ) : list.data === null ? (
        <Spinner size={14} />
      ) : list.data.sessions.length === 0 ? (
        <p className="muted" data-testid="sessions-empty">
          No sessions{query || status || mine ? ' match' : ' yet'}.
        </p>
      ) : (
        <>
          <ul className="recent-list">
            {list.data.sessions.map((s) => (
              <li key={s.id} data-testid="session-row" data-session-id={s.id} data-status={s.status}>
                <div className="recent-info">
                  <a href={`/session/${encodeURIComponent(s.id)}`} className="recent-title" title="Open as the interviewer">
                    {s.title}
                  </a>
                  <span className="muted">
                    {s.kind === 'workspace' ? 'Workspace' : 'Pad'} · <time dateTime={s.created_at}>{formatDate(s.created_at)}</time>
                    {s.created_by && ` · by ${s.mine ? 'you' : s.created_by}`}
                    {` · ${s.participants.length ? s.participants.map((p) => p.name).join(', ') : 'nobody joined yet'}`}
                  </span>
                </div>
                <span className={`status-pill ${s.status}`}>{s.status === 'open' ? 'Open' : 'Ended'}</span>
                <GuestLink session={s} />
              </li>
            ))}
          </ul>
          <nav className="team-pager" aria-label="Pages of sessions">
            <span className="muted">
              {offset + 1}–{offset + list.data.sessions.length} of {list.data.total}
            </span>
            <button type="button" className="btn btn-small" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
              Previous
            </button>
            <button type="button" className="btn btn-small" disabled={offset + PAGE >= list.data.total} onClick={() => setOffset(offset + PAGE)}>
              Next
            </button>
          </nav>
        </>
      )}
    </section>
  );
}

/**
 * A new interviewer link for a guest co-interviewer without an account. The server keeps only
 * hashes, so the link is made anew, and the previous one stops working.
 */
function GuestLink({ session }: { session: TeamSession }) {
  const [link, setLink] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (session.status !== 'open') return null;
  const make = () => {
    setBusy(true);
    setError(null);
    rotateInterviewerLink(session.id).then(
      (r) => {
        setBusy(false);
        setLink(r.interviewer_url);
      },
      (e: Error) => {
        setBusy(false);
        setError(e.message);
      },
    );
  };
  return (
    <div className="guest-link">
      {link ? (
        <CopyField label="Guest interviewer link" value={link} testId="guest-link" hint="The previous interviewer link no longer works." />
      ) : (
        <button
          type="button"
          className="btn btn-small"
          onClick={make}
          disabled={busy}
          data-testid="guest-link-create"
          aria-label={`Guest link for “${session.title}”`}
          title="A new interviewer link for someone without an account; the previous link stops working"
        >
          Guest link
        </button>
      )}
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
