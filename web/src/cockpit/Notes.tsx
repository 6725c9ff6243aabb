import { NOTES_TEXT } from '../api/docNames';
import { useEffect, useRef, useState } from 'react';
import { MonacoBinding } from 'y-monaco';
import { monaco } from '../editor/monaco';
import 'monaco-editor/editor/contrib/placeholderText/browser/placeholderText.contribution';
import { useSession } from '../core/SessionContext';
import { connectDoc } from '../core/useCollab';
import { Spinner } from '../ui/Spinner';
import { sessionClock } from '../ui/time';

interface Props {
  startMs: number;
}

type State = 'connecting' | 'ready' | 'offline';

/** The interviewer's private notes: the `notes` doc, which the server refuses to candidates. */
export function Notes({ startMs }: Props) {
  const session = useSession();
  const hostRef = useRef<HTMLDivElement>(null);
  const editorRef = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const [state, setState] = useState<State>('connecting');

  useEffect(() => {
    const { doc, provider } = connectDoc(session, 'notes');
    const model = monaco.editor.createModel('', 'plaintext');
    model.setEOL(monaco.editor.EndOfLineSequence.LF);
    const editor = monaco.editor.create(hostRef.current!, {
      model,
      theme: 'iide-dark',
      automaticLayout: true,
      minimap: { enabled: false },
      lineNumbers: 'off',
      glyphMargin: false,
      folding: false,
      lineDecorationsWidth: 6,
      wordWrap: 'on',
      fontSize: 13,
      lineHeight: 19,
      fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
      renderLineHighlight: 'none',
      scrollBeyondLastLine: false,
      overviewRulerLanes: 0,
      scrollbar: { verticalScrollbarSize: 8 },
      padding: { top: 6, bottom: 6 },
      readOnly: true,
      placeholder: 'Private notes: only you see them. Mark time adds the session time.',
      ariaLabel: 'Private notes, never shown to the candidate',
      fixedOverflowWidgets: true,
    });
    editorRef.current = editor;
    const binding = new MonacoBinding(doc.getText(NOTES_TEXT), model, new Set([editor]), provider.awareness);

    let everSynced = false;
    const offlineTimer = window.setTimeout(() => !everSynced && setState('offline'), 6000);
    const onSync = (synced: boolean) => {
      if (synced) {
        everSynced = true;
        editor.updateOptions({ readOnly: false });
        setState('ready');
      }
    };
    const onStatus = ({ status }: { status: string }) => {
      if (status === 'disconnected' && everSynced) setState('offline');
      if (status === 'connected' && everSynced) setState('ready');
    };
    provider.on('sync', onSync);
    provider.on('status', onStatus);

    return () => {
      window.clearTimeout(offlineTimer);
      provider.off('sync', onSync);
      provider.off('status', onStatus);
      binding.destroy();
      editor.dispose();
      model.dispose();
      provider.destroy();
      doc.destroy();
      editorRef.current = null;
    };
  }, [session]);

  const mark = () => {
    const editor = editorRef.current;
    const model = editor?.getModel();
    if (!editor || !model) return;
    const sel = editor.getSelection() ?? new monaco.Selection(1, 1, 1, 1);
    const stamp = `[${sessionClock(Date.now(), startMs)}] `;
    editor.executeEdits('notes-mark', [{ range: sel, text: stamp, forceMoveMarkers: true }]);
    editor.pushUndoStop();
    editor.focus();
  };

  return (
    <div className="notes">
      <div className="notes-editor" data-testid="notes" ref={hostRef} />
      <div className="cockpit-toolbar">
        <button
          type="button"
          className="btn btn-small"
          data-testid="notes-mark"
          onClick={mark}
          disabled={state === 'connecting'}
          title="Insert the session time (mm:ss) at the cursor"
        >
          <svg viewBox="0 0 16 16" width="12" height="12" aria-hidden="true">
            <circle cx="8" cy="8" r="6" fill="none" stroke="currentColor" strokeWidth="1.4" />
            <path d="M8 4.5V8l2.5 1.5" fill="none" stroke="currentColor" strokeWidth="1.4" />
          </svg>
          Mark time
        </button>
        <span className="muted small" role="status">
          {state === 'connecting' ? (
            <>
              <Spinner size={10} /> Loading notes…
            </>
          ) : state === 'offline' ? (
            'Notes offline, retrying…'
          ) : (
            'Only you see these notes'
          )}
        </span>
      </div>
    </div>
  );
}
