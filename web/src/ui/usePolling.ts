import { useEffect, useLayoutEffect, useRef } from 'react';

/**
 * Calls `tick` now and then every `ms` while `enabled`, one call at a time (a slow answer delays the
 * next call rather than stacking them). Skips ticks while the tab is hidden and catches up when it
 * shows again. Returns nothing: callers keep their own state.
 */
export function usePolling(tick: () => Promise<unknown>, ms: number, enabled = true): void {
  // The latest tick, so a new function on each render does not restart the polling.
  const cb = useRef(tick);
  useLayoutEffect(() => {
    cb.current = tick;
  });

  useEffect(() => {
    if (!enabled) return;
    let alive = true;
    let timer: number | undefined;
    let running = false;
    const run = async () => {
      window.clearTimeout(timer);
      if (!alive) return;
      if (!document.hidden && !running) {
        running = true;
        try {
          await cb.current();
        } catch {
          /* the caller records its own errors */
        } finally {
          running = false;
        }
      }
      if (alive) timer = window.setTimeout(run, ms);
    };
    const onVisible = () => {
      if (!document.hidden) void run();
    };
    void run();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      alive = false;
      window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [ms, enabled]);
}
