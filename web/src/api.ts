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

export interface Session {
  id: string;
  title: string;
  language: string;
  created_at: string;
  participants: Participant[];
  role: Role;
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
};

/** WebSocket base URL of a session's live documents; the doc name is appended by y-websocket. */
export function docsUrl(id: string): string {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${window.location.host}${sessionPath(id)}/docs`;
}
