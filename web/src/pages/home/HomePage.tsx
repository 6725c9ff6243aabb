import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { ApiError } from '../../api/client';
import { listQuestions, type QuestionSummary } from '../../api/questions';
import { createSession, type CreatedSession, type SessionKind } from '../../api/sessions';
import { listExercises, type Exercise } from '../../api/workspace';
import { languageLabel, useLanguages } from '../../core/languages';
import { CopyField } from '../../ui/CopyField';
import { Spinner } from '../../ui/Spinner';
import { messageOf, useLoad } from '../../ui/useLoad';
import { SignInPage, signOut, useMe } from '../account/AccountPages';
import type { Me } from '../../api/accounts';
import { ErrorScreen } from '../../ui/ErrorScreen';
import { PageLoading } from '../../ui/Spinner';
import { addRecent } from './recentSessions';
import { TeamSessions } from './TeamSessions';

const DEFAULT_TITLE = 'Untitled interview';

/** `/`: the sign-in page when signed out; otherwise a new session and the team's sessions. */
export function HomePage() {
  const me = useMe();
  if (me.kind === 'loading') return <PageLoading label="Loading…" />;
  if (me.kind === 'signed-out') return <SignInPage />;
  if (me.kind === 'error') return <ErrorScreen title="The server could not be reached" message={me.message} action={{ label: 'Try again', href: '/' }} />;
  return <SignedInHome me={me.me} />;
}

function SignedInHome({ me }: { me: Me }) {
  const [created, setCreated] = useState<(CreatedSession & { title: string }) | null>(null);
  const [refresh, setRefresh] = useState(0);

  useEffect(() => {
    document.title = 'New session · interview-ide';
  }, []);

  return (
    <div className="home">
      <header className="home-header">
        <Logo />
        <nav className="home-nav" aria-label="Pages">
          <a href="/" aria-current="page">
            Sessions
          </a>
          <a href="/questions" data-testid="questions-link">
            Questions
          </a>
        </nav>
        <span className="home-tagline">Live technical interviews, self-hosted.</span>
        <AccountBar me={me} />
      </header>
      <main className="home-main">
        {created ? (
          <CreatedPanel created={created} onAnother={() => setCreated(null)} />
        ) : (
          <CreateForm
            onCreated={(session, title) => {
              setCreated({ ...session, title });
              setRefresh((r) => r + 1);
              // The candidate link is shown once by the server; this browser keeps it for the interviewer view.
              addRecent({
                id: session.id,
                title,
                interviewerUrl: session.interviewer_url,
                candidateUrl: session.candidate_url,
                createdAt: new Date().toISOString(),
              });
            }}
          />
        )}
        <TeamSessions teamName={me.team?.name ?? null} refresh={refresh} />
      </main>
    </div>
  );
}

/** Who is signed in, the admin pages for an admin, and signing out. */
export function AccountBar({ me }: { me: Me }) {
  return (
    <div className="account-bar" data-testid="account-bar">
      <span className="muted">
        <strong>{me.user.name}</strong> · {me.user.email}
        {me.team && ` · ${me.team.name}`}
      </span>
      {me.user.role === 'admin' && (
        <a className="btn btn-small" href="/admin" data-testid="admin-link">
          Admin
        </a>
      )}
      <button type="button" className="btn btn-small" onClick={() => void signOut()} data-testid="sign-out">
        Sign out
      </button>
    </div>
  );
}

export function Logo() {
  return (
    <a className="logo" href="/" aria-label="interview-ide home">
      <img src="/favicon.svg" alt="" width={22} height={22} />
      <span>interview-ide</span>
    </a>
  );
}

/** The server's question library, for the create form (empty until it arrives, or on failure). */
const NO_QUESTIONS: QuestionSummary[] = [];

/** The question bank for the form's picker; without it (not signed in, an error) the picker is empty. */
function useQuestionList(): QuestionSummary[] {
  const { data } = useLoad('questions', () => listQuestions());
  return Array.isArray(data) ? data : NO_QUESTIONS;
}

function CreateForm({ onCreated }: { onCreated: (s: CreatedSession, title: string) => void }) {
  const { languages, loading } = useLanguages();
  const [title, setTitle] = useState('');
  const [language, setLanguage] = useState('python');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const titleId = useId();
  const langId = useId();
  const titleRef = useRef<HTMLInputElement>(null);
  const exerciseId = useId();
  const exerciseHintId = useId();
  const [kind, setKind] = useState<SessionKind>('pad');
  const [exercise, setExercise] = useState('');
  const exercises = useExercises(kind === 'workspace');
  const questionId = useId();
  const [question, setQuestion] = useState('');
  const questions = useQuestionList();

  useEffect(() => titleRef.current?.focus(), []);

  // Pick the first exercise once the list arrives (and keep the choice valid).
  useEffect(() => {
    const list = exercises.list;
    if (list && list.length > 0 && !list.some((x) => x.id === exercise)) setExercise(list[0].id);
  }, [exercises.list, exercise]);
  const chosen = exercises.list?.find((x) => x.id === exercise) ?? null;
  const canSubmit = kind === 'pad' || chosen !== null;

  // Keep the choice valid when the server's list replaces the built-in one.
  useEffect(() => {
    if (!languages.some((l) => l.id === language)) setLanguage(languages[0]?.id ?? 'python');
  }, [languages, language]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (busy) return;
    if (!canSubmit) {
      setError('Choose an exercise for the workspace.');
      return;
    }
    const chosenQuestion = questions.find((q) => q.id === question);
    const finalTitle = title.trim() || chosenQuestion?.title || DEFAULT_TITLE;
    setBusy(true);
    setError(null);
    try {
      const session = await createSession(
        kind === 'workspace'
          ? { title: finalTitle, kind, exercise }
          : { title: finalTitle, language, ...(question ? { question } : {}) },
      );
      onCreated(session, finalTitle);
    } catch (err) {
      setError(createErrorMessage(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" aria-labelledby="create-heading">
      <h1 id="create-heading">New interview session</h1>
      <p className="muted">
        You get two links: one for you (or a guest co-interviewer), one for the candidate. Your team sees the
        session in its list below; the candidate needs no account.
      </p>
      <form className="create-form" onSubmit={(e) => void submit(e)}>
        <KindPicker kind={kind} onChange={setKind} />
        <div className="field">
          <label htmlFor={titleId}>Title</label>
          <input
            id={titleId}
            ref={titleRef}
            type="text"
            value={title}
            maxLength={200}
            placeholder={DEFAULT_TITLE}
            onChange={(e) => setTitle(e.target.value)}
            autoComplete="off"
          />
        </div>
        {kind === 'pad' ? (
          <div className="field field-narrow">
            <label htmlFor={langId}>Language</label>
            <select
              id={langId}
              value={language}
              onChange={(e) => setLanguage(e.target.value)}
              aria-busy={loading}
            >
              {languages.map((l) => (
                <option key={l.id} value={l.id}>
                  {languageLabel(l)}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        {kind === 'pad' && (
          <div className="field">
            <label htmlFor={questionId}>Question</label>
            <select id={questionId} data-testid="question-picker" value={question} onChange={(e) => setQuestion(e.target.value)}>
              <option value="">None (a blank pad)</option>
              {(['team', 'library'] as const).map((owner) => {
                const group = questions.filter((q) => q.owner === owner);
                return group.length === 0 ? null : (
                  <optgroup key={owner} label={owner === 'team' ? "Your team's questions" : 'Library'}>
                    {group.map((q) => (
                      <option key={q.id} value={q.id}>
                        {q.title}
                      </option>
                    ))}
                  </optgroup>
                );
              })}
            </select>
          </div>
        )}
        {kind === 'pad' ? null : (
          <div className="field field-exercise">
            <label htmlFor={exerciseId}>Exercise</label>
            <select
              id={exerciseId}
              data-testid="exercise-picker"
              value={exercise}
              onChange={(e) => setExercise(e.target.value)}
              aria-busy={exercises.loading}
              aria-describedby={exerciseHintId}
              disabled={!exercises.list || exercises.list.length === 0}
            >
              {exercises.loading && !exercises.list && <option value="">Loading exercises…</option>}
              {exercises.list?.length === 0 && <option value="">No exercises on this server</option>}
              {exercises.list?.map((x) => (
                <option key={x.id} value={x.id} title={x.description}>
                  {x.stack ? `${x.title} (${x.stack.split(' · ')[0]})` : x.title}
                </option>
              ))}
            </select>
          </div>
        )}
        <div className="field field-action">
          <button
            type="submit"
            className="btn btn-primary"
            data-testid="create-session"
            disabled={busy || !canSubmit}
            title="Create the session (Enter)"
          >
            {busy && <Spinner size={14} />}
            {busy ? 'Creating…' : 'Create session'}
          </button>
        </div>
        {kind === 'workspace' && (
          <div className="exercise-hint" id={exerciseHintId} aria-live="polite">
            {exercises.error ? (
              <p className="form-error" role="alert">
                {exercises.error}{' '}
                <button type="button" className="link-button" onClick={exercises.retry}>
                  Try again
                </button>
              </p>
            ) : chosen ? (
              <div data-testid="exercise-description">
                <p className="muted">
                  <strong>{chosen.title}</strong>: {chosen.description}
                </p>
                <dl className="exercise-facts">
                  {chosen.stack && (
                    <div>
                      <dt>Stack</dt>
                      <dd data-testid="exercise-stack">{chosen.stack}</dd>
                    </div>
                  )}
                  {chosen.duration_minutes ? (
                    <div>
                      <dt>Duration</dt>
                      <dd data-testid="exercise-duration">about {chosen.duration_minutes} min</dd>
                    </div>
                  ) : null}
                  {chosen.probes && chosen.probes.length > 0 && (
                    <div>
                      <dt>Probes</dt>
                      <dd data-testid="exercise-probes">{chosen.probes.join(' · ')}</dd>
                    </div>
                  )}
                  {chosen.scenarios && chosen.scenarios.length > 0 && (
                    <div>
                      <dt>Scenarios</dt>
                      <dd>{chosen.scenarios.length}: {chosen.scenarios.join(', ')}</dd>
                    </div>
                  )}
                </dl>
              </div>
            ) : exercises.loading ? (
              <p className="muted">Loading exercises…</p>
            ) : null}
            <p className="field-hint">
              A workspace is a small project on the server: files, a shared terminal, the running app and the Chaos
              Engine for you.
            </p>
          </div>
        )}
      </form>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
    </section>
  );
}

const KINDS: { id: SessionKind; label: string; hint: string }[] = [
  { id: 'pad', label: 'Pad', hint: 'One shared file; code runs in the browser.' },
  { id: 'workspace', label: 'Workspace', hint: 'A project with files, a terminal and a running app.' },
];

/** Pad or workspace: a segmented control made of real radio buttons (arrow keys move the choice). */
function KindPicker({ kind, onChange }: { kind: SessionKind; onChange: (k: SessionKind) => void }) {
  const name = useId();
  const labelId = useId();
  return (
    <div className="field field-kind">
      <span className="field-label" id={labelId}>
        Kind
      </span>
      <div className="segmented" role="radiogroup" aria-labelledby={labelId} data-testid="kind-picker">
        {KINDS.map((k) => (
          <label key={k.id} className={kind === k.id ? 'segment checked' : 'segment'} title={k.hint}>
            <input
              type="radio"
              name={name}
              value={k.id}
              checked={kind === k.id}
              onChange={() => onChange(k.id)}
              data-testid={`kind-${k.id}`}
            />
            {k.label}
          </label>
        ))}
      </div>
    </div>
  );
}

/** The server's exercises, fetched the first time a workspace is chosen (and kept after). */
function useExercises(wanted: boolean): { list: Exercise[] | null; loading: boolean; error: string | null; retry: () => void } {
  const [asked, setAsked] = useState(wanted);
  if (wanted && !asked) setAsked(true);
  const exercises = useLoad(asked ? 'exercises' : null, () => listExercises(), {
    errorText: (err) =>
      err instanceof ApiError && err.status === 0
        ? 'The exercises could not be loaded: the server could not be reached.'
        : `The exercises could not be loaded: ${messageOf(err)}`,
  });
  const list = exercises.data === null ? null : Array.isArray(exercises.data) ? exercises.data : [];
  return { list, loading: exercises.loading, error: exercises.error, retry: exercises.reload };
}

function createErrorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 0) return 'The server could not be reached. Check your connection and try again.';
    if (err.status === 429) return 'Too many sessions were created from this address. Wait a minute and try again.';
    return `The session could not be created: ${err.message}`;
  }
  return 'The session could not be created.';
}

function CreatedPanel({
  created,
  onAnother,
}: {
  created: CreatedSession & { title: string };
  onAnother: () => void;
}) {
  const headingRef = useRef<HTMLHeadingElement>(null);
  // Move focus to the result so keyboard and screen-reader users land on the links.
  useEffect(() => headingRef.current?.focus(), []);

  return (
    <section className="card" aria-labelledby="created-heading">
      <h1 id="created-heading" ref={headingRef} tabIndex={-1}>
        “{created.title}” is ready
      </h1>
      <CopyField
        label="Interviewer link"
        value={created.interviewer_url}
        testId="interviewer-link"
        hint="Keep this one to yourself: it opens the session as the interviewer."
      />
      <CopyField
        label="Candidate link"
        value={created.candidate_url}
        testId="candidate-link"
        hint="Send this to the candidate."
      />
      <div className="row">
        <button
          type="button"
          className="btn btn-primary"
          onClick={() => window.location.assign(created.interviewer_url)}
          title="Open the session as the interviewer in this tab"
        >
          Open interviewer view
        </button>
        <button type="button" className="btn" onClick={onAnother}>
          Create another session
        </button>
      </div>
    </section>
  );
}
