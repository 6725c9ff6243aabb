import { keys, readJson, writeJson } from '../../core/storage';

/** A session this browser created; kept in localStorage so the interviewer view can offer its
 * candidate link again (the server keeps only its hash). The list of sessions comes from the server. */
export interface RecentSession {
  id: string;
  title: string;
  interviewerUrl: string;
  /** Kept so the interviewer view can offer the candidate link again. */
  candidateUrl?: string;
  createdAt: string;
}

const MAX = 20;

export function loadRecent(): RecentSession[] {
  const list = readJson<RecentSession[]>('local', keys.recent);
  if (!Array.isArray(list)) return [];
  return list.filter((s) => s && typeof s.id === 'string' && typeof s.interviewerUrl === 'string');
}

export function addRecent(session: RecentSession): RecentSession[] {
  const list = [session, ...loadRecent().filter((s) => s.id !== session.id)].slice(0, MAX);
  writeJson('local', keys.recent, list);
  return list;
}

export function removeRecent(id: string): RecentSession[] {
  const list = loadRecent().filter((s) => s.id !== id);
  writeJson('local', keys.recent, list);
  return list;
}

export function findRecent(id: string): RecentSession | undefined {
  return loadRecent().find((s) => s.id === id);
}
