// The session this page shows: its id, this tab's token and role, who we joined as, and the API
// bound to them. Provided once by the session page, so components and hooks do not pass the token
// around by hand.
import { createContext, useContext, useMemo, type ReactNode } from 'react';
import { sessionApi, type SessionApi } from '../api/sessionApi';
import type { Participant, Role } from '../api/sessions';

export interface CurrentSession {
  id: string;
  /** This tab's token for the session; null when the session cookie stands in for it. */
  token: string | null;
  role: Role;
  /** Who this tab joined as. */
  participant: Participant;
  /** Every endpoint of the session, with the token applied. */
  api: SessionApi;
}

const SessionContext = createContext<CurrentSession | null>(null);

export function SessionProvider({ id, token, participant, children }: { id: string; token: string | null; participant: Participant; children: ReactNode }) {
  const value = useMemo<CurrentSession>(
    () => ({ id, token, role: participant.role, participant, api: sessionApi(id, token) }),
    [id, token, participant],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

/** The current session; only inside the session page's provider. */
export function useSession(): CurrentSession {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession() is used outside <SessionProvider>');
  return session;
}
