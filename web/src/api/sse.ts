// The streamed answers of the API (chat replies) are Server-Sent Events, read with
// eventsource-parser (the text/event-stream format: fields, comments, retry, any line ending).
import { createParser } from 'eventsource-parser';
import { ApiError } from './client';

/**
 * Reads a streamed answer to its end, calling `onEvent` with `{type: event, ...data}` for each
 * event (`type` is `message` when the event names none; an event whose data is not JSON is
 * skipped). A stream that breaks off throws, unless `signal` was aborted (the caller stopped it).
 */
export async function readEvents<T>(res: Response, signal: AbortSignal, onEvent: (e: T) => void): Promise<void> {
  if (!res.body) throw new ApiError(res.status, `Request failed (${res.status}).`);
  const parser = createParser({
    onEvent: ({ event, data }) => {
      let fields: unknown;
      try {
        fields = JSON.parse(data);
      } catch {
        return; // an event we cannot read is skipped
      }
      onEvent({ type: event ?? 'message', ...(fields as object) } as T);
    },
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
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
