import { useCallback, useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import { signOut } from '../account/AccountPages';
import {
  auditLog,
  createInvite,
  createKey,
  createTeam,
  listKeys,
  listTeams,
  listUsers,
  revokeKey,
  setUserDisabled,
  type AccountRole,
  type AdminUser,
  type ApiKey,
  type AuditEntry,
  type KeyScope,
  type Me,
  type Team,
} from '../../api/accounts';
import { CopyField } from '../../ui/CopyField';
import { formatDate } from '../../ui/formatDate';
import { Spinner } from '../../ui/Spinner';
import { useLoad } from '../../ui/useLoad';
import './admin.css';

type Tab = 'users' | 'keys' | 'audit' | 'sessions';
const TABS: { id: Tab; label: string }[] = [
  { id: 'users', label: 'Users and invites' },
  { id: 'keys', label: 'API keys' },
  { id: 'audit', label: 'Audit log' },
  { id: 'sessions', label: 'All sessions' },
];

/** /admin for a signed-in admin: users and invites, API keys, the audit log, every session. */
export function AccountAdmin({ me, sessions }: { me: Me; sessions: ReactNode }) {
  const [tab, setTab] = useState<Tab>(() => (TABS.find((t) => `#${t.id}` === window.location.hash)?.id ?? 'users'));
  const base = useId();
  useEffect(() => {
    document.title = `${TABS.find((t) => t.id === tab)?.label} · interview-ide admin`;
    window.history.replaceState(window.history.state, '', `#${tab}`);
  }, [tab]);

  return (
    <div className="home admin">
      <header className="home-header">
        <a className="logo" href="/" aria-label="interview-ide home">
          <img src="/favicon.svg" alt="" width={22} height={22} />
          <span>interview-ide</span>
        </a>
        <span className="home-tagline">Admin</span>
        <div className="account-bar">
          <span className="muted">{me.user.email}</span>
          <a className="btn btn-small" href="/">
            Sessions
          </a>
          <button type="button" className="btn btn-small" onClick={() => void signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main className="admin-main">
        <div role="tablist" aria-label="Admin pages" className="admin-tabs">
          {TABS.map((t) => (
            <button
              key={t.id}
              type="button"
              role="tab"
              id={`${base}-${t.id}-tab`}
              aria-selected={tab === t.id}
              aria-controls={`${base}-${t.id}`}
              className={tab === t.id ? 'admin-tab selected' : 'admin-tab'}
              data-testid={`admin-tab-${t.id}`}
              onClick={() => setTab(t.id)}
            >
              {t.label}
            </button>
          ))}
        </div>
        <div role="tabpanel" id={`${base}-${tab}`} aria-labelledby={`${base}-${tab}-tab`} className="admin-panel">
          {tab === 'users' && <UsersPanel me={me} />}
          {tab === 'keys' && <KeysPanel />}
          {tab === 'audit' && <AuditPanel />}
          {tab === 'sessions' && sessions}
        </div>
      </main>
    </div>
  );
}

function UsersPanel({ me }: { me: Me }) {
  const users = useLoad('users', () => listUsers());
  const teams = useLoad('teams', () => listTeams());
  const [error, setError] = useState<string | null>(null);
  const teamName = (id: string) => teams.data?.find((t) => t.id === id)?.name ?? id;

  const toggle = (u: AdminUser) => {
    setError(null);
    setUserDisabled(u.id, !u.disabled).then(users.reload, (e: Error) => setError(e.message));
  };

  return (
    <>
      <InviteForm teams={teams.data ?? []} defaultTeam={me.user.team_id} onTeamCreated={teams.reload} />
      <section aria-labelledby="users-heading">
        <h2 id="users-heading">Users</h2>
        {(users.error || error) && (
          <p className="form-error" role="alert">
            {users.error ?? error}
          </p>
        )}
        {!users.data ? (
          <Spinner size={14} />
        ) : (
          <table className="admin-table" data-testid="admin-users">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Role</th>
                <th scope="col">Team</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.map((u) => (
                <tr key={u.id} data-testid="admin-user" data-email={u.email}>
                  <td>{u.name}</td>
                  <td>{u.email}</td>
                  <td>{u.role}</td>
                  <td>{teamName(u.team_id)}</td>
                  <td>{u.disabled ? <span className="status-pill ended">Disabled</span> : <span className="status-pill open">Active</span>}</td>
                  <td>
                    {u.id !== me.user.id && (
                      <button
                        type="button"
                        className={u.disabled ? 'btn btn-small' : 'btn btn-small btn-danger'}
                        onClick={() => toggle(u)}
                        data-testid="admin-user-toggle"
                        aria-label={`${u.disabled ? 'Enable' : 'Disable'} ${u.email}`}
                      >
                        {u.disabled ? 'Enable' : 'Disable'}
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function InviteForm({ teams, defaultTeam, onTeamCreated }: { teams: Team[]; defaultTeam: string; onTeamCreated: () => void }) {
  const [role, setRole] = useState<AccountRole>('interviewer');
  const [team, setTeam] = useState(defaultTeam);
  const [newTeam, setNewTeam] = useState('');
  const [link, setLink] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const ids = { role: useId(), team: useId(), newTeam: useId() };

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    createInvite(role, team).then((r) => setLink(r.url), (err: Error) => setError(err.message));
  };
  const addTeam = () => {
    if (!newTeam.trim()) return;
    createTeam(newTeam.trim()).then(
      (t) => {
        setNewTeam('');
        setTeam(t.id);
        onTeamCreated();
      },
      (err: Error) => setError(err.message),
    );
  };

  return (
    <section className="card admin-card" aria-labelledby="invite-heading">
      <h2 id="invite-heading">Invite someone</h2>
      <p className="muted">The invite link works once, for a week. Send it to the new member yourself.</p>
      <form className="create-form" onSubmit={submit}>
        <div className="field field-narrow">
          <label htmlFor={ids.role}>Role</label>
          <select id={ids.role} value={role} onChange={(e) => setRole(e.target.value as AccountRole)} data-testid="invite-role">
            <option value="interviewer">Interviewer</option>
            <option value="admin">Admin</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor={ids.team}>Team</label>
          <select id={ids.team} value={team} onChange={(e) => setTeam(e.target.value)} data-testid="invite-team">
            {teams.map((t) => (
              <option key={t.id} value={t.id}>
                {t.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field field-action">
          <button type="submit" className="btn btn-primary" data-testid="invite-create">
            Create invite link
          </button>
        </div>
      </form>
      <div className="create-form admin-new-team">
        <div className="field">
          <label htmlFor={ids.newTeam}>New team</label>
          <input id={ids.newTeam} value={newTeam} onChange={(e) => setNewTeam(e.target.value)} maxLength={100} />
        </div>
        <div className="field field-action">
          <button type="button" className="btn" onClick={addTeam} disabled={!newTeam.trim()}>
            Add team
          </button>
        </div>
      </div>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {link && <CopyField label="Invite link" value={link} testId="invite-link" hint="Shown once: copy it now." />}
    </section>
  );
}

const SCOPE_LABELS: Record<KeyScope, string> = {
  'sessions:read': 'Read sessions',
  'sessions:write': 'Create and change sessions',
  admin: 'Admin',
};

function KeysPanel() {
  const keys = useLoad('keys', () => listKeys(true));
  // Keys past their expiry show as expired from the moment the page opened.
  const [now] = useState(() => Date.now());
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<KeyScope[]>(['sessions:read', 'sessions:write']);
  const [days, setDays] = useState('90');
  const [secret, setSecret] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const nameId = useId();
  const daysId = useId();

  const toggle = (scope: KeyScope) => setScopes((list) => (list.includes(scope) ? list.filter((s) => s !== scope) : [...list, scope]));
  const create = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    createKey(name.trim(), scopes, days ? Number(days) : null).then(
      (r) => {
        setSecret(r.secret);
        setName('');
        keys.reload();
      },
      (err: Error) => setError(err.message),
    );
  };
  const revoke = (k: ApiKey) => {
    setError(null);
    revokeKey(k.id).then(keys.reload, (err: Error) => setError(err.message));
  };

  return (
    <>
      <section className="card admin-card" aria-labelledby="key-heading">
        <h2 id="key-heading">New API key</h2>
        <p className="muted">
          A key lets a script act as you (<code>Authorization: Bearer iide_…</code>), only in what its scopes allow; no key
          can make keys. It is shown once and stored hashed.
        </p>
        <form className="create-form" onSubmit={create}>
          <div className="field">
            <label htmlFor={nameId}>Name</label>
            <input id={nameId} value={name} onChange={(e) => setName(e.target.value)} maxLength={100} data-testid="key-name" />
          </div>
          <fieldset className="field key-scopes">
            <legend>May</legend>
            {(Object.keys(SCOPE_LABELS) as KeyScope[]).map((scope) => (
              <label key={scope} className="check">
                <input type="checkbox" checked={scopes.includes(scope)} onChange={() => toggle(scope)} data-testid={`key-scope-${scope}`} />
                {SCOPE_LABELS[scope]}
              </label>
            ))}
          </fieldset>
          <div className="field">
            <label htmlFor={daysId}>Expires</label>
            <select id={daysId} value={days} onChange={(e) => setDays(e.target.value)} data-testid="key-expiry">
              <option value="7">in 7 days</option>
              <option value="30">in 30 days</option>
              <option value="90">in 90 days</option>
              <option value="365">in a year</option>
              <option value="">never (until revoked)</option>
            </select>
          </div>
          <div className="field field-action">
            <button type="submit" className="btn btn-primary" disabled={!name.trim() || scopes.length === 0} data-testid="key-create">
              Create key
            </button>
          </div>
        </form>
        {secret && <CopyField label="New API key" value={secret} testId="key-secret" hint="Shown once: copy it now." />}
      </section>
      <section aria-labelledby="keys-heading">
        <h2 id="keys-heading">Keys</h2>
        {(keys.error || error) && (
          <p className="form-error" role="alert">
            {keys.error ?? error}
          </p>
        )}
        {!keys.data ? (
          <Spinner size={14} />
        ) : keys.data.length === 0 ? (
          <p className="muted">No API keys yet.</p>
        ) : (
          <table className="admin-table" data-testid="admin-keys">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">May</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id} data-testid="admin-key" data-name={k.name}>
                  <td>{k.name}</td>
                  <td className="mono">{k.prefix}…</td>
                  <td data-testid="key-scopes">{k.scopes.map((s) => SCOPE_LABELS[s] ?? s).join(', ')}</td>
                  <td>
                    <time dateTime={k.created_at}>{formatDate(k.created_at)}</time>
                  </td>
                  <td>{k.expires_at ? <time dateTime={k.expires_at}>{formatDate(k.expires_at)}</time> : 'Never'}</td>
                  <td>{k.last_used_at ? <time dateTime={k.last_used_at}>{formatDate(k.last_used_at)}</time> : 'Never'}</td>
                  <td>
                    {k.revoked_at ? (
                      <span className="status-pill ended">Revoked</span>
                    ) : k.expires_at && Date.parse(k.expires_at) < now ? (
                      <span className="status-pill ended">Expired</span>
                    ) : (
                      <span className="status-pill open">Active</span>
                    )}
                  </td>
                  <td>
                    {!k.revoked_at && (
                      <button type="button" className="btn btn-small btn-danger" onClick={() => revoke(k)} aria-label={`Revoke the key ${k.name}`} data-testid="key-revoke">
                        Revoke
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

const ACTIONS: Record<string, string> = {
  sign_in: 'Signed in',
  sign_in_failed: 'Failed sign-in',
  sign_in_throttled: 'Sign-in refused (too many failures)',
  session_created: 'Session created',
  session_ended: 'Session ended',
  session_deleted: 'Session deleted',
  report_exported: 'Report exported',
  key_created: 'API key created',
  key_revoked: 'API key revoked',
  user_created: 'User created',
  user_invited: 'User invited',
  user_disabled: 'User disabled',
  user_enabled: 'User enabled',
  team_created: 'Team created',
  interviewer_link_rotated: 'Interviewer link replaced',
};

function AuditPanel() {
  const [entries, setEntries] = useState<AuditEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [more, setMore] = useState(true);
  const load = useCallback((before?: number) => {
    auditLog(before).then(
      (page) => {
        setEntries((prev) => (before && prev ? [...prev, ...page] : page));
        setMore(page.length === 100);
      },
      (e: Error) => setError(e.message),
    );
  }, []);
  useEffect(() => load(), [load]);

  return (
    <section aria-labelledby="audit-heading">
      <h2 id="audit-heading">Audit log</h2>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {!entries ? (
        <Spinner size={14} />
      ) : (
        <>
          <table className="admin-table" data-testid="admin-audit">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">What</th>
                <th scope="col">On</th>
              </tr>
            </thead>
            <tbody>
              {entries.map((a) => (
                <tr key={a.id} data-testid="audit-entry" data-action={a.action}>
                  <td>
                    <time dateTime={a.at}>{formatDate(a.at)}</time>
                  </td>
                  <td>{a.actor ?? '—'}</td>
                  <td>{ACTIONS[a.action] ?? a.action}</td>
                  <td className="mono small">{a.target ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {more && entries.length > 0 && (
            <button type="button" className="btn btn-small" onClick={() => load(entries[entries.length - 1].id)}>
              Older entries
            </button>
          )}
        </>
      )}
    </section>
  );
}
