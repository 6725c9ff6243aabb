// The AI assistant (docs/API.md, "Assistant"): status, mode, history, and the streamed chat.
import type { SessionClient } from './client';
import { readEvents } from './sse';

export type AssistantMode = 'off' | 'hints' | 'full';

export interface ChatMessage {
  id: string;
  role: 'user' | 'assistant';
  text: string;
  context_kind: 'file' | 'selection' | null;
  context: string | null;
  /** `streaming`, `done`, `cut_off` (stopped or broken mid-way; text is partial) or `error`. */
  status: string;
  cut_off: boolean;
  error: string | null;
  input_tokens: number;
  output_tokens: number;
  created_at: number;
  first_token_ms: number | null;
  duration_ms: number | null;
}

export interface AssistantStatus {
  configured: boolean;
  provider: string | null;
  model: string | null;
  help: string | null;
  mode: AssistantMode;
  busy: boolean;
  limits: {
    max_message_chars: number;
    max_context_chars: number;
    messages_per_minute: number;
    token_budget: number;
    max_reply_tokens: number;
  };
  /** Interviewer only. */
  tokens_used?: number;
}

export interface ChatContext {
  kind: 'file' | 'selection';
  code: string;
  output?: string;
}

/** Events of `POST /api/sessions/{id}/chat` (Server-Sent Events). */
export type ChatEvent =
  | { type: 'start'; message_id: string; user_message_id: string; model: string }
  | { type: 'delta'; text: string }
  | { type: 'done'; usage: { input_tokens: number; output_tokens: number }; stop_reason: string | null }
  | { type: 'error'; error: string; cut_off: boolean };

export function assistantApi(c: SessionClient) {
  return {
    status: () => c.request<AssistantStatus>('GET', '/assistant'),

    setMode: (mode: AssistantMode) => c.request<AssistantStatus>('PATCH', '/assistant', { mode }),

    history: () => c.request<{ messages: ChatMessage[] }>('GET', '/chat'),

    /**
     * Asks a question and calls `onEvent` for each event of the streamed reply as it arrives.
     * Refusals before the stream starts throw ApiError with the server's message. Aborting `signal`
     * stops the reply (the server keeps the partial answer, marked as cut off).
     */
    async ask(body: { message: string; context?: ChatContext }, onEvent: (e: ChatEvent) => void, signal: AbortSignal): Promise<void> {
      let res: Response;
      try {
        res = await c.sendOk('POST', '/chat', { json: body, headers: { Accept: 'text/event-stream' }, signal });
      } catch (e) {
        if (signal.aborted) return;
        throw e;
      }
      await readEvents<ChatEvent>(res, signal, onEvent);
    },
  };
}

export type AssistantApi = ReturnType<typeof assistantApi>;
