import type { CollabStatus } from '../../core/useCollab';

const TEXT = { connected: 'Connected', connecting: 'Connecting…', offline: 'Offline' } as const;
const HELP = {
  connected: 'Live: edits are shared as you type.',
  connecting: 'Connecting to the session…',
  offline: 'No connection. Reconnecting automatically; your edits are kept and sent when it is back.',
} as const;

export function ConnectionBadge({ status }: { status: CollabStatus }) {
  return (
    <span
      className={`connection ${status.state}`}
      data-testid="connection-state"
      data-state={status.state}
      role="status"
      title={status.lastCloseReason ? `${HELP[status.state]} ${status.lastCloseReason}` : HELP[status.state]}
    >
      <span className="connection-dot" aria-hidden="true" />
      {TEXT[status.state]}
    </span>
  );
}
