import { PAD_TEXT } from '../../api/docNames';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import type { Session } from '../../api/sessions';
import { CodeEditor, type CursorInfo, type EditorHandle } from '../../editor/CodeEditor';
import { languageInfo } from '../../editor/monaco';
import type { UndoState } from '../../editor/undo';
import { languageName } from '../../core/languages';
import { QuestionPanel, useQuestion } from '../../questions/QuestionPanel';
import { runtimeName } from '../../run/registry';
import { RunPanel } from '../../run/RunPanel';
import { usePolicy } from '../../run/usePolicy';
import { useRunner } from '../../run/useRunner';
import { useRunsDoc } from '../../run/useRunsDoc';
import { shortcut } from '../../ui/shortcuts';
import { Spinner } from '../../ui/Spinner';
import { useSession } from '../../core/SessionContext';
import { SessionShell, useLiveSession } from './SessionShell';
import { useSessionLanguage } from './useSessionLanguage';

interface Props {
  session: Session;
}

/** A pad session: one shared editor and the run panel, in the session's frame. */
export function PadSession({ session }: Props) {
  const { role } = useSession();
  const live = useLiveSession(session);
  const { doc, awareness, status, endedAt, languages } = live;

  const [notice, setNotice] = useState<string | null>(null);
  const noticeTimer = useRef<number | undefined>(undefined);
  const notify = useCallback((msg: string) => {
    setNotice(msg);
    window.clearTimeout(noticeTimer.current);
    noticeTimer.current = window.setTimeout(() => setNotice(null), 6000);
  }, []);
  useEffect(() => () => window.clearTimeout(noticeTimer.current), []);

  const lang = useSessionLanguage(doc, session.language, notify);
  const info = languageInfo(lang.language);

  const [cursor, setCursor] = useState<CursorInfo | null>(null);
  const [undoState, setUndoState] = useState<UndoState>({ canUndo: false, canRedo: false });
  const editorRef = useRef<EditorHandle>(null);

  const ytext = useMemo(() => doc?.getText(PAD_TEXT) ?? null, [doc]);
  const langName = languageName(languages, lang.language);
  const tabSize = ['javascript', 'typescript', 'ruby', 'scala'].includes(info.monacoId) ? 2 : 4;

  const { policy, setPolicy } = usePolicy(doc, session.policy, notify);
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

  const question = useQuestion();
  const testsBlocked = endedAt !== null ? 'The session has ended.' : role === 'candidate' && !policy.execution_enabled ? 'Code execution is turned off by the interviewer.' : null;

  return (
    <SessionShell
      session={session}
      live={live}
      header={{ languages, language: lang.language, languagePending: lang.pending, onLanguage: lang.setLanguage }}
      cockpit={{ language: lang.language }}
      statusBar={{
        languageName: langName,
        cursor,
        tabSize,
        notice,
        run: runner.active ? (runner.active.phase === 'loading' ? `Loading ${runtimeName(lang.language)}…` : runner.active.phase === 'input' ? 'Waiting for input' : 'Running…') : runner.blocked ? 'Run: off' : `Run: ${shortcut.run}`,
      }}
    >
      <div className="pad-split">
      {question && <QuestionPanel question={question} role={role} language={lang.language} code={ytext} blocked={testsBlocked} />}
      <div className="pad-main">
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
        role={role}
        policy={policy}
        onPolicy={setPolicy}
        fileName={`main.${info.ext}`}
        languageNames={(id) => languageName(languages, id)}
      />
      </div>
      </div>
    </SessionShell>
  );
}
