// The streamed answers of the API (chat replies, code runs) are Server-Sent Events.
import { ApiError } from './client';

/** Minimal text/event-stream parser (event + data fields; comments ignored; any line ending). */
export class SseParser {
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

/**
 * Reads a streamed answer to its end, calling `onEvent` with `{type: event, ...data}` for each
 * event (one it cannot read is skipped). A stream that breaks off throws, unless `signal` was
 * aborted (the caller stopped it).
 */
export async function readEvents<T>(res: Response, signal: AbortSignal, onEvent: (e: T) => void): Promise<void> {
  if (!res.body) throw new ApiError(res.status, `Request failed (${res.status}).`);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SseParser((event, data) => {
    try {
      onEvent({ type: event, ...JSON.parse(data) } as T);
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
  } catch {
    if (signal.aborted) return;
    throw new ApiError(0, 'The connection to the server broke off.');
  }
}
