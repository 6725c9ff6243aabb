import { useState } from 'react';
import type { WorkspaceStatus } from '../api/workspace';
import { useSession } from '../session/SessionContext';
import { Spinner } from '../ui/Spinner';

/**
 * code-server for the session in an iframe (same origin: the session cookie set by `join`
 * authenticates it). Mounted on first use and kept, so switching back and forth does not reload it.
 */
export function VsCodeView({ status, visible }: { status: WorkspaceStatus | null; visible: boolean }) {
  const { api } = useSession();
  const [loaded, setLoaded] = useState(false);
  const [reloads, setReloads] = useState(0);
  const cs = status?.code_server;

  let body;
  if (!cs) {
    body = (
      <div className="vscode-message" role="status">
        <Spinner size={18} /> Checking VS Code…
      </div>
    );
  } else if (!cs.installed) {
    body = (
      <div className="vscode-message" data-testid="vscode-install-hint">
        <h2>VS Code is not installed on this server</h2>
        <p>{cs.install_hint || 'Install code-server on the server to use VS Code in the browser.'}</p>
        <p className="muted">The editor, terminal and app panels here work without it.</p>
      </div>
    );
  } else {
    const src = api.workspace.vscodeUrl();
    body = (
      <>
        <div className="vscode-bar">
          <span className="muted">
            VS Code (code-server){cs.state !== 'running' ? `: ${cs.state}` : ''}. Edits made here reach the shared editor within a moment.
          </span>
          <button
            type="button"
            className="btn btn-small btn-ghost"
            onClick={() => {
              setLoaded(false);
              setReloads((r) => r + 1);
            }}
          >
            Reload
          </button>
          <a className="btn btn-small btn-ghost" href={src} target="_blank" rel="noopener">
            Open in a new tab
          </a>
        </div>
        <div className="vscode-frame-host">
          <iframe
            key={reloads}
            src={src}
            title="VS Code (code-server) for this workspace"
            className="vscode-frame"
            data-testid="vscode-frame"
            onLoad={() => setLoaded(true)}
            allow="clipboard-read; clipboard-write"
          />
          {!loaded && (
            <div className="editor-loading" role="status" aria-live="polite">
              <Spinner size={22} />
              <span>{cs.state === 'starting' ? 'Starting VS Code…' : 'Loading VS Code…'}</span>
            </div>
          )}
        </div>
      </>
    );
  }
  return (
    <div className="vscode-view" hidden={!visible} data-testid="vscode-view">
      {body}
    </div>
  );
}
