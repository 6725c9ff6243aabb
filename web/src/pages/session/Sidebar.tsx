import { useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import type * as Y from 'yjs';
import { AssistantCockpit } from '../../assistant/AssistantCockpit';
import { ChatPanel } from '../../assistant/ChatPanel';
import { useSession } from '../../core/SessionContext';

type Tab = 'assistant' | 'interviewer';

/** Right-hand panel: the assistant for everyone, the interviewer's cockpit for interviewers only. */
interface SidebarProps {
  /** The session's `main` live document (code and `meta`), once connected. */
  doc: Y.Doc | null;
  /** The interviewer's cockpit (notes, timeline, replay, scorecard); rendered for interviewers only. */
  interviewerPanel: ReactNode;
}

export function Sidebar({ doc, interviewerPanel }: SidebarProps) {
  const { role } = useSession();
  const tabs: { id: Tab; label: string }[] = [
    ...(role === 'interviewer' ? [{ id: 'interviewer' as const, label: 'Interviewer' }] : []),
    { id: 'assistant', label: 'Assistant' },
  ];
  const [active, setActive] = useState<Tab>(tabs[0].id);
  const refs = useRef<Partial<Record<Tab, HTMLButtonElement | null>>>({});

  // Arrow keys move between tabs (WAI-ARIA tabs pattern).
  const onKeyDown = (e: KeyboardEvent) => {
    const i = tabs.findIndex((t) => t.id === active);
    let next = -1;
    if (e.key === 'ArrowRight') next = (i + 1) % tabs.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + tabs.length) % tabs.length;
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = tabs.length - 1;
    if (next < 0) return;
    e.preventDefault();
    setActive(tabs[next].id);
    refs.current[tabs[next].id]?.focus();
  };

  return (
    <aside className="sidebar" id="ide-sidebar" aria-label="Side panel">
      <div className="sidebar-tabs" role="tablist" aria-label="Side panel" onKeyDown={onKeyDown}>
        {tabs.map((t) => (
          <button
            key={t.id}
            ref={(el) => {
              refs.current[t.id] = el;
            }}
            type="button"
            role="tab"
            id={`tab-${t.id}`}
            aria-selected={active === t.id}
            aria-controls={`panel-${t.id}`}
            tabIndex={active === t.id ? 0 : -1}
            className="sidebar-tab"
            onClick={() => setActive(t.id)}
          >
            {t.label}
          </button>
        ))}
      </div>
      {/* Only the active panel is mounted; the interviewer panel never exists for candidates. */}
      {active === 'assistant' && (
        <section className="sidebar-panel" role="tabpanel" id="panel-assistant" aria-labelledby="tab-assistant">
          {role === 'candidate' ? (
            <ChatPanel doc={doc} />
          ) : (
            <AssistantCockpit doc={doc} />
          )}
        </section>
      )}
      {active === 'interviewer' && role === 'interviewer' && (
        <section
          className="sidebar-panel"
          role="tabpanel"
          id="panel-interviewer"
          aria-labelledby="tab-interviewer"
          data-testid="interviewer-panel"
        >
          {interviewerPanel}
          <AssistantCockpit doc={doc} />
        </section>
      )}
    </aside>
  );
}
