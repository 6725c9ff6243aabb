import { useEffect, useId, useState, type FormEvent, type ReactNode } from 'react';
import {
  acceptInvite,
  authConfig,
  inviteInfo,
  login,
  logout,
  me as fetchMe,
  setup,
  type AuthConfig,
  type Me,
} from '../../api/accounts';
import { ApiError } from '../../api/client';
import { Spinner } from '../../ui/Spinner';
import { useLoad } from '../../ui/useLoad';
import './account.css';

export type MeState = { kind: 'loading' } | { kind: 'signed-out' } | { kind: 'signed-in'; me: Me } | { kind: 'error'; message: string };

/** Who is signed in in this browser (the HttpOnly cookie is not readable: the server says). */
export function useMe(): MeState {
  const me = useLoad('me', () => fetchMe());
  if (me.data !== null) return { kind: 'signed-in', me: me.data };
  if (me.cause instanceof ApiError && me.cause.status === 401) return { kind: 'signed-out' };
  if (me.error !== null) return { kind: 'error', message: me.error };
  return { kind: 'loading' };
}

/** Used when the sign-in settings cannot be read, so the forms stay usable. */
const DEFAULT_AUTH_CONFIG: AuthConfig = { setup_needed: false, sso: null, min_password_chars: 10 };

function useAuthConfig(): AuthConfig | null {
  const config = useLoad('auth-config', () => authConfig());
  return config.data ?? (config.error !== null ? DEFAULT_AUTH_CONFIG : null);
}

export async function signOut() {
  try {
    await logout();
  } finally {
    window.location.assign('/');
  }
}

function AccountShell({ title, children }: { title: string; children: ReactNode }) {
  useEffect(() => {
    document.title = `${title} · interview-ide`;
  }, [title]);
  return (
    <div className="home">
      <header className="home-header">
        <a className="logo" href="/" aria-label="interview-ide home">
          <img src="/favicon.svg" alt="" width={22} height={22} />
          <span>interview-ide</span>
        </a>
        <span className="home-tagline">Live technical interviews, self-hosted.</span>
      </header>
      <main className="account-main">{children}</main>
    </div>
  );
}

function messageOf(err: unknown, what: string): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return 'The server could not be reached. Check your connection and try again.';
    if (err.status === 429) return 'Too many failed sign-ins. Wait a few minutes and try again.';
    return err.message.charAt(0).toUpperCase() + err.message.slice(1) + '.';
  }
  return `${what} failed.`;
}

/** Sign-in with email and password (and SSO when the server has it). Candidates never see it. */
export function SignInPage() {
  const config = useAuthConfig();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const emailId = useId();
  const passwordId = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await login(email, password);
      window.location.assign(window.location.pathname === '/signin' ? '/' : window.location.href);
    } catch (err) {
      setError(messageOf(err, 'Signing in'));
      setBusy(false);
    }
  };

  return (
    <AccountShell title="Sign in">
      <section className="card account-card" aria-labelledby="signin-heading">
        <h1 id="signin-heading">Sign in</h1>
        {config?.setup_needed ? (
          <p className="muted" data-testid="setup-needed">
            This server has no account yet. Open the setup link printed in the server&apos;s log to create the first admin.
          </p>
        ) : (
          <p className="muted">Interviewers of your organisation sign in to create sessions. Candidates only need their link.</p>
        )}
        <form className="account-form" onSubmit={(e) => void submit(e)} data-testid="signin-form">
          <div className="field">
            <label htmlFor={emailId}>Email</label>
            <input id={emailId} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} autoFocus />
          </div>
          <div className="field">
            <label htmlFor={passwordId}>Password</label>
            <input
              id={passwordId}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          </div>
          {error && (
            <p className="form-error" role="alert" data-testid="signin-error">
              {error}
            </p>
          )}
          <button type="submit" className="btn btn-primary" disabled={busy} data-testid="signin-submit">
            {busy && <Spinner size={14} />}
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
          {config?.sso && (
            <a className="btn" href="/api/auth/sso/start" data-testid="signin-sso">
              Sign in with SSO ({config.sso})
            </a>
          )}
        </form>
      </section>
    </AccountShell>
  );
}

/** The fields of a new account: name, email, password twice. */
function NewAccountForm({ submitLabel, minChars, onSubmit }: { submitLabel: string; minChars: number; onSubmit: (a: { email: string; name: string; password: string }) => Promise<void> }) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const ids = { name: useId(), email: useId(), password: useId(), again: useId(), hint: useId() };

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    if (password !== again) {
      setError('The two passwords differ.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSubmit({ email, name, password });
      window.location.assign('/');
    } catch (err) {
      setError(messageOf(err, 'Creating the account'));
      setBusy(false);
    }
  };

  return (
    <form className="account-form" onSubmit={(e) => void submit(e)} data-testid="account-form">
      <div className="field">
        <label htmlFor={ids.name}>Name</label>
        <input id={ids.name} autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} autoFocus />
      </div>
      <div className="field">
        <label htmlFor={ids.email}>Email</label>
        <input id={ids.email} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </div>
      <div className="field">
        <label htmlFor={ids.password}>Password</label>
        <input
          id={ids.password}
          type="password"
          autoComplete="new-password"
          required
          minLength={minChars}
          aria-describedby={ids.hint}
          value={password}
          onChange={(e) => setPassword(e.target.value)}
        />
        <p className="field-hint" id={ids.hint}>
          At least {minChars} characters.
        </p>
      </div>
      <div className="field">
        <label htmlFor={ids.again}>Password again</label>
        <input id={ids.again} type="password" autoComplete="new-password" required value={again} onChange={(e) => setAgain(e.target.value)} />
      </div>
      {error && (
        <p className="form-error" role="alert" data-testid="account-error">
          {error}
        </p>
      )}
      <button type="submit" className="btn btn-primary" disabled={busy} data-testid="account-submit">
        {busy && <Spinner size={14} />}
        {submitLabel}
      </button>
    </form>
  );
}

/** /setup?code=...: the first admin account, with the one-time code from the server's log. */
export function SetupPage() {
  const config = useAuthConfig();
  const code = new URL(window.location.href).searchParams.get('code') ?? '';
  return (
    <AccountShell title="First-run setup">
      <section className="card account-card" aria-labelledby="setup-heading">
        <h1 id="setup-heading">Set up interview-ide</h1>
        {config && !config.setup_needed ? (
          <p className="muted" data-testid="setup-done">
            This server is set up already. <a href="/">Sign in</a>.
          </p>
        ) : (
          <>
            <p className="muted">Create the first admin account. The admin then invites the interviewers of the organisation.</p>
            <NewAccountForm submitLabel="Create the admin account" minChars={config?.min_password_chars ?? 10} onSubmit={(a) => setup(code, a).then(() => undefined)} />
          </>
        )}
      </section>
    </AccountShell>
  );
}

/** /invite?code=...: a new member's account, from an admin's invite link. */
export function InvitePage() {
  const code = new URL(window.location.href).searchParams.get('code') ?? '';
  const config = useAuthConfig();
  const invite = useLoad(`invite:${code}`, () => inviteInfo(code));
  const info = invite.data ?? (invite.error !== null ? 'invalid' : null);
  return (
    <AccountShell title="Join">
      <section className="card account-card" aria-labelledby="invite-heading">
        <h1 id="invite-heading">Join your team</h1>
        {info === null ? (
          <Spinner size={14} />
        ) : info === 'invalid' ? (
          <p className="form-error" role="alert" data-testid="invite-invalid">
            This invite link is not valid: it was used or has expired. Ask an admin for a new one.
          </p>
        ) : (
          <>
            <p className="muted">
              You are invited to the team <strong>{info.team}</strong> as {info.role === 'admin' ? 'an admin' : 'an interviewer'}.
            </p>
            <NewAccountForm submitLabel="Create my account" minChars={config?.min_password_chars ?? 10} onSubmit={(a) => acceptInvite(code, a).then(() => undefined)} />
          </>
        )}
      </section>
    </AccountShell>
  );
}
