import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import { sessionApi } from '../api/sessionApi';
import type { WorkspaceStatus } from '../api/workspace';
import { usePolling } from './usePolling';

/** Sessions whose workspace this page has already asked to start (once per page load). */
const started = new Set<string>();

export interface WorkspaceState {
  status: WorkspaceStatus | null;
  error: string | null;
  setStatus: (s: WorkspaceStatus) => void;
}

/** Starts the workspace when the page opens (`POST /workspace/start`), then polls its state every 2 s. */
export function useWorkspace(sessionId: string, token: string | null, ended: boolean): WorkspaceState {
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
    sessionApi(sessionId, token).workspace.start().then(setStatus, (err: Error) => {
      started.delete(sessionId);
      setError(`The workspace could not be started: ${err.message}`);
    });
  }, [sessionId, token, ended, setStatus]);

  const poll = useCallback(async () => {
    try {
      setStatus(await sessionApi(sessionId, token).workspace.status());
      setError(null);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 0 ? 'Cannot reach the server.' : `Workspace status: ${(err as Error).message}`);
    }
  }, [sessionId, token, setStatus]);
  usePolling(poll, 2000);

  return { status, error, setStatus };
}
