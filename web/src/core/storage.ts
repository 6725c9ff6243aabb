// Web Storage can throw (disabled storage, full quota); the app must keep working without it.

type Area = 'local' | 'session';

function area(which: Area): Storage | null {
  try {
    return which === 'local' ? window.localStorage : window.sessionStorage;
  } catch {
    return null;
  }
}

export function readString(which: Area, key: string): string | null {
  try {
    return area(which)?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

export function writeString(which: Area, key: string, value: string): void {
  try {
    area(which)?.setItem(key, value);
  } catch {
    /* storage unavailable: the value lives only as long as the page */
  }
}

export function remove(which: Area, key: string): void {
  try {
    area(which)?.removeItem(key);
  } catch {
    /* ignore */
  }
}

export function readJson<T>(which: Area, key: string): T | null {
  const raw = readString(which, key);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

export function writeJson(which: Area, key: string, value: unknown): void {
  writeString(which, key, JSON.stringify(value));
}

// Keys shared by several features.
export const keys = {
  name: 'iide:name',
  recent: 'iide:recent',
  token: (id: string) => `iide:token:${id}`,
  participant: (id: string) => `iide:participant:${id}`,
};
