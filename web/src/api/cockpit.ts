// The interviewer's cockpit (docs/API.md, "Cockpit"): timeline, end, replay, scorecard, report.
import type { ReplayableDoc } from './docNames';
import { download, type SessionClient } from './client';
import type { SessionWithEnd } from './sessions';

/** A timeline entry (`GET /api/sessions/{id}/events`), oldest first. */
export interface TimelineEvent {
  at: string;
  at_ms: number;
  kind: string;
  actor: string | null;
  data: Record<string, unknown> | null;
}

/** A document as it was at a moment (`GET /api/sessions/{id}/replay/{doc}`). */
export interface ReplayState {
  doc: string;
  at_ms: number;
  text: string;
  update: string;
  changes: number[];
  created_at_ms: number;
  ended_at_ms: number | null;
}

export interface Rating {
  skill: string;
  score: number;
  comment: string;
}

export interface Scorecard {
  ratings: Rating[];
  summary: string;
}

export function cockpitApi(c: SessionClient) {
  return {
    events: () => c.request<TimelineEvent[]>('GET', '/events'),

    end: () => c.request<SessionWithEnd>('POST', '/end'),

    replay: (doc: ReplayableDoc, at?: number) =>
      c.request<ReplayState>('GET', `/replay/${encodeURIComponent(doc)}${at === undefined ? '' : `?at=${Math.round(at)}`}`),

    scorecard: () => c.request<Scorecard>('GET', '/scorecard'),

    saveScorecard: (card: Scorecard) => c.request<Scorecard>('PUT', '/scorecard', card),

    report: () => download(c.path('/report'), c.token),
  };
}

export type CockpitApi = ReturnType<typeof cockpitApi>;
