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

// --- AI assistant (docs/API.md, "Assistant") ---

export type AssistantMode = 'off' | 'hints' | 'full';

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  context_kind: 'file' | 'selection' | null;
  context: string | null;
  /** `streaming`, `done`, `cut_off` (stopped or broken mid-way; text is partial) or `error`. */
  status: string;
  cut_off: boolean;
  error: string | null;
  input_tokens: number;
  output_tokens: number;
  created_at: number;
  first_token_ms: number | null;
  duration_ms: number | null;
}

export interface AssistantStatus {
  configured: boolean;
  provider: string | null;
  model: string | null;
  help: string | null;
  mode: AssistantMode;
  busy: boolean;
  limits: {
    max_message_chars: number;
    max_context_chars: number;
    messages_per_minute: number;
    token_budget: number;
    max_reply_tokens: number;
  };
  /** Interviewer only. */
  tokens_used?: number;
}

export interface ChatContext {
  kind: 'file' | 'selection';
  code: string;
  output?: string;
}

/** Events of `POST /api/sessions/{id}/chat` (Server-Sent Events). */
export type ChatEvent =
  | { type: 'start'; message_id: string; user_message_id: string; model: string }
  | { type: 'delta'; text: string }
  | { type: 'done'; usage: { input_tokens: number; output_tokens: number }; stop_reason: string | null }
  | { type: 'error'; error: string; cut_off: boolean };

export const assistantApi = {
  status: (id: string, token: string | null) => request<AssistantStatus>('GET', `${sessionPath(id)}/assistant`, { token }),

  setMode: (id: string, token: string | null, mode: AssistantMode) =>
    request<AssistantStatus>('PATCH', `${sessionPath(id)}/assistant`, { token, body: { mode } }),

  history: (id: string, token: string | null) =>
    request<{ messages: ChatMessage[] }>('GET', `${sessionPath(id)}/chat`, { token }),

  /**
   * Asks a question and calls `onEvent` for each event of the streamed reply as it arrives.
   * Refusals before the stream starts throw ApiError with the server's message. Aborting `signal`
   * stops the reply (the server keeps the partial answer, marked as cut off).
   */
  async ask(
    id: string,
    token: string | null,
    body: { message: string; context?: ChatContext },
    onEvent: (e: ChatEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'text/event-stream' };
    if (token) headers.Authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await fetch(`${sessionPath(id)}/chat`, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin', signal });
    } catch (e) {
      if (signal.aborted) return;
      throw new ApiError(0, 'The server could not be reached.');
    }
    if (!res.ok || !res.body) {
      let message = `Request failed (${res.status}).`;
      try {
        const data = await res.json();
        if (data && typeof data.error === 'string') message = data.error;
      } catch {
        /* not JSON */
      }
      throw new ApiError(res.status, message);
    }
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    const parser = new SseParser((event, data) => {
      try {
        onEvent({ type: event, ...JSON.parse(data) } as ChatEvent);
      } catch {
        /* an event we cannot read is skipped */
      }
    });
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch (e) {
      if (signal.aborted) return;
      throw new ApiError(0, 'The connection to the server broke off.');
    }
  },
};

/** Minimal text/event-stream parser (event + data fields; comments ignored; any line ending). */
class SseParser {
  private buf = '';
  private event = 'message';
  private data: string[] = [];
  constructor(private readonly dispatch: (event: string, data: string) => void) {}

  feed(chunk: string) {
    this.buf += chunk;
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.buf);
      if (!m) break;
      // A lone \r at the end may be the first half of \r\n: wait for more.
      if (m[0] === '\r' && m.index === this.buf.length - 1) break;
      const line = this.buf.slice(0, m.index);
      this.buf = this.buf.slice(m.index + m[0].length);
      this.line(line);
    }
  }

  private line(line: string) {
    if (line === '') {
      if (this.data.length) this.dispatch(this.event, this.data.join('\n'));
      this.event = 'message';
      this.data = [];
      return;
    }
    if (line.startsWith(':')) return;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
  }
}
