import { useEffect, useRef, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type { Participant } from '../../api/sessions';
import { safeColor } from '../../ui/color';
import { useSession } from '../../core/SessionContext';
import type { AwarenessUser } from '../../core/useCollab';

export interface ParticipantView {
  id: string;
  name: string;
  color: string;
  role: string;
  online: boolean;
  self: boolean;
}

/** participantId -> the awareness user, for everyone currently connected to the `main` doc. */
function onlineUsers(awareness: Awareness): Map<string, AwarenessUser> {
  const out = new Map<string, AwarenessUser>();
  awareness.getStates().forEach((state) => {
    const user = (state as { user?: Partial<AwarenessUser> }).user;
    if (user && typeof user.participantId === 'string') {
      out.set(user.participantId, {
        participantId: user.participantId,
        name: typeof user.name === 'string' ? user.name : 'Anonymous',
        color: safeColor(user.color),
        role: typeof user.role === 'string' ? user.role : '',
      });
    }
  });
  return out;
}

function usersKey(m: Map<string, AwarenessUser>): string {
  return [...m.values()].map((u) => `${u.participantId}\u0001${u.name}\u0001${u.color}\u0001${u.role}`).sort().join('\u0002');
}

/**
 * The session's participants (from the API) merged with who is online (present in the awareness).
 * Someone who joined after the page loaded shows up in the awareness first; then the session is
 * fetched again to learn about them.
 */
export function useParticipants(
  initial: Participant[],
  awareness: Awareness | null,
  selfConnected: boolean,
): ParticipantView[] {
  const { api, participant } = useSession();
  const selfId = participant.id;
  const [known, setKnown] = useState<Participant[]>(initial);
  const [online, setOnline] = useState<Map<string, AwarenessUser>>(new Map());
  const fetched = useRef(new Set<string>());

  useEffect(() => {
    if (!awareness) return;
    let lastKey = '';
    const onChange = () => {
      const users = onlineUsers(awareness);
      const key = usersKey(users);
      // The awareness changes on every cursor move; re-render only when the people change.
      if (key !== lastKey) {
        lastKey = key;
        setOnline(users);
      }
    };
    onChange();
    awareness.on('change', onChange);
    return () => awareness.off('change', onChange);
  }, [awareness]);

  useEffect(() => {
    const unknown = [...online.keys()].filter((id) => !known.some((p) => p.id === id) && !fetched.current.has(id));
    if (unknown.length === 0) return;
    // Debounced, and once per newcomer: a burst of joins costs one request.
    const t = window.setTimeout(() => {
      unknown.forEach((id) => fetched.current.add(id));
      api.session.get().then(
        (s) => setKnown(s.participants),
        () => {
          /* keep showing them from the awareness */
        },
      );
    }, 200);
    return () => window.clearTimeout(t);
  }, [online, known, api]);

  const list: ParticipantView[] = known.map((p) => ({
    id: p.id,
    name: p.name,
    color: safeColor(p.color),
    role: p.role,
    online: p.id === selfId ? selfConnected : online.has(p.id),
    self: p.id === selfId,
  }));
  online.forEach((u, id) => {
    if (!known.some((p) => p.id === id)) {
      list.push({ id, name: u.name, color: u.color, role: u.role, online: true, self: id === selfId });
    }
  });
  // You first, then who is here, then the rest in joining order.
  return list
    .map((p, i) => ({ p, i }))
    .sort((a, b) => Number(b.p.self) - Number(a.p.self) || Number(b.p.online) - Number(a.p.online) || a.i - b.i)
    .map(({ p }) => p);
}
