import { wallClock } from '../ui/time';

/** Shown to everyone once the session has ended. */
export function EndedBanner({ endedAt }: { endedAt: number }) {
  return (
    <div className="ended-banner" role="status" data-testid="ended-banner">
      <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
        <rect x="3" y="7" width="10" height="7" rx="1" fill="none" stroke="currentColor" strokeWidth="1.4" />
        <path d="M5.5 7V5a2.5 2.5 0 0 1 5 0v2" fill="none" stroke="currentColor" strokeWidth="1.4" />
      </svg>
      <span>
        This session ended at <time dateTime={new Date(endedAt).toISOString()}>{wallClock(endedAt)}</time>. The code is
        read-only.
      </span>
    </div>
  );
}
