import { useRef, useState, type KeyboardEvent, type ReactNode, type PointerEvent as ReactPointerEvent } from 'react';
import { modKey } from '../ui/shortcuts';

export type PanelTab = 'terminal' | 'app';

interface Props {
  /** Hidden rather than unmounted: the terminal keeps its connection. */
  hidden: boolean;
  active: PanelTab;
  onActive: (t: PanelTab) => void;
  onClose: () => void;
  height: number;
  onHeight: (h: number) => void;
  /** Shown next to the tab names (the app's state). */
  appBadge?: ReactNode;
  terminal: ReactNode;
  app: ReactNode;
}

const TABS: { id: PanelTab; label: string }[] = [
  { id: 'terminal', label: 'Terminal' },
  { id: 'app', label: 'App' },
];

export const MIN_PANEL = 120;

/** VS Code's bottom panel: Terminal and App tabs, resizable from its top edge, hidden with Ctrl+`. */
export function BottomPanel({ hidden, active, onActive, onClose, height, onHeight, appBadge, terminal, app }: Props) {
  const refs = useRef<Partial<Record<PanelTab, HTMLButtonElement | null>>>({});
  const [dragging, setDragging] = useState(false);

  const onKeyDown = (e: KeyboardEvent) => {
    const i = TABS.findIndex((t) => t.id === active);
    let next = -1;
    if (e.key === 'ArrowRight') next = (i + 1) % TABS.length;
    else if (e.key === 'ArrowLeft') next = (i - 1 + TABS.length) % TABS.length;
    if (next < 0) return;
    e.preventDefault();
    onActive(TABS[next].id);
    refs.current[TABS[next].id]?.focus();
  };

  const startDrag = (e: ReactPointerEvent<HTMLDivElement>) => {
    e.preventDefault();
    const startY = e.clientY;
    const startH = height;
    setDragging(true);
    const move = (ev: PointerEvent) => onHeight(clampHeight(startH + startY - ev.clientY));
    const up = () => {
      setDragging(false);
      window.removeEventListener('pointermove', move);
      window.removeEventListener('pointerup', up);
    };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  };

  const onSepKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowUp') onHeight(clampHeight(height + 20));
    else if (e.key === 'ArrowDown') onHeight(clampHeight(height - 20));
    else return;
    e.preventDefault();
  };

  return (
    <section className={`bottom-panel${dragging ? ' dragging' : ''}`} style={{ height }} aria-label="Panel" data-testid="bottom-panel" hidden={hidden}>
      <div
        className="panel-resizer"
        role="separator"
        aria-orientation="horizontal"
        aria-label="Resize the panel"
        aria-valuenow={height}
        aria-valuemin={MIN_PANEL}
        aria-valuemax={maxHeight()}
        tabIndex={0}
        onPointerDown={startDrag}
        onKeyDown={onSepKey}
      />
      <div className="panel-header">
        <div className="panel-tabs" role="tablist" aria-label="Panel" onKeyDown={onKeyDown}>
          {TABS.map((t) => (
            <button
              key={t.id}
              ref={(el) => {
                refs.current[t.id] = el;
              }}
              type="button"
              role="tab"
              id={`panel-tab-${t.id}`}
              aria-selected={active === t.id}
              aria-controls={`panel-body-${t.id}`}
              tabIndex={active === t.id ? 0 : -1}
              className="panel-tab"
              data-testid={`panel-tab-${t.id}`}
              onClick={() => onActive(t.id)}
            >
              {t.label}
            </button>
          ))}
        </div>
        {appBadge && <div className="panel-header-badge">{appBadge}</div>}
        <button
          type="button"
          className="icon-btn panel-close"
          onClick={onClose}
          aria-label="Hide the panel"
          title={`Hide the panel (${modKey}+\`)`}
        >
          <svg viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
            <path d="M4 4l8 8M12 4l-8 8" fill="none" stroke="currentColor" strokeWidth="1.4" />
          </svg>
        </button>
      </div>
      {/* Both stay mounted: the terminal keeps its connection, the logs their position. */}
      <div className="panel-body" role="tabpanel" id="panel-body-terminal" aria-labelledby="panel-tab-terminal" hidden={active !== 'terminal'}>
        {terminal}
      </div>
      <div className="panel-body" role="tabpanel" id="panel-body-app" aria-labelledby="panel-tab-app" hidden={active !== 'app'}>
        {app}
      </div>
    </section>
  );
}

function maxHeight(): number {
  return Math.max(MIN_PANEL, Math.round(window.innerHeight * 0.75));
}

export function clampHeight(h: number): number {
  return Math.min(maxHeight(), Math.max(MIN_PANEL, Math.round(h)));
}
