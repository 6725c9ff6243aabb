import { useId, useState } from 'react';
import type { Language, Role } from '../../api/sessions';
import { copyText } from '../../ui/clipboard';
import { CopyButton } from '../../ui/CopyButton';
import { shortcut } from '../../ui/shortcuts';
import { ConnectionBadge } from './ConnectionBadge';
import { ParticipantsList } from './ParticipantsList';
import type { CollabStatus } from '../../core/useCollab';
import type { ParticipantView } from './useParticipants';
import { languageLabel } from '../../core/languages';

export interface HeaderProps {
  title: string;
  role: Role;
  participants: ParticipantView[];
  status: CollabStatus;
  /** The pad's language picker; a workspace has none (its files say their language). */
  languages?: Language[];
  language?: string;
  languagePending?: boolean;
  onLanguage?: (id: string) => void;
  /** A short label after the title (a workspace's exercise). */
  subtitle?: string | null;
  /** The session has ended: the language can no longer change. */
  locked?: boolean;
  candidateUrl: string | null;
  /** Replaces the candidate link (interviewer, open session); resolves to the new one. */
  onNewCandidateLink?: () => Promise<string>;
  sidebarOpen: boolean;
  onToggleSidebar: () => void;
}

export function Header(props: HeaderProps) {
  const langId = useId();
  const { languages = [], language = '', onLanguage } = props;
  // The doc may name a language this server's list lacks; still show it.
  const options = languages.some((l) => l.id === language) ? languages : [...languages, { id: language, name: language }];

  return (
    <header className="ide-header">
      <a className="header-logo" href="/" title="interview-ide: create a new session">
        <img src="/favicon.svg" alt="interview-ide home" width={18} height={18} />
      </a>
      <h1 className="session-title" title={props.title}>
        {props.title}
      </h1>
      {props.subtitle && (
        <span className="session-subtitle" data-testid="session-exercise" title={props.subtitle}>
          {props.subtitle}
        </span>
      )}
      <span className={`role-badge ${props.role}`} data-testid="role-badge">
        {props.role === 'interviewer' ? 'Interviewer' : 'Candidate'}
      </span>
      <ParticipantsList participants={props.participants} />
      <div className="header-actions">
        {onLanguage && (
          <>
            <label htmlFor={langId} className="header-label">
              Language
            </label>
            <select
              id={langId}
              className="language-picker"
              data-testid="language-picker"
              value={language}
              aria-busy={props.languagePending}
              onChange={(e) => onLanguage(e.target.value)}
              disabled={props.locked}
              title={props.locked ? 'The session has ended' : 'Language of the pad (changes it for everyone)'}
            >
              {options.map((l) => (
                <option key={l.id} value={l.id}>
                  {languageLabel(l)}
                </option>
              ))}
            </select>
          </>
        )}
        <ConnectionBadge status={props.status} />
        {props.role === 'interviewer' && props.candidateUrl && (
          <CopyButton value={props.candidateUrl} label="Copy candidate link" title="Copy the link to send to the candidate" />
        )}
        {props.onNewCandidateLink && <NewCandidateLink make={props.onNewCandidateLink} />}
        <button
          type="button"
          className="icon-btn"
          onClick={props.onToggleSidebar}
          aria-expanded={props.sidebarOpen}
          aria-controls="ide-sidebar"
          aria-label={props.sidebarOpen ? 'Hide side panel' : 'Show side panel'}
          title={`${props.sidebarOpen ? 'Hide' : 'Show'} side panel (${shortcut.toggleSidebar})`}
        >
          <svg viewBox="0 0 16 16" width="16" height="16" aria-hidden="true">
            <rect x="1.5" y="2.5" width="13" height="11" rx="1" fill="none" stroke="currentColor" />
            <rect x="10" y="3" width="4" height="10" fill={props.sidebarOpen ? 'currentColor' : 'none'} />
          </svg>
        </button>
      </div>
    </header>
  );
}

/**
 * Replaces the candidate link: for a link that reached the wrong person, or a candidate who must
 * not come back. Whoever holds the old link is disconnected at once; the new one is copied.
 */
function NewCandidateLink({ make }: { make: () => Promise<string> }) {
  const [state, setState] = useState<'idle' | 'busy' | 'copied' | 'made' | 'failed'>('idle');
  const [error, setError] = useState('');
  const replace = async () => {
    if (!window.confirm('Make a new candidate link? The current one stops working, and whoever opened it is disconnected at once.')) return;
    setState('busy');
    try {
      const url = await make();
      setState((await copyText(url)) ? 'copied' : 'made');
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      setState('failed');
    }
  };
  const label = { idle: 'New candidate link', busy: 'Making a new link…', copied: '✓ New link copied', made: 'New link made', failed: 'New link failed' }[state];
  return (
    <button
      type="button"
      className="btn btn-small btn-ghost"
      onClick={() => void replace()}
      disabled={state === 'busy'}
      data-testid="new-candidate-link"
      title={state === 'failed' ? error : 'Replace the candidate link: the current one stops working and its holder is disconnected'}
    >
      <span aria-live="polite">{label}</span>
    </button>
  );
}
