import { useEffect, useState } from 'react';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { roomOf, type DocName } from '../api/docNames';
import { useSession, type CurrentSession } from './SessionContext';

export type ConnectionState = 'connecting' | 'connected' | 'offline';

/** What every client puts in the awareness of the `main` doc (docs/API.md). */
export interface AwarenessUser {
  name: string;
  color: string;
  participantId: string;
  role: string;
}

export interface Collab {
  doc: Y.Doc;
  provider: WebsocketProvider;
}

export interface CollabStatus {
  state: ConnectionState;
  /** True once the doc has synced with the server at least once since the page opened. */
  everSynced: boolean;
  /** Why the server last closed the connection, when it said so. */
  lastCloseReason: string | null;
}

const CLOSE_REASONS: Record<number, string> = {
  1002: 'The server rejected a malformed message.',
  1008: 'Too many changes per second; the connection was reset.',
  1009: 'A change was too large for the server.',
  1011: 'The server could not apply a change.',
  1001: 'The server is restarting.',
  4403: 'This link no longer works: it was replaced. Ask the interviewer for the new one.',
};

/**
 * Connects one of the session's live documents (`room` as the server names it) with this tab's
 * token. `params` adds query parameters (e.g. `participant`).
 */
export function connectDoc(session: CurrentSession, name: DocName, params: Record<string, string> = {}): Collab {
  const doc = new Y.Doc();
  const query = { ...params };
  if (session.token) query.token = session.token;
  const provider = new WebsocketProvider(session.api.session.docsUrl(), roomOf(name), doc, {
    params: query,
    maxBackoffTime: 5000,
    // Tabs of one browser may hold different roles: everything goes through the server.
    disableBc: true,
  });
  return { doc, provider };
}

/** Connects a live document that others edit with us, and announces who we are on it. */
export function openLiveDoc(session: CurrentSession, name: DocName): Collab {
  const { participant } = session;
  const live = connectDoc(session, name, { participant: participant.id });
  live.provider.awareness.setLocalStateField('user', {
    name: participant.name,
    color: participant.color,
    participantId: participant.id,
    role: participant.role,
  } satisfies AwarenessUser);
  return live;
}

/** One live connection to the session's `main` doc, with this participant in its awareness. */
export function useCollab(): { collab: Collab | null; status: CollabStatus } {
  const session = useSession();
  const [collab, setCollab] = useState<Collab | null>(null);
  const [status, setStatus] = useState<CollabStatus>({
    state: 'connecting',
    everSynced: false,
    lastCloseReason: null,
  });

  useEffect(() => {
    const { doc, provider } = openLiveDoc(session, 'main');

    let connected = false;
    let synced = false;
    let failedSinceConnect = false;
    const update = (patch: Partial<CollabStatus> = {}) => {
      const state: ConnectionState =
        connected && synced ? 'connected' : failedSinceConnect || !navigator.onLine ? 'offline' : 'connecting';
      setStatus((s) => ({ ...s, ...patch, state, everSynced: s.everSynced || synced }));
    };

    const onStatus = ({ status: st }: { status: 'connected' | 'connecting' | 'disconnected' }) => {
      connected = st === 'connected';
      if (st === 'disconnected') {
        synced = false;
        failedSinceConnect = true;
      }
      update();
    };
    const onSync = (isSynced: boolean) => {
      synced = isSynced;
      if (isSynced) failedSinceConnect = false;
      update(isSynced ? { lastCloseReason: null } : {});
    };
    const onClose = (event: CloseEvent | null) => {
      if (!connected) failedSinceConnect = true;
      const reason = event ? CLOSE_REASONS[event.code] : undefined;
      update(reason ? { lastCloseReason: reason } : {});
    };
    const onNetwork = () => update();

    provider.on('status', onStatus);
    provider.on('sync', onSync);
    provider.on('connection-close', onClose);
    window.addEventListener('online', onNetwork);
    window.addEventListener('offline', onNetwork);
    setCollab({ doc, provider });

    return () => {
      window.removeEventListener('online', onNetwork);
      window.removeEventListener('offline', onNetwork);
      provider.off('status', onStatus);
      provider.off('sync', onSync);
      provider.off('connection-close', onClose);
      provider.destroy();
      doc.destroy();
      setCollab(null);
    };
  }, [session]);

  return { collab, status };
}
