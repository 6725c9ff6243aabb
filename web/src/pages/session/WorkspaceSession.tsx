import { fileDoc } from '../../api/docNames';
import { useCallback, useEffect, useMemo, useState } from 'react';
import type { Session } from '../../api/sessions';
import { listExercises } from '../../api/workspace';
import { AppLive } from '../../chaos/AppLive';
import { ChaosPanel } from '../../chaos/ChaosPanel';
import type { CursorInfo } from '../../editor/CodeEditor';
import { SessionShell, useLiveSession } from './SessionShell';
import { AppStateBadge } from '../../workspace/AppPanel';
import { diskNotice } from '../../workspace/diskNotice';
import { ExerciseNotes } from '../../workspace/ExerciseNotes';
import { fileType } from '../../workspace/fileTypes';
import { useFiles } from '../../workspace/useFiles';
import { useWorkspace } from '../../workspace/useWorkspace';
import { WorkspaceView } from '../../workspace/WorkspaceView';

interface Props {
  session: Session;
}

/**
 * A workspace session: the project view (Explorer, editor tabs, terminal, app) in the session's
 * frame, with the Chaos Engine and the exercise's notes in the interviewer's cockpit.
 */
export default function WorkspaceSession({ session }: Props) {
  // The `main` doc still carries presence, the end of the session and the assistant's mode.
  const live = useLiveSession(session);
  const ended = live.endedAt !== null;
  const files = useFiles();
  const workspace = useWorkspace(ended);
  const [cursor, setCursor] = useState<{ path: string; cursor: CursorInfo } | null>(null);
  const [activeFile, setActiveFile] = useState<string | null>(null);
  const onActiveFile = useCallback((p: string | null) => setActiveFile(p), []);
  const type = activeFile ? fileType(activeFile) : null;
  const fileLanguage = type?.language;
  // The interviewer replays the file on screen.
  const replayDoc = useMemo(
    () => (activeFile && fileLanguage !== undefined ? { doc: fileDoc(activeFile), language: fileLanguage, label: activeFile } : null),
    [activeFile, fileLanguage],
  );
  const app = workspace.status?.app;

  // The header names the exercise by its title once the list is in.
  const [exerciseTitle, setExerciseTitle] = useState<string | null>(null);
  useEffect(() => {
    if (!session.exercise) return;
    let alive = true;
    listExercises().then(
      (list) => alive && setExerciseTitle(list.find((x) => x.id === session.exercise)?.title ?? null),
      () => {},
    );
    return () => {
      alive = false;
    };
  }, [session.exercise]);

  return (
    <SessionShell
      session={session}
      live={live}
      header={{ subtitle: session.exercise ? `Workspace · ${exerciseTitle ?? session.exercise}` : 'Workspace' }}
      cockpit={{
        language: session.language,
        showReplay: false,
        replayDoc,
        // Mounted only in the interviewer's cockpit: the candidate never fetches any of them.
        appLive: <AppLive />,
        chaos: <ChaosPanel appState={app?.state ?? null} />,
        exerciseNotes: <ExerciseNotes />,
      }}
      statusBar={{
        languageName: type?.name ?? '',
        cursor: cursor && cursor.path === activeFile ? cursor.cursor : null,
        tabSize: type && ['javascript', 'typescript'].includes(type.language) ? 2 : 4,
        notice: workspace.error ?? diskNotice(workspace.status),
        left: (
          <span className="status-item">
            <AppStateBadge state={app?.state ?? null} error={app?.error} testId="status-app-state" />
          </span>
        ),
      }}
    >
      <WorkspaceView
        files={files}
        status={workspace.status}
        onStatus={workspace.setStatus}
        awareness={live.awareness}
        ended={ended}
        onCursor={setCursor}
        onActiveFile={onActiveFile}
        openFirst={session.exercise_info?.open_first}
      />
    </SessionShell>
  );
}
