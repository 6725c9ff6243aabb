import { useEffect, useState } from 'react';
import type { Awareness } from 'y-protocols/awareness';
import { safeColor } from '../ui/color';

export interface Viewer {
  clientId: number;
  name: string;
  color: string;
}

/**
 * Which file each person has in front of them: ours goes into the `main` doc's awareness as `file`
 * (next to `user`), and the others' come back as path -> viewers, for the file tree.
 */
export function usePresence(awareness: Awareness | null, activePath: string | null): Map<string, Viewer[]> {
  const [viewers, setViewers] = useState<Map<string, Viewer[]>>(() => new Map());

  useEffect(() => {
    awareness?.setLocalStateField('file', activePath);
  }, [awareness, activePath]);

  useEffect(() => {
    if (!awareness) return;
    let lastKey = '';
    const read = () => {
      const next = new Map<string, Viewer[]>();
      awareness.getStates().forEach((state, clientId) => {
        if (clientId === awareness.clientID) return;
        const { user, file } = state as { user?: { name?: unknown; color?: unknown }; file?: unknown };
        if (!user || typeof file !== 'string' || !file) return;
        const v: Viewer = {
          clientId,
          name: typeof user.name === 'string' && user.name ? user.name : 'Anonymous',
          color: safeColor(typeof user.color === 'string' ? user.color : ''),
        };
        next.set(file, [...(next.get(file) ?? []), v]);
      });
      const key = JSON.stringify([...next.entries()]);
      // The awareness changes on every cursor move; re-render only when someone changes file.
      if (key !== lastKey) {
        lastKey = key;
        setViewers(next);
      }
    };
    read();
    awareness.on('change', read);
    return () => awareness.off('change', read);
  }, [awareness]);

  return viewers;
}
