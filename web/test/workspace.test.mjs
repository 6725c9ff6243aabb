// Unit tests for workspace logic that needs no browser: which file someone arriving sees first.
import { test } from 'node:test';
import assert from 'node:assert/strict';

const { fileToOpenFirst } = await import('../src/workspace/openFirst.ts');

const file = (path, editable = true) => ({ path, type: 'file', size: 1, editable });
const dir = (path) => ({ path, type: 'dir', size: 0, editable: false });

test('open first: the exercise preferred files, in order, when they exist', () => {
  const entries = [file('README.md'), dir('src'), file('src/index.ts'), file('src/server.ts')];
  assert.equal(fileToOpenFirst(entries, ['src/missing.ts', 'src/server.ts', 'src/index.ts']), 'src/server.ts');
  // A directory is never opened, even when listed.
  assert.equal(fileToOpenFirst(entries, ['src']), 'README.md');
});

test('open first: README.md, then the first editable file, without a preference', () => {
  assert.equal(fileToOpenFirst([file('a.bin', false), file('README.md')]), 'README.md');
  assert.equal(fileToOpenFirst([file('a.bin', false), file('readme.md')], null), 'readme.md');
  assert.equal(fileToOpenFirst([file('a.bin', false), dir('lib'), file('lib/x.go')], []), 'lib/x.go');
  assert.equal(fileToOpenFirst([file('a.bin', false)]), null);
  assert.equal(fileToOpenFirst([]), null);
});

test('open first: a malformed preference is ignored', () => {
  assert.equal(fileToOpenFirst([file('README.md'), file('x.py')], [42, null, 'x.py']), 'x.py');
  assert.equal(fileToOpenFirst([file('README.md')], 'README.md'), 'README.md');
});

const { diskNotice } = await import('../src/workspace/diskNotice.ts');

test('disk notice: nothing without a quota or with room, a warning near it, the limit at it', () => {
  const status = (used, limit) => ({ app: { state: 'running' }, terminal: { state: 'running' }, code_server: { installed: true, state: 'stopped' }, sandbox: { cgroups: true, disk_used_bytes: used, disk_limit_bytes: limit } });
  const gib = 1 << 30;
  assert.equal(diskNotice(null), null);
  assert.equal(diskNotice({ ...status(0, 0), sandbox: { cgroups: true } }), null);
  assert.equal(diskNotice(status(gib / 2, gib)), null);
  assert.equal(diskNotice(status(gib * 0.95, gib)), "The workspace's disk is nearly full: 973 MB of 1024 MB.");
  assert.equal(diskNotice(status(gib, gib)), 'Disk limit reached: the workspace uses all of its 1024 MB. Delete files to go on.');
});
