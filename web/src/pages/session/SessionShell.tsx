// The frame every live session shares, pad or workspace: header (title, role, participants,
// connection, candidate link, side panel toggle), the ended banner, the side panel (assistant; the
// cockpit for interviewers), the status bar, the tab title and the timeline's activity reports.
// Each kind of session provides only its main area and a few details of the frame.
import { useState, type ReactNode } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import type * as Y from 'yjs';
import type { Language, Session, SessionWithEnd } from '../../api/sessions';
import { Cockpit, EndedBanner, useSessionEnded, type CockpitProps } from '../../cockpit';
import { addRecent, findRecent } from '../home/recentSessions';
import { useLanguages } from '../../core/languages';
import { Header, type HeaderProps } from './Header';
import { useSession } from '../../core/SessionContext';
import { Sidebar } from './Sidebar';
import { StatusBar, type StatusBarProps } from './StatusBar';
import { useActivityReport } from './useActivityReport';
import { useCollab, type CollabStatus } from '../../core/useCollab';
import { useParticipants } from './useParticipants';
import { useDocumentTitle, useSidebarToggle } from './useSessionChrome';

/** What every session view reads from the `main` live document and the server. */
export interface LiveSession {
  /** The `main` doc (pad code, `meta`: language, policy, end, assistant mode), once connected. */
  doc: Y.Doc | null;
  /** Presence on the `main` doc: who is here, and (workspaces) who has which file open. */
  awareness: Awareness | null;
  status: CollabStatus;
  /** When the session ended (ms since the epoch), or null while it is open. */
  endedAt: number | null;
  languages: Language[];
}

/** Connects the session's `main` doc; call once per session view and hand the result to the shell. */
export function useLiveSession(session: Session): LiveSession {
  const { collab, status } = useCollab();
  const { languages } = useLanguages();
  const doc = collab?.doc ?? null;
  const endedAt = useSessionEnded(doc, (session as SessionWithEnd).ended_at);
  return { doc, awareness: collab?.provider.awareness ?? null, status, endedAt, languages };
}

interface Props {
  session: Session;
  live: LiveSession;
  /** The pad's language picker, or a workspace's subtitle. */
  header?: Pick<HeaderProps, 'subtitle' | 'languages' | 'language' | 'languagePending' | 'onLanguage'>;
  /** What the interviewer's cockpit shows beyond what every session has. */
  cockpit: Omit<CockpitProps, 'createdAt' | 'endedAt' | 'languages'>;
  /** The status bar's details; `notice` falls back to why the connection last closed. */
  statusBar: Omit<StatusBarProps, 'status'>;
  /** The main area: the pad's editor and run panel, or the workspace. */
  children: ReactNode;
}

export function SessionShell({ session, live, header, cockpit, statusBar, children }: Props) {
  const { role, api } = useSession();
  const { doc, awareness, status, endedAt, languages } = live;
  const ended = endedAt !== null;
  const participants = useParticipants(session.participants, awareness, status.state === 'connected');
  useActivityReport(ended);

  const [sidebarOpen, setSidebarOpen] = useSidebarToggle();
  useDocumentTitle(session.title);

  // The candidate link is known only to the browser that created the session (or made a new one).
  const [candidateUrl, setCandidateUrl] = useState(() => (role === 'interviewer' ? (findRecent(session.id)?.candidateUrl ?? null) : null));
  const newCandidateLink = async () => {
    const { candidate_url } = await api.session.newCandidateLink();
    const recent = findRecent(session.id);
    if (recent) addRecent({ ...recent, candidateUrl: candidate_url });
    setCandidateUrl(candidate_url);
    return candidate_url;
  };

  return (
    <div className="ide" data-kind={session.kind === 'workspace' ? 'workspace' : undefined}>
      <Header
        {...header}
        title={session.title}
        role={role}
        participants={participants}
        status={status}
        locked={ended}
        candidateUrl={candidateUrl}
        onNewCandidateLink={role === 'interviewer' && !ended ? newCandidateLink : undefined}
        sidebarOpen={sidebarOpen}
        onToggleSidebar={() => setSidebarOpen((o) => !o)}
      />
      <div className="ide-body">
        <main className="editor-area">
          {endedAt !== null && <EndedBanner endedAt={endedAt} />}
          {children}
        </main>
        {sidebarOpen && (
          <Sidebar
            doc={doc}
            interviewerPanel={
              role === 'interviewer' ? <Cockpit {...cockpit} createdAt={session.created_at} endedAt={endedAt} languages={languages} /> : undefined
            }
          />
        )}
      </div>
      <StatusBar {...statusBar} status={status} notice={statusBar.notice ?? status.lastCloseReason} />
    </div>
  );
}
