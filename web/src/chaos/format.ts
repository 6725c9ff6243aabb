import type { ChaosFault, ChaosStatus } from '../api/chaos';
import { ApiError } from '../api/client';

/** "mm:ss" (or "h:mm:ss") of a duration in ms. */
export function elapsed(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;

/** "No faults active", "2 scenarios active, 3 faults", "1 fault active". */
export function statusLine(s: ChaosStatus): string {
  const scenarios = s.scenarios.filter((x) => x.active).length;
  const faults = s.faults.length;
  if (scenarios === 0 && faults === 0) return 'No faults active';
  if (scenarios === 0) return `${plural(faults, 'fault', 'faults')} active`;
  return `${plural(scenarios, 'scenario', 'scenarios')} active, ${plural(faults, 'fault', 'faults')}`;
}

/** One line describing a network fault: what, on which requests, how often. */
export function describeFault(f: ChaosFault): string {
  let what: string;
  switch (f.kind) {
    case 'latency':
      what = `+${f.latency_ms ?? 0} ms${f.jitter_ms ? ` ±${f.jitter_ms} ms` : ''} latency`;
      break;
    case 'error':
      what = `HTTP ${f.status ?? 500} errors`;
      break;
    case 'reset':
      what = 'connection resets';
      break;
    case 'timeout':
      what = `hang ${f.timeout_ms ?? 0} ms, then drop`;
      break;
    case 'bandwidth':
      what = `throttle to ${f.bytes_per_second ?? 0} B/s`;
      break;
    default:
      what = String(f.kind);
  }
  const methods = f.methods && f.methods.length ? f.methods.join(',') : 'any method';
  const p = typeof f.probability === 'number' && f.probability < 1 ? `, ${Math.round(f.probability * 100)}% of requests` : '';
  return `${what} on ${methods} ${f.path || '*'}${p}`;
}

/** What a failed chaos action shows: the server's message, with a hint where one helps. */
export function errorText(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.status === 409) return `${err.message || 'Conflict.'} (Is the app running? Start or restart it from the App panel.)`;
    if (err.status === 0) return 'The server could not be reached.';
    return err.message;
  }
  return (err as Error).message || 'Something went wrong.';
}
