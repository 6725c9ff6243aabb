import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client';
import type { Participant, Session } from '../../api/sessions';
import { keys, readString, writeString } from '../../core/storage';
import { Spinner } from '../../ui/Spinner';

interface Props {
  session: Session;
  /** Joins the session under this name (`POST /join`). */
  join: (name: string) => Promise<Participant>;
  onJoined: (p: Participant) => void;
  onInvalid: () => void;
}

/** Asks for a display name once per tab, then joins the session. */
export function JoinForm({ session, join, onJoined, onInvalid }: Props) {
  const [name, setName] = useState(() => readString('local', keys.name) ?? '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const inputId = useId();
  const hintId = useId();

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const clean = name.trim();
    if (!clean) {
      setError('Enter a name so the others know who you are.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const p = await join(clean);
      writeString('local', keys.name, clean);
      onJoined(p);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiError && err.status === 401) return onInvalid();
      setError(err instanceof ApiError && err.status === 0 ? 'The server could not be reached. Try again.' : `Could not join: ${(err as Error).message}`);
    }
  };

  return (
    <main className="join-backdrop">
      <form className="card join-card" onSubmit={(e) => void submit(e)} aria-labelledby="join-heading">
        <h1 id="join-heading">Join “{session.title}”</h1>
        <p className="muted">
          You are joining as the <strong>{session.role}</strong>.
        </p>
        <div className="field">
          <label htmlFor={inputId}>Your name</label>
          <input
            id={inputId}
            data-testid="name-input"
            type="text"
            value={name}
            maxLength={64}
            autoFocus
            autoComplete="name"
            aria-describedby={hintId}
            aria-invalid={error ? true : undefined}
            onChange={(e) => setName(e.target.value)}
          />
          <p className="field-hint" id={hintId}>
            Shown to the others next to your cursor.
          </p>
        </div>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="btn btn-primary" disabled={busy} title="Join (Enter)">
          {busy && <Spinner size={14} />}
          {busy ? 'Joining…' : 'Join session'}
        </button>
      </form>
    </main>
  );
}
