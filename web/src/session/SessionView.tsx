import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useDocumentTitle, useSidebarToggle } from './useSessionChrome';
import type { Session, SessionWithEnd } from '../api/sessions';
import { CodeEditor, type CursorInfo, type EditorHandle } from '../editor/CodeEditor';
import { languageInfo } from '../editor/monaco';
import type { UndoState } from '../editor/undo';
import { useActivityReport } from './useActivityReport';
import { findRecent } from '../home/recentSessions';
import { languageName, useLanguages } from '../languages';
import { Cockpit, EndedBanner, useSessionEnded } from '../cockpit';
import { RunPanel } from '../run/RunPanel';
import { useRunsDoc } from '../run/useRunsDoc';
import { usePolicy } from '../run/usePolicy';
import { useRunner } from '../run/useRunner';
import { shortcut } from '../ui/shortcuts';
import { Spinner } from '../ui/Spinner';
import { Header } from './Header';
import { Sidebar } from './Sidebar';
import { StatusBar } from './StatusBar';
import { useCollab } from './useCollab';
import { useParticipants } from './useParticipants';
import { useSessionLanguage } from './useSessionLanguage';

interface Props {
  session: Session;
}

/** The live session: header, shared editor, side panel and status bar. */
export function SessionView({ session }: Props) {
  const { collab, status } = useCollab();
  const awareness = collab?.provider.awareness ?? null;
  const participants = useParticipants(session.participants, awareness, status.state === 'connected');
  const { languages } = useLanguages();

  const [notice, setNotice] = useState<string | null>(null);
  const noticeTimer = useRef<number | undefined>(undefined);
  const notify = useCallback((msg: string) => {
    setNotice(msg);
    window.clearTimeout(noticeTimer.current);
    noticeTimer.current = window.setTimeout(() => setNotice(null), 6000);
  }, []);
  useEffect(() => () => window.clearTimeout(noticeTimer.current), []);

  const lang = useSessionLanguage(collab?.doc ?? null, session.language, notify);
  const info = languageInfo(lang.language);
  const endedAt = useSessionEnded(collab?.doc ?? null, (session as SessionWithEnd).ended_at);

  const [cursor, setCursor] = useState<CursorInfo | null>(null);
  const [undoState, setUndoState] = useState<UndoState>({ canUndo: false, canRedo: false });
  const editorRef = useRef<EditorHandle>(null);

  const [sidebarOpen, setSidebarOpen] = useSidebarToggle();
  useDocumentTitle(session.title);

  // The candidate link is known only to the browser that created the session.
  const candidateUrl = useMemo(() => (session.role === 'interviewer' ? (findRecent(session.id)?.candidateUrl ?? null) : null), [session]);

  const ytext = useMemo(() => collab?.doc.getText('code') ?? null, [collab]);
  const langName = languageName(languages, lang.language);
  const tabSize = ['javascript', 'typescript', 'ruby', 'scala'].includes(info.monacoId) ? 2 : 4;

  const { policy, setPolicy } = usePolicy(collab?.doc ?? null, session.policy, notify);
  const { runsDoc, synced: runsSynced } = useRunsDoc();
  const runner = useRunner({
    language: lang.language,
    languageName: langName,
    code: ytext,
    policy,
    runsDoc,
    synced: runsSynced,
    ended: endedAt !== null,
  });
  useActivityReport(endedAt !== null);

  return (
    <div className="ide">
      <Header
        title={session.title}
        role={session.role}
        participants={participants}
        status={status}
        languages={languages}
        language={lang.language}
        languagePending={lang.pending}
        onLanguage={lang.setLanguage}
        locked={endedAt !== null}
        candidateUrl={candidateUrl}
        sidebarOpen={sidebarOpen}
        onToggleSidebar={() => setSidebarOpen((o) => !o)}
      />
      <div className="ide-body">
        <main className="editor-area">
          {endedAt !== null && <EndedBanner endedAt={endedAt} />}
          <div className="editor-tabs">
            <span className="editor-tab" aria-current="page">
              <span className={`file-icon lang-${info.monacoId}`} aria-hidden="true" />
              main.{info.ext}
            </span>
            <div className="editor-tools">
              <button
                type="button"
                className="icon-btn"
                onClick={() => editorRef.current?.undo()}
                disabled={!undoState.canUndo || endedAt !== null}
                aria-label="Undo your last edit"
                title={`Undo your last edit (${shortcut.undo}); others' edits are kept`}
              >
                <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
                  <path d="M5 3 2 6l3 3M2.5 6H10a4 4 0 0 1 0 8H7" fill="none" stroke="currentColor" strokeWidth="1.4" />
                </svg>
              </button>
              <button
                type="button"
                className="icon-btn"
                onClick={() => editorRef.current?.redo()}
                disabled={!undoState.canRedo || endedAt !== null}
                aria-label="Redo"
                title={`Redo (${shortcut.redo})`}
              >
                <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
                  <path d="M11 3l3 3-3 3M13.5 6H6a4 4 0 0 0 0 8h3" fill="none" stroke="currentColor" strokeWidth="1.4" />
                </svg>
              </button>
            </div>
          </div>
          <div className="editor-host">
            {ytext && awareness && (
              <CodeEditor
                ytext={ytext}
                awareness={awareness}
                language={lang.language}
                readOnly={!status.everSynced || endedAt !== null}
                ariaLabel={`Shared code editor, ${langName}. Press ${shortcut.tabFocus} to make Tab move focus.`}
                handleRef={editorRef}
                onCursor={setCursor}
                onUndoState={setUndoState}
              />
            )}
            {!status.everSynced && (
              <div className="editor-loading" role="status" aria-live="polite">
                <Spinner size={22} />
                <span>{status.state === 'offline' ? 'Cannot reach the session. Retrying…' : 'Loading the code…'}</span>
              </div>
            )}
          </div>
          <RunPanel
            runner={runner}
            role={session.role}
            policy={policy}
            onPolicy={setPolicy}
            fileName={`main.${info.ext}`}
            languageNames={(id) => languageName(languages, id)}
          />
        </main>
        {sidebarOpen && (
          <Sidebar
            doc={collab?.doc ?? null}
            interviewerPanel={
              session.role === 'interviewer' ? (
                <Cockpit
                  createdAt={session.created_at}
                  endedAt={endedAt}
                  language={lang.language}
                  languages={languages}
                />
              ) : undefined
            }
          />
        )}
      </div>
      <StatusBar
        status={status}
        languageName={langName}
        cursor={cursor}
        tabSize={tabSize}
        notice={notice ?? status.lastCloseReason}
        run={runner.active ? (runner.active.phase === 'loading' ? 'Loading Python…' : runner.active.phase === 'input' ? 'Waiting for input' : 'Running…') : runner.blocked ? 'Run: off' : `Run: ${shortcut.run}`}
      />
    </div>
  );
}
