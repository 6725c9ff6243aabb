import { useEffect, useState } from 'react';
import type { FileContent } from '../api/workspace';
import { CodeEditor, type CursorInfo } from '../editor/CodeEditor';
import { useSession } from '../core/SessionContext';
import { FILE_TEXT, fileDoc } from '../api/docNames';
import { openLiveDoc, type Collab } from '../core/useCollab';
import { shortcut } from '../ui/shortcuts';
import { Spinner } from '../ui/Spinner';
import { fileType, formatBytes } from './fileTypes';

interface Props {
  path: string;
  /** False for binary and large files: shown read-only from `/files/content`. */
  editable: boolean;
  active: boolean;
  readOnly: boolean;
  onCursor: (path: string, c: CursorInfo) => void;
}

/** One open tab: its own live document (`file:<path>`) and editor, kept while the tab is open. */
export function FileEditor(props: Props) {
  return (
    <div className="file-pane" hidden={!props.active} data-path={props.path}>
      {props.editable ? <LiveFile {...props} /> : <ReadOnlyFile {...props} reason="binary" />}
    </div>
  );
}

type DocState = { synced: boolean; failures: number; gone: boolean };

function LiveFile({ path, active, readOnly, onCursor }: Props) {
  const session = useSession();
  const [live, setLive] = useState<Collab | null>(null);
  const [state, setState] = useState<DocState>({ synced: false, failures: 0, gone: false });

  useEffect(() => {
    const { doc, provider } = openLiveDoc(session, fileDoc(path));
    let everSynced = false;
    const onSync = (synced: boolean) => {
      if (synced) everSynced = true;
      setState((s) => ({ ...s, synced: s.synced || synced, failures: synced ? 0 : s.failures }));
    };
    const onClose = (event: CloseEvent | null) => {
      if (event?.code === 4404) {
        provider.shouldConnect = false;
        setState((s) => ({ ...s, gone: true }));
        return;
      }
      if (!everSynced) setState((s) => ({ ...s, failures: s.failures + 1 }));
    };
    provider.on('sync', onSync);
    provider.on('connection-close', onClose);
    setLive({ doc, provider });
    setState({ synced: false, failures: 0, gone: false });
    return () => {
      provider.off('sync', onSync);
      provider.off('connection-close', onClose);
      provider.destroy();
      doc.destroy();
      setLive(null);
    };
  }, [session, path]);

  const type = fileType(path);
  // Refused at the upgrade (the file turned binary or large) or unreachable: say so, and after a few
  // attempts show the file's bytes read-only while the connection keeps retrying.
  if (!state.synced && state.failures >= 3) {
    return (
      <ReadOnlyFile
        path={path}
        reason="unreachable"
      />
    );
  }

  return (
    <div className="editor-host">
      {live && (
        <CodeEditor
          ytext={live.doc.getText(FILE_TEXT)}
          awareness={live.provider.awareness}
          language={type.language}
          readOnly={readOnly || !state.synced || state.gone}
          ariaLabel={`${path}, ${type.name}. Shared with everyone in the session. Press ${shortcut.tabFocus} to make Tab move focus.`}
          onCursor={(c) => active && onCursor(path, c)}
        />
      )}
      {!state.synced && (
        <div className="editor-loading" role="status" aria-live="polite">
          <Spinner size={22} />
          <span>{state.gone ? 'This session no longer exists.' : state.failures > 0 ? `Opening ${path}… (retrying)` : `Opening ${path}…`}</span>
        </div>
      )}
    </div>
  );
}

/** A read-only view of a file's bytes: text as is, binary as its size. */
function ReadOnlyFile({ path, reason }: { path: string; reason: 'binary' | 'unreachable' }) {
  const { api } = useSession();
  const [content, setContent] = useState<FileContent | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let alive = true;
    setError(null);
    api.workspace.content(path).then(
      (c) => alive && setContent(c),
      (err: Error) => alive && setError(err.message),
    );
    return () => {
      alive = false;
    };
  }, [api, path, attempt]);

  const LIMIT = 512 * 1024;
  return (
    <div className="readonly-file" data-testid="readonly-file">
      <p className="readonly-note" role="note">
        {reason === 'binary'
          ? 'Read-only: this file is binary or too large to edit together.'
          : 'The live document could not be opened; showing the file read-only while reconnecting.'}{' '}
        <button type="button" className="link-button" onClick={() => setAttempt((a) => a + 1)}>
          Reload
        </button>
      </p>
      {error ? (
        <p className="form-error" role="alert">
          Could not read {path}: {error}
        </p>
      ) : !content ? (
        <div className="readonly-loading" role="status">
          <Spinner size={16} /> Loading {path}…
        </div>
      ) : content.text === null ? (
        <p className="readonly-binary">
          Binary file, {content.size.toLocaleString('en-US')} bytes{content.size >= 1024 ? ` (${formatBytes(content.size)})` : ''}.
        </p>
      ) : (
        <pre className="readonly-text" tabIndex={0} aria-label={`${path}, read-only`}>
          {content.text.length > LIMIT ? `${content.text.slice(0, LIMIT)}\n… (${formatBytes(content.size)} in all; the rest is not shown)` : content.text}
        </pre>
      )}
    </div>
  );
}
