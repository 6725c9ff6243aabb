import { useCallback, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import type { FileEntry } from '../api/workspace';
import { useSession } from '../core/SessionContext';
import { usePolling } from '../ui/usePolling';

export interface FilesState {
  /** Null until the first answer. */
  entries: FileEntry[] | null;
  error: string | null;
  /** Fetches the list now (after an operation of ours). */
  refresh: () => Promise<void>;
}

/** The workspace's files (`GET /files`), polled every 2 s; re-renders only when the list changes. */
export function useFiles(): FilesState {
  const { api } = useSession();
  const [entries, setEntries] = useState<FileEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const lastKey = useRef('');

  const refresh = useCallback(async () => {
    try {
      const { entries: list } = await api.workspace.files();
      const clean = Array.isArray(list) ? list : [];
      const key = JSON.stringify(clean);
      if (key !== lastKey.current) {
        lastKey.current = key;
        setEntries(clean);
      }
      setError(null);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 0
          ? 'Cannot reach the server. Retrying…'
          : `The files could not be listed: ${(err as Error).message}`,
      );
    }
  }, [api]);

  usePolling(refresh, 2000);
  return { entries, error, refresh };
}
