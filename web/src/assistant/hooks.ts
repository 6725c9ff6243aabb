import { useCallback, useEffect, useState } from 'react';
import * as Y from 'yjs';
import type { AssistantMode, AssistantStatus } from '../api/assistant';
import { useSession } from '../core/SessionContext';
import { connectDoc } from '../core/useCollab';
import { useLoad } from '../ui/useLoad';
import type { ShownMessage } from './MessageList';

/** The assistant's status (configured, mode, limits, usage for the interviewer), refreshable. */
export function useAssistantStatus() {
  const { api } = useSession();
  const { data: status, error, reload: refresh, update } = useLoad('assistant-status', () => api.assistant.status());
  /** The status the server answered to a change (of the mode). */
  const setStatus = useCallback((next: AssistantStatus) => update(() => next), [update]);
  return { status, setStatus, error, refresh };
}

/** The mode as the `main` document's `meta` map has it (the server writes it there on change). */
export function useLiveMode(doc: Y.Doc | null, fallback: AssistantMode | undefined): AssistantMode | undefined {
  const [mode, setMode] = useState<AssistantMode | undefined>(undefined);
  useEffect(() => {
    if (!doc) return;
    const meta = doc.getMap('meta');
    const read = () => {
      const v = meta.get('assistant_mode');
      if (v === 'off' || v === 'hints' || v === 'full') setMode(v);
    };
    read();
    meta.observe(read);
    return () => meta.unobserve(read);
  }, [doc]);
  return mode ?? fallback;
}

/** Opens a read-only live document of the session (e.g. `chat`, `runs`) for as long as mounted. */
function useLiveDoc(name: 'chat' | 'runs', enabled = true): Y.Doc | null {
  const session = useSession();
  const [doc, setDoc] = useState<Y.Doc | null>(null);
  useEffect(() => {
    if (!enabled) return;
    const { doc: d, provider } = connectDoc(session, name);
    setDoc(d);
    return () => {
      provider.destroy();
      d.destroy();
      setDoc(null);
    };
  }, [session, name, enabled]);
  return doc;
}

/** The conversation as the server writes it into the `chat` live document, updated as it streams. */
export function useLiveChat(): ShownMessage[] {
  const doc = useLiveDoc('chat');
  const [messages, setMessages] = useState<ShownMessage[]>([]);
  useEffect(() => {
    if (!doc) return;
    const arr = doc.getArray<Y.Map<unknown>>('messages');
    let frame = 0;
    const read = () => {
      frame = 0;
      setMessages(arr.toJSON() as ShownMessage[]);
    };
    // Many deltas per second: render at most once per frame.
    const onChange = () => {
      if (!frame) frame = requestAnimationFrame(read);
    };
    read();
    arr.observeDeep(onChange);
    return () => {
      arr.unobserveDeep(onChange);
      if (frame) cancelAnimationFrame(frame);
    };
  }, [doc]);
  return messages;
}

/** Reads the output of the newest run in the `runs` document, if there is one. */
export function useLastRunOutput(enabled: boolean): () => string | undefined {
  const doc = useLiveDoc('runs', enabled);
  return useCallback(() => {
    if (!doc) return undefined;
    const runs = doc.getArray<Y.Map<unknown>>('runs');
    const last = runs.length ? runs.get(runs.length - 1) : undefined;
    if (!last) return undefined;
    const output = last.get('output');
    const chunks = output instanceof Y.Array ? (output.toJSON() as { stream?: string; text?: string }[]) : [];
    const text = chunks.map((c) => c.text ?? '').join('');
    const raw = last.get('status');
    const status = typeof raw === 'string' ? raw : '';
    const tail = text.length > 8000 ? `…${text.slice(-8000)}` : text;
    return tail || status ? `${tail}${status && status !== 'ok' ? `\n[run status: ${status}]` : ''}` : undefined;
  }, [doc]);
}
