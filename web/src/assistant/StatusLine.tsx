import type { AssistantMode, AssistantStatus } from '../api/assistant';

export const MODE_LABELS: Record<AssistantMode, string> = {
  off: 'Off',
  hints: 'Hints only',
  full: 'Full help',
};

/** One line saying whether the assistant is available, in which mode, with which model. */
export function StatusLine({ status, mode, error, role }: { status: AssistantStatus | null; mode: AssistantMode | undefined; error: string | null; role: 'candidate' | 'interviewer' }) {
  if (error) {
    return (
      <div className="assistant-status bad" data-testid="assistant-status" data-state="error" role="status">
        Cannot reach the assistant: {error}
      </div>
    );
  }
  if (!status) {
    return (
      <div className="assistant-status" data-testid="assistant-status" data-state="loading" role="status">
        Checking the assistant…
      </div>
    );
  }
  if (!status.configured) {
    return (
      <div className="assistant-status warn" data-testid="assistant-status" data-state="not-configured" role="status">
        <strong>The AI assistant is not configured on this server.</strong>
        {role === 'interviewer' ? <p>{status.help}</p> : <p>Everything else works. The person running interview-ide can enable it.</p>}
      </div>
    );
  }
  const m = mode ?? status.mode;
  return (
    <div className={`assistant-status ${m === 'off' ? 'warn' : ''}`} data-testid="assistant-status" data-state={m} role="status">
      {m === 'off'
        ? role === 'candidate'
          ? 'The interviewer has turned the assistant off for now.'
          : 'Assistant off: the candidate cannot ask.'
        : `${MODE_LABELS[m]}${m === 'hints' ? ': explains and points, does not write solutions' : ''} · ${status.model}`}
    </div>
  );
}
