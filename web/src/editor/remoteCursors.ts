import { useEffect } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import { safeColor, textOn } from '../ui/color';

/** How long a remote name label stays up after that person last moved their cursor. */
const LABEL_MS = 3000;

/** Escapes a display name for use inside a CSS string literal. */
function cssString(s: string): string {
  const clean = s.replace(/\p{Cc}/gu, ' ').slice(0, 40);
  return `"${clean.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function rulesFor(clientId: number, name: string, color: string, labelShown: boolean): string {
  const c = safeColor(color);
  return `
.yRemoteSelection-${clientId} { background-color: ${c}40; }
.yRemoteSelectionHead-${clientId} { border-left: 2px solid ${c}; }
.yRemoteSelectionHead-${clientId}::after { content: ${cssString(name)}; background: ${c}; color: ${textOn(c)}; opacity: ${labelShown ? 1 : 0}; }
`;
}

/**
 * y-monaco marks remote selections with per-client classes but brings no styles: this keeps one
 * <style> element (allowed by the CSP's style-src 'unsafe-inline') with a colour and a name label
 * for every remote client in the awareness. A label covers the line above it, so it shows while
 * that person is moving and fades a few seconds later; the caret keeps their colour.
 */
export function useRemoteCursorStyles(awareness: Awareness | null): void {
  useEffect(() => {
    if (!awareness) return;
    const style = document.createElement('style');
    style.dataset.role = 'remote-cursors';
    document.head.appendChild(style);
    let last = '';
    const lastSelection = new Map<number, string>();
    const activeUntil = new Map<number, number>();
    let timer: number | undefined;

    const render = () => {
      const now = Date.now();
      let css = '';
      let nextExpiry = Infinity;
      const states = awareness.getStates();
      states.forEach((state, clientId) => {
        if (clientId === awareness.clientID) return;
        const { user, selection } = state as { user?: { name?: unknown; color?: unknown }; selection?: unknown };
        if (!user) return;
        const sel = JSON.stringify(selection ?? null);
        if (lastSelection.get(clientId) !== sel) {
          lastSelection.set(clientId, sel);
          activeUntil.set(clientId, now + LABEL_MS);
        }
        const until = activeUntil.get(clientId) ?? 0;
        if (until > now) nextExpiry = Math.min(nextExpiry, until);
        const name = typeof user.name === 'string' && user.name ? user.name : 'Anonymous';
        css += rulesFor(clientId, name, typeof user.color === 'string' ? user.color : '', until > now);
      });
      for (const id of lastSelection.keys()) {
        if (!states.has(id)) {
          lastSelection.delete(id);
          activeUntil.delete(id);
        }
      }
      // Awareness changes on every remote cursor move; only touch the DOM when the rules change.
      if (css !== last) {
        last = css;
        style.textContent = css;
      }
      window.clearTimeout(timer);
      if (nextExpiry !== Infinity) timer = window.setTimeout(render, nextExpiry - now + 20);
    };

    render();
    awareness.on('change', render);
    return () => {
      window.clearTimeout(timer);
      awareness.off('change', render);
      style.remove();
    };
  }, [awareness]);
}
