import type { Participant } from '../api/sessions';
import { keys, readJson, readString, remove, writeJson, writeString } from './storage';

// Also kept in memory, for browsers where sessionStorage is unavailable.
const memory = new Map<string, string>();

/**
 * Takes the token from `?token=` into this tab's sessionStorage and drops it from the address bar
 * (and so from history and screenshots). Each tab keeps its own token, so an interviewer tab and a
 * candidate tab of one browser keep their roles. Returns null when neither place has one: the
 * HttpOnly cookie set on join may still authenticate.
 */
export function takeToken(sessionId: string): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    memory.set(sessionId, fromUrl);
    writeString('session', keys.token(sessionId), fromUrl);
    url.searchParams.delete('token');
    const clean = `/session/${encodeURIComponent(sessionId)}${url.search}${url.hash}`;
    window.history.replaceState(window.history.state, '', clean);
    return fromUrl;
  }
  return readString('session', keys.token(sessionId)) ?? memory.get(sessionId) ?? null;
}

export function forgetToken(sessionId: string): void {
  memory.delete(sessionId);
  remove('session', keys.token(sessionId));
}

export function storedParticipant(sessionId: string): Participant | null {
  const p = readJson<Participant>('session', keys.participant(sessionId));
  return p && typeof p.id === 'string' && typeof p.name === 'string' ? p : null;
}

export function storeParticipant(sessionId: string, p: Participant): void {
  writeJson('session', keys.participant(sessionId), p);
}

export function forgetParticipant(sessionId: string): void {
  remove('session', keys.participant(sessionId));
}
