// @vitest-environment happy-dom
// The data-loading hook every page uses: what the user sees while loading, after an error, on reload.
import { act, useState } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, expect, test } from 'vitest';
import { ApiError } from '../src/api/client';
import { useLoad, type Loaded } from '../src/ui/useLoad';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/** A load the test answers by hand. */
function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Runs `fn` (answering a load) and lets React apply what follows from it. */
async function settle(fn: () => void): Promise<void> {
  await act(async () => {
    fn();
    await Promise.resolve();
  });
}

let root: Root;
let container: HTMLElement;
beforeEach(() => {
  container = document.createElement('div');
  root = createRoot(container);
});
afterEach(() => act(() => root.unmount()));

/** Renders a component using the hook; `seen` is what it returned last. */
function mount<T>(use: () => Loaded<T>) {
  const seen: { current: Loaded<T> | null } = { current: null };
  function Probe() {
    seen.current = use();
    return null;
  }
  act(() => root.render(<Probe />));
  return seen as { current: Loaded<T> };
}

test('loading, then the data', async () => {
  const answer = deferred<string[]>();
  const seen = mount(() => useLoad('list', () => answer.promise));
  expect(seen.current).toMatchObject({ data: null, error: null, loading: true });
  await settle(() => answer.resolve(['a']));
  expect(seen.current).toMatchObject({ data: ['a'], error: null, loading: false });
});

test("a refused load shows the server's message, and keeps the error itself", async () => {
  const seen = mount(() => useLoad('list', () => Promise.reject(new ApiError(429, 'Too many requests.'))));
  await settle(() => {});
  expect(seen.current).toMatchObject({ data: null, error: 'Too many requests.', loading: false });
  expect((seen.current.cause as ApiError).status).toBe(429);
});

test('a reload keeps the data on screen, and a failed reload keeps it too', async () => {
  let n = 0;
  const answers = [deferred<number>(), deferred<number>(), deferred<number>()];
  const seen = mount(() => useLoad('n', () => answers[n++].promise, { errorText: () => 'Could not load.' }));
  await settle(() => answers[0].resolve(1));
  act(() => seen.current.reload());
  expect(seen.current).toMatchObject({ data: 1, loading: true });
  await settle(() => answers[1].resolve(2));
  expect(seen.current).toMatchObject({ data: 2, loading: false });
  act(() => seen.current.reload());
  await settle(() => answers[2].reject(new Error('boom')));
  expect(seen.current).toMatchObject({ data: 2, error: 'Could not load.', loading: false });
});

test('an answer for what is no longer asked is dropped', async () => {
  const answers: Record<string, ReturnType<typeof deferred<string>>> = { a: deferred(), b: deferred() };
  let setKey!: (k: string) => void;
  const seen: { current: Loaded<string> | null } = { current: null };
  function Probe() {
    const [key, set] = useState('a');
    setKey = set;
    seen.current = useLoad(key, () => answers[key].promise);
    return null;
  }
  act(() => root.render(<Probe />));
  act(() => setKey('b'));
  await settle(() => answers.a.resolve('old'));
  expect(seen.current).toMatchObject({ data: null, loading: true });
  await settle(() => answers.b.resolve('new'));
  expect(seen.current).toMatchObject({ data: 'new', loading: false });
});

test('keepPrevious: the last page stays while the next loads; a null key loads nothing', async () => {
  const answers: Record<string, ReturnType<typeof deferred<string>>> = { p1: deferred(), p2: deferred() };
  let setKey!: (k: string | null) => void;
  const seen: { current: Loaded<string> | null } = { current: null };
  let calls = 0;
  function Probe() {
    const [key, set] = useState<string | null>('p1');
    setKey = set;
    seen.current = useLoad(key, () => (calls++, answers[key!].promise), { keepPrevious: true });
    return null;
  }
  act(() => root.render(<Probe />));
  await settle(() => answers.p1.resolve('page 1'));
  act(() => setKey('p2'));
  expect(seen.current).toMatchObject({ data: 'page 1', loading: true });
  await settle(() => answers.p2.resolve('page 2'));
  expect(seen.current).toMatchObject({ data: 'page 2', loading: false });
  act(() => setKey(null));
  expect(seen.current).toMatchObject({ data: null, loading: false });
  expect(calls).toBe(2);
});

test('update changes the data held without a load', async () => {
  const seen = mount(() => useLoad('list', () => Promise.resolve(['a', 'b'])));
  await settle(() => {});
  act(() => seen.current.update((list) => list.filter((x) => x !== 'a')));
  expect(seen.current.data).toEqual(['b']);
});
