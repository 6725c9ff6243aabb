import { useCallback, useEffect, useMemo, useRef, useState, type KeyboardEvent } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type { WorkspaceStatus } from '../api/workspace';
import type { CursorInfo } from '../editor/CodeEditor';
import { useSession } from '../core/SessionContext';
import { readJson, writeJson } from '../core/storage';
import { modKey } from '../ui/shortcuts';
import { AppPanel, AppStateBadge } from './AppPanel';
import { BottomPanel, clampHeight, type PanelTab } from './BottomPanel';
import { FileEditor } from './FileEditor';
import { FileTree, renamedPath } from './FileTree';
import { fileToOpenFirst } from './openFirst';
import { baseName, fileType, isWithin } from './fileTypes';
import { TerminalView, type TerminalHandle } from './Terminal';
import type { FilesState } from './useFiles';
import { usePresence } from './usePresence';
import { VsCodeView } from './VsCodeView';
import './workspace.css';

interface Props {
  files: FilesState;
  status: WorkspaceStatus | null;
  onStatus: (s: WorkspaceStatus) => void;
  /** The `main` doc's awareness: who has which file open. */
  awareness: Awareness | null;
  ended: boolean;
  onCursor: (c: { path: string; cursor: CursorInfo } | null) => void;
  onActiveFile: (path: string | null) => void;
  /** The exercise's files to open first (`exercise_info.open_first`), in order of preference. */
  openFirst?: string[];
}

interface Saved {
  tabs: string[];
  active: string | null;
}

const tabsKey = (id: string) => `iide:ws-tabs:${id}`;
const panelKey = 'iide:ws-panel';

/** A workspace session's main area: Explorer, editor tabs (or VS Code), and the Terminal/App panel. */
export function WorkspaceView({ files, status, onStatus, awareness, ended, onCursor, onActiveFile, openFirst }: Props) {
  const { id: sessionId, role } = useSession();
  const saved = useMemo(() => readJson<Saved>('session', tabsKey(sessionId)), [sessionId]);
  const [tabs, setTabs] = useState<string[]>(() => (Array.isArray(saved?.tabs) ? saved.tabs.filter((t) => typeof t === 'string') : []));
  const [active, setActive] = useState<string | null>(() => saved?.active ?? null);
  const [view, setView] = useState<'editor' | 'vscode'>('editor');
  const [vscodeOpened, setVscodeOpened] = useState(false);
  const panelSaved = useMemo(() => readJson<{ open: boolean; height: number; tab: PanelTab }>('local', panelKey), []);
  const [panelOpen, setPanelOpen] = useState(panelSaved?.open ?? true);
  const [panelTab, setPanelTab] = useState<PanelTab>(panelSaved?.tab === 'app' ? 'app' : 'terminal');
  const [panelHeight, setPanelHeight] = useState(() => clampHeight(panelSaved?.height ?? 260));
  const terminalRef = useRef<TerminalHandle>(null);
  const tabRefs = useRef(new Map<string, HTMLButtonElement>());
  const viewers = usePresence(awareness, view === 'editor' ? active : null);
  const { entries } = files;

  useEffect(() => writeJson('session', tabsKey(sessionId), { tabs, active } satisfies Saved), [sessionId, tabs, active]);
  useEffect(() => writeJson('local', panelKey, { open: panelOpen, height: panelHeight, tab: panelTab }), [panelOpen, panelHeight, panelTab]);
  useEffect(() => onActiveFile(view === 'editor' ? active : null), [active, view, onActiveFile]);

  const byPath = useMemo(() => new Map((entries ?? []).map((e) => [e.path, e])), [entries]);

  // Someone arriving sees a file at once.
  const opened = useRef(tabs.length > 0);
  useEffect(() => {
    if (opened.current || !entries) return;
    opened.current = true;
    const first = fileToOpenFirst(entries, openFirst);
    if (first) {
      setTabs([first]);
      setActive(first);
    }
  }, [entries, openFirst]);

  const open = useCallback((path: string) => {
    setTabs((t) => (t.includes(path) ? t : [...t, path]));
    setActive(path);
    setView('editor');
  }, []);

  const close = useCallback(
    (path: string) => {
      setTabs((t) => {
        const i = t.indexOf(path);
        const next = t.filter((p) => p !== path);
        if (path === active) {
          const neighbour = next[Math.min(i, next.length - 1)] ?? null;
          setActive(neighbour);
          if (neighbour) window.setTimeout(() => tabRefs.current.get(neighbour)?.focus(), 0);
        }
        return next;
      });
    },
    [active],
  );

  const onRenamed = useCallback((from: string, to: string) => {
    // A renamed file is another live document: its tab reopens under the new name.
    setTabs((t) => t.map((p) => renamedPath(p, from, to) ?? p));
    setActive((a) => (a === null ? a : (renamedPath(a, from, to) ?? a)));
  }, []);

  const onDeleted = useCallback((path: string) => {
    setTabs((t) => {
      const next = t.filter((p) => !isWithin(p, path));
      setActive((a) => (a !== null && isWithin(a, path) ? (next[next.length - 1] ?? null) : a));
      return next;
    });
  }, []);

  const togglePanel = useCallback(() => {
    setPanelOpen((o) => {
      if (!o) window.setTimeout(() => panelTab === 'terminal' && terminalRef.current?.focus(), 0);
      return !o;
    });
  }, [panelTab]);

  // Ctrl+` toggles the panel (as in VS Code); Ctrl+S reassures (everything saves by itself).
  const [saveHint, setSaveHint] = useState(false);
  useEffect(() => {
    const onKey = (e: globalThis.KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (mod && !e.shiftKey && !e.altKey && (e.code === 'Backquote' || e.key === '`')) {
        e.preventDefault();
        e.stopPropagation();
        togglePanel();
      } else if (mod && !e.shiftKey && !e.altKey && e.key.toLowerCase() === 's') {
        e.preventDefault();
        setSaveHint(true);
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [togglePanel]);
  useEffect(() => {
    if (!saveHint) return;
    const t = window.setTimeout(() => setSaveHint(false), 2500);
    return () => window.clearTimeout(t);
  }, [saveHint]);

  const reportCursor = useCallback((path: string, cursor: CursorInfo) => onCursor({ path, cursor }), [onCursor]);

  // Tabs: arrow keys move between them, Delete closes one (Ctrl+W belongs to the browser).
  const onTabsKey = (e: KeyboardEvent) => {
    if (!active) return;
    const i = tabs.indexOf(active);
    let next = -1;
    if (e.key === 'ArrowRight') next = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = tabs.length - 1;
    else if (e.key === 'Delete') {
      e.preventDefault();
      close(active);
      return;
    }
    if (next < 0) return;
    e.preventDefault();
    setActive(tabs[next]);
    setView('editor');
    tabRefs.current.get(tabs[next])?.focus();
  };

  const app = status?.app;
  const activeIndex = active ? tabs.indexOf(active) : -1;

  return (
    <div className="workspace">
      <FileTree
        entries={entries}
        error={files.error}
        refresh={files.refresh}
        activePath={view === 'editor' ? active : null}
        viewers={viewers}
        readOnly={ended}
        onOpen={open}
        onRenamed={onRenamed}
        onDeleted={onDeleted}
      />
      <div className="workspace-main">
        <div className="editor-tabs workspace-tabs">
          <div className="tab-strip" role="tablist" aria-label="Open files" onKeyDown={onTabsKey}>
            {tabs.map((path, i) => {
              const isActive = view === 'editor' && path === active;
              const missing = entries !== null && !byPath.has(path);
              return (
                <div
                  key={path}
                  className={`file-tab${isActive ? ' active' : ''}${missing ? ' missing' : ''}`}
                  data-testid={`tab-${path}`}
                  data-active={isActive}
                  onAuxClick={(e) => {
                    if (e.button === 1) close(path);
                  }}
                >
                  <button
                    ref={(el) => {
                      if (el) tabRefs.current.set(path, el);
                      else tabRefs.current.delete(path);
                    }}
                    type="button"
                    role="tab"
                    aria-keyshortcuts="Delete"
                    id={`wtab-${i}`}
                    aria-selected={isActive}
                    aria-controls="workspace-editor"
                    tabIndex={path === active ? 0 : -1}
                    className="file-tab-label"
                    title={missing ? `${path} (deleted on disk)` : path}
                    onClick={() => {
                      setActive(path);
                      setView('editor');
                    }}
                  >
                    <span className={`file-icon lang-${fileType(path).language}`} aria-hidden="true" />
                    {baseName(path)}
                    {missing && <span className="sr-only"> (deleted)</span>}
                  </button>
                  <button
                    type="button"
                    className="file-tab-close"
                    tabIndex={-1}
                    // Pointer-only: a tab list may hold tabs alone; keyboards close a tab with Delete.
                    aria-hidden="true"
                    aria-label={`Close ${path}`}
                    title="Close (Delete on the tab, or middle-click)"
                    data-testid={`close-tab-${path}`}
                    onClick={() => close(path)}
                  >
                    <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
                      <path d="M4 4l8 8M12 4l-8 8" fill="none" stroke="currentColor" strokeWidth="1.4" />
                    </svg>
                  </button>
                </div>
              );
            })}
          </div>
          <div className="editor-tools">
            {saveHint && (
              <span className="save-hint" role="status">
                Saved automatically
              </span>
            )}
            {/* VS Code serves the candidate's code as pages: it opens from the untrusted origin,
                so either person may open it. */}
            {(
              <button
                type="button"
                className={`btn btn-small${view === 'vscode' ? ' btn-primary' : ''}`}
                aria-pressed={view === 'vscode'}
                data-testid="open-vscode"
                onClick={() => {
                  setVscodeOpened(true);
                  setView((v) => (v === 'vscode' ? 'editor' : 'vscode'));
                }}
                title={view === 'vscode' ? 'Back to the shared editor' : 'Open the workspace in VS Code (code-server)'}
              >
                <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
                  <path d="M11.5 1.5 5 7.5 2.5 5.5 1.5 6v4l1 .5L5 8.5l6.5 6 3-1.5v-10l-3-1.5ZM11.5 5v6L8 8l3.5-3Z" fill="currentColor" />
                </svg>
                {view === 'vscode' ? 'Back to editor' : 'Open in VS Code'}
              </button>
            )}
          </div>
        </div>
        <div className="workspace-center">
          <div
            className="workspace-editors"
            id="workspace-editor"
            role="tabpanel"
            aria-labelledby={activeIndex >= 0 ? `wtab-${activeIndex}` : undefined}
            hidden={view !== 'editor'}
          >
            {tabs.map((path) => (
              <FileEditor
                key={path}
                path={path}
                editable={byPath.get(path)?.editable ?? true}
                active={path === active}
                readOnly={ended}
                onCursor={reportCursor}
              />
            ))}
            {tabs.length === 0 && (
              <div className="workspace-empty">
                <h2>No file open</h2>
                <p className="muted">Pick a file in the Explorer on the left (arrow keys and Enter work there too).</p>
                <p className="muted">
                  {modKey}+` shows or hides the terminal and app panel.
                </p>
              </div>
            )}
          </div>
          {vscodeOpened && <VsCodeView status={status} visible={view === 'vscode'} />}
        </div>
        {(
          <BottomPanel
            hidden={!panelOpen}
            active={panelTab}
            onActive={setPanelTab}
            onClose={() => setPanelOpen(false)}
            height={panelHeight}
            onHeight={setPanelHeight}
            appBadge={panelTab === 'terminal' ? <AppStateBadge state={app?.state ?? null} error={app?.error} testId="app-state-summary" /> : undefined}
            terminal={
              <TerminalView
                watchOnly={role === 'interviewer'}
                ended={ended}
                visible={panelOpen && panelTab === 'terminal'}
                handleRef={terminalRef}
              />
            }
            app={
              <AppPanel
                status={status}
                onStatus={onStatus}
                visible={panelOpen && panelTab === 'app'}
                ended={ended}
              />
            }
          />
        )}
        {!panelOpen && (
          <button type="button" className="panel-reopen" onClick={togglePanel} data-testid="panel-reopen" title={`Show the panel (${modKey}+\`)`}>
            Terminal · App
          </button>
        )}
      </div>
    </div>
  );
}
