import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import type { Scorecard as Card } from '../api/cockpit';
import { useSession } from '../core/SessionContext';
import { Spinner } from '../ui/Spinner';

const DEFAULT_SKILLS = ['Problem solving', 'Code quality', 'Communication', 'Debugging'];
const SCORES: { value: number; label: string }[] = [
  { value: 1, label: 'Strong no' },
  { value: 2, label: 'No' },
  { value: 3, label: 'Yes' },
  { value: 4, label: 'Strong yes' },
];
const SAVE_DELAY_MS = 800;

interface Row {
  skill: string;
  score: number | null;
  comment: string;
}

type Save = 'idle' | 'pending' | 'saving' | 'saved' | 'error';

/** Rated skills are saved; a skill keeps its comment locally until it has a score. */
function toCard(rows: Row[], summary: string): Card {
  return {
    ratings: rows.filter((r) => r.score !== null).map((r) => ({ skill: r.skill, score: r.score!, comment: r.comment })),
    summary,
  };
}

export function Scorecard() {
  const { id: sessionId, api } = useSession();
  const [rows, setRows] = useState<Row[] | null>(null);
  const [summary, setSummary] = useState('');
  const [loadError, setLoadError] = useState<string | null>(null);
  const [save, setSave] = useState<Save>('idle');
  const [saveError, setSaveError] = useState<string | null>(null);
  const [newSkill, setNewSkill] = useState('');
  const [attempt, setAttempt] = useState(0);
  const dirty = useRef(0);
  const summaryId = useId();
  const newId = useId();

  useEffect(() => {
    let alive = true;
    setLoadError(null);
    api.cockpit.scorecard().then(
      (card) => {
        if (!alive) return;
        const saved: Row[] = card.ratings.map((r) => ({ skill: r.skill, score: r.score, comment: r.comment ?? '' }));
        const missing = DEFAULT_SKILLS.filter((s) => !saved.some((r) => r.skill === s)).map((skill) => ({ skill, score: null, comment: '' }));
        setRows([...saved, ...missing]);
        setSummary(card.summary ?? '');
      },
      (err: Error) => alive && setLoadError(`The scorecard could not be loaded: ${err.message}`),
    );
    return () => {
      alive = false;
    };
  }, [api, attempt]);

  // What a change not yet saved would send, so that closing the panel still saves it.
  const unsaved = useRef<Card | null>(null);
  useEffect(
    () => () => {
      if (unsaved.current) api.cockpit.saveScorecard(unsaved.current).catch(() => undefined);
    },
    [api],
  );

  // Debounced autosave of every change.
  useEffect(() => {
    if (rows === null || dirty.current === 0) return;
    const version = dirty.current;
    unsaved.current = toCard(rows, summary);
    setSave('pending');
    const timer = window.setTimeout(() => {
      unsaved.current = null;
      setSave('saving');
      api.cockpit.saveScorecard(toCard(rows, summary)).then(
        () => {
          if (dirty.current === version) setSave('saved');
          setSaveError(null);
        },
        (err: Error) => {
          setSave('error');
          setSaveError(err.message);
        },
      );
    }, SAVE_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [rows, summary, api]);

  const change = (i: number, patch: Partial<Row>) => {
    dirty.current += 1;
    setRows((rs) => rs && rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  };

  const addSkill = (e: FormEvent) => {
    e.preventDefault();
    const skill = newSkill.trim().slice(0, 100);
    if (!skill || !rows || rows.some((r) => r.skill.toLowerCase() === skill.toLowerCase())) return;
    dirty.current += 1;
    setRows([...rows, { skill, score: null, comment: '' }]);
    setNewSkill('');
  };

  if (loadError) {
    return (
      <div className="cockpit-error" role="alert">
        {loadError}{' '}
        <button type="button" className="btn btn-small" onClick={() => setAttempt((a) => a + 1)}>
          Retry
        </button>
      </div>
    );
  }
  if (rows === null) {
    return (
      <p className="cockpit-empty">
        <Spinner size={14} /> Loading the scorecard…
      </p>
    );
  }

  const unrated = rows.filter((r) => r.score === null && r.comment.trim()).map((r) => r.skill);

  return (
    <div className="scorecard" data-testid="scorecard">
      <p className="muted small score-scale">1 strong no · 2 no · 3 yes · 4 strong yes</p>
      {rows.map((r, i) => (
        <fieldset key={r.skill} className="score-row">
          <legend className="score-skill">
            {r.skill}
            {!DEFAULT_SKILLS.includes(r.skill) && (
              <button
                type="button"
                className="link-btn"
                onClick={() => {
                  dirty.current += 1;
                  setRows(rows.filter((_, j) => j !== i));
                }}
                aria-label={`Remove the skill ${r.skill}`}
                title="Remove this skill"
              >
                ×
              </button>
            )}
          </legend>
          <div className="score-options" role="radiogroup" aria-label={`${r.skill}: score from 1 to 4`}>
            {SCORES.map((s) => (
              <label key={s.value} className="score-option" title={s.label}>
                <input
                  type="radio"
                  name={`score-${sessionId}-${i}`}
                  value={s.value}
                  checked={r.score === s.value}
                  onChange={() => change(i, { score: s.value })}
                  aria-label={`${s.value}, ${s.label}`}
                />
                <span aria-hidden="true">{s.value}</span>
              </label>
            ))}
            {r.score !== null && (
              <button type="button" className="link-btn" onClick={() => change(i, { score: null })} aria-label={`Clear the score of ${r.skill}`}>
                clear
              </button>
            )}
          </div>
          <textarea
            className="score-comment"
            rows={1}
            value={r.comment}
            maxLength={5000}
            placeholder="Comment"
            aria-label={`Comment on ${r.skill}`}
            onChange={(e) => change(i, { comment: e.target.value })}
          />
        </fieldset>
      ))}
      <form className="add-skill" onSubmit={addSkill}>
        <label htmlFor={newId} className="sr-only">
          New skill
        </label>
        <input id={newId} type="text" value={newSkill} maxLength={100} placeholder="Add a skill…" onChange={(e) => setNewSkill(e.target.value)} />
        <button type="submit" className="btn btn-small" disabled={!newSkill.trim() || rows.length >= 20}>
          Add
        </button>
      </form>
      <label htmlFor={summaryId} className="score-summary-label">
        Summary
      </label>
      <textarea
        id={summaryId}
        className="score-summary"
        rows={3}
        value={summary}
        maxLength={20000}
        placeholder="Overall impression, hire recommendation…"
        onChange={(e) => {
          dirty.current += 1;
          setSummary(e.target.value);
        }}
      />
      <p className={`save-state ${save}`} role="status" data-testid="scorecard-state">
        {save === 'pending' || save === 'saving' ? (
          'Saving…'
        ) : save === 'saved' ? (
          '✓ Saved'
        ) : save === 'error' ? (
          <>Not saved: {saveError}</>
        ) : (
          'Changes are saved automatically'
        )}
        {unrated.length > 0 && save !== 'error' && <span className="muted"> · give {unrated.join(', ')} a score to keep the comment</span>}
      </p>
    </div>
  );
}
