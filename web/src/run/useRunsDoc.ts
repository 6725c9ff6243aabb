import { useEffect, useState } from 'react';
import { useSession } from '../core/SessionContext';
import { connectDoc } from '../core/useCollab';
import type { RunMap, RunsDoc } from './runsDoc';

/** A live connection to the session's `runs` document. */
export function useRunsDoc(): { runsDoc: RunsDoc | null; synced: boolean } {
  const session = useSession();
  const [runsDoc, setRunsDoc] = useState<RunsDoc | null>(null);
  const [synced, setSynced] = useState(false);
  useEffect(() => {
    const { doc, provider } = connectDoc(session, 'runs', { participant: session.participant.id });
    const onSync = (s: boolean) => setSynced(s);
    provider.on('sync', onSync);
    setRunsDoc({ doc, runs: doc.getArray<RunMap>('runs'), provider });
    return () => {
      provider.off('sync', onSync);
      provider.destroy();
      doc.destroy();
      setRunsDoc(null);
      setSynced(false);
    };
  }, [session]);
  return { runsDoc, synced };
}
