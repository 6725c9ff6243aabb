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
  };
}

export type ChaosApi = ReturnType<typeof chaosApi>;
