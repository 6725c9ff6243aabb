import { useEffect, useImperativeHandle, useLayoutEffect, useRef, type Ref } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import * as Y from 'yjs';
import { MonacoBinding } from 'y-monaco';
import { languageInfo, monaco } from './monaco';
import { useRemoteCursorStyles } from './remoteCursors';
import { createPerUserUndo, type PerUserUndo, type UndoState } from './undo';

export interface EditorHandle {
  undo: () => void;
  redo: () => void;
  focus: () => void;
}

export interface CursorInfo {
  line: number;
  column: number;
  selected: number;
}

interface Props {
  ytext: Y.Text;
  awareness: Awareness;
  language: string;
  readOnly: boolean;
  ariaLabel: string;
  handleRef?: Ref<EditorHandle>;
  onCursor?: (c: CursorInfo) => void;
  onUndoState?: (s: UndoState) => void;
}

const TWO_SPACE = new Set(['javascript', 'typescript', 'ruby', 'scala']);

/** Monaco bound to a shared Y.Text, with remote cursors and per-user undo. */
export function CodeEditor({ ytext, awareness, language, readOnly, ariaLabel, handleRef, onCursor, onUndoState }: Props) {
  const containerRef = useRef<HTMLDivElement>(null);
  const editorRef = useRef<monaco.editor.IStandaloneCodeEditor | null>(null);
  const undoRef = useRef<PerUserUndo | null>(null);
  // Callbacks change identity on every render; the editor is created once per document.
  const cb = useRef({ onCursor, onUndoState });
  useLayoutEffect(() => {
    cb.current = { onCursor, onUndoState };
  });
  const initial = useRef({ language, readOnly, ariaLabel });

  useRemoteCursorStyles(awareness);

  useImperativeHandle(handleRef, () => ({
    undo: () => undoRef.current?.undo(),
    redo: () => undoRef.current?.redo(),
    focus: () => editorRef.current?.focus(),
  }));

  useEffect(() => {
    const container = containerRef.current!;
    const { monacoId } = languageInfo(initial.current.language);
    const model = monaco.editor.createModel('', monacoId);
    // The shared text is LF-only; pasted CRLF is normalised by the model.
    model.setEOL(monaco.editor.EndOfLineSequence.LF);

    const editor = monaco.editor.create(container, {
      model,
      theme: 'iide-dark',
      automaticLayout: true,
      minimap: { enabled: false },
      fontSize: 14,
      lineHeight: 20,
      fontFamily: "'JetBrains Mono', 'Fira Code', 'Cascadia Code', Menlo, Consolas, 'DejaVu Sans Mono', monospace",
      // Room above line 1 for a remote cursor's name label.
      padding: { top: 16, bottom: 8 },
      scrollBeyondLastLine: false,
      renderWhitespace: 'selection',
      smoothScrolling: true,
      tabSize: 4,
      readOnly: initial.current.readOnly,
      ariaLabel: initial.current.ariaLabel,
      fixedOverflowWidgets: true,
    });
    editorRef.current = editor;

    const binding = new MonacoBinding(ytext, model, new Set([editor]), awareness);
    const undo = createPerUserUndo(ytext, binding, editor, (s) => cb.current.onUndoState?.(s));
    undoRef.current = undo;

    const reportCursor = () => {
      const sel = editor.getSelection();
      if (!sel) return;
      const pos = sel.getPosition();
      cb.current.onCursor?.({
        line: pos.lineNumber,
        column: pos.column,
        selected: model.getValueInRange(sel).length,
      });
    };
    reportCursor();
    // y-monaco shares the caret on every selection change, including the moves that other
    // people's typing causes. Only a caret the person placed (the editor has focus) is shared,
    // so an idle participant's caret is not dragged along someone else's typing.
    const shareOnlyFocused = () => {
      if (!editor.hasTextFocus()) awareness.setLocalStateField('selection', null);
    };
    shareOnlyFocused();
    const cursorSub = editor.onDidChangeCursorSelection(() => {
      shareOnlyFocused();
      reportCursor();
    });
    const blurSub = editor.onDidBlurEditorText(() => awareness.setLocalStateField('selection', null));
    // Focusing without moving the caret (Tab into the editor) shares it, in y-monaco's format.
    const focusSub = editor.onDidFocusEditorText(() => {
      const sel = editor.getSelection();
      if (!sel) return;
      const at = (p: { lineNumber: number; column: number }) => Y.createRelativePositionFromTypeIndex(ytext, model.getOffsetAt(p));
      awareness.setLocalStateField('selection', { anchor: at(sel.getStartPosition()), head: at(sel.getEndPosition()) });
    });

    return () => {
      cursorSub.dispose();
      blurSub.dispose();
      focusSub.dispose();
      undo.destroy();
      binding.destroy();
      editor.dispose();
      model.dispose();
      editorRef.current = null;
      undoRef.current = null;
      // y-monaco keeps our selection in the awareness; it is stale once the editor is gone.
      awareness.setLocalStateField('selection', null);
    };
  }, [ytext, awareness]);

  useEffect(() => {
    const model = editorRef.current?.getModel();
    if (!model) return;
    const { monacoId } = languageInfo(language);
    monaco.editor.setModelLanguage(model, monacoId);
    const size = TWO_SPACE.has(monacoId) ? 2 : 4;
    model.updateOptions({ tabSize: size, indentSize: size, insertSpaces: true });
  }, [language]);

  useEffect(() => {
    editorRef.current?.updateOptions({ readOnly, ariaLabel });
  }, [readOnly, ariaLabel]);

  return <div className="code-editor" ref={containerRef} data-testid="editor" />;
}
