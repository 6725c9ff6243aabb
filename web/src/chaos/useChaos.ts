import { useCallback, useRef, useState } from 'react';
import type { ChaosStatus } from '../api/chaos';
import { ApiError } from '../api/client';
import { useSession } from '../core/SessionContext';
import { usePolling } from '../ui/usePolling';

export interface ChaosState {
  status: ChaosStatus | null;
  /** Why the last poll failed (the panel keeps showing the last good status). */
  error: string | null;
  /** Runs an action that answers the new status, and shows it at once. */
  run: (action: () => Promise<ChaosStatus>) => Promise<void>;
  refresh: () => Promise<void>;
}

/** The Chaos Engine's status, polled every 2 s and refreshed after each action. Interviewer only. */
export function useChaos(): ChaosState {
  const { api } = useSession();
  const [status, setStatus] = useState<ChaosStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const lastKey = useRef('');

  const accept = useCallback((s: ChaosStatus) => {
    const clean: ChaosStatus = { scenarios: Array.isArray(s?.scenarios) ? s.scenarios : [], faults: Array.isArray(s?.faults) ? s.faults : [] };
    const key = JSON.stringify(clean);
    if (key !== lastKey.current) {
      lastKey.current = key;
      setStatus(clean);
    }
  }, []);

  const refresh = useCallback(async () => {
    try {
      accept(await api.chaos.status());
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 0 ? 'Cannot reach the server. Retrying…' : `Chaos status: ${(err as Error).message}`);
    }
  }, [api, accept]);

  usePolling(refresh, 2000);

  const run = useCallback(
    async (action: () => Promise<ChaosStatus>) => {
      const s = await action();
      if (s && typeof s === 'object' && 'scenarios' in s) accept(s);
      else await refresh();
    },
    [accept, refresh],
  );

  return { status, error, run, refresh };
}
