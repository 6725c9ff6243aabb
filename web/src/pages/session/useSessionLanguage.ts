import { useCallback, useEffect, useState } from 'react';
import type * as Y from 'yjs';
import { useSession } from '../../core/SessionContext';

/**
 * The session language, read live from the `meta` map of the `main` doc (the server writes it on
 * PATCH, so a change reaches everyone). A change made here shows at once and is undone if the
 * server refuses it.
 */
export function useSessionLanguage(
  doc: Y.Doc | null,
  initial: string,
  onError: (message: string) => void,
): { language: string; setLanguage: (id: string) => void; pending: boolean } {
  const { api } = useSession();
  const [live, setLive] = useState<string>(initial);
  const [pending, setPending] = useState<string | null>(null);

  useEffect(() => {
    if (!doc) return;
    const meta = doc.getMap('meta');
    const read = () => {
      const v = meta.get('language');
      if (typeof v === 'string' && v) setLive(v);
    };
    read();
    meta.observe(read);
    return () => meta.unobserve(read);
  }, [doc]);

  // Done once the doc says so (normally the update arrives before the HTTP answer).
  useEffect(() => {
    if (pending !== null && live === pending) setPending(null);
  }, [live, pending]);

  const setLanguage = useCallback(
    (id: string) => {
      setPending(id);
      api.session.update({ language: id }).then(
        (s) => {
          // The doc normally says so first; if it has no language at all, trust the answer.
          window.setTimeout(() => {
            setPending((p) => (p === id ? null : p));
            if (!doc || typeof doc.getMap('meta').get('language') !== 'string') setLive(s.language);
          }, 1500);
        },
        (err: Error) => {
          setPending(null);
          onError(`Could not change the language: ${err.message}`);
        },
      );
    },
    [doc, api, onError],
  );

  return { language: pending ?? live, setLanguage, pending: pending !== null };
}
