import { useEffect, useState } from 'react';
import type { WorkspaceStatus } from '../api/workspace';
import { useSession } from '../core/SessionContext';
import { Spinner } from '../ui/Spinner';

/**
 * code-server for the session in an iframe, from the untrusted origin (it serves the candidate's
 * files as pages, which must never run as the platform's origin); the URL carries a capability
 * for this session and role. Mounted on first use and kept, so switching back and forth does not
 * reload it.
 */
export function VsCodeView({ status, visible }: { status: WorkspaceStatus | null; visible: boolean }) {
  const { api } = useSession();
  const [loaded, setLoaded] = useState(false);
  const [reloads, setReloads] = useState(0);
  const [src, setSrc] = useState<string | null>(null);
  const [linkError, setLinkError] = useState<string | null>(null);
  const cs = status?.code_server;
  const installed = !!cs?.installed;

  // A fresh link on each reload: its capability is new, so a long-open tab never holds a stale one.
  useEffect(() => {
    if (!installed) return;
    let live = true;
    setLinkError(null);
    api.workspace.contentLinks().then(
      (links) => live && setSrc(links.vscode),
      (e: unknown) => live && setLinkError(e instanceof Error ? e.message : String(e)),
    );
    return () => {
      live = false;
    };
  }, [api, installed, reloads]);

  let body;
  if (!cs) {
    body = (
      <div className="vscode-message" role="status">
        <Spinner size={18} /> Checking VS Code…
      </div>
    );
  } else if (!cs.installed && cs.installing) {
    body = (
      <div className="vscode-message" role="status" data-testid="vscode-installing">
        <h2>
          <Spinner size={18} /> VS Code is being installed on this server
        </h2>
        <p>It opens here by itself when it is ready, in a few minutes.</p>
        <p className="muted">The editor, terminal and app panels work meanwhile.</p>
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
  } else if (linkError) {
    body = (
      <div className="vscode-message" role="alert">
        <h2>VS Code could not be opened</h2>
        <p>{linkError}</p>
        <button type="button" className="btn btn-small" onClick={() => setReloads((r) => r + 1)}>
          Try again
        </button>
      </div>
    );
  } else if (!src) {
    body = (
      <div className="vscode-message" role="status">
        <Spinner size={18} /> Opening VS Code…
      </div>
    );
  } else {
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
              setSrc(null);
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
