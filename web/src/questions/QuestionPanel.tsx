// The question beside the editor: its description, its tests (the candidate's copy has the
// visible ones only; the server never sends hidden ones to the candidate) and "Run tests", which
// runs them on the server for the code in the editor.
import { useEffect, useState } from 'react';
import type * as Y from 'yjs';
import type { Question, TestReport } from '../api/questions';
import type { Role } from '../api/sessions';
import { Markdown } from '../editor/markdown';
import { useSession } from '../core/SessionContext';
import { Spinner } from '../ui/Spinner';
import './questions.css';

/** The session's question, or null when it was not made from one (or while loading). */
export function useQuestion(): Question | null {
  const { api } = useSession();
  const [question, setQuestion] = useState<Question | null>(null);
  useEffect(() => {
    let alive = true;
    api.questions.get().then(
      (q) => alive && setQuestion(q ?? null),
      () => {
        // No panel then; the pad works without it.
      },
    );
    return () => {
      alive = false;
    };
  }, [api]);
  return question;
}

interface Props {
  question: Question;
  role: Role;
  language: string;
  code: Y.Text | null;
  /** Why tests cannot run now (execution off, session ended), if so. */
  blocked: string | null;
}

export function QuestionPanel({ question, role, language, code, blocked }: Props) {
  const { api } = useSession();
  const [report, setReport] = useState<TestReport | null>(null);
  const [running, setRunning] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const runTests = async () => {
    if (!code || running) return;
    setRunning(true);
    setError(null);
    try {
      setReport(await api.questions.runTests(language, code.toString()));
    } catch (e) {
      setError(e instanceof Error ? e.message : 'The tests could not be run.');
    } finally {
      setRunning(false);
    }
  };

  const visible = question.tests.filter((t) => !t.hidden);
  return (
    <aside className="question-panel" aria-label="Question" data-testid="question-panel">
      <h2 className="question-title">{question.title}</h2>
      <div className="question-description markdown">
        <Markdown text={question.description} highlight={false} />
      </div>
      <section className="question-tests" aria-label="Tests">
        <div className="question-tests-header">
          <h3>Tests</h3>
          <button type="button" className="run-btn" data-testid="run-tests" onClick={() => void runTests()} disabled={running || blocked !== null || !code} title={blocked ?? 'Run the tests on the server with the code in the editor'}>
            {running ? <Spinner size={12} /> : null}
            Run tests
          </button>
        </div>
        <p className="question-note">
          {role === 'interviewer'
            ? `${visible.length} visible to the candidate, ${question.hidden_tests} hidden (only you run them).`
            : `${visible.length} example tests.`}
        </p>
        {error && (
          <p className="question-error" role="alert">
            {error}
          </p>
        )}
        {report && (
          <p className="question-summary" data-testid="tests-summary" role="status">
            {report.passed} passed, {report.failed} failed
          </p>
        )}
        <ul className="question-test-list">
          {(report ? report.results : question.tests).map((t) => {
            const result = report ? (t as TestReport['results'][number]) : null;
            return (
              <li key={t.name} className={`question-test${result ? (result.passed ? ' passed' : ' failed') : ''}`} data-testid="test-result" data-passed={result ? String(result.passed) : undefined}>
                <div className="question-test-name">
                  {result && <span className="question-test-mark">{result.passed ? '✓' : '✗'}</span>}
                  {t.name}
                  {t.hidden && <span className="run-tag">hidden</span>}
                </div>
                {result && !result.passed && (
                  <details>
                    <summary>Details</summary>
                    <pre>{`Input:\n${t.input}\nExpected:\n${t.expected}\nGot (${result.status}):\n${result.actual}${result.stderr ? `\n${result.stderr}` : ''}${result.message ? `\n${result.message}` : ''}`}</pre>
                  </details>
                )}
                {!result && (
                  <pre className="question-test-io">{`Input:\n${t.input}Expected:\n${t.expected}`}</pre>
                )}
              </li>
            );
          })}
        </ul>
      </section>
    </aside>
  );
}
