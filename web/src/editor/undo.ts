import * as Y from 'yjs';
import type { MonacoBinding } from 'y-monaco';
import { monaco } from './monaco';

export interface UndoState {
  canUndo: boolean;
  canRedo: boolean;
}

export interface PerUserUndo {
  undo: () => void;
  redo: () => void;
  destroy: () => void;
}

interface RelSelection {
  anchor: Y.RelativePosition;
  head: Y.RelativePosition;
}

/**
 * Undo/redo of this user's own edits only. Monaco's undo stack also holds the edits that y-monaco
 * applies for other people, so Ctrl+Z there would revert a colleague's typing; a Y.UndoManager that
 * tracks only the binding's origin does not. The cursor goes back to where the undone edit was.
 */
export function createPerUserUndo(
  ytext: Y.Text,
  binding: MonacoBinding,
  editor: monaco.editor.IStandaloneCodeEditor,
  onState: (s: UndoState) => void,
): PerUserUndo {
  const doc = ytext.doc!;
  const model = editor.getModel()!;
  const manager = new Y.UndoManager(ytext, { trackedOrigins: new Set([binding]) });

  // The last cursor seen, as Yjs relative positions so it survives concurrent edits.
  let lastSelection: RelSelection | null = null;
  const captureSelection = () => {
    const sel = editor.getSelection();
    if (!sel) return;
    const anchor = model.getOffsetAt(sel.getSelectionStart());
    const head = model.getOffsetAt(sel.getPosition());
    lastSelection = {
      anchor: Y.createRelativePositionFromTypeIndex(ytext, anchor),
      head: Y.createRelativePositionFromTypeIndex(ytext, head),
    };
  };
  captureSelection();
  const selListener = editor.onDidChangeCursorSelection(captureSelection);

  const report = () => onState({ canUndo: manager.canUndo(), canRedo: manager.canRedo() });

  // A new stack item is added before Monaco moves the cursor, so lastSelection is where the
  // cursor was before the edit (for undo items) or before the undo (for redo items).
  manager.on('stack-item-added', (event: { stackItem: { meta: Map<string, unknown> } }) => {
    if (lastSelection) event.stackItem.meta.set('selection', lastSelection);
    report();
  });
  manager.on('stack-item-popped', (event: { stackItem: { meta: Map<string, unknown> } }) => {
    const rel = event.stackItem.meta.get('selection') as RelSelection | undefined;
    if (rel) {
      const a = Y.createAbsolutePositionFromRelativePosition(rel.anchor, doc);
      const h = Y.createAbsolutePositionFromRelativePosition(rel.head, doc);
      if (a && h) {
        const start = model.getPositionAt(a.index);
        const end = model.getPositionAt(h.index);
        editor.setSelection(new monaco.Selection(start.lineNumber, start.column, end.lineNumber, end.column));
        editor.revealPositionInCenterIfOutsideViewport(end);
      }
    }
    report();
  });
  manager.on('stack-cleared', report);
  report();

  // A read-only editor (not synced yet, or the session has ended) changes nothing, undo included.
  const readOnly = () => editor.getOption(monaco.editor.EditorOption.readOnly);
  const undo = () => {
    if (readOnly()) return;
    manager.undo();
    editor.focus();
  };
  const redo = () => {
    if (readOnly()) return;
    manager.redo();
    editor.focus();
  };

  // Override Monaco's own undo/redo keys with the per-user manager.
  const { KeyMod, KeyCode } = monaco;
  editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyZ, undo);
  editor.addCommand(KeyMod.CtrlCmd | KeyMod.Shift | KeyCode.KeyZ, redo);
  editor.addCommand(KeyMod.CtrlCmd | KeyCode.KeyY, redo);

  return {
    undo,
    redo,
    destroy: () => {
      selListener.dispose();
      manager.destroy();
    },
  };
}
