import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError } from '../../api/client';
import { sessionApi } from '../../api/sessionApi';
import type { Participant, Session } from '../../api/sessions';
import { ErrorScreen } from '../../ui/ErrorScreen';
import { PageLoading } from '../../ui/Spinner';
import { JoinForm } from './JoinForm';
import { SessionProvider } from '../../core/SessionContext';
import { PadSession } from './PadSession';
import { forgetParticipant, forgetToken, storedParticipant, storeParticipant, takeToken } from '../../core/token';

// Workspaces bring the terminal and the project views; pads never load them.
const WorkspaceSession = lazy(() => import('./WorkspaceSession'));

type State =
  | { kind: 'loading' }
  | { kind: 'invalid' }
  | { kind: 'missing' }
  | { kind: 'error'; message: string }
  | { kind: 'join'; session: Session }
  | { kind: 'ready'; session: Session; participant: Participant };

/** /session/:id: takes the token from the link, loads the session, asks for a name once, opens it. */
export default function SessionPage({ sessionId }: { sessionId: string }) {
  const [token] = useState(() => takeToken(sessionId));
  // Loading and joining happen before the session's provider exists.
  const api = useMemo(() => sessionApi(sessionId, token), [sessionId, token]);
  const [state, setState] = useState<State>({ kind: 'loading' });
  const [attempt, setAttempt] = useState(0);

  const invalid = useCallback(() => {
    forgetToken(sessionId);
    forgetParticipant(sessionId);
    setState({ kind: 'invalid' });
  }, [sessionId]);

  useEffect(() => {
    let alive = true;
    setState({ kind: 'loading' });
    api.session.get().then(
      (session) => {
        if (!alive) return;
        // A reload of this tab keeps its participant, if the session still knows it in this role.
        const p = storedParticipant(sessionId);
        const known = p && p.role === session.role && session.participants.some((q) => q.id === p.id);
        setState(known ? { kind: 'ready', session, participant: p } : { kind: 'join', session });
      },
      (err: unknown) => {
        if (!alive) return;
        if (err instanceof ApiError && err.status === 401) invalid();
        else if (err instanceof ApiError && err.status === 404) setState({ kind: 'missing' });
        else if (err instanceof ApiError && err.status === 0)
          setState({ kind: 'error', message: 'The server could not be reached. Check your connection.' });
        else setState({ kind: 'error', message: (err as Error).message || 'The session could not be loaded.' });
      },
    );
    return () => {
      alive = false;
    };
  }, [sessionId, api, attempt, invalid]);

  switch (state.kind) {
    case 'loading':
      return <PageLoading label="Loading session…" />;
    case 'invalid':
      return (
        <ErrorScreen
          title="This link is not valid"
          message="The link is incomplete, mistyped, or belongs to another session. Ask the interviewer for a new link."
          action={{ label: 'Create a session', href: '/' }}
        />
      );
    case 'missing':
      return (
        <ErrorScreen
          title="No such session"
          message="There is no session at this address. Check that the link was copied in full."
          action={{ label: 'Create a session', href: '/' }}
        />
      );
    case 'error':
      return (
        <ErrorScreen
          title="The session could not be loaded"
          message={state.message}
          onRetry={() => setAttempt((a) => a + 1)}
          action={{ label: 'Home', href: '/' }}
        />
      );
    case 'join':
      return (
        <JoinForm
          session={state.session}
          join={(name) => api.session.join(name)}
          onInvalid={invalid}
          onJoined={(participant) => {
            storeParticipant(sessionId, participant);
            // Fold ourselves into the list so we show up before the next fetch.
            const session = {
              ...state.session,
              participants: [...state.session.participants.filter((q) => q.id !== participant.id), participant],
            };
            setState({ kind: 'ready', session, participant });
          }}
        />
      );
    case 'ready':
      return (
        <SessionProvider id={sessionId} token={token} participant={state.participant}>
          {state.session.kind === 'workspace' ? (
            <Suspense fallback={<PageLoading label="Loading workspace…" />}>
              <WorkspaceSession session={state.session} />
            </Suspense>
          ) : (
            <PadSession session={state.session} />
          )}
        </SessionProvider>
      );
  }
}
