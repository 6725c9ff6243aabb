// Workspace logic that needs no browser: which file someone arriving sees first, the disk notice.
import { describe, expect, test } from 'vitest';
import type { FileEntry, WorkspaceStatus } from '../src/api/workspace';
import { diskNotice } from '../src/workspace/diskNotice';
import { fileToOpenFirst } from '../src/workspace/openFirst';

const file = (path: string, editable = true): FileEntry => ({ path, type: 'file', size: 1, editable });
const dir = (path: string): FileEntry => ({ path, type: 'dir', size: 0, editable: false });

describe('the file opened first', () => {
  test("the exercise's preferred files, in order, when they exist", () => {
    const entries = [file('README.md'), dir('src'), file('src/index.ts'), file('src/server.ts')];
    expect(fileToOpenFirst(entries, ['src/missing.ts', 'src/server.ts', 'src/index.ts'])).toBe('src/server.ts');
    // A directory is never opened, even when listed.
    expect(fileToOpenFirst(entries, ['src'])).toBe('README.md');
  });

  test('README.md, then the first editable file, without a preference', () => {
    expect(fileToOpenFirst([file('a.bin', false), file('README.md')])).toBe('README.md');
    expect(fileToOpenFirst([file('a.bin', false), file('readme.md')], null)).toBe('readme.md');
    expect(fileToOpenFirst([file('a.bin', false), dir('lib'), file('lib/x.go')], [])).toBe('lib/x.go');
    expect(fileToOpenFirst([file('a.bin', false)])).toBe(null);
    expect(fileToOpenFirst([])).toBe(null);
  });

  test('a malformed preference is ignored', () => {
    expect(fileToOpenFirst([file('README.md'), file('x.py')], [42, null, 'x.py'])).toBe('x.py');
    // The exercise's manifest said a string where a list belongs.
    expect(fileToOpenFirst([file('x.py'), file('README.md')], 'x.py' as unknown as string[])).toBe('README.md');
  });
});

test('disk notice: nothing without a quota or with room, a warning near it, the limit at it', () => {
  const status = (used: number, limit: number) =>
    ({ app: { state: 'running' }, terminal: { state: 'running' }, code_server: { installed: true, state: 'stopped' }, sandbox: { cgroups: true, disk_used_bytes: used, disk_limit_bytes: limit } }) as unknown as WorkspaceStatus;
  const gib = 1 << 30;
  expect(diskNotice(null)).toBe(null);
  expect(diskNotice({ ...status(0, 0), sandbox: { cgroups: true } })).toBe(null);
  expect(diskNotice(status(gib / 2, gib))).toBe(null);
  expect(diskNotice(status(gib * 0.95, gib))).toBe("The workspace's disk is nearly full: 973 MB of 1024 MB.");
  expect(diskNotice(status(gib, gib))).toBe('Disk limit reached: the workspace uses all of its 1024 MB. Delete files to go on.');
});
