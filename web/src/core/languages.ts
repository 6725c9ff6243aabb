import { listLanguages, type Language } from '../api/sessions';
import { useLoad } from '../ui/useLoad';

/** Used when GET /api/languages fails, so the forms stay usable. */
export const FALLBACK_LANGUAGES: Language[] = [
  { id: 'python', name: 'Python' },
  { id: 'javascript', name: 'JavaScript' },
  { id: 'typescript', name: 'TypeScript' },
];

let cached: Promise<Language[]> | null = null;

/** The server's languages, fetched once per page load. */
export function loadLanguages(): Promise<Language[]> {
  if (!cached) {
    cached = listLanguages().then(
      (list) => (Array.isArray(list) && list.length > 0 ? list : FALLBACK_LANGUAGES),
      () => {
        cached = null; // try again next time instead of remembering the failure
        return FALLBACK_LANGUAGES;
      },
    );
  }
  return cached;
}

export function useLanguages(): { languages: Language[]; loading: boolean } {
  // loadLanguages never fails (it falls back), and asks the server once per page load.
  const { data } = useLoad('languages', () => loadLanguages());
  return { languages: data ?? FALLBACK_LANGUAGES, loading: data === null };
}

/** A language as the pickers show it: its name, and whether the server is still installing it. */
export function languageLabel(l: Language): string {
  return l.installing ? `${l.name} (installing…)` : l.name;
}

/** A display name for a language id, even one the list does not know. */
export function languageName(languages: Language[], id: string): string {
  return languages.find((l) => l.id === id)?.name ?? id;
}
