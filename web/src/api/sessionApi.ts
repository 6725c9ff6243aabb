// Every endpoint of one session, bound to its id and this tab's token (see session/SessionContext.tsx).
import { assistantApi } from './assistant';
import { chaosApi } from './chaos';
import { sessionClient } from './client';
import { cockpitApi } from './cockpit';
import { questionsApi } from './questions';
import { sessionsApi } from './sessions';
import { workspaceApi } from './workspace';

export function sessionApi(id: string, token: string | null) {
  const client = sessionClient(id, token);
  return {
    session: sessionsApi(client),
    cockpit: cockpitApi(client),
    assistant: assistantApi(client),
    workspace: workspaceApi(client),
    chaos: chaosApi(client),
    questions: questionsApi(client),
  };
}

export type SessionApi = ReturnType<typeof sessionApi>;
