import { useEffect, useRef, useState, type CSSProperties } from 'react';
import type { ParticipantView } from './useParticipants';

/** Chips shown in the header before the rest folds into a "+N" menu (it must fit at 1280 px). */
const MAX_CHIPS = 3;

const roleLabel = (role: string) => (role === 'interviewer' ? 'Interviewer' : role === 'candidate' ? 'Candidate' : '');

/**
 * Someone who reopens the link in a new tab joins again as a new participant; their older, offline
 * entry is the same person, so it is not shown twice.
 */
function withoutStaleDuplicates(list: ParticipantView[]): ParticipantView[] {
  const key = (p: ParticipantView) => `${p.role}\u0001${p.name.trim().toLowerCase()}`;
  const seen = new Set(list.filter((p) => p.online).map(key));
  return list.filter((p) => {
    if (p.online) return true;
    if (seen.has(key(p))) return false;
    seen.add(key(p));
    return true;
  });
}

function Chip({ p }: { p: ParticipantView }) {
  const state = p.online ? 'online' : 'offline';
  const role = roleLabel(p.role);
  return (
    <li
      className={`participant ${state}`}
      data-testid="participant"
      data-online={p.online}
      data-participant-id={p.id}
      title={`${p.name}${p.self ? ' (you)' : ''}${role ? `, ${role.toLowerCase()}` : ''}: ${state}`}
    >
      <span className="dot" style={{ '--dot': p.color } as CSSProperties} aria-hidden="true" />
      <span className="participant-name">
        {p.name}
        {p.self && <span className="muted"> (you)</span>}
      </span>
      <span className="sr-only">
        {role && `, ${role.toLowerCase()}`}, {state}
      </span>
    </li>
  );
}

/** Everyone in the session: colour dot (filled when online), name, and state for screen readers. */
export function ParticipantsList({ participants }: { participants: ParticipantView[] }) {
  const list = withoutStaleDuplicates(participants);
  const online = list.filter((p) => p.online).length;
  // Online people always get a chip (the list is sorted online first); offline ones fill what is left.
  const shown = list.slice(0, Math.max(MAX_CHIPS, online));
  const rest = list.slice(shown.length);
  return (
    <div className="participants" data-testid="participants" role="group" aria-label={`Participants, ${online} online`}>
      <ul>
        {shown.map((p) => (
          <Chip key={p.id} p={p} />
        ))}
      </ul>
      {rest.length > 0 && <More rest={rest} />}
    </div>
  );
}

/** The participants that do not fit, behind a "+N" disclosure that closes on Escape or a click outside. */
function More({ rest }: { rest: ParticipantView[] }) {
  const ref = useRef<HTMLDetailsElement>(null);
  const [open, setOpen] = useState(false);

  useEffect(() => {
    if (!open) return;
    const close = (e: Event) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !ref.current?.contains(e.target as Node)) {
        ref.current?.removeAttribute('open');
      }
    };
    document.addEventListener('pointerdown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('pointerdown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  return (
    <details className="participants-more" ref={ref} onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary title="More participants">
        +{rest.length}
        <span className="sr-only"> more participants</span>
      </summary>
      <ul className="participants-popover">
        {rest.map((p) => (
          <Chip key={p.id} p={p} />
        ))}
      </ul>
    </details>
  );
}
