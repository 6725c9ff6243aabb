// The core of the HTTP client (docs/API.md): every call of the app goes through `send`, so the
// token, the timeout and the reading of `{"error": "..."}` answers are handled here, once. The
// endpoints live in one module per feature next to this one (sessions, cockpit, assistant, ...).

/** An HTTP error with the server's `{"error": "..."}` message; status 0 means no answer at all. */
export class ApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
  }
}

/** How long a JSON call waits for the server's answer. */
const TIMEOUT_MS = 15_000;

export interface SendOptions {
  /** Sent as `Authorization: Bearer`; without it the HttpOnly session cookie may stand in. */
  token?: string | null;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (with the caller's Content-Type in `headers`). */
  body?: BodyInit;
  headers?: Record<string, string>;
  /** No answer in this time: the call fails with status 0. Ignored when `signal` is given. */
  timeoutMs?: number;
  /** The caller's own cancellation (streams, the request console). */
  signal?: AbortSignal;
}

/**
 * One fetch with the token, same-origin credentials and a time limit. Answers whatever status the
 * server gave; throws ApiError(0) only when there was no answer.
 */
export async function send(method: string, path: string, opts: SendOptions = {}): Promise<Response> {
  // A header no form or link can send: the server refuses state changes without it (or JSON).
  const headers: Record<string, string> = { 'X-Requested-With': 'interview-ide', ...opts.headers };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(opts.json);
  }

  const ctrl = opts.signal ? null : new AbortController();
  const timer = ctrl && opts.timeoutMs ? setTimeout(() => ctrl.abort(), opts.timeoutMs) : undefined;
  try {
    return await fetch(path, {
      method,
      headers,
      body,
      // Same-origin credentials let the HttpOnly session cookie stand in for a missing token.
      credentials: 'same-origin',
      signal: opts.signal ?? ctrl?.signal,
    });
  } catch {
    if (opts.signal?.aborted) throw new ApiError(0, 'The request was cancelled.');
    throw new ApiError(0, 'The server could not be reached.');
  } finally {
    clearTimeout(timer);
  }
}

function parseJson(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The server's `{"error": "..."}` message, or a generic one when the body is not that. */
function errorOf(status: number, data: unknown): ApiError {
  const message =
    data && typeof data === 'object' && 'error' in data && typeof data.error === 'string'
      ? data.error
      : `Request failed (${status}).`;
  return new ApiError(status, message);
}

/** Like `send`, but a status other than 2xx throws ApiError with the server's message. */
export async function sendOk(method: string, path: string, opts: SendOptions = {}): Promise<Response> {
  const res = await send(method, path, opts);
  if (!res.ok) throw errorOf(res.status, parseJson(await res.text().catch(() => '')));
  return res;
}

/** A JSON call: sends `json` (if any), answers the parsed body, throws ApiError on failure. */
export async function request<T>(method: string, path: string, opts: Omit<SendOptions, 'body'> = {}): Promise<T> {
  const res = await send(method, path, {
    timeoutMs: TIMEOUT_MS,
    ...opts,
    headers: { Accept: 'application/json', ...opts.headers },
  });
  const data = parseJson(await res.text());
  if (!res.ok) throw errorOf(res.status, data);
  return data as T;
}

/** A file from the API (e.g. the HTML report), fetched with the Bearer token rather than a link. */
export async function download(path: string, token: string | null): Promise<Blob> {
  const res = await sendOk('GET', path, { token, timeoutMs: 60_000 });
  return res.blob();
}

/** `ws:` or `wss:` URL of an API path on this origin. */
export function wsUrl(path: string): string {
  const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${window.location.host}${path}`;
}

/** The core bound to one session and the token this tab holds for it. */
export interface SessionClient {
  readonly id: string;
  readonly token: string | null;
  /** `/api/sessions/{id}` followed by `sub` (which starts with `/`, or is empty). */
  path(sub?: string): string;
  /** A JSON call under the session's path. */
  request<T>(method: string, sub: string, json?: unknown): Promise<T>;
  /** A raw call under the session's path; a status other than 2xx throws ApiError. */
  sendOk(method: string, sub: string, opts?: Omit<SendOptions, 'token'>): Promise<Response>;
  /** A raw call under the session's path that answers any status. */
  send(method: string, sub: string, opts?: Omit<SendOptions, 'token'>): Promise<Response>;
}

export function sessionClient(id: string, token: string | null): SessionClient {
  const base = `/api/sessions/${encodeURIComponent(id)}`;
  const path = (sub = '') => `${base}${sub}`;
  return {
    id,
    token,
    path,
    request: <T>(method: string, sub: string, json?: unknown) => request<T>(method, path(sub), { token, json }),
    sendOk: (method, sub, opts = {}) => sendOk(method, path(sub), { ...opts, token }),
    send: (method, sub, opts = {}) => send(method, path(sub), { ...opts, token }),
  };
}

/** A server time that may be epoch milliseconds or an RFC 3339 string; null when absent or unreadable. */
export function timeMs(v: number | string | null | undefined): number | null {
  if (typeof v === 'number' && Number.isFinite(v)) return v < 1e11 ? v * 1000 : v;
  if (typeof v === 'string' && v) {
    const n = Date.parse(v);
    return Number.isNaN(n) ? null : n;
  }
  return null;
}
