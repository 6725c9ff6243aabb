import { useState } from 'react';
import type { ChaosScenario, CheckResult } from '../api/chaos';
import { useSession } from '../core/SessionContext';
import { Spinner } from '../ui/Spinner';
import { errorText } from './format';

interface Props {
  scenarios: ChaosScenario[];
  disabled: boolean;
}

/**
 * "Check the fix": runs the exercise's recovery checks against the running app and shows each
 * one's result with what was seen. The results also go on the timeline and into the report.
 */
export function Checks({ scenarios, disabled }: Props) {
  const { api } = useSession();
  const [scope, setScope] = useState('');
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<CheckResult[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await api.chaos.checks(scope || undefined);
      setResults(Array.isArray(r?.checks) ? r.checks : []);
    } catch (err) {
      setError(errorText(err));
    } finally {
      setBusy(false);
    }
  };

  const passed = results?.filter((r) => r.passed).length ?? 0;
  const titleOf = (id: string) => scenarios.find((s) => s.id === id)?.title ?? id;
  const groups = results ? [...new Set(results.map((r) => r.scenario))] : [];

  return (
    <section className="chaos-checks" aria-labelledby="chaos-checks-h">
      <h3 id="chaos-checks-h">Recovery checks</h3>
      <div className="chaos-checks-bar">
        <label className="sr-only" htmlFor="chaos-checks-scope">
          Which checks
        </label>
        <select id="chaos-checks-scope" value={scope} onChange={(e) => setScope(e.target.value)} data-testid="chaos-checks-scope">
          <option value="">All scenarios</option>
          {scenarios.map((s) => (
            <option key={s.id} value={s.id}>
              {s.title}
            </option>
          ))}
        </select>
        <button type="button" className="btn btn-small btn-primary" onClick={() => void run()} disabled={busy || disabled} data-testid="chaos-checks-run">
          {busy && <Spinner size={10} />}
          Check the fix
        </button>
      </div>
      {error && (
        <p className="chaos-error" role="alert">
          {error}
        </p>
      )}
      {results && (
        <div data-testid="chaos-checks-results" data-passed={passed} data-total={results.length} role="status">
          <p className={`chaos-checks-summary ${passed === results.length ? 'ok' : 'bad'}`}>
            {results.length === 0 ? 'No checks for this scope.' : `${passed} of ${results.length} checks passed`}
          </p>
          {groups.map((g) => (
            <div key={g} className="chaos-checks-group">
              <h4>{titleOf(g)}</h4>
              <ul>
                {results
                  .filter((r) => r.scenario === g)
                  .map((r) => (
                    <li key={r.id} className={r.passed ? 'ok' : 'bad'} data-testid={`chaos-check-${r.scenario}-${r.id}`} data-passed={r.passed}>
                      <span className="chaos-check-mark" aria-label={r.passed ? 'passed' : 'failed'}>
                        {r.passed ? '✓' : '✗'}
                      </span>
                      <span>
                        {r.title}
                        <span className="chaos-check-seen">{r.seen}</span>
                      </span>
                    </li>
                  ))}
              </ul>
            </div>
          ))}
        </div>
      )}
    </section>
  );
}
