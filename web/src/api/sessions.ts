// Sessions (docs/API.md, "Sessions"): create, load, join, change, and what the pad reports.
import { request, wsUrl, type SessionClient } from './client';

export type Role = 'interviewer' | 'candidate';

export interface Language {
  id: string;
  name: string;
  /** Where its code runs; null when it cannot run. */
  runs_on?: 'browser' | 'server' | null;
  /** Its tools are still being installed on the server (a first start installs them after serving). */
  installing?: boolean;
}

/** Events of a server-side run (`/execute/ws` messages, or `POST .../execute` Server-Sent Events; docs/API.md). */
export type ExecuteEvent =
  | { type: 'queued'; ahead: number }
  | { type: 'start'; run_id: string; language: string }
  | { type: 'stdout'; text: string }
  | { type: 'stderr'; text: string }
  | {
      type: 'exit';
      run_id: string;
      status: 'ok' | 'error' | 'timeout' | 'stopped';
      code: number | null;
      step: 'compile' | 'run';
      time_ms: number;
      compile_ms: number | null;
      memory_bytes: number | null;
      cpu_ms?: number | null;
      output_bytes: number;
      message: string | null;
    }
  /** A refusal over the WebSocket (the status a JSON answer would have had). */
  | { type: 'error'; status: number; error: string };

export interface Participant {
  id: string;
  name: string;
  color: string;
  role: Role;
  joined_at: string;
}

/** Who may run code and for how long (`policy` of a session). */
export interface Policy {
  execution_enabled: boolean;
  time_limit_seconds: number;
}

export const DEFAULT_POLICY: Policy = { execution_enabled: true, time_limit_seconds: 10 };

export type SessionKind = 'pad' | 'workspace';

/** What the session says about its exercise (workspaces); every field optional. */
export interface ExerciseInfo {
  /** Files to open first for someone arriving, in order of preference. */
  open_first?: string[];
}

export interface Session {
  id: string;
  title: string;
  language: string;
  created_at: string;
  participants: Participant[];
  role: Role;
  policy?: Policy;
  /** `pad` (one shared file, code runs in the browser) or `workspace` (a project on the server). */
  kind?: SessionKind;
  /** The exercise a workspace was created from; null for a pad. */
  exercise?: string | null;
  exercise_info?: ExerciseInfo | null;
}

/** A session as `GET /api/sessions/{id}` returns it, with its end time once ended. */
export type SessionWithEnd = Session & { ended_at?: string | null };

/** A finished code run, for the session's timeline. */
export interface RunRecord {
  run_id: string;
  language: string;
  status: 'ok' | 'error' | 'timeout' | 'stopped';
  duration_ms: number;
  output_bytes?: number;
}

export interface CreatedSession {
  id: string;
  interviewer_token: string;
  candidate_token: string;
  interviewer_url: string;
  candidate_url: string;
}

export interface SessionPatch {
  title?: string;
  language?: string;
  policy?: Partial<Policy>;
}

export type Activity = { kind: 'large_paste'; chars: number } | { kind: 'focus_lost'; duration_ms: number };

export const listLanguages = () => request<Language[]>('GET', '/api/languages');

export const createSession = (body: { title?: string; language?: string; kind?: SessionKind; exercise?: string; question?: string }) =>
  request<CreatedSession>('POST', '/api/sessions', { json: body });

export function sessionsApi(c: SessionClient) {
  return {
    get: () => c.request<SessionWithEnd>('GET', ''),

    role: () => c.request<{ role: Role }>('GET', '/role'),

    /** A new candidate link (interviewer): the old one, and what is open with it, end at once. */
    newCandidateLink: () => c.request<{ candidate_token: string; candidate_url: string }>('POST', '/candidate-link', {}),

    join: (name: string) => c.request<Participant>('POST', '/join', { name }),

    update: (patch: SessionPatch) => c.request<Session>('PATCH', '', patch),

    recordRun: (run: RunRecord) => c.request<unknown>('POST', '/runs', run),

    /**
     * Runs code on the server's sandbox over a WebSocket (so input can be typed while it runs):
     * send the request first, then `{"stdin": text}` / `{"eof": true}`; events arrive as
     * `{"type", ...}` (docs/API.md). Closing it stops the run.
     */
    executeSocket: () => new WebSocket(wsUrl(`${c.path('/execute/ws')}${c.token ? `?token=${encodeURIComponent(c.token)}` : ''}`)),

    recordActivity: (participantId: string | null, body: Activity) =>
      c.request<unknown>('POST', `/activity${participantId ? `?participant=${encodeURIComponent(participantId)}` : ''}`, body),

    /** WebSocket base URL of the session's live documents; y-websocket appends the doc name. */
    docsUrl: () => wsUrl(c.path('/docs')),
  };
}

export type SessionsApi = ReturnType<typeof sessionsApi>;
