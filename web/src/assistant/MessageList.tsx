import { useEffect, useRef } from 'react';
import { Markdown } from '../editor/markdown';

/** A message as both the candidate's chat and the interviewer's transcript show it. */
export interface ShownMessage {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  status: string;
  cut_off: boolean;
  error: string | null;
  context_kind?: string | null;
  context?: string | null;
  output_tokens?: number;
}

interface Props {
  messages: ShownMessage[];
  testId: string;
  /** Whose view: the interviewer sees the context that was sent with each question. */
  showContext: boolean;
  empty: React.ReactNode;
  label: string;
}

export function MessageList({ messages, testId, showContext, empty, label }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const stick = useRef(true);
  // Follow the newest text unless the reader scrolled up.
  useEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  });
  return (
    <div
      className="chat-messages"
      data-testid={testId}
      ref={ref}
      role="log"
      aria-live="polite"
      aria-label={label}
      tabIndex={0}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
      }}
    >
      {messages.length === 0 && <div className="chat-empty">{empty}</div>}
      {messages.map((m) => (
        <div key={m.id} className={`chat-msg chat-${m.role}`} data-role={m.role} data-status={m.status} data-testid="chat-message">
          <div className="chat-who">{m.role === 'user' ? 'Candidate' : 'Assistant'}</div>
          {m.role === 'user' ? (
            <>
              <div className="chat-user-text">{m.text}</div>
              {m.context_kind && (
                showContext && m.context ? (
                  <details className="chat-context">
                    <summary>with the {m.context_kind === 'selection' ? 'selected code' : 'current file'}</summary>
                    <pre>{m.context}</pre>
                  </details>
                ) : (
                  <div className="chat-context-chip">with the {m.context_kind === 'selection' ? 'selected code' : 'current file'}</div>
                )
              )}
            </>
          ) : (
            <>
              {m.text ? <Markdown text={m.text} highlight={m.status !== 'streaming'} /> : null}
              {m.status === 'streaming' && !m.text && <div className="chat-thinking">Thinking…</div>}
              {m.status === 'streaming' && m.text && <span className="chat-caret" aria-hidden="true" />}
              {(m.status === 'cut_off' || m.status === 'error' || m.cut_off) && (
                <div className={`chat-note ${m.status === 'error' ? 'chat-note-error' : ''}`}>
                  {m.status === 'error' ? m.error ?? 'The assistant could not answer.' : `Cut off: ${m.error ?? 'the answer is incomplete.'}`}
                </div>
              )}
            </>
          )}
        </div>
      ))}
    </div>
  );
}
