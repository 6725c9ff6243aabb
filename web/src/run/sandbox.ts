// Worker-side helpers shared by the code-run workers. The server serves these workers with a CSP
// that blocks every network destination except /pyodide/ (docs/API.md, "Sandboxed workers"); on
// top of that, the APIs that reach out are removed from the worker's scope before user code runs.
import { RingWriter } from './ring';
import { type Chunk, type FromWorker, type SharedChannels, type Stream } from './protocol';

/** Everything in a worker's global scope that talks to the network, storage or other contexts. */
const REMOVED = [
  'fetch',
  'XMLHttpRequest',
  'WebSocket',
  'WebSocketStream',
  'WebTransport',
  'EventSource',
  'importScripts',
  'indexedDB',
  'caches',
  'BroadcastChannel',
  'Worker',
  'SharedWorker',
  'RTCPeerConnection',
  'RTCDataChannel',
  'cookieStore',
];

/** Deletes `name` from the object and everything on its prototype chain. */
function remove(target: object, name: string): void {
  for (let o: object | null = target; o; o = Object.getPrototypeOf(o) as object | null) {
    const desc = Object.getOwnPropertyDescriptor(o, name);
    if (!desc) continue;
    if (desc.configurable) {
      delete (o as Record<string, unknown>)[name];
    } else if (desc.writable) {
      (o as Record<string, unknown>)[name] = undefined;
    }
  }
  // Whatever could not be deleted is shadowed on the global object itself.
  if (name in target && (target as Record<string, unknown>)[name] !== undefined) {
    try {
      Object.defineProperty(target, name, { value: undefined, writable: false, configurable: false });
    } catch {
      /* not possible: the CSP still blocks it */
    }
  }
}

let neutered = false;

/** Removes network, storage and messaging APIs from the worker scope (once). */
export function neuterScope(): void {
  if (neutered) return;
  neutered = true;
  const scope = globalThis as unknown as Record<string, unknown>;
  for (const name of REMOVED) remove(scope, name);
  const nav = scope.navigator as object | undefined;
  if (nav) for (const name of ['serviceWorker', 'storage', 'locks', 'sendBeacon', 'connection']) remove(nav, name);
}

/** The worker's own channel to the page, kept before user code could shadow or use it. */
const postToPage = globalThis.postMessage.bind(globalThis) as (msg: FromWorker) => void;

export function post(msg: FromWorker): void {
  postToPage(msg);
}

/** Hides postMessage from user code (the page only trusts what this module sends). */
export function hidePostMessage(): void {
  remove(globalThis, 'postMessage');
}

/**
 * Where a worker writes output: the shared ring when the page is cross-origin isolated, else
 * postMessage (throttled, with the same cap).
 */
export class OutputSink {
  private ring: RingWriter | null;
  private runId = '';
  private pending: Chunk[] = [];
  private lastPost = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private bytes = 0;
  private truncated = false;

  constructor(channels: SharedChannels | null) {
    this.ring = channels ? new RingWriter(channels.output) : null;
  }

  start(runId: string): void {
    this.runId = runId;
    this.ring?.reset();
    this.pending = [];
    this.bytes = 0;
    this.truncated = false;
  }

  /** Output is past the cap: callers may skip formatting what would be dropped anyway. */
  get dropping(): boolean {
    return this.ring ? this.ring.isTruncated : this.truncated;
  }

  write(stream: Stream, text: string): void {
    if (this.ring) {
      this.ring.write(stream, text);
      return;
    }
    if (this.truncated || !text) return;
    const limit = 1024 * 1024;
    if (this.bytes + text.length > limit) {
      text = text.slice(0, Math.max(0, limit - this.bytes));
      this.truncated = true;
    }
    this.bytes += text.length;
    const last = this.pending[this.pending.length - 1];
    if (last && last.stream === stream) last.text += text;
    else this.pending.push({ stream, text });
    const now = performance.now();
    if (now - this.lastPost > 30) this.flush();
    else if (this.timer === undefined) this.timer = setTimeout(() => this.flush(), 30);
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastPost = performance.now();
    if (this.ring || (this.pending.length === 0 && !this.truncated)) return;
    post({ type: 'output', id: this.runId, chunks: this.pending, truncated: this.truncated });
    this.pending = [];
  }
}
