// Typed client for the interview-ide HTTP API (docs/API.md). Every HTTP call of the app goes
// through here, so auth, errors and timeouts are handled in one place.

export type Role = 'interviewer' | 'candidate';

export interface Language {
  id: string;
  name: string;
}

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

export interface Session {
  id: string;
  title: string;
  language: string;
  created_at: string;
  participants: Participant[];
  role: Role;
  policy?: Policy;
}

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

/** An HTTP error with the server's `{"error": "..."}` message; status 0 means no answer at all. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

const TIMEOUT_MS = 15_000;

interface RequestOptions {
  token?: string | null;
  body?: unknown;
}

async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';

  const ctrl = new AbortController();
  const timer = window.setTimeout(() => ctrl.abort(), TIMEOUT_MS);
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      // Same-origin credentials let the HttpOnly session cookie stand in for a missing token.
      credentials: 'same-origin',
      signal: ctrl.signal,
    });
  } catch {
    throw new ApiError(0, 'The server could not be reached.');
  } finally {
    window.clearTimeout(timer);
  }

  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const message =
      data && typeof data === 'object' && 'error' in data && typeof data.error === 'string'
        ? data.error
        : `Request failed (${res.status}).`;
    throw new ApiError(res.status, message);
  }
  return data as T;
}

const sessionPath = (id: string) => `/api/sessions/${encodeURIComponent(id)}`;

export const api = {
  languages: () => request<Language[]>('GET', '/api/languages'),

  createSession: (body: { title?: string; language?: string }) =>
    request<CreatedSession>('POST', '/api/sessions', { body }),

  getSession: (id: string, token: string | null) =>
    request<Session>('GET', sessionPath(id), { token }),

  getRole: (id: string, token: string | null) =>
    request<{ role: Role }>('GET', `${sessionPath(id)}/role`, { token }),

  join: (id: string, token: string | null, name: string) =>
    request<Participant>('POST', `${sessionPath(id)}/join`, { token, body: { name } }),

  updateSession: (id: string, token: string | null, patch: SessionPatch) =>
    request<Session>('PATCH', sessionPath(id), { token, body: patch }),

  recordRun: (id: string, token: string | null, run: RunRecord) =>
    request<unknown>('POST', `${sessionPath(id)}/runs`, { token, body: run }),

  recordActivity: (
    id: string,
    token: string | null,
    participantId: string | null,
    body: { kind: 'large_paste'; chars: number } | { kind: 'focus_lost'; duration_ms: number },
  ) =>
    request<unknown>(
      'POST',
      `${sessionPath(id)}/activity${participantId ? `?participant=${encodeURIComponent(participantId)}` : ''}`,
      { token, body },
    ),
};

/** WebSocket base URL of a session's live documents; the doc name is appended by y-websocket. */
export function docsUrl(id: string): string {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${window.location.host}${sessionPath(id)}/docs`;
}

// Cockpit

/** A timeline entry (`GET /api/sessions/{id}/events`), oldest first. */
export interface TimelineEvent {
  at: string;
  at_ms: number;
  kind: string;
  actor: string | null;
  data: Record<string, unknown> | null;
}

/** A document as it was at a moment (`GET /api/sessions/{id}/replay/{doc}`). */
export interface ReplayState {
  doc: string;
  at_ms: number;
  text: string;
  update: string;
  changes: number[];
  created_at_ms: number;
  ended_at_ms: number | null;
}

export interface Rating {
  skill: string;
  score: number;
  comment: string;
}

export interface Scorecard {
  ratings: Rating[];
  summary: string;
}

/** A session as `GET /api/sessions/{id}` returns it, with its end time once ended. */
export type SessionWithEnd = Session & { ended_at?: string | null };

/** A row of the operator's list (`GET /api/admin/sessions`). */
export interface AdminSession {
  id: string;
  title: string;
  language: string;
  kind?: string;
  created_at: string;
  ended_at: string | null;
  status: 'open' | 'ended';
  participants: number;
  report_url: string;
}

/** A file from the API (the HTML report), fetched with the Bearer token rather than a link. */
async function download(path: string, token: string | null): Promise<Blob> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  const ctrl = new AbortController();
  const timer = window.setTimeout(() => ctrl.abort(), 60_000);
  try {
    let res: Response;
    try {
      res = await fetch(path, { headers, credentials: 'same-origin', signal: ctrl.signal });
    } catch {
      throw new ApiError(0, 'The server could not be reached.');
    }
    if (!res.ok) {
      let message = `Request failed (${res.status}).`;
      try {
        const data = (await res.json()) as { error?: unknown };
        if (typeof data.error === 'string') message = data.error;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, message);
    }
    return await res.blob();
  } finally {
    window.clearTimeout(timer);
  }
}

export const cockpitApi = {
  session: (id: string, token: string | null) => request<SessionWithEnd>('GET', sessionPath(id), { token }),

  events: (id: string, token: string | null) => request<TimelineEvent[]>('GET', `${sessionPath(id)}/events`, { token }),

  end: (id: string, token: string | null) => request<SessionWithEnd>('POST', `${sessionPath(id)}/end`, { token }),

  replay: (id: string, token: string | null, doc: string, at?: number) =>
    request<ReplayState>(
      'GET',
      `${sessionPath(id)}/replay/${encodeURIComponent(doc)}${at === undefined ? '' : `?at=${Math.round(at)}`}`,
      { token },
    ),

  scorecard: (id: string, token: string | null) => request<Scorecard>('GET', `${sessionPath(id)}/scorecard`, { token }),

  saveScorecard: (id: string, token: string | null, card: Scorecard) =>
    request<Scorecard>('PUT', `${sessionPath(id)}/scorecard`, { token, body: card }),

  report: (id: string, token: string | null) => download(`${sessionPath(id)}/report`, token),

  adminSessions: (adminToken: string) => request<AdminSession[]>('GET', '/api/admin/sessions', { token: adminToken }),

  adminDelete: (adminToken: string, id: string) =>
    request<unknown>('DELETE', `/api/admin/sessions/${encodeURIComponent(id)}`, { token: adminToken }),

  adminReport: (adminToken: string, id: string) =>
    download(`/api/admin/sessions/${encodeURIComponent(id)}/report`, adminToken),
};
