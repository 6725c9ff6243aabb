// Workspaces (docs/API.md, "Workspaces"): exercises, the app, files, terminal and VS Code.
import { request, wsUrl, type SessionClient } from './client';

export interface Exercise {
  id: string;
  title: string;
  description: string;
  /** E.g. "Python 3 · FastAPI · SQLite". */
  stack?: string;
  duration_minutes?: number | null;
  /** What it probes in a candidate. */
  probes?: string[];
  /** The Chaos Engine's scenarios, by title. */
  scenarios?: string[];
}

/** A workspace session's exercise with the interviewer's notes (interviewer only). */
export interface ExerciseNotes {
  id: string;
  title: string;
  description: string;
  interviewer_notes: string;
}

export type ProcessState = 'stopped' | 'starting' | 'running' | 'crashed';

export interface WorkspaceStatus {
  app: { state: ProcessState; since?: number | string | null; error?: string | null };
  terminal: { state: ProcessState };
  code_server: { installed: boolean; installing?: boolean; state: ProcessState; install_hint?: string | null };
  /** Whether cgroups bound the workspace, and its disk quota's use (absent without a quota). */
  sandbox?: { cgroups: boolean; disk_used_bytes?: number | null; disk_limit_bytes?: number | null };
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

export const listExercises = () => request<Exercise[]>('GET', '/api/exercises');

export function workspaceApi(c: SessionClient) {
  return {
    exercise: () => c.request<ExerciseNotes>('GET', '/exercise'),

    status: () => c.request<WorkspaceStatus>('GET', '/workspace'),

    start: () => c.request<WorkspaceStatus>('POST', '/workspace/start'),

    restart: () => c.request<WorkspaceStatus>('POST', '/workspace/restart'),

    logs: (after: number) =>
      c.request<{ lines: LogLine[]; next: number }>('GET', `/workspace/logs?after=${Math.max(0, Math.floor(after))}`),

    files: () => c.request<{ entries: FileEntry[] }>('GET', '/files'),

    create: (path: string, type: 'file' | 'dir', content?: string) =>
      c.request<FileEntry>('POST', '/files', content === undefined ? { path, type } : { path, type, content }),

    rename: (from: string, to: string) => c.request<FileEntry>('POST', '/files/rename', { from, to }),

    remove: (path: string) => c.request<unknown>('DELETE', `/files?path=${encodeURIComponent(path)}`),

    /** A file's bytes (`GET /files/content`), decoded as UTF-8 when they are text. */
    async content(path: string): Promise<FileContent> {
      const res = await c.sendOk('GET', `/files/content?path=${encodeURIComponent(path)}`);
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
    async app(method: string, path: string, body: string | undefined, signal?: AbortSignal): Promise<AppResponse> {
      const clean = path.startsWith('/') ? path : `/${path}`;
      const headers: Record<string, string> = { Accept: 'application/json, */*;q=0.5' };
      const hasBody = body !== undefined && body !== '';
      if (hasBody) headers['Content-Type'] = isJson(body) ? 'application/json' : 'text/plain; charset=utf-8';
      const started = performance.now();
      const res = await c.send(method, `/app${clean}`, { headers, body: hasBody ? body : undefined, signal });
      const text = await res.text();
      return {
        status: res.status,
        statusText: res.statusText,
        headers: [...res.headers.entries()],
        body: text,
        ms: Math.round(performance.now() - started),
      };
    },

    /** WebSocket URL of the workspace's shared terminal. */
    terminalUrl: () => wsUrl(`${c.path('/terminal')}${c.token ? `?token=${encodeURIComponent(c.token)}` : ''}`),

    /**
     * Where this caller opens the session's candidate-made content (VS Code, the app): on the
     * untrusted origin, with a capability for their role in the URL (no cookie of the platform's).
     */
    contentLinks: () => c.request<ContentLinks>('GET', '/content'),
  };
}

export type WorkspaceApi = ReturnType<typeof workspaceApi>;

/** `GET /api/sessions/{id}/content`. */
export interface ContentLinks {
  base: string;
  vscode: string;
  app: string;
  expires_in_seconds: number;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
