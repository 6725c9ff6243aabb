import { useCallback, useEffect, useId, useState, type FormEvent } from 'react';
import { adminApi, type AdminSession } from '../../api/admin';
import { ApiError } from '../../api/client';
import { ConfirmDialog } from '../../ui/ConfirmDialog';
import { formatDate } from '../../ui/formatDate';
import { saveBlob } from '../../ui/time';
import { readString, remove, writeString } from '../../core/storage';
import { PageLoading, Spinner } from '../../ui/Spinner';
import { ErrorScreen } from '../../ui/ErrorScreen';
import { messageOf, useLoad } from '../../ui/useLoad';
import { useMe } from '../account/AccountPages';
import { AccountAdmin } from './AccountAdmin';
import './admin.css';

const TOKEN_KEY = 'iide:admin-token';

/** What a failed list shows. */
function listError(err: unknown): string {
  if (err instanceof ApiError && err.status === 401) return 'The server refused this admin token.';
  if (err instanceof ApiError && err.status === 404) return 'The admin API is off on this server: start it with ADMIN_TOKEN set.';
  if (err instanceof ApiError && err.status === 0) return 'The server could not be reached.';
  return messageOf(err);
}

/** /admin: a signed-in admin's pages; otherwise the operator's view with the ADMIN_TOKEN. */
export default function AdminPage() {
  const me = useMe();
  if (me.kind === 'loading') return <PageLoading label="Loading…" />;
  if (me.kind === 'signed-in' && me.me.user.role === 'admin') return <AccountAdmin me={me.me} sessions={<OperatorPage viaAccount />} />;
  if (me.kind === 'signed-in') {
    return <ErrorScreen title="Admins only" message="These pages are for the admins of your organisation." action={{ label: 'Back to your sessions', href: '/' }} />;
  }
  return <OperatorPage />;
}

/**
 * Every session on the server. `viaAccount`: inside a signed-in admin's pages (the cookie
 * authenticates); otherwise the operator's page with the admin token the server was given.
 */
function OperatorPage({ viaAccount = false }: { viaAccount?: boolean }) {
  const [token, setToken] = useState<string | null>(() => (viaAccount ? '' : readString('session', TOKEN_KEY)));
  const list = useLoad(token === null ? null : `sessions:${token}`, () => adminApi(token ?? '').sessions(), { errorText: listError });
  const badToken = list.cause instanceof ApiError && list.cause.status === 401;
  const [toDelete, setToDelete] = useState<AdminSession | null>(null);
  const [deleting, setDeleting] = useState(false);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    if (!viaAccount) document.title = 'Sessions · interview-ide admin';
  }, [viaAccount]);

  const signIn = (value: string) => {
    writeString('session', TOKEN_KEY, value);
    setToken(value);
    // The same token again: ask again.
    if (value === token) list.reload();
  };
  const signOut = () => {
    remove('session', TOKEN_KEY);
    setToken(null);
  };

  const confirmDelete = () => {
    if (token === null || !toDelete) return;
    setDeleting(true);
    setDeleteError(null);
    const target = toDelete;
    adminApi(token).remove(target.id).then(
      () => {
        setDeleting(false);
        setToDelete(null);
        setNotice(`“${target.title}” was deleted.`);
        list.update((sessions) => sessions.filter((s) => s.id !== target.id));
      },
      (err: Error) => {
        setDeleting(false);
        setDeleteError(`It could not be deleted: ${err.message}`);
      },
    );
  };

  const body = (
    <>
        {token === null || badToken ? (
          <TokenForm onSubmit={signIn} error={badToken ? list.error : null} />
        ) : (
          <section aria-labelledby="admin-heading">
            <div className="admin-title">
              <h1 id="admin-heading">All sessions</h1>
              <button type="button" className="btn btn-small" onClick={list.reload} disabled={list.loading}>
                Refresh
              </button>
            </div>
            {notice && (
              <p className="admin-notice" role="status">
                {notice}
              </p>
            )}
            {list.loading && list.data === null && (
              <p className="cockpit-empty">
                <Spinner size={14} /> Loading sessions…
              </p>
            )}
            {list.error !== null && (
              <p className="form-error" role="alert">
                {list.error}
              </p>
            )}
            {list.error === null &&
              list.data !== null &&
              (list.data.length === 0 ? (
                <p className="muted" data-testid="admin-sessions">
                  There are no sessions on this server.
                </p>
              ) : (
                <SessionsTable sessions={list.data} token={token} onDelete={(s) => { setDeleteError(null); setToDelete(s); }} />
              ))}
          </section>
        )}
      <ConfirmDialog
        open={toDelete !== null}
        title="Delete this session?"
        confirmLabel="Delete"
        busy={deleting}
        error={deleteError}
        onConfirm={confirmDelete}
        onCancel={() => setToDelete(null)}
        testId="delete-dialog"
      >
        <p>
          “{toDelete?.title}” and all its data (code, notes, runs, timeline, scorecard) are removed for good. Anyone still in it is
          disconnected.
        </p>
      </ConfirmDialog>
    </>
  );
  if (viaAccount) return body;

  return (
    <div className="home admin">
      <header className="home-header">
        <a className="logo" href="/" aria-label="interview-ide home">
          <img src="/favicon.svg" alt="" width={22} height={22} />
          <span>interview-ide</span>
        </a>
        <span className="home-tagline">Operator</span>
        {token && (
          <button type="button" className="btn btn-ghost btn-small admin-signout" onClick={signOut}>
            Forget token
          </button>
        )}
      </header>
      <main className="admin-main">
        <p className="muted">
          Admins of the organisation: <a href="/">sign in</a> instead, for users, invites, API keys and the audit log.
        </p>
        {body}
      </main>
    </div>
  );
}

function TokenForm({ onSubmit, error }: { onSubmit: (token: string) => void; error: string | null }) {
  const [value, setValue] = useState('');
  const id = useId();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim()) onSubmit(value.trim());
  };
  return (
    <section className="card admin-card" aria-labelledby="admin-signin">
      <h1 id="admin-signin">Operator sign-in</h1>
      <p className="muted">Enter the admin token configured on the server (ADMIN_TOKEN). It is kept in this tab only.</p>
      <form className="create-form" onSubmit={submit}>
        <div className="field">
          <label htmlFor={id}>Admin token</label>
          <input
            id={id}
            type="password"
            className="admin-token"
            data-testid="admin-token"
            value={value}
            autoComplete="off"
            onChange={(e) => setValue(e.target.value)}
          />
        </div>
        <div className="field field-action">
          <button type="submit" className="btn btn-primary" data-testid="admin-signin" disabled={!value.trim()}>
            Show sessions
          </button>
        </div>
      </form>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

function SessionsTable({ sessions, token, onDelete }: { sessions: AdminSession[]; token: string; onDelete: (s: AdminSession) => void }) {
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const report = useCallback(
    (s: AdminSession) => {
      setBusy(s.id);
      setError(null);
      adminApi(token).report(s.id).then(
        (blob) => {
          setBusy(null);
          saveBlob(blob, `interview-${s.id}.html`);
        },
        (err: Error) => {
          setBusy(null);
          setError(`The report of “${s.title}” could not be downloaded: ${err.message}`);
        },
      );
    },
    [token],
  );

  return (
    <>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <table className="admin-table" data-testid="admin-sessions">
        <caption className="sr-only">Every session on this server, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Title</th>
            <th scope="col">Created</th>
            <th scope="col">Status</th>
            <th scope="col">Participants</th>
            <th scope="col">
              <span className="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {sessions.map((s) => (
            <tr key={s.id} data-testid="admin-session" data-session-id={s.id}>
              <td>
                <div className="admin-session-title">{s.title}</div>
                <div className="muted mono small">{s.id}</div>
              </td>
              <td>
                <time dateTime={s.created_at}>{formatDate(s.created_at)}</time>
              </td>
              <td>
                <span className={`status-pill ${s.status}`} title={s.ended_at ? `Ended ${formatDate(s.ended_at)}` : undefined}>
                  {s.status === 'ended' ? 'Ended' : 'Open'}
                </span>
              </td>
              <td>{s.participants}</td>
              <td>
                <div className="admin-actions">
                <button type="button" className="btn btn-small" onClick={() => report(s)} disabled={busy === s.id} aria-label={`Download the report of “${s.title}”`}>
                  {busy === s.id && <Spinner size={10} />}
                  Report
                </button>
                <button type="button" className="btn btn-small btn-danger" data-testid="admin-delete" onClick={() => onDelete(s)} aria-label={`Delete “${s.title}”`}>
                  Delete
                </button>
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
