// The candidate's assistant chat: history from GET /chat, the reply streamed from POST /chat.
import { PAD_TEXT } from '../api/docNames';
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type * as Y from 'yjs';
import type { ChatContext, ChatMessage } from '../api/assistant';
import { ApiError } from '../api/client';
import { monaco } from '../editor/monaco';
import { useSession } from '../core/SessionContext';
import { MessageList, type ShownMessage } from './MessageList';
import { useAssistantStatus, useLastRunOutput, useLiveMode } from './hooks';
import { StatusLine } from './StatusLine';
import './assistant.css';

interface Props {
  /** The session's `main` live document (the pad's code; `meta` has the assistant's mode). */
  doc: Y.Doc | null;
}

let localIds = 0;
const localId = (p: string) => `${p}-${Date.now()}-${++localIds}`;

function fromServer(m: ChatMessage): ShownMessage {
  return { ...m };
}

export function ChatPanel({ doc }: Props) {
  const { api } = useSession();
  const { status, error: statusError } = useAssistantStatus();
  const mode = useLiveMode(doc, status?.mode);
  const [messages, setMessages] = useState<ShownMessage[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [input, setInput] = useState('');
  const [streaming, setStreaming] = useState(false);
  const abortRef = useRef<AbortController | null>(null);
  const inputRef = useRef<HTMLTextAreaElement>(null);
  const lastRunOutput = useLastRunOutput(true);

  useEffect(() => {
    let live = true;
    api.assistant.history()
      .then((h) => live && setMessages(h.messages.map(fromServer)))
      .catch(() => {})
      .finally(() => live && setLoaded(true));
    return () => {
      live = false;
      abortRef.current?.abort();
    };
  }, [api]);

  const patch = (id: string, change: (m: ShownMessage) => ShownMessage) =>
    setMessages((ms) => ms.map((m) => (m.id === id ? change(m) : m)));

  const configured = status?.configured ?? false;
  const off = mode === 'off';
  const canAsk = configured && !off && !streaming;

  async function send(message: string, context?: ChatContext) {
    const text = message.trim();
    if (!text || !canAsk) return;
    const userId = localId('u');
    let replyId = localId('a');
    setMessages((ms) => [
      ...ms,
      { id: userId, role: 'user', text, status: 'done', cut_off: false, error: null, context_kind: context?.kind ?? null },
      { id: replyId, role: 'assistant', text: '', status: 'streaming', cut_off: false, error: null },
    ]);
    setInput('');
    setStreaming(true);
    const ctrl = new AbortController();
    abortRef.current = ctrl;
    try {
      await api.assistant.ask(
        { message: text, context },
        (e) => {
          if (e.type === 'start') {
            const id = e.message_id;
            patch(replyId, (m) => ({ ...m, id }));
            replyId = id;
          } else if (e.type === 'delta') {
            patch(replyId, (m) => ({ ...m, text: m.text + e.text }));
          } else if (e.type === 'done') {
            patch(replyId, (m) => ({ ...m, status: 'done', cut_off: e.stop_reason === 'max_tokens' || e.stop_reason === 'length' }));
          } else if (e.type === 'error') {
            patch(replyId, (m) => ({ ...m, status: 'cut_off', cut_off: true, error: e.error }));
          }
        },
        ctrl.signal,
      );
      if (ctrl.signal.aborted) {
        patch(replyId, (m) => (m.status === 'streaming' ? { ...m, status: 'cut_off', cut_off: true, error: 'you stopped the answer.' } : m));
      } else {
        patch(replyId, (m) => (m.status === 'streaming' ? { ...m, status: 'cut_off', cut_off: true, error: 'the connection ended early.' } : m));
      }
    } catch (e) {
      const msg = e instanceof ApiError ? e.message : 'The assistant could not answer.';
      patch(replyId, (m) => ({ ...m, status: m.text ? 'cut_off' : 'error', cut_off: !!m.text, error: msg }));
    } finally {
      abortRef.current = null;
      setStreaming(false);
      inputRef.current?.focus();
    }
  }

  function stop() {
    abortRef.current?.abort();
  }

  function askAboutFile() {
    // The file on screen: the pad, or the workspace's active tab.
    const code = visibleEditor()?.getModel()?.getValue() ?? doc?.getText(PAD_TEXT).toString();
    if (code === undefined) return;
    const output = lastRunOutput();
    void send(input.trim() || 'Can you look at my code? What should I look at first?', { kind: 'file', code, ...(output ? { output } : {}) });
  }

  function askAboutSelection() {
    const editor = visibleEditor();
    const sel = editor?.getSelection();
    const model = editor?.getModel();
    const code = sel && model ? model.getValueInRange(sel) : '';
    if (!code.trim()) {
      askAboutFile();
      return;
    }
    void send(input.trim() || 'Can you explain this part of my code?', { kind: 'selection', code });
  }

  /** The editor the candidate is looking at (a workspace keeps one per open tab, hidden but one). */
  function visibleEditor() {
    const editors = monaco.editor.getEditors();
    return editors.find((e) => e.hasTextFocus()) ?? editors.find((e) => e.getContainerDomNode().offsetParent !== null) ?? editors[0];
  }

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void send(input);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      void send(input);
    }
  };

  const maxChars = status?.limits.max_message_chars ?? 4000;
  const placeholder = !configured ? 'The assistant is not set up on this server' : off ? 'The interviewer turned the assistant off' : 'Ask about your code… (Enter to send, Shift+Enter for a new line)';

  return (
    <div className="chat">
      <StatusLine status={status} mode={mode} error={statusError} role="candidate" />
      <MessageList
        messages={messages}
        testId="chat-messages"
        showContext={false}
        label="Conversation with the assistant"
        empty={loaded ? (configured ? <p>Ask the assistant about your code, as you would at work. The interviewer sees this conversation.</p> : null) : <p>Loading…</p>}
      />
      <form className="chat-form" onSubmit={onSubmit}>
        <textarea
          ref={inputRef}
          data-testid="chat-input"
          className="chat-input"
          value={input}
          onChange={(e) => setInput(e.target.value)}
          onKeyDown={onKeyDown}
          placeholder={placeholder}
          aria-label="Question for the assistant"
          maxLength={maxChars}
          rows={3}
          disabled={!configured || off}
        />
        <div className="chat-actions">
          <button type="button" className="btn btn-small" data-testid="chat-ask-file" onClick={askAboutFile} disabled={!canAsk} title="Send your question with the current file (and the last run's output)">
            Ask about this file
          </button>
          <button type="button" className="btn btn-small" data-testid="chat-ask-selection" onClick={askAboutSelection} disabled={!canAsk} title="Send your question with the selected code">
            …selection
          </button>
          <span className="chat-spacer" />
          {streaming ? (
            <button type="button" className="btn btn-small" data-testid="chat-stop" onClick={stop}>
              Stop
            </button>
          ) : (
            <button type="submit" className="btn btn-primary btn-small" data-testid="chat-send" disabled={!canAsk || !input.trim()}>
              Send
            </button>
          )}
        </div>
      </form>
    </div>
  );
}
