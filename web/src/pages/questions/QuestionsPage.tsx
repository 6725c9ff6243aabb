// `/questions`: the questions a team interviews with. The server's library is read-only (a copy
// makes it the team's); the team's own questions are written and edited here: a title, a
// Markdown description, starter code per language and tests, each visible to the candidate or
// hidden (hidden tests only ever run for the interviewer).
import { useCallback, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { SignInPage, useMe } from '../account/AccountPages';
import type { Me } from '../../api/accounts';
import { ApiError } from '../../api/client';
import {
  createQuestion,
  deleteQuestion,
  getQuestion,
  listQuestions,
  updateQuestion,
  type QuestionFull,
  type QuestionInput,
  type QuestionSummary,
  type QuestionTest,
} from '../../api/questions';
import { Markdown } from '../../editor/markdown';
import { AccountBar, Logo } from '../home/HomePage';
import { languageName, useLanguages } from '../../core/languages';
import { ErrorScreen } from '../../ui/ErrorScreen';
import { PageLoading, Spinner } from '../../ui/Spinner';
import { useLoad } from '../../ui/useLoad';
import '../../questions/questions.css';

/** `id`: null for the list, 'new' for a new question, else the question to edit or read. */
export default function QuestionsPage({ id }: { id: string | null }) {
  const me = useMe();
  if (me.kind === 'loading') return <PageLoading label="Loading…" />;
  if (me.kind === 'signed-out') return <SignInPage />;
  if (me.kind === 'error') return <ErrorScreen title="The server could not be reached" message={me.message} action={{ label: 'Try again', href: '/questions' }} />;
  return (
    <div className="home">
      <header className="home-header">
        <Logo />
        <nav className="home-nav" aria-label="Pages">
          <a href="/">Sessions</a>
          <a href="/questions" aria-current={id === null ? 'page' : undefined}>
            Questions
          </a>
        </nav>
        <AccountBar me={me.me} />
      </header>
      <main className="home-main questions-main">{id === null ? <QuestionList me={me.me} /> : <QuestionEditor id={id} />}</main>
    </div>
  );
}

const message = (e: unknown) => (e instanceof ApiError ? e.message : 'Something went wrong.');

function QuestionList({ me }: { me: Me }) {
  const questions = useLoad('questions', () => listQuestions(), { errorText: message });
  const [actionError, setActionError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const list = questions.data;
  const error = questions.error ?? actionError;

  useEffect(() => {
    document.title = 'Questions · interview-ide';
  }, []);

  const remove = async (q: QuestionSummary) => {
    setActionError(null);
    try {
      await deleteQuestion(q.id);
      setNotice(`Deleted "${q.title}". Sessions made from it keep it.`);
      setConfirming(null);
      questions.reload();
    } catch (e) {
      setActionError(message(e));
    }
  };

  const team = list?.filter((q) => q.owner === 'team') ?? [];
  const library = list?.filter((q) => q.owner === 'library') ?? [];
  return (
    <section className="card" aria-labelledby="questions-heading">
      <div className="questions-title">
        <h1 id="questions-heading">Questions</h1>
        <a className="btn btn-primary" href="/questions/new" data-testid="question-new">
          New question
        </a>
      </div>
      <p className="muted">
        Pick a question when you create a pad session: the candidate gets its description and starter code, and both of
        you can run its tests. Hidden tests run only for the interviewer.
      </p>
      {error && (
        <p className="form-error" role="alert">
          {error}{' '}
          <button
            type="button"
            className="link-button"
            onClick={() => {
              setActionError(null);
              questions.reload();
            }}
          >
            Try again
          </button>
        </p>
      )}
      {notice && (
        <p className="admin-notice" role="status">
          {notice}
        </p>
      )}
      {list === null && !error ? (
        <p className="muted">
          <Spinner size={14} /> Loading questions…
        </p>
      ) : (
        list && (
          <>
            <h2 className="questions-h2">{me.team ? `${me.team.name}'s questions` : "Your team's questions"}</h2>
            {team.length === 0 ? (
              <p className="muted" data-testid="team-questions-empty">
                None yet: write one, or copy one of the library's to change it.
              </p>
            ) : (
              <QuestionTable
                testId="team-questions"
                rows={team}
                actions={(q) =>
                  confirming === q.id ? (
                    <>
                      <button type="button" className="btn btn-small btn-danger" onClick={() => void remove(q)} data-testid={`question-delete-confirm-${q.id}`}>
                        Delete for good
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => setConfirming(null)}>
                        Keep
                      </button>
                    </>
                  ) : (
                    <>
                      <a className="btn btn-small" href={`/questions/${encodeURIComponent(q.id)}`}>
                        Edit
                      </a>
                      <button type="button" className="btn btn-small" onClick={() => setConfirming(q.id)} data-testid={`question-delete-${q.id}`} aria-label={`Delete ${q.title}`}>
                        Delete
                      </button>
                    </>
                  )
                }
              />
            )}
            <h2 className="questions-h2">Library</h2>
            <QuestionTable
              testId="library-questions"
              rows={library}
              actions={(q) => (
                <a className="btn btn-small" href={`/questions/${encodeURIComponent(q.id)}`} aria-label={`View ${q.title}`}>
                  View
                </a>
              )}
            />
          </>
        )
      )}
    </section>
  );
}

function QuestionTable({ rows, actions, testId }: { rows: QuestionSummary[]; actions: (q: QuestionSummary) => React.ReactNode; testId: string }) {
  return (
    <table className="admin-table questions-table" data-testid={testId}>
      <thead>
        <tr>
          <th scope="col">Title</th>
          <th scope="col">Tests</th>
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {rows.map((q) => (
          <tr key={q.id} data-testid={`question-row-${q.id}`}>
            <td>
              <a className="admin-session-title" href={`/questions/${encodeURIComponent(q.id)}`}>
                {q.title}
              </a>
            </td>
            <td className="muted">
              {q.tests} {q.tests === 1 ? 'test' : 'tests'}
              {q.hidden_tests > 0 && `, ${q.hidden_tests} hidden`}
            </td>
            <td className="questions-actions">{actions(q)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const EMPTY: QuestionInput = { title: '', description: '', starters: {}, tests: [{ name: 'example', input: '', expected: '', hidden: false }] };

/** The editor of one question: a form for the team's own, the same fields read-only for the library's. */
function QuestionEditor({ id }: { id: string }) {
  const isNew = id === 'new';
  const [savedId, setSavedId] = useState<string | null>(isNew ? null : id);
  const [loaded, setLoaded] = useState<QuestionFull | null>(null);
  const [form, setForm] = useState<QuestionInput>(EMPTY);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [status, setStatus] = useState<{ kind: 'idle' | 'saving' | 'saved' | 'error'; text?: string }>({ kind: 'idle' });
  const titleRef = useRef<HTMLInputElement>(null);
  const readOnly = loaded?.owner === 'library';

  useEffect(() => {
    if (isNew) {
      document.title = 'New question · interview-ide';
      titleRef.current?.focus();
      return;
    }
    getQuestion(id).then(
      (q) => {
        setLoaded(q);
        setForm({ title: q.title, description: q.description, starters: q.starters, tests: q.tests });
        document.title = `${q.title} · Questions · interview-ide`;
      },
      (e) => setLoadError(message(e)),
    );
  }, [id, isNew]);

  const save = useCallback(async () => {
    if (readOnly || status.kind === 'saving') return;
    setStatus({ kind: 'saving' });
    try {
      if (savedId) {
        await updateQuestion(savedId, form);
      } else {
        const { id: created } = await createQuestion(form);
        setSavedId(created);
        window.history.replaceState(null, '', `/questions/${encodeURIComponent(created)}`);
      }
      setStatus({ kind: 'saved', text: 'Saved. It is in the question list of the new session form.' });
    } catch (e) {
      setStatus({ kind: 'error', text: message(e) });
    }
  }, [form, readOnly, savedId, status.kind]);

  // Ctrl+S / Cmd+S saves, as in the editor.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === 's') {
        e.preventDefault();
        void save();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [save]);

  const copy = async () => {
    setStatus({ kind: 'saving' });
    try {
      const { id: created } = await createQuestion({ ...form, title: `${form.title} (copy)`.slice(0, 200) });
      window.location.assign(`/questions/${encodeURIComponent(created)}`);
    } catch (e) {
      setStatus({ kind: 'error', text: message(e) });
    }
  };

  if (loadError) return <ErrorScreen title="This question cannot be opened" message={loadError} action={{ label: 'All questions', href: '/questions' }} />;
  if (!isNew && !loaded) return <PageLoading label="Loading the question…" />;

  const set = (patch: Partial<QuestionInput>) => {
    setForm((f) => ({ ...f, ...patch }));
    if (status.kind !== 'saving') setStatus({ kind: 'idle' });
  };
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void save();
  };

  return (
    <section className="card question-editor" aria-labelledby="question-heading">
      <div className="questions-title">
        <h1 id="question-heading">{isNew && !savedId ? 'New question' : readOnly ? form.title : `Edit: ${form.title || 'untitled'}`}</h1>
        <a className="btn btn-small" href="/questions">
          All questions
        </a>
      </div>
      {readOnly && (
        <p className="muted" data-testid="library-readonly">
          A question of the server's library: read-only.{' '}
          <button type="button" className="btn btn-small" onClick={() => void copy()} data-testid="question-copy">
            Copy to my team
          </button>{' '}
          to change it.
        </p>
      )}
      <form onSubmit={submit} className="question-form" aria-describedby="question-status">
        <div>
          <Field label="Title">
            {(fid) => (
              <input id={fid} ref={titleRef} type="text" value={form.title} maxLength={200} required readOnly={readOnly} onChange={(e) => set({ title: e.target.value })} data-testid="question-title" autoComplete="off" />
            )}
          </Field>
          <DescriptionField value={form.description} readOnly={readOnly} onChange={(description) => set({ description })} />
          <StartersField starters={form.starters} readOnly={readOnly} onChange={(starters) => set({ starters })} />
          <TestsField tests={form.tests} readOnly={readOnly} onChange={(tests) => set({ tests })} />
        </div>
        {!readOnly && (
          <div className="question-footer">
            <button type="submit" className="btn btn-primary" disabled={status.kind === 'saving'} data-testid="question-save" title="Save (Ctrl+S)">
              {status.kind === 'saving' && <Spinner size={14} />}
              {status.kind === 'saving' ? 'Saving…' : 'Save'}
            </button>
            <span className="muted">Ctrl+S</span>
          </div>
        )}
        <p id="question-status" className={status.kind === 'error' ? 'form-error' : 'admin-notice'} role={status.kind === 'error' ? 'alert' : 'status'} data-testid="question-status" data-state={status.kind}>
          {status.text ?? ''}
        </p>
      </form>
    </section>
  );
}

function Field({ label, hint, children }: { label: string; hint?: string; children: (id: string) => React.ReactNode }) {
  const fid = useId();
  return (
    <div className="field question-field">
      <label htmlFor={fid}>{label}</label>
      {hint && <p className="field-hint">{hint}</p>}
      {children(fid)}
    </div>
  );
}

function DescriptionField({ value, readOnly, onChange }: { value: string; readOnly: boolean; onChange: (v: string) => void }) {
  // A read-only description is for reading: rendered first.
  const [preview, setPreview] = useState(readOnly);
  const fid = useId();
  return (
    <div className="field question-field">
      <div className="question-label-row">
        <label htmlFor={fid}>Description (Markdown)</label>
        <div role="group" aria-label="Description view" className="segmented">
          <button type="button" className={preview ? 'segment' : 'segment checked'} aria-pressed={!preview} onClick={() => setPreview(false)}>
            Write
          </button>
          <button type="button" className={preview ? 'segment checked' : 'segment'} aria-pressed={preview} onClick={() => setPreview(true)} data-testid="question-preview">
            Preview
          </button>
        </div>
      </div>
      {preview ? (
        <div className="question-preview markdown" data-testid="question-preview-body">
          {value.trim() ? <Markdown text={value} highlight={false} /> : <p className="muted">Nothing to preview.</p>}
        </div>
      ) : (
        <textarea id={fid} className="question-textarea" rows={10} value={value} maxLength={20_000} readOnly={readOnly} onChange={(e) => onChange(e.target.value)} data-testid="question-description" placeholder="What the program reads on stdin, what it prints, an example." />
      )}
    </div>
  );
}

function StartersField({ starters, readOnly, onChange }: { starters: Record<string, string>; readOnly: boolean; onChange: (s: Record<string, string>) => void }) {
  const { languages } = useLanguages();
  const runnable = languages.filter((l) => l.id !== 'plaintext');
  const [language, setLanguage] = useState('python');
  const fid = useId();
  const selectId = useId();
  const own = Object.keys(starters).filter((l) => starters[l].trim() !== '');
  return (
    <div className="field question-field">
      <div className="question-label-row">
        <label htmlFor={fid}>Starter code</label>
        <label htmlFor={selectId} className="sr-only">
          Starter language
        </label>
        <select id={selectId} value={language} onChange={(e) => setLanguage(e.target.value)} data-testid="starter-language">
          {runnable.map((l) => (
            <option key={l.id} value={l.id}>
              {l.name}
              {starters[l.id]?.trim() ? ' ●' : ''}
            </option>
          ))}
        </select>
      </div>
      <p className="field-hint">
        {own.length === 0
          ? 'No starter yet: every language gets a template that reads the input.'
          : `Starters: ${own.map((l) => languageName(languages, l)).join(', ')}. Other languages get a template that reads the input.`}
      </p>
      <textarea
        id={fid}
        className="question-textarea question-code"
        rows={10}
        spellCheck={false}
        value={starters[language] ?? ''}
        readOnly={readOnly}
        onChange={(e) => onChange({ ...starters, [language]: e.target.value })}
        data-testid="starter-code"
        placeholder={`The ${languageName(languages, language)} code the candidate starts from (empty: the template).`}
      />
    </div>
  );
}

function TestsField({ tests, readOnly, onChange }: { tests: QuestionTest[]; readOnly: boolean; onChange: (t: QuestionTest[]) => void }) {
  const update = (i: number, patch: Partial<QuestionTest>) => onChange(tests.map((t, j) => (j === i ? { ...t, ...patch } : t)));
  const hidden = tests.filter((t) => t.hidden).length;
  return (
    <fieldset className="question-tests">
      <legend>
        Tests <span className="muted">({tests.length}, {hidden} hidden)</span>
      </legend>
      <p className="field-hint">The program reads the input on stdin and must print the expected output (trailing spaces and blank lines do not count).</p>
      {tests.map((t, i) => (
        <div className="question-test" key={i} data-testid={`question-test-${i}`}>
          <div className="question-test-head">
            <Field label={`Test ${i + 1} name`}>
              {(fid) => <input id={fid} type="text" value={t.name} maxLength={200} readOnly={readOnly} onChange={(e) => update(i, { name: e.target.value })} data-testid={`test-name-${i}`} />}
            </Field>
            <label className="question-hidden">
              <input type="checkbox" checked={t.hidden} disabled={readOnly} onChange={(e) => update(i, { hidden: e.target.checked })} data-testid={`test-hidden-${i}`} /> Hidden from the candidate
            </label>
            {!readOnly && (
              <button type="button" className="btn btn-small" onClick={() => onChange(tests.filter((_, j) => j !== i))} aria-label={`Remove test ${i + 1}`}>
                Remove
              </button>
            )}
          </div>
          <div className="question-test-io">
            <Field label="Input (stdin)">
              {(fid) => <textarea id={fid} className="question-textarea question-code" rows={3} spellCheck={false} value={t.input} readOnly={readOnly} onChange={(e) => update(i, { input: e.target.value })} data-testid={`test-input-${i}`} />}
            </Field>
            <Field label="Expected output">
              {(fid) => <textarea id={fid} className="question-textarea question-code" rows={3} spellCheck={false} value={t.expected} readOnly={readOnly} onChange={(e) => update(i, { expected: e.target.value })} data-testid={`test-expected-${i}`} />}
            </Field>
          </div>
        </div>
      ))}
      {!readOnly && (
        <button type="button" className="btn btn-small" onClick={() => onChange([...tests, { name: `test ${tests.length + 1}`, input: '', expected: '', hidden: false }])} data-testid="question-add-test" disabled={tests.length >= 50}>
          Add test
        </button>
      )}
    </fieldset>
  );
}
