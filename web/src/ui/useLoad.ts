// The one way components load data: what is loaded, whether it failed (as text to show), whether a
// load is under way, and how to load again. A load whose answer is no longer wanted (the component
// went away, or asks for something else now) is cancelled and its answer dropped.
import { useCallback, useEffect, useEffectEvent, useState } from 'react';

export interface Loaded<T> {
  /** The answer for the current key; kept while it is loaded again. Null before the first answer. */
  data: T | null;
  /** Why the last load for this key failed, as a sentence to show; null when it did not fail. */
  error: string | null;
  /** The error itself (an ApiError has the status), for pages that act on it; null without one. */
  cause: unknown;
  /** A load for the current key is under way. */
  loading: boolean;
  /** Loads again; the current data stays on screen meanwhile. */
  reload: () => void;
  /** Changes the data held (after a change the page made itself), without a load. */
  update: (change: (data: T) => T) => void;
}

/** The message of an error (an ApiError's is the server's), or a plain sentence. */
export function messageOf(err: unknown): string {
  return err instanceof Error && err.message ? err.message : 'Something went wrong.';
}

interface Result<T> {
  key: string;
  /** Which load of this key answered (reload() counts up). */
  round: number;
  data: T | null;
  error: string | null;
  cause: unknown;
}

export interface LoadOptions {
  /** The sentence shown for a failed load (default: the error's message). */
  errorText?: (err: unknown) => string;
  /** While another key loads, keep showing the previous key's data (a list being paged or filtered). */
  keepPrevious?: boolean;
}

/**
 * Loads with `load` when the component mounts and whenever `key` changes; `key` names what is
 * loaded (include every value `load` reads that should cause a new load). A null key loads nothing.
 * `load` may be a new function on each render: the one of the latest render is used.
 */
export function useLoad<T>(key: string | null, load: (signal: AbortSignal) => Promise<T>, { errorText = messageOf, keepPrevious = false }: LoadOptions = {}): Loaded<T> {
  const [round, setRound] = useState(0);
  const [result, setResult] = useState<Result<T> | null>(null);
  const fetch = useEffectEvent(load);
  const describe = useEffectEvent(errorText);

  useEffect(() => {
    if (key === null) return;
    const ctrl = new AbortController();
    fetch(ctrl.signal).then(
      (data) => {
        if (!ctrl.signal.aborted) setResult({ key, round, data, error: null, cause: null });
      },
      (err: unknown) => {
        if (ctrl.signal.aborted) return;
        const error = describe(err);
        setResult((prev) => ({ key, round, data: prev?.key === key ? prev.data : null, error, cause: err }));
      },
    );
    return () => ctrl.abort();
  }, [key, round]);

  const current = key !== null && result?.key === key ? result : null;
  const reload = useCallback(() => setRound((r) => r + 1), []);
  const update = useCallback(
    (change: (data: T) => T) => setResult((prev) => (prev && prev.data !== null ? { ...prev, data: change(prev.data) } : prev)),
    [],
  );
  return {
    data: current?.data ?? (keepPrevious && key !== null ? (result?.data ?? null) : null),
    error: current?.error ?? null,
    cause: current?.cause ?? null,
    loading: key !== null && (current === null || current.round !== round),
    reload,
    update,
  };
}
