import { useCallback, useEffect, useMemo, useState } from 'react';
import { useDocumentTitle, useSidebarToggle } from '../session/useSessionChrome';
import { workspaceApi, type Participant, type Session, type SessionWithEnd } from '../api';
import { ChaosPanel } from '../chaos/ChaosPanel';
import { ExerciseNotes } from './ExerciseNotes';
import { Cockpit, EndedBanner, useSessionEnded } from '../cockpit';
import type { CursorInfo } from '../editor/CodeEditor';
import { findRecent } from '../home/recentSessions';
import { useLanguages } from '../languages';
import { Header } from '../session/Header';
import { Sidebar } from '../session/Sidebar';
import { StatusBar } from '../session/StatusBar';
import { useActivityReport } from '../session/useActivityReport';
import { useCollab } from '../session/useCollab';
import { useParticipants } from '../session/useParticipants';
import { AppStateBadge } from './AppPanel';
import { fileType } from './fileTypes';
import { useFiles } from './useFiles';
import { useWorkspace } from './useWorkspace';
import { WorkspaceView } from './WorkspaceView';

interface Props {
  session: Session;
  participant: Participant;
  token: string | null;
}

/**
 * A workspace session: the pad's header, presence, side panel (assistant; cockpit and Chaos Engine
 * for the interviewer) and status bar around a project view instead of the pad's single editor.
 */
export default function WorkspaceSession({ session, participant, token }: Props) {
  // The `main` doc still carries presence, the end of the session and the assistant's mode.
  const { collab, status } = useCollab(session.id, token, participant);
  const awareness = collab?.provider.awareness ?? null;
  const participants = useParticipants(session.id, token, session.participants, awareness, participant.id, status.state === 'connected');
  const { languages } = useLanguages();
  const endedAt = useSessionEnded(collab?.doc ?? null, (session as SessionWithEnd).ended_at);
  const ended = endedAt !== null;
  const files = useFiles(session.id, token);
  const workspace = useWorkspace(session.id, token, ended);
  const [cursor, setCursor] = useState<{ path: string; cursor: CursorInfo } | null>(null);
  const [activeFile, setActiveFile] = useState<string | null>(null);
  useActivityReport(session.id, token, session.role, participant.id, ended);

  const [sidebarOpen, setSidebarOpen] = useSidebarToggle();
  useDocumentTitle(session.title);

  const candidateUrl = useMemo(() => (session.role === 'interviewer' ? (findRecent(session.id)?.candidateUrl ?? null) : null), [session]);
  const onActiveFile = useCallback((p: string | null) => setActiveFile(p), []);
  const type = activeFile ? fileType(activeFile) : null;
  // The interviewer replays the file on screen.
  const replayDoc = useMemo(
    () => (activeFile && type ? { doc: `file:${activeFile}`, language: type.language, label: activeFile } : null),
    [activeFile, type?.language],
  );
  const app = workspace.status?.app;
  const interviewer = session.role === 'interviewer';

  // The header names the exercise by its title once the list is in.
  const [exerciseTitle, setExerciseTitle] = useState<string | null>(null);
  useEffect(() => {
    if (!session.exercise) return;
    let alive = true;
    workspaceApi.exercises().then(
      (list) => alive && setExerciseTitle(list.find((x) => x.id === session.exercise)?.title ?? null),
      () => {},
    );
    return () => {
      alive = false;
    };
  }, [session.exercise]);

  return (
    <div className="ide" data-kind="workspace">
      <Header
        title={session.title}
        subtitle={session.exercise ? `Workspace · ${exerciseTitle ?? session.exercise}` : 'Workspace'}
        role={session.role}
        participants={participants}
        status={status}
        locked={ended}
        candidateUrl={candidateUrl}
        sidebarOpen={sidebarOpen}
        onToggleSidebar={() => setSidebarOpen((o) => !o)}
      />
      <div className="ide-body">
        <main className="editor-area">
          {ended && <EndedBanner endedAt={endedAt} />}
          <WorkspaceView
            openFirst={session.exercise_info?.open_first}
            sessionId={session.id}
            token={token}
            participant={participant}
            role={session.role}
            files={files}
            status={workspace.status}
            onStatus={workspace.setStatus}
            awareness={awareness}
            ended={ended}
            onCursor={setCursor}
            onActiveFile={onActiveFile}
          />
        </main>
        {sidebarOpen && (
          <Sidebar
            role={session.role}
            sessionId={session.id}
            token={token}
            doc={collab?.doc ?? null}
            interviewerPanel={
              interviewer ? (
                <Cockpit
                  sessionId={session.id}
                  token={token}
                  createdAt={session.created_at}
                  endedAt={endedAt}
                  language={session.language}
                  languages={languages}
                  showReplay={false}
                  replayDoc={replayDoc}
                  chaos={<ChaosPanel sessionId={session.id} token={token} appState={app?.state ?? null} />}
                  exerciseNotes={<ExerciseNotes sessionId={session.id} token={token} />}
                />
              ) : undefined
            }
          />
        )}
      </div>
      <StatusBar
        status={status}
        languageName={type?.name ?? ''}
        cursor={cursor && cursor.path === activeFile ? cursor.cursor : null}
        tabSize={type && ['javascript', 'typescript'].includes(type.language) ? 2 : 4}
        notice={workspace.error ?? status.lastCloseReason}
        left={
          <span className="status-item">
            <AppStateBadge state={app?.state ?? null} error={app?.error} testId="status-app-state" />
          </span>
        }
      />
    </div>
  );
}
