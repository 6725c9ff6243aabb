import { useEffect } from 'react';
import { useSession } from '../../core/SessionContext';

/** Pastes at least this long show on the interviewer's timeline. */
const LARGE_PASTE_CHARS = 200;
/** Shorter absences (alt-tab to read the link, a notification) are noise. */
const MIN_AWAY_MS = 2000;

/**
 * Tells the interviewer's timeline what the candidate's page notices: a large paste into the editor
 * and the window losing focus, with how long it was away (reported when it comes back).
 */
export function useActivityReport(ended: boolean) {
  const { api, role, participant } = useSession();
  const participantId = participant.id;
  useEffect(() => {
    if (role !== 'candidate' || ended) return;
    const report = (body: { kind: 'large_paste'; chars: number } | { kind: 'focus_lost'; duration_ms: number }) => {
      api.session.recordActivity(participantId, body).catch(() => {
        // The timeline is best effort: the session goes on whatever happens to this report.
      });
    };

    const onPaste = (e: ClipboardEvent) => {
      const target = e.target as Element | null;
      if (!target?.closest?.('[data-testid="editor"]')) return;
      const chars = e.clipboardData?.getData('text/plain').length ?? 0;
      if (chars >= LARGE_PASTE_CHARS) report({ kind: 'large_paste', chars });
    };

    let awaySince: number | null = null;
    const away = () => {
      if (awaySince === null) awaySince = Date.now();
    };
    const back = () => {
      if (awaySince === null) return;
      const ms = Date.now() - awaySince;
      awaySince = null;
      if (ms >= MIN_AWAY_MS) report({ kind: 'focus_lost', duration_ms: ms });
    };
    const onVisibility = () => (document.visibilityState === 'hidden' ? away() : back());

    document.addEventListener('paste', onPaste, true);
    window.addEventListener('blur', away);
    window.addEventListener('focus', back);
    document.addEventListener('visibilitychange', onVisibility);
    return () => {
      document.removeEventListener('paste', onPaste, true);
      window.removeEventListener('blur', away);
      window.removeEventListener('focus', back);
      document.removeEventListener('visibilitychange', onVisibility);
    };
  }, [api, role, participantId, ended]);
}
