import type { ReactNode } from 'react';
import type { CursorInfo } from '../../editor/CodeEditor';
import { shortcut } from '../../ui/shortcuts';
import type { CollabStatus } from '../../core/useCollab';

export interface StatusBarProps {
  status: CollabStatus;
  languageName: string;
  cursor: CursorInfo | null;
  tabSize: number;
  notice: string | null;
  /** What the run panel is doing, in a few words (pads). */
  run?: string;
  /** Items shown first, on the left (a workspace's app state). */
  left?: ReactNode;
}

/** VS Code-style status bar, under the run panel. */
export function StatusBar({ status, languageName, cursor, tabSize, notice, run, left }: StatusBarProps) {
  return (
    <footer className={`status-bar ${status.state}`} aria-label="Status bar">
      <div className="status-left">
        {left}
        {run !== undefined && (
          <span className="status-item" title={`Run the code: ${shortcut.run}`}>
            ▶ {run}
          </span>
        )}
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
