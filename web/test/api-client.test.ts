// The HTTP client's errors are what the UI shows: the server's message, or a plain sentence.
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ApiError, request, send, sendOk, sessionClient, timeMs } from '../src/api/client';

function answer(status: number, body: string | object | null, headers: Record<string, string> = {}) {
  const text = body === null ? null : typeof body === 'string' ? body : JSON.stringify(body);
  return vi.fn((_url: string, _init?: RequestInit) => Promise.resolve(new Response(text, { status, headers })));
}

async function failure(p: Promise<unknown>): Promise<ApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  return err as ApiError;
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

describe('API errors', () => {
  test("a 429 becomes an error with the server's message and the status", async () => {
    vi.stubGlobal('fetch', answer(429, { error: 'Too many requests: try again in 30 s.' }));
    const err = await failure(request('POST', '/api/sessions', { json: {} }));
    expect(err.status).toBe(429);
    expect(err.message).toBe('Too many requests: try again in 30 s.');
  });

  test('an error answer that is not JSON gets a generic message with its status', async () => {
    vi.stubGlobal('fetch', answer(502, '<html>Bad gateway</html>'));
    const err = await failure(request('GET', '/api/me'));
    expect(err.status).toBe(502);
    expect(err.message).toBe('Request failed (502).');
  });

  test('no answer at all is status 0, "could not be reached"', async () => {
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new TypeError('fetch failed'))));
    const err = await failure(request('GET', '/api/me'));
    expect(err.status).toBe(0);
    expect(err.message).toBe('The server could not be reached.');
  });

  test('a server that does not answer in time fails the call with status 0', async () => {
    vi.useFakeTimers();
    vi.stubGlobal(
      'fetch',
      vi.fn(
        (_url: string, init?: RequestInit) =>
          new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))),
      ),
    );
    const pending = failure(request('GET', '/api/slow'));
    await vi.advanceTimersByTimeAsync(15_000);
    const err = await pending;
    expect(err.status).toBe(0);
  });

  test("the caller's own cancellation is told apart from a network failure", async () => {
    const ctrl = new AbortController();
    vi.stubGlobal('fetch', vi.fn(() => (ctrl.abort(), Promise.reject(new DOMException('aborted', 'AbortError')))));
    const err = await failure(send('POST', '/api/x', { signal: ctrl.signal }));
    expect(err.message).toBe('The request was cancelled.');
  });

  test('send answers any status; sendOk throws on one that is not 2xx', async () => {
    vi.stubGlobal('fetch', answer(404, { error: 'No such file.' }));
    expect((await send('GET', '/api/x')).status).toBe(404);
    const err = await failure(sendOk('GET', '/api/x'));
    expect(err).toMatchObject({ status: 404, message: 'No such file.' });
  });
});

describe('requests', () => {
  test('JSON in, JSON out, with the token and the header that marks the app', async () => {
    const fetch = answer(201, { id: 's1' });
    vi.stubGlobal('fetch', fetch);
    expect(await request('POST', '/api/sessions', { token: 'tok', json: { title: 'T' } })).toEqual({ id: 's1' });
    const [url, init] = fetch.mock.calls[0];
    expect(url).toBe('/api/sessions');
    expect(init?.method).toBe('POST');
    expect(init?.body).toBe('{"title":"T"}');
    expect(init?.credentials).toBe('same-origin');
    expect(init?.headers).toMatchObject({ Authorization: 'Bearer tok', 'Content-Type': 'application/json', 'X-Requested-With': 'interview-ide', Accept: 'application/json' });
  });

  test('an empty success answers undefined', async () => {
    vi.stubGlobal('fetch', answer(204, null));
    expect(await request('DELETE', '/api/x')).toBeUndefined();
  });

  test("a session's client puts calls under its (escaped) path, with its token", async () => {
    const fetch = answer(200, {});
    vi.stubGlobal('fetch', fetch);
    const c = sessionClient('a/b', 'tok');
    expect(c.path('/events')).toBe('/api/sessions/a%2Fb/events');
    await c.request('GET', '/events');
    expect(fetch.mock.calls[0][0]).toBe('/api/sessions/a%2Fb/events');
    expect(fetch.mock.calls[0][1]?.headers).toMatchObject({ Authorization: 'Bearer tok' });
  });
});

test('server times: seconds or milliseconds since the epoch, or RFC 3339; null when unreadable', () => {
  expect(timeMs(1_700_000_000)).toBe(1_700_000_000_000);
  expect(timeMs(1_700_000_000_123)).toBe(1_700_000_000_123);
  expect(timeMs('1970-01-01T00:00:01Z')).toBe(1000);
  expect(timeMs('yesterday')).toBe(null);
  expect(timeMs(null)).toBe(null);
  expect(timeMs(Number.NaN)).toBe(null);
});
