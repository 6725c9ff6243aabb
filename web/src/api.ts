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
  /** `pad` (one shared file, code runs in the browser) or `workspace` (a project on the server). */
  kind?: SessionKind;
  /** The exercise a workspace was created from; null for a pad. */
  exercise?: string | null;
  /** A workspace session's exercise: its title and the files to open first (from its manifest). */
  exercise_info?: ExerciseInfo;
}

export interface ExerciseInfo {
  id: string;
  title: string;
  /** Paths relative to the workspace, in the order to open them; the first is shown. */
  open_first: string[];
}

export type SessionKind = 'pad' | 'workspace';

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

  createSession: (body: { title?: string; language?: string; kind?: SessionKind; exercise?: string }) =>
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

// --- Workspaces (docs/API.md, "Workspaces") ---

export interface Exercise {
  id: string;
  title: string;
  description: string;
}

export type ProcessState = 'stopped' | 'starting' | 'running' | 'crashed';

export interface WorkspaceStatus {
  app: { state: ProcessState; since?: number | string | null; error?: string | null };
  terminal: { state: ProcessState };
  code_server: { installed: boolean; state: ProcessState; install_hint?: string | null };
}

export interface FileEntry {
  path: string;
  type: 'file' | 'dir';
  size: number;
  editable: boolean;
}

export interface LogLine {
  n: number;
  at_ms: number;
  stream: 'stdout' | 'stderr' | 'system';
  text: string;
}

/** What the app answered through the platform's proxy (request console). */
export interface AppResponse {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: string;
  ms: number;
}

/** The bytes of a workspace file, for read-only views; `text` is null when they are not UTF-8. */
export interface FileContent {
  size: number;
  text: string | null;
}

function authHeaders(token: string | null): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

async function errorFrom(res: Response): Promise<ApiError> {
  let message = `Request failed (${res.status}).`;
  try {
    const data = (await res.json()) as { error?: unknown };
    if (typeof data.error === 'string') message = data.error;
  } catch {
    /* not JSON */
  }
  return new ApiError(res.status, message);
}

/** A workspace session's exercise with the interviewer's notes (interviewer only). */
export interface ExerciseNotes {
  id: string;
  title: string;
  description: string;
  interviewer_notes: string;
}

export const workspaceApi = {
  exercise: (id: string, token: string | null) => request<ExerciseNotes>('GET', `${sessionPath(id)}/exercise`, { token }),

  exercises: () => request<Exercise[]>('GET', '/api/exercises'),

  status: (id: string, token: string | null) => request<WorkspaceStatus>('GET', `${sessionPath(id)}/workspace`, { token }),

  start: (id: string, token: string | null) => request<WorkspaceStatus>('POST', `${sessionPath(id)}/workspace/start`, { token }),

  restart: (id: string, token: string | null) =>
    request<WorkspaceStatus>('POST', `${sessionPath(id)}/workspace/restart`, { token }),

  logs: (id: string, token: string | null, after: number) =>
    request<{ lines: LogLine[]; next: number }>('GET', `${sessionPath(id)}/workspace/logs?after=${Math.max(0, Math.floor(after))}`, { token }),

  files: (id: string, token: string | null) => request<{ entries: FileEntry[] }>('GET', `${sessionPath(id)}/files`, { token }),

  create: (id: string, token: string | null, path: string, type: 'file' | 'dir', content?: string) =>
    request<FileEntry>('POST', `${sessionPath(id)}/files`, { token, body: content === undefined ? { path, type } : { path, type, content } }),

  rename: (id: string, token: string | null, from: string, to: string) =>
    request<FileEntry>('POST', `${sessionPath(id)}/files/rename`, { token, body: { from, to } }),

  remove: (id: string, token: string | null, path: string) =>
    request<unknown>('DELETE', `${sessionPath(id)}/files?path=${encodeURIComponent(path)}`, { token }),

  /** A file's bytes (`GET /files/content`), decoded as UTF-8 when they are text. */
  async content(id: string, token: string | null, path: string): Promise<FileContent> {
    let res: Response;
    try {
      res = await fetch(`${sessionPath(id)}/files/content?path=${encodeURIComponent(path)}`, {
        headers: authHeaders(token),
        credentials: 'same-origin',
      });
    } catch {
      throw new ApiError(0, 'The server could not be reached.');
    }
    if (!res.ok) throw await errorFrom(res);
    const bytes = new Uint8Array(await res.arrayBuffer());
    let text: string | null = null;
    if (!bytes.includes(0)) {
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        text = null;
      }
    }
    return { size: bytes.length, text };
  },

  /**
   * Sends a request to the workspace's app through the platform's proxy
   * (`/api/sessions/{id}/app{path}`) and returns whatever it answered, errors included.
   */
  async app(
    id: string,
    token: string | null,
    method: string,
    path: string,
    body: string | undefined,
    signal?: AbortSignal,
  ): Promise<AppResponse> {
    const clean = path.startsWith('/') ? path : `/${path}`;
    const headers: Record<string, string> = { ...authHeaders(token), Accept: 'application/json, */*;q=0.5' };
    if (body !== undefined && body !== '') {
      let json = true;
      try {
        JSON.parse(body);
      } catch {
        json = false;
      }
      headers['Content-Type'] = json ? 'application/json' : 'text/plain; charset=utf-8';
    }
    const started = performance.now();
    let res: Response;
    try {
      res = await fetch(`${sessionPath(id)}/app${clean}`, {
        method,
        headers,
        body: body === undefined || body === '' ? undefined : body,
        credentials: 'same-origin',
        signal,
      });
    } catch {
      if (signal?.aborted) throw new ApiError(0, 'The request was cancelled.');
      throw new ApiError(0, 'The server could not be reached.');
    }
    const text = await res.text();
    return {
      status: res.status,
      statusText: res.statusText,
      headers: [...res.headers.entries()],
      body: text,
      ms: Math.round(performance.now() - started),
    };
  },
};

/** WebSocket URL of a workspace's shared terminal. */
export function terminalUrl(id: string, token: string | null): string {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${window.location.host}${sessionPath(id)}/terminal${token ? `?token=${encodeURIComponent(token)}` : ''}`;
}

/** Where code-server is served for a session (same origin; the session cookie authenticates). */
export function vscodeUrl(id: string): string {
  return `${sessionPath(id)}/vscode/?folder=/workspace`;
}

// --- Chaos Engine (docs/API.md, "Chaos Engine"; interviewer only) ---

export interface ChaosScenario {
  id: string;
  title: string;
  description: string;
  watch_for: string;
  active: boolean;
  since?: number | string | null;
}

export type FaultKind = 'latency' | 'error' | 'reset' | 'timeout' | 'bandwidth';

/** A network fault as the client describes it (`POST /chaos/faults`). */
export interface FaultSpec {
  kind: FaultKind;
  methods: string[];
  path: string;
  probability: number;
  latency_ms?: number;
  jitter_ms?: number;
  status?: number;
  timeout_ms?: number;
  bytes_per_second?: number;
}

export interface ChaosFault extends FaultSpec {
  id: string;
  scenario?: string | null;
  since?: number | string | null;
}

export interface ChaosStatus {
  scenarios: ChaosScenario[];
  faults: ChaosFault[];
}

export const chaosApi = {
  status: (id: string, token: string | null) => request<ChaosStatus>('GET', `${sessionPath(id)}/chaos/status`, { token }),

  activate: (id: string, token: string | null, scenario: string) =>
    request<ChaosStatus>('POST', `${sessionPath(id)}/chaos`, { token, body: { scenario } }),

  deactivate: (id: string, token: string | null, scenario: string) =>
    request<ChaosStatus>('POST', `${sessionPath(id)}/chaos/deactivate`, { token, body: { scenario } }),

  addFault: (id: string, token: string | null, fault: FaultSpec) =>
    request<ChaosStatus>('POST', `${sessionPath(id)}/chaos/faults`, { token, body: fault }),

  removeFault: (id: string, token: string | null, faultId: string) =>
    request<ChaosStatus>('DELETE', `${sessionPath(id)}/chaos/faults/${encodeURIComponent(faultId)}`, { token }),

  reset: (id: string, token: string | null) => request<ChaosStatus>('POST', `${sessionPath(id)}/chaos/reset`, { token }),
};

/** A server time that may be epoch milliseconds or an RFC 3339 string; null when absent or unreadable. */
export function timeMs(v: number | string | null | undefined): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string' && v) {
    const n = Date.parse(v);
    return Number.isNaN(n) ? null : n;
  }
  return null;
}
