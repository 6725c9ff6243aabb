import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../api/client';
import type { TimelineEvent } from '../api/cockpit';
import { useSession } from '../core/SessionContext';
import { formatMs } from '../ui/time';

export type Category = 'people' | 'code' | 'settings' | 'session' | 'other';

export const CATEGORIES: { id: Category | 'all'; label: string }[] = [
  { id: 'all', label: 'All events' },
  { id: 'people', label: 'People' },
  { id: 'code', label: 'Code and runs' },
  { id: 'settings', label: 'Language and settings' },
  { id: 'session', label: 'Session' },
  { id: 'other', label: 'Other' },
];

const KIND_CATEGORY: Record<string, Category> = {
  joined: 'people',
  connected: 'people',
  disconnected: 'people',
  focus_lost: 'people',
  window_blur: 'people',
  blur: 'people',
  code_run: 'code',
  tests_run: 'code',
  large_paste: 'code',
  paste: 'code',
  language_changed: 'settings',
  policy_changed: 'settings',
  session_created: 'session',
  session_ended: 'session',
  workspace_moved: 'session',
};

export function categoryOf(kind: string): Category {
  return KIND_CATEGORY[kind] ?? 'other';
}

const str = (v: unknown): string | null => (typeof v === 'string' && v ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function who(e: TimelineEvent): string {
  return str(e.data?.name) ?? (e.actor === 'candidate' ? 'The candidate' : e.actor === 'interviewer' ? 'The interviewer' : 'Someone');
}

const RUN_STATUS: Record<string, string> = { ok: 'ok', error: 'error', timeout: 'timed out', stopped: 'stopped' };

/** One line of plain wording for a timeline entry. */
export function describeEvent(e: TimelineEvent, languageName: (id: string) => string): string {
  const d = e.data ?? {};
  switch (e.kind) {
    case 'session_created': {
      const lang = str(d.language);
      return lang ? `Session created (${languageName(lang)})` : 'Session created';
    }
    case 'joined':
      return `${who(e)} joined as ${e.actor === 'interviewer' ? 'interviewer' : 'candidate'}`;
    case 'connected':
      return `${who(e)} opened the pad`;
    case 'disconnected':
      return `${who(e)} left the pad`;
    case 'language_changed': {
      const to = str(d.to);
      return to ? `Language changed to ${languageName(to)}` : 'Language changed';
    }
    case 'policy_changed': {
      const parts: string[] = [];
      if (typeof d.execution_enabled === 'boolean') parts.push(`candidate runs ${d.execution_enabled ? 'on' : 'off'}`);
      const limit = num(d.time_limit_seconds);
      if (limit !== null) parts.push(`${limit} s limit`);
      return parts.length ? `Run settings: ${parts.join(', ')}` : 'Run settings changed';
    }
    case 'code_run': {
      const status = str(d.status);
      const ms = num(d.duration_ms);
      const bits = [status ? (RUN_STATUS[status] ?? status) : null, ms !== null ? formatMs(ms) : null].filter(Boolean);
      return `Code run${bits.length ? `: ${bits.join(', ')}` : ''}`;
    }
    case 'tests_run': {
      const lang = str(d.language);
      const results = Array.isArray(d.results) ? (d.results as { name?: unknown; passed?: unknown; hidden?: unknown }[]) : [];
      const per = results.map((r) => `${r.passed === true ? '✓' : '✗'} ${str(r.name) ?? '?'}${r.hidden === true ? ' (hidden)' : ''}`).join(', ');
      return `Tests${lang ? ` in ${languageName(lang)}` : ''}: ${num(d.passed) ?? 0} passed, ${num(d.failed) ?? 0} failed${per ? ` — ${per}` : ''}`;
    }
    case 'session_ended':
      return 'Session ended';
    case 'workspace_moved': {
      const from = str(d.from);
      const to = str(d.to);
      const files = num(d.files_restored);
      return `Workspace moved${from ? ` from node ${from}` : ''}${to ? ` to node ${to}` : ''} (its node stopped answering): app restarted${files !== null && files > 0 ? `, ${files} edited file${files === 1 ? '' : 's'} restored` : ''}`;
    }
    case 'chaos_checks': {
      const passed = num(d.passed) ?? 0;
      const failed = num(d.failed) ?? 0;
      return `Recovery checks: ${passed} of ${passed + failed} passed`;
    }
    case 'large_paste':
    case 'paste': {
      const chars = num(d.chars) ?? num(d.length) ?? num(d.characters);
      return `Large paste into the editor${chars !== null ? ` (${chars} characters)` : ''}`;
    }
    case 'focus_lost':
    case 'window_blur':
    case 'blur': {
      const ms = num(d.duration_ms) ?? num(d.ms);
      return `${who(e)}'s window lost focus${ms !== null ? ` for ${formatMs(ms)}` : ''}`;
    }
    default: {
      const text = e.kind.replace(/_/g, ' ');
      return text.charAt(0).toUpperCase() + text.slice(1);
    }
  }
}

/** A tone for the entry's dot: problems stand out. */
export function toneOf(e: TimelineEvent): 'bad' | 'ok' | 'warn' | 'plain' {
  if (e.kind === 'code_run') {
    const s = e.data?.status;
    return s === 'ok' ? 'ok' : s === 'error' || s === 'timeout' ? 'bad' : 'warn';
  }
  if (e.kind === 'tests_run') return num(e.data?.failed) === 0 ? 'ok' : 'bad';
  if (e.kind === 'session_ended' || e.kind === 'workspace_moved') return 'warn';
  if (e.kind === 'chaos_checks') return e.data?.failed === 0 ? 'ok' : 'bad';
  if (categoryOf(e.kind) === 'code') return 'warn';
  return 'plain';
}

export interface EventsState {
  events: TimelineEvent[] | null;
  error: string | null;
  refresh: () => void;
}

/** The session's timeline, polled every 2 s while the page is visible. */
export function useEvents(intervalMs = 2000): EventsState {
  const { api } = useSession();
  const [events, setEvents] = useState<TimelineEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const last = useRef('');

  useEffect(() => {
    let alive = true;
    let timer: number | undefined;
    const load = () => {
      window.clearTimeout(timer);
      if (document.visibilityState === 'hidden') {
        timer = window.setTimeout(load, intervalMs);
        return;
      }
      api.cockpit.events().then(
        (list) => {
          if (!alive) return;
          // Same answer as last time: keep the same array so nothing re-renders.
          const key = `${list.length}:${list.at(-1)?.at_ms ?? 0}`;
          if (key !== last.current) {
            last.current = key;
            setEvents(list);
          }
          setError(null);
          timer = window.setTimeout(load, intervalMs);
        },
        (err: unknown) => {
          if (!alive) return;
          setError(err instanceof ApiError && err.status === 0 ? 'The server could not be reached. Retrying…' : `The timeline could not be loaded: ${(err as Error).message}`);
          timer = window.setTimeout(load, intervalMs * 2);
        },
      );
    };
    load();
    const onVisible = () => document.visibilityState === 'visible' && load();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      alive = false;
      window.clearTimeout(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [api, intervalMs, tick]);

  const refresh = useCallback(() => setTick((t) => t + 1), []);
  return { events, error, refresh };
}
