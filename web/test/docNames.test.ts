// Document names as the server accepts them (crates/server/src/docname.rs).
import { expect, test } from 'vitest';
import { fileDoc, filePath, parseDocName, roomOf, textName } from '../src/api/docNames';

test('names round-trip, and what is not a document is refused', () => {
  for (const name of ['main', 'runs', 'notes', 'chat', 'file:app/main.py']) expect(parseDocName(name)).toBe(name);
  expect(parseDocName('file:')).toBe(null);
  expect(parseDocName('secrets')).toBe(null);
  expect(parseDocName('MAIN')).toBe(null);
});

test("a file's document carries its path, which the room percent-encodes as one URL segment", () => {
  const doc = fileDoc('app/routes/ünïcode file.py');
  expect(doc).toBe('file:app/routes/ünïcode file.py');
  expect(filePath(doc)).toBe('app/routes/ünïcode file.py');
  expect(roomOf(doc)).toBe('file%3Aapp%2Froutes%2F%C3%BCn%C3%AFcode%20file.py');
  expect(roomOf('main')).toBe('main');
  expect(filePath('notes')).toBe(null);
  expect(() => fileDoc('')).toThrow();
});

test('each document keeps its text where the server reads it (replay, reports)', () => {
  expect(textName('main')).toBe('code');
  expect(textName('notes')).toBe('notes');
  expect(textName(fileDoc('a.py'))).toBe('content');
  expect(textName('runs')).toBe(null);
  expect(textName('chat')).toBe(null);
});
