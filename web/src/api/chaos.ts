// The Chaos Engine (docs/API.md, "Chaos Engine"); interviewer only.
import type { SessionClient } from './client';

export interface ChaosScenario {
  id: string;
  title: string;
  description: string;
  watch_for: string;
  active: boolean;
  since?: number | string | null;
}

export type FaultKind = 'latency' | 'error' | 'reset' | 'timeout' | 'bandwidth';

/** A network fault as the client describes it (`POST /chaos/faults`). */
export interface FaultSpec {
  kind: FaultKind;
  methods: string[];
  path: string;
  probability: number;
  latency_ms?: number;
  jitter_ms?: number;
  status?: number;
  timeout_ms?: number;
  bytes_per_second?: number;
}

export interface ChaosFault extends FaultSpec {
  id: string;
  scenario?: string | null;
  since?: number | string | null;
}

export interface ChaosStatus {
  scenarios: ChaosScenario[];
  faults: ChaosFault[];
}

export function chaosApi(c: SessionClient) {
  return {
    status: () => c.request<ChaosStatus>('GET', '/chaos/status'),

    activate: (scenario: string) => c.request<ChaosStatus>('POST', '/chaos', { scenario }),

    deactivate: (scenario: string) => c.request<ChaosStatus>('POST', '/chaos/deactivate', { scenario }),

    addFault: (fault: FaultSpec) => c.request<ChaosStatus>('POST', '/chaos/faults', fault),

    removeFault: (faultId: string) => c.request<ChaosStatus>('DELETE', `/chaos/faults/${encodeURIComponent(faultId)}`),

    reset: () => c.request<ChaosStatus>('POST', '/chaos/reset'),

    /** Runs the recovery checks (one scenario's, or all). */
    checks: (scenario?: string) => c.request<{ checks: CheckResult[] }>('POST', '/chaos/checks', scenario ? { scenario } : {}),

    /** The live figures of the app's traffic. */
    appStats: (windowS = 300, stepS = 5) => c.request<AppStats>('GET', `/app/stats?window=${windowS}&step=${stepS}`),
  };
}

export type ChaosApi = ReturnType<typeof chaosApi>;

/** One recovery check's result (`POST /chaos/checks`). */
export interface CheckResult {
  scenario: string;
  id: string;
  title: string;
  passed: boolean;
  seen: string;
}

/** One request to the app, as the live view lists it. */
export interface AppRequest {
  at: number;
  method: string;
  path: string;
  /** 0: the connection was dropped without an answer. */
  status: number;
  ms: number;
  bytes: number;
  origin: 'candidate' | 'chaos' | 'check';
}

export interface AppStatsStep {
  t: number;
  requests: number;
  rps: number;
  errors: number;
  error_rate: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface AppStats {
  recording: boolean;
  now: number;
  window_s: number;
  step_s: number;
  recorded_total: number;
  totals: {
    requests: number;
    errors: number;
    error_rate: number | null;
    p50_ms: number | null;
    p95_ms: number | null;
    p99_ms: number | null;
    bytes: number;
    candidate: number;
    chaos: number;
    check: number;
  };
  series: AppStatsStep[];
  /** Newest first. */
  latest: AppRequest[];
  markers: { at: number; kind: string; label: string }[];
}
