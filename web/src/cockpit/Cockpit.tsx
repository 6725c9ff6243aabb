import type { ReplayableDoc } from '../api/docNames';
import { memo, useCallback, useState, type ReactNode } from 'react';
import { ApiError } from '../api/client';
import type { Language } from '../api/sessions';
import { languageName as nameOf } from '../core/languages';
import { useSession } from '../core/SessionContext';
import { Spinner } from '../ui/Spinner';
import { ConfirmDialog } from '../ui/ConfirmDialog';
import { useEvents } from './events';
import { Notes } from './Notes';
import { Replay } from './Replay';
import { Scorecard } from './Scorecard';
import { saveBlob, wallClock } from '../ui/time';
import { Timeline } from './Timeline';
import './cockpit.css';

export interface CockpitProps {
  /** When the session was created (RFC 3339). */
  createdAt: string;
  endedAt: number | null;
  language: string;
  languages: Language[];
  /** The live view of a workspace's app, first. */
  appLive?: ReactNode;
  /** The Chaos Engine panel, for workspace sessions. */
  chaos?: ReactNode;
  /** A workspace's exercise notes for the interviewer. */
  exerciseNotes?: ReactNode;
  /** The replay rebuilds the pad's code; a workspace has no pad. */
  showReplay?: boolean;
  /** Replay this document instead of the pad (a workspace's active file), in this language. */
  replayDoc?: { doc: ReplayableDoc; language: string; label: string } | null;
}

/** The interviewer's panel: end and export, private notes, timeline, replay and scorecard. */
export const Cockpit = memo(function Cockpit({ createdAt, endedAt, language, languages, appLive, chaos, exerciseNotes, showReplay = true, replayDoc = null }: CockpitProps) {
  const languageName = useCallback((id: string) => nameOf(languages, id), [languages]);
  const [openedAt] = useState(() => Date.now());
  const startMs = Date.parse(createdAt) || openedAt;
  const { events, error: eventsError, refresh } = useEvents();
  const [jump, setJump] = useState<{ at: number; seq: number } | null>(null);
  const select = useCallback((at: number) => setJump((j) => ({ at, seq: (j?.seq ?? 0) + 1 })), []);

  return (
    <div className="cockpit">
      <div className="cockpit-actions">
        <EndSession endedAt={endedAt} onEnded={refresh} />
        <ExportReport />
      </div>
      {appLive && (
        <Section id="live" title="Live app">
          {appLive}
        </Section>
      )}
      {chaos && (
        <Section id="chaos" title="Chaos Engine">
          {chaos}
        </Section>
      )}
      {exerciseNotes && (
        <Section id="exercise" title="Exercise notes" startOpen={false}>
          {exerciseNotes}
        </Section>
      )}
      <Section id="notes" title="Private notes">
        <Notes startMs={startMs} />
      </Section>
      <Section id="timeline" title="Timeline">
        <Timeline
          events={events}
          error={eventsError}
          startMs={startMs}
          languageName={languageName}
          selectedAt={jump?.at ?? null}
          onSelect={select}
        />
      </Section>
      {(showReplay || replayDoc) && (
        <Section id="replay" title={replayDoc ? `Replay: ${replayDoc.label}` : 'Replay'}>
          <Replay
            language={replayDoc?.language ?? language}
            endedAt={endedAt}
            events={events}
            languageName={languageName}
            jump={jump}
            doc={replayDoc?.doc}
          />
        </Section>
      )}
      <Section id="scorecard" title="Scorecard">
        <Scorecard />
      </Section>
    </div>
  );
});

/** A collapsible part of the panel; all start open. */
function Section({ id, title, children, startOpen = true }: { id: string; title: string; children: ReactNode; startOpen?: boolean }) {
  const [open, setOpen] = useState(startOpen);
  const bodyId = `cockpit-${id}`;
  return (
    <section className="cockpit-section" aria-labelledby={`${bodyId}-h`}>
      <h2 className="cockpit-heading" id={`${bodyId}-h`}>
        <button type="button" aria-expanded={open} aria-controls={bodyId} onClick={() => setOpen((o) => !o)}>
          <svg viewBox="0 0 16 16" width="10" height="10" aria-hidden="true" className={open ? 'chev open' : 'chev'}>
            <path d="M5 3l5 5-5 5" fill="none" stroke="currentColor" strokeWidth="1.8" />
          </svg>
          {title}
        </button>
      </h2>
      <div id={bodyId} hidden={!open} className="cockpit-body">
        {children}
      </div>
    </section>
  );
}

function EndSession({ endedAt, onEnded }: { endedAt: number | null; onEnded: () => void }) {
  const { api } = useSession();
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  if (endedAt !== null) {
    return (
      <span className="cockpit-ended" title={new Date(endedAt).toLocaleString()}>
        Ended at {wallClock(endedAt)}
      </span>
    );
  }

  const confirm = () => {
    setBusy(true);
    setError(null);
    api.cockpit.end().then(
      () => {
        setBusy(false);
        setOpen(false);
        onEnded();
      },
      (err: unknown) => {
        setBusy(false);
        // Ended meanwhile (another tab): the page follows the document.
        if (err instanceof ApiError && err.status === 409) {
          setOpen(false);
          onEnded();
        } else setError(`The session could not be ended: ${(err as Error).message}`);
      },
    );
  };

  return (
    <>
      <button
        type="button"
        className="btn btn-small btn-danger"
        data-testid="end-session"
        onClick={() => {
          setError(null);
          setOpen(true);
        }}
        title="End the session for everyone"
      >
        End session
      </button>
      <ConfirmDialog
        open={open}
        title="End this session?"
        confirmLabel="End session"
        busy={busy}
        error={error}
        onConfirm={confirm}
        onCancel={() => setOpen(false)}
        testId="end-session-dialog"
      >
        <p>The code becomes read-only for everyone and code runs stop. This cannot be undone.</p>
        <p className="muted">Your notes, the replay, the scorecard and the report stay available.</p>
      </ConfirmDialog>
    </>
  );
}

function ExportReport() {
  const { id: sessionId, api } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const exportIt = () => {
    setBusy(true);
    setError(null);
    api.cockpit.report().then(
      (blob) => {
        setBusy(false);
        saveBlob(blob, `interview-${sessionId}.html`);
      },
      (err: Error) => {
        setBusy(false);
        setError(`Export failed: ${err.message}`);
      },
    );
  };
  return (
    <>
      <button
        type="button"
        className="btn btn-small"
        data-testid="export-report"
        onClick={exportIt}
        disabled={busy}
        title="Download the session as one HTML file that opens offline"
      >
        {busy ? (
          <Spinner size={12} />
        ) : (
          <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
            <path d="M8 2v8M4.5 6.5 8 10l3.5-3.5M3 13h10" fill="none" stroke="currentColor" strokeWidth="1.5" />
          </svg>
        )}
        Export report
      </button>
      {error && (
        <p className="cockpit-error cockpit-actions-error" role="alert">
          {error}
        </p>
      )}
    </>
  );
}
