import { useEffect, useState } from 'react';
import type * as Y from 'yjs';

/**
 * When the session ended (ms since the epoch), or null while it is open. Read live from `ended_at`
 * in the `meta` map of the `main` doc, which the server writes when the interviewer ends the
 * session; `initial` (the session's `ended_at` from the API) covers the moments before the first sync.
 */
export function useSessionEnded(doc: Y.Doc | null, initial?: string | null): number | null {
  const [fromApi] = useState<number | null>(() => {
    if (!initial) return null;
    const t = Date.parse(initial);
    return Number.isNaN(t) ? null : t;
  });
  const [live, setLive] = useState<number | null>(null);

  useEffect(() => {
    if (!doc) return;
    const meta = doc.getMap('meta');
    const read = () => {
      const v = meta.get('ended_at');
      setLive(typeof v === 'number' && v > 0 ? v : null);
    };
    read();
    meta.observe(read);
    return () => meta.unobserve(read);
  }, [doc]);

  return live ?? fromApi;
}
