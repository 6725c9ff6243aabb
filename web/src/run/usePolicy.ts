import { useCallback, useEffect, useState } from 'react';
import type * as Y from 'yjs';
import { DEFAULT_POLICY, type Policy } from '../api/sessions';
import { useSession } from '../core/SessionContext';

export const MIN_TIME_LIMIT = 1;
export const MAX_TIME_LIMIT = 120;

/**
 * The session's run policy, read live from the `meta` map of the `main` doc (the server writes it
 * when the interviewer changes it). Changes made here show at once and are undone if refused.
 */
export function usePolicy(
  doc: Y.Doc | null,
  initial: Policy | undefined,
  onError: (message: string) => void,
): { policy: Policy; setPolicy: (patch: Partial<Policy>) => void } {
  const { api } = useSession();
  const [live, setLive] = useState<Policy>(initial ?? DEFAULT_POLICY);
  const [pending, setPending] = useState<Partial<Policy> | null>(null);

  useEffect(() => {
    if (!doc) return;
    const meta = doc.getMap('meta');
    const read = () => {
      const enabled = meta.get('execution_enabled');
      const limit = meta.get('time_limit_seconds');
      setLive((p) => ({
        execution_enabled: typeof enabled === 'boolean' ? enabled : p.execution_enabled,
        time_limit_seconds: typeof limit === 'number' && limit > 0 ? limit : p.time_limit_seconds,
      }));
    };
    read();
    meta.observe(read);
    return () => meta.unobserve(read);
  }, [doc]);

  // A pending change is done once the doc agrees.
  useEffect(() => {
    if (!pending) return;
    const agreed = Object.entries(pending).every(([k, v]) => live[k as keyof Policy] === v);
    if (agreed) setPending(null);
  }, [live, pending]);

  const setPolicy = useCallback(
    (patch: Partial<Policy>) => {
      setPending((p) => ({ ...p, ...patch }));
      api.session.update({ policy: patch }).then(
        (s) => {
          // Normally the doc says so first; if the doc has no policy at all, trust the answer.
          window.setTimeout(() => {
            const meta = doc?.getMap('meta');
            if (s.policy && (!meta || !meta.has('execution_enabled') || !meta.has('time_limit_seconds'))) setLive(s.policy);
            setPending(null);
          }, 1500);
        },
        (err: Error) => {
          setPending(null);
          onError(`Could not change the run settings: ${err.message}`);
        },
      );
    },
    [doc, api, onError],
  );

  return { policy: { ...live, ...pending }, setPolicy };
}
