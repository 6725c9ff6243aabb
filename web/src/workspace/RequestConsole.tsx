import { useId, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import type { AppResponse } from '../api/workspace';
import { useSession } from '../core/SessionContext';
import { Spinner } from '../ui/Spinner';
import { modKey } from '../ui/shortcuts';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
const BODYLESS = new Set(['GET', 'HEAD']);
const SHOW_LIMIT = 256 * 1024;

/** Sends requests to the workspace's app through the platform's proxy, as a tiny Postman. */
export function RequestConsole() {
  const { api } = useSession();
  const [method, setMethod] = useState('GET');
  const [path, setPath] = useState('/stocks');
  const [body, setBody] = useState('');
  const [busy, setBusy] = useState(false);
  const [response, setResponse] = useState<AppResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  /** How many requests have been answered (or failed): tells one answer from the next. */
  const [answered, setAnswered] = useState(0);
  const abort = useRef<AbortController | null>(null);
  const ids = { method: useId(), path: useId(), body: useId() };
  const bodyless = BODYLESS.has(method);

  const send = async (e?: FormEvent) => {
    e?.preventDefault();
    if (busy) {
      abort.current?.abort();
      return;
    }
    const ctrl = new AbortController();
    abort.current = ctrl;
    setBusy(true);
    setError(null);
    try {
      const res = await api.workspace.app(method, path.trim() || '/', bodyless ? undefined : body, ctrl.signal);
      setResponse(res);
    } catch (err) {
      setResponse(null);
      setError((err as Error).message);
    } finally {
      setBusy(false);
      setAnswered((n) => n + 1);
      abort.current = null;
    }
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
      e.preventDefault();
      e.stopPropagation();
      void send();
    }
  };

  return (
    <section className="request-console" aria-label="Request console" data-testid="request-console" onKeyDown={onKeyDown}>
      <form className="request-line" onSubmit={(e) => void send(e)}>
        <label htmlFor={ids.method} className="sr-only">
          Method
        </label>
        <select id={ids.method} value={method} onChange={(e) => setMethod(e.target.value)} data-testid="request-method">
          {METHODS.map((m) => (
            <option key={m}>{m}</option>
          ))}
        </select>
        <label htmlFor={ids.path} className="sr-only">
          Path
        </label>
        <input
          id={ids.path}
          type="text"
          className="request-path"
          value={path}
          onChange={(e) => setPath(e.target.value)}
          spellCheck={false}
          autoComplete="off"
          data-testid="request-path"
          placeholder="/stocks"
        />
        <button
          type="submit"
          className="btn btn-small btn-primary"
          data-testid="request-send"
          title={`Send the request (${modKey}+Enter)`}
        >
          {busy && <Spinner size={10} />}
          {busy ? 'Cancel' : 'Send'}
        </button>
      </form>
      <label htmlFor={ids.body} className="request-body-label">
        Body {bodyless && <span className="muted">(not sent with {method})</span>}
      </label>
      <textarea
        id={ids.body}
        className="request-body"
        value={body}
        onChange={(e) => setBody(e.target.value)}
        spellCheck={false}
        placeholder={'{"symbol": "ACME", "quantity": 1}'}
        rows={3}
        data-testid="request-body"
        aria-describedby={`${ids.body}-hint`}
      />
      <span className="sr-only" id={`${ids.body}-hint`}>
        JSON bodies are sent as application/json. {modKey}+Enter sends.
      </span>
      <div className="response" aria-live="polite" data-testid="response" data-answered={answered}>
        {error && (
          <p className="panel-error" role="alert" data-testid="response-status">
            {error}
          </p>
        )}
        {response && <ResponseView response={response} />}
        {!response && !error && <p className="log-empty">Send a request to see the app's answer here.</p>}
      </div>
    </section>
  );
}

function ResponseView({ response }: { response: AppResponse }) {
  const type = response.headers.find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  let shown = response.body;
  let isJson = false;
  if (shown && (type.includes('json') || /^\s*[[{]/.test(shown))) {
    try {
      shown = JSON.stringify(JSON.parse(shown), null, 2);
      isJson = true;
    } catch {
      /* shown as is */
    }
  }
  const cut = shown.length > SHOW_LIMIT;
  const cls = response.status >= 500 ? 'bad' : response.status >= 400 ? 'warn' : 'ok';
  return (
    <>
      <p className="response-status" data-testid="response-status" data-status={response.status}>
        <span className={`status-code ${cls}`}>
          {response.status} {response.statusText}
        </span>
        <span className="muted">· {response.ms} ms</span>
        <span className="muted">· {response.body.length.toLocaleString()} chars</span>
      </p>
      <details className="response-headers">
        <summary>Headers ({response.headers.length})</summary>
        <dl>
          {response.headers.map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
        </dl>
      </details>
      <pre className={`response-body${isJson ? ' json' : ''}`} data-testid="response-body" tabIndex={0} aria-label="Response body">
        {cut ? `${shown.slice(0, SHOW_LIMIT)}\n… (cut)` : shown || '(empty body)'}
      </pre>
    </>
  );
}
