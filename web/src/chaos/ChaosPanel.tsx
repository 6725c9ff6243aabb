import { useEffect, useState } from 'react';
import type { ChaosScenario, ChaosStatus } from '../api/chaos';
import { timeMs } from '../api/client';
import type { ProcessState } from '../api/workspace';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { useSession } from '../core/SessionContext';
import { Spinner } from '../ui/Spinner';
import { Checks } from './Checks';
import { CustomFault } from './CustomFault';
import { describeFault, elapsed, errorText, statusLine } from './format';
import { useChaos } from './useChaos';
import './chaos.css';

interface Props {
  /** The app's state (scenarios need it running). */
  appState: ProcessState | null;
}

type Pending = { kind: 'activate'; scenario: ChaosScenario } | { kind: 'reset' };
/** Where an error is shown: a scenario card, a fault, the reset button or the custom form. */
type ActionError = { where: string; message: string };

/**
 * The interviewer's Chaos Engine: realistic failure scenarios for the workspace's app (activated
 * after a confirmation), the network faults in force, a reset to the clean state and a builder for
 * custom faults. Never rendered, nor fetched, for the candidate.
 */
export function ChaosPanel({ appState }: Props) {
  const { api } = useSession();
  const chaos = useChaos();
  const [pending, setPending] = useState<Pending | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [actionError, setActionError] = useState<ActionError | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const status = chaos.status;
  const anyActive = status?.scenarios.some((s) => s.active) ?? false;

  useEffect(() => {
    if (!anyActive) return;
    setNow(Date.now());
    const t = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(t);
  }, [anyActive]);

  const act = async (where: string, action: () => Promise<ChaosStatus>) => {
    setBusy(where);
    setActionError(null);
    try {
      await chaos.run(action);
      return true;
    } catch (err) {
      setActionError({ where, message: errorText(err) });
      // The status may have changed anyway (another tab, a partial effect).
      void chaos.refresh();
      return false;
    } finally {
      setBusy(null);
    }
  };

  const confirm = async () => {
    if (!pending) return;
    const p = pending;
    setPending(null);
    if (p.kind === 'activate') await act(`scenario:${p.scenario.id}`, () => api.chaos.activate(p.scenario.id));
    else await act('reset', () => api.chaos.reset());
  };

  const errorAt = (where: string) =>
    actionError?.where === where ? (
      <p className="chaos-error" role="alert" data-testid="chaos-error">
        {actionError.message}
      </p>
    ) : null;

  return (
    <div className="chaos-panel" data-testid="chaos-panel">
      <div className="chaos-summary">
        <span className={`chaos-status${status && (anyActive || status.faults.length) ? ' hot' : ''}`} role="status" data-testid="chaos-status">
          {status ? statusLine(status) : 'Loading…'}
        </span>
        <button
          type="button"
          className="btn btn-small"
          onClick={() => {
            setActionError(null);
            setPending({ kind: 'reset' });
          }}
          disabled={busy !== null || status === null}
          data-testid="chaos-reset"
          title="Remove every fault and restore the app's data to the exercise's clean state"
        >
          {busy === 'reset' && <Spinner size={10} />}
          Reset to clean
        </button>
      </div>
      {errorAt('reset')}
      {appState !== null && appState !== 'running' && (
        <p className="chaos-note">The app is {appState}: scenarios can be activated once it runs.</p>
      )}
      {chaos.error && <p className="chaos-error">{chaos.error}</p>}

      {status === null && !chaos.error && (
        <p className="chaos-note" role="status">
          <Spinner size={12} /> Loading scenarios…
        </p>
      )}

      {status && (
        <ul className="chaos-scenarios" aria-label="Scenarios">
          {status.scenarios.length === 0 && <li className="chaos-note">This exercise has no scenarios.</li>}
          {status.scenarios.map((s) => {
            const since = timeMs(s.since);
            const where = `scenario:${s.id}`;
            return (
              <li key={s.id} className={`chaos-card${s.active ? ' active' : ''}`} data-testid={`chaos-scenario-${s.id}`} data-active={s.active}>
                <div className="chaos-card-head">
                  <h3 id={`chaos-${s.id}-title`}>{s.title}</h3>
                  {s.active && <span className="chaos-live">Active</span>}
                </div>
                <p className="chaos-desc">{s.description}</p>
                {s.watch_for && (
                  <p className="chaos-watch">
                    <strong>Watch for:</strong> {s.watch_for}
                  </p>
                )}
                <div className="chaos-card-actions">
                  {s.active ? (
                    <>
                      <span className="chaos-since" data-testid={`chaos-since-${s.id}`}>
                        {since !== null ? `active since ${elapsed(now - since)} ago` : 'active'}
                      </span>
                      <button
                        type="button"
                        className="btn btn-small"
                        onClick={() => void act(where, () => api.chaos.deactivate(s.id))}
                        disabled={busy !== null}
                        data-testid={`chaos-deactivate-${s.id}`}
                        aria-describedby={`chaos-${s.id}-title`}
                      >
                        {busy === where && <Spinner size={10} />}
                        Deactivate
                      </button>
                    </>
                  ) : (
                    <button
                      type="button"
                      className="btn btn-small btn-danger"
                      onClick={() => {
                        setActionError(null);
                        setPending({ kind: 'activate', scenario: s });
                      }}
                      disabled={busy !== null}
                      data-testid={`chaos-activate-${s.id}`}
                      aria-describedby={`chaos-${s.id}-title`}
                    >
                      {busy === where && <Spinner size={10} />}
                      Activate
                    </button>
                  )}
                </div>
                {errorAt(where)}
              </li>
            );
          })}
        </ul>
      )}

      {status && <Checks scenarios={status.scenarios} disabled={appState !== null && appState !== 'running'} />}

      {status && (
        <section className="chaos-faults" aria-labelledby="chaos-faults-h">
          <h3 id="chaos-faults-h">Active faults</h3>
          {status.faults.length === 0 ? (
            <p className="chaos-note">None: requests reach the app untouched.</p>
          ) : (
            <ul data-testid="chaos-faults">
              {status.faults.map((f) => {
                const since = timeMs(f.since);
                return (
                  <li key={f.id} className="chaos-fault" data-testid={`chaos-fault-${f.id}`}>
                    <span className={`chaos-kind kind-${f.kind}`}>{f.kind}</span>
                    <span className="chaos-fault-text">
                      {describeFault(f)}
                      {f.scenario && <span className="muted"> · {status.scenarios.find((s) => s.id === f.scenario)?.title ?? f.scenario}</span>}
                      {since !== null && <span className="muted"> · {elapsed(now - since)}</span>}
                    </span>
                    <button
                      type="button"
                      className="icon-btn"
                      onClick={() => void act(`fault:${f.id}`, () => api.chaos.removeFault(f.id))}
                      disabled={busy !== null}
                      aria-label={`Remove fault: ${describeFault(f)}`}
                      title="Remove this fault"
                      data-testid={`chaos-fault-remove-${f.id}`}
                    >
                      <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
                        <path d="M4 4l8 8M12 4l-8 8" fill="none" stroke="currentColor" strokeWidth="1.5" />
                      </svg>
                    </button>
                    {errorAt(`fault:${f.id}`)}
                  </li>
                );
              })}
            </ul>
          )}
        </section>
      )}

      <CustomFault
        disabled={busy !== null}
        busy={busy === 'custom'}
        error={actionError?.where === 'custom' ? actionError.message : null}
        onAdd={(fault) => act('custom', () => api.chaos.addFault(fault))}
      />

      <ConfirmDialog
        open={pending !== null}
        title={pending?.kind === 'activate' ? `Activate “${pending.scenario.title}”?` : 'Reset to clean?'}
        confirmLabel={pending?.kind === 'activate' ? 'Activate' : 'Reset'}
        onConfirm={() => void confirm()}
        onCancel={() => setPending(null)}
        testId="chaos-dialog"
        confirmTestId="chaos-confirm"
      >
        {pending?.kind === 'activate' ? (
          <>
            <p>{pending.scenario.description}</p>
            <p className="muted">The candidate is not told. You can deactivate it at any time; data it changes stays until a reset.</p>
          </>
        ) : (
          <p>Every fault is removed and the app's data is restored to the exercise's clean state.</p>
        )}
      </ConfirmDialog>
    </div>
  );
}
