// The live documents of a session, named as the server names them (crates/server/src/docname.rs,
// `DocName`): the room of /api/sessions/{id}/docs/{name} and the {doc} of /replay/{doc}. Build
// names with these types and functions, never by hand.

/** A workspace file's document, by its path relative to the workspace. */
export type FileDoc = `file:${string}`;

/**
 * - `main`: the pad (text `code`, and the server's `meta` map: language, policy, end of session);
 * - `runs`: the shared code runs (array `runs`);
 * - `notes`: the interviewer's private notes (text `notes`); candidates cannot open it;
 * - `chat`: the assistant conversation, written by the server only; it does not replay;
 * - `file:<path>`: a workspace file (text `content`).
 */
export type DocName = 'main' | 'runs' | 'notes' | 'chat' | FileDoc;

/** The documents whose history the interviewer can replay (all but `chat`). */
export type ReplayableDoc = Exclude<DocName, 'chat'>;

export const FILE_PREFIX = 'file:';

/** The shared texts, by document (`DocName::text_name`). */
export const PAD_TEXT = 'code';
export const NOTES_TEXT = 'notes';
export const FILE_TEXT = 'content';

/** The document of a workspace file. */
export function fileDoc(path: string): FileDoc {
  if (!path) throw new Error('A file document needs a path.');
  return `${FILE_PREFIX}${path}`;
}

/** A name read from elsewhere (a URL, the server), or null when it names no document. */
export function parseDocName(name: string): DocName | null {
  if (name === 'main' || name === 'runs' || name === 'notes' || name === 'chat') return name;
  return name.startsWith(FILE_PREFIX) && name.length > FILE_PREFIX.length ? (name as FileDoc) : null;
}

/** The path of a file's document; null for the others. */
export function filePath(doc: DocName): string | null {
  return doc.startsWith(FILE_PREFIX) ? doc.slice(FILE_PREFIX.length) : null;
}

/** The shared text that holds the document's text; null for `runs` and `chat`. */
export function textName(doc: DocName): typeof PAD_TEXT | typeof NOTES_TEXT | typeof FILE_TEXT | null {
  if (doc === 'main') return PAD_TEXT;
  if (doc === 'notes') return NOTES_TEXT;
  return filePath(doc) !== null ? FILE_TEXT : null;
}

/** The room of a document in the docs URL: one path segment, so a file's path is percent-encoded. */
export function roomOf(doc: DocName): string {
  return encodeURIComponent(doc);
}
