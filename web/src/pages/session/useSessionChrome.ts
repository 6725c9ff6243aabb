import { useEffect, useState } from 'react';

/** The side panel's open state, toggled with Ctrl/Cmd+Shift+B (as in VS Code). */
export function useSidebarToggle(): [boolean, (open: boolean | ((o: boolean) => boolean)) => void] {
  const [open, setOpen] = useState(true);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if ((e.ctrlKey || e.metaKey) && e.shiftKey && e.code === 'KeyB') {
        e.preventDefault();
        setOpen((o) => !o);
      }
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, []);
  return [open, setOpen];
}

/** The browser tab shows the session's title. */
export function useDocumentTitle(title: string) {
  useEffect(() => {
    document.title = `${title} · interview-ide`;
  }, [title]);
}
