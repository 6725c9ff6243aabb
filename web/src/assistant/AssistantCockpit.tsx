// The interviewer's view of the assistant: the mode picker, the token budget, and the candidate's
// conversation live and read-only (from the server-written `chat` document).
import { useEffect, useMemo, useState } from 'react';
import type * as Y from 'yjs';
import type { AssistantMode } from '../api/assistant';
import { useSession } from '../core/SessionContext';
import { MessageList } from './MessageList';
import { useAssistantStatus, useLiveChat, useLiveMode } from './hooks';
import { MODE_LABELS, StatusLine } from './StatusLine';
import './assistant.css';

interface Props {
  /** The session's `main` live document (its `meta` has the assistant's mode). */
  doc: Y.Doc | null;
}

export function AssistantCockpit({ doc }: Props) {
  const { api } = useSession();
  const { status, setStatus, error, refresh } = useAssistantStatus();
  const mode = useLiveMode(doc, status?.mode);
  const messages = useLiveChat();
  const [pending, setPending] = useState(false);
  const [modeError, setModeError] = useState<string | null>(null);

  // Usage changes when a reply finishes: refresh the budget then.
  const finished = useMemo(() => messages.filter((m) => m.status !== 'streaming').length, [messages]);
  useEffect(() => {
    if (finished > 0) refresh();
  }, [finished, refresh]);

  async function changeMode(next: AssistantMode) {
    setPending(true);
    setModeError(null);
    try {
      setStatus(await api.assistant.setMode(next));
    } catch (e) {
      setModeError((e as Error).message);
    } finally {
      setPending(false);
    }
  }

  const used = status?.tokens_used ?? 0;
  const budget = status?.limits.token_budget ?? 0;
  const pct = budget > 0 ? Math.min(100, Math.round((used / budget) * 100)) : 0;

  return (
    <div className="chat assistant-cockpit">
      <div className="assistant-controls">
        <label className="assistant-mode-label">
          Assistant
          <select
            data-testid="assistant-mode"
            value={mode ?? 'hints'}
            disabled={pending || !status}
            onChange={(e) => void changeMode(e.target.value as AssistantMode)}
          >
            {(Object.keys(MODE_LABELS) as AssistantMode[]).map((m) => (
              <option key={m} value={m}>
                {MODE_LABELS[m]}
              </option>
            ))}
          </select>
        </label>
        {status?.configured && (
          <div className="assistant-budget" data-testid="assistant-budget" title="Tokens used by this session's assistant (input and output)">
            <span>
              {used.toLocaleString()} / {budget.toLocaleString()} tokens
            </span>
            <span className="budget-bar" aria-hidden="true">
              <span style={{ width: `${pct}%` }} className={pct >= 90 ? 'bad' : ''} />
            </span>
          </div>
        )}
      </div>
      {modeError && (
        <div className="assistant-status bad" role="alert">
          {modeError}
        </div>
      )}
      <StatusLine status={status} mode={mode} error={error} role="interviewer" />
      <MessageList
        messages={messages}
        testId="assistant-transcript"
        showContext
        label="The candidate's conversation with the assistant"
        empty={<p>The candidate has not asked the assistant anything yet. Their conversation shows here live.</p>}
      />
    </div>
  );
}
