// The assistant's streamed reply: events arrive whole however the network cuts the stream.
import { describe, expect, test } from 'vitest';
import { ApiError } from '../src/api/client';
import { readEvents } from '../src/api/sse';

/** A response whose body arrives in exactly these pieces. */
function streamed(pieces: (string | Uint8Array)[], { breakOff = false } = {}): Response {
  const encoder = new TextEncoder();
  const queue = [...pieces];
  // One piece per read; then the end, or a network error.
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const p = queue.shift();
      if (p !== undefined) controller.enqueue(typeof p === 'string' ? encoder.encode(p) : p);
      else if (breakOff) controller.error(new TypeError('network error'));
      else controller.close();
    },
  });
  return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
}

async function events(res: Response, signal = new AbortController().signal): Promise<unknown[]> {
  const got: unknown[] = [];
  await readEvents(res, signal, (e) => got.push(e));
  return got;
}

describe('reading a streamed reply', () => {
  test('each event is its name plus its JSON data', async () => {
    const res = streamed(['event: start\ndata: {"message_id":"m1"}\n\n', 'event: delta\ndata: {"text":"Hi"}\n\n', 'event: done\ndata: {"stop_reason":"end_turn"}\n\n']);
    expect(await events(res)).toEqual([
      { type: 'start', message_id: 'm1' },
      { type: 'delta', text: 'Hi' },
      { type: 'done', stop_reason: 'end_turn' },
    ]);
  });

  test('events split anywhere, even inside a character or a CRLF, arrive whole', async () => {
    const bytes = new TextEncoder().encode('event: delta\r\ndata: {"text":"héllo 😀"}\r\n\r\n');
    const pieces = Array.from(bytes, (b) => new Uint8Array([b]));
    expect(await events(streamed(pieces))).toEqual([{ type: 'delta', text: 'héllo 😀' }]);
  });

  test('comments (keep-alives) are ignored; an unnamed event is a message; multi-line data is joined', async () => {
    const res = streamed([': ping\n\n', 'data: {"a":\ndata: 1}\n\n']);
    expect(await events(res)).toEqual([{ type: 'message', a: 1 }]);
  });

  test('an event whose data is not JSON is skipped, the ones after it still arrive', async () => {
    const res = streamed(['event: delta\ndata: not json\n\n', 'event: delta\ndata: {"text":"ok"}\n\n']);
    expect(await events(res)).toEqual([{ type: 'delta', text: 'ok' }]);
  });

  test('a stream that breaks off is an error the chat shows', async () => {
    const res = streamed(['event: delta\ndata: {"text":"par"}\n\n'], { breakOff: true });
    const got: unknown[] = [];
    const err = await readEvents(res, new AbortController().signal, (e) => got.push(e)).catch((e: unknown) => e);
    expect(got).toEqual([{ type: 'delta', text: 'par' }]);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).message).toBe('The connection to the server broke off.');
  });

  test('a reply the user stopped ends quietly', async () => {
    const ctrl = new AbortController();
    ctrl.abort();
    await expect(events(streamed([], { breakOff: true }), ctrl.signal)).resolves.toEqual([]);
  });
});
