import type { FileEntry } from '../api/workspace';

/**
 * The file to show someone arriving in a workspace: the first of the exercise's preferred files
 * (`exercise_info.open_first` of the session) that exists, else the README, else the first
 * editable file. Null when there is no file at all.
 */
export function fileToOpenFirst(entries: FileEntry[], openFirst?: readonly unknown[] | null): string | null {
  const files = entries.filter((e) => e.type === 'file');
  const exists = new Set(files.map((e) => e.path));
  const preferred = (Array.isArray(openFirst) ? openFirst : []).find((p): p is string => typeof p === 'string' && exists.has(p));
  if (preferred) return preferred;
  const readme = files.find((e) => e.path === 'README.md') ?? files.find((e) => e.path.toLowerCase() === 'readme.md');
  return readme?.path ?? files.find((e) => e.editable)?.path ?? null;
}
