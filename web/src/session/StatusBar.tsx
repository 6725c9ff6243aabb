import type { CursorInfo } from '../editor/CodeEditor';
import { shortcut } from '../ui/shortcuts';
import type { CollabStatus } from './useCollab';

interface Props {
  status: CollabStatus;
  languageName: string;
  cursor: CursorInfo | null;
  tabSize: number;
  notice: string | null;
}

/** VS Code-style status bar. The Run panel (a later version) opens above it. */
export function StatusBar({ status, languageName, cursor, tabSize, notice }: Props) {
  return (
    <footer className={`status-bar ${status.state}`} aria-label="Status bar">
      <div className="status-left">
        <span className="status-item" title="Running code arrives in a later version">
          ▶ Run: coming soon
        </span>
        {notice && (
          <span className="status-item status-notice" role="alert">
            {notice}
          </span>
        )}
      </div>
      <div className="status-right">
        {cursor && (
          <span className="status-item">
            Ln {cursor.line}, Col {cursor.column}
            {cursor.selected > 0 && ` (${cursor.selected} selected)`}
          </span>
        )}
        <span className="status-item">Spaces: {tabSize}</span>
        <span className="status-item" title="Line endings are always LF">
          LF
        </span>
        <span className="status-item">{languageName}</span>
        <span className="status-item" title={`In the editor, ${shortcut.tabFocus} switches Tab between indenting and moving focus`}>
          Tab focus: {shortcut.tabFocus}
        </span>
      </div>
    </footer>
  );
}
