import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import type { WorkspaceStatus } from '../api/workspace';
import { useSession } from '../core/SessionContext';
import { usePolling } from '../ui/usePolling';

/** Sessions whose workspace this page has already asked to start (once per page load). */
const started = new Set<string>();

export interface WorkspaceState {
  status: WorkspaceStatus | null;
  error: string | null;
  setStatus: (s: WorkspaceStatus) => void;
}

/** Starts the workspace when the page opens (`POST /workspace/start`), then polls its state every 2 s. */
export function useWorkspace(ended: boolean): WorkspaceState {
  const { id: sessionId, api } = useSession();
  const [status, setStatusState] = useState<WorkspaceStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const lastKey = useRef('');

  const setStatus = useCallback((s: WorkspaceStatus) => {
    const key = JSON.stringify(s);
    if (key === lastKey.current) return;
    lastKey.current = key;
    setStatusState(s);
  }, []);

  useEffect(() => {
    if (ended || started.has(sessionId)) return;
    started.add(sessionId);
    api.workspace.start().then(setStatus, (err: Error) => {
      started.delete(sessionId);
      setError(`The workspace could not be started: ${err.message}`);
    });
  }, [sessionId, api, ended, setStatus]);

  const poll = useCallback(async () => {
    try {
      setStatus(await api.workspace.status());
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 0 ? 'Cannot reach the server.' : `Workspace status: ${(err as Error).message}`);
    }
  }, [api, setStatus]);
  usePolling(poll, 2000);

  return { status, error, setStatus };
}
