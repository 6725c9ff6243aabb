// Unit tests for the logic of code runs: console formatting, the output ring buffer, stdin, and
// how runs are written to the shared `runs` document (capping, batching, history length).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as Y from 'yjs';

globalThis.window ??= globalThis;

const { inspect, format } = await import('../src/run/inspect.ts');
const { createRing, RingReader, RingWriter } = await import('../src/run/ring.ts');
const { createStdin, readLine, StdinWriter } = await import('../src/run/stdin.ts');
const { OUTPUT_LIMIT_BYTES, utf8Length } = await import('../src/run/protocol.ts');
const { addRun, cutToBytes, MAX_RUNS, readOutput, readRun, RunWriter, TRUNCATED_MARK } = await import('../src/run/runsDoc.ts');

test('inspect: nested objects, arrays, Map, Set, class instances, like Node', () => {
  assert.equal(inspect({ a: 1, b: 'two', c: [1, 2, { d: null }] }), "{ a: 1, b: 'two', c: [ 1, 2, { d: null } ] }");
  assert.equal(inspect({ x: { y: { z: { w: 1 } } } }), '{ x: { y: { z: [Object] } } }');
  assert.equal(inspect(new Map([['k', [1]]])), "Map(1) { 'k' => [ 1 ] }");
  assert.equal(inspect(new Set(['a', 2])), "Set(2) { 'a', 2 }");
  class Point {
    constructor() {
      this.x = 1;
    }
  }
  assert.equal(inspect(new Point()), 'Point { x: 1 }');
  assert.equal(inspect(Object.create(null)), '[Object: null prototype] {}');
  assert.equal(inspect([undefined, , 3]), '[ undefined, <1 empty item>, 3 ]');
  assert.equal(inspect({ 'needs-quotes': 1, [Symbol('s')]: 2 }), "{ 'needs-quotes': 1, [Symbol(s)]: 2 }");
  assert.equal(inspect(-0), '-0');
  assert.equal(inspect(10n), '10n');
  assert.equal(inspect(function named() {}), '[Function: named]');
  assert.equal(inspect(class Foo {}), '[class Foo]');
  assert.equal(inspect(new Uint8Array([1, 2])), 'Uint8Array(2) [ 1, 2 ]');
  assert.equal(inspect(new Date(0)), '1970-01-01T00:00:00.000Z');
  assert.equal(inspect("it's"), "it's", 'top-level strings are not quoted');
  assert.equal(inspect(["it's"]), '[ "it\'s" ]');
});

test('inspect: circular references and long values', () => {
  const o = { name: 'loop' };
  o.self = o;
  assert.equal(inspect(o), "<ref *1> { name: 'loop', self: [Circular *1] }");
  const long = inspect({ alpha: 'a'.repeat(30), beta: 'b'.repeat(30), gamma: 'c'.repeat(30) });
  assert.equal(long, `{\n  alpha: '${'a'.repeat(30)}',\n  beta: '${'b'.repeat(30)}',\n  gamma: '${'c'.repeat(30)}'\n}`);
  const many = inspect(Array.from({ length: 150 }, (_, i) => i));
  assert.match(many, /\.\.\. 50 more items\n\]$/);
});

test('inspect: errors show their stack, rewritten when asked', () => {
  const err = new TypeError('bad thing');
  err.stack = 'TypeError: bad thing\n    at f (main.js:3:9)\n    at runner (sandbox.js:1:1)';
  assert.equal(inspect(err), err.stack);
  const cleaned = inspect(err, { stack: (s) => s.split('\n').filter((l) => !l.includes('sandbox')).join('\n') });
  assert.equal(cleaned, 'TypeError: bad thing\n    at f (main.js:3:9)');
  const withCode = Object.assign(new Error('x'), { code: 'E_X' });
  withCode.stack = 'Error: x\n    at main.js:1:1';
  assert.equal(inspect(withCode), "Error: x\n    at main.js:1:1 {\n  code: 'E_X'\n}");
});

test('format: printf-style placeholders, then the rest', () => {
  assert.equal(format(['%s has %d items', 'list', 3]), 'list has 3 items');
  assert.equal(format(['%i%%', 42.9]), '42%');
  assert.equal(format(['%j', { a: 1 }]), '{"a":1}');
  assert.equal(format(['%o', [1]]), '[ 1 ]');
  assert.equal(format(['%c styled', 'color: red']), ' styled');
  assert.equal(format(['a', 1, { b: 2 }]), 'a 1 { b: 2 }');
  assert.equal(format([{ b: 2 }, 'a']), '{ b: 2 } a');
  assert.equal(format(['100%']), '100%');
  assert.equal(format([]), '');
});

test('ring: output keeps its order and streams, across wrap-arounds and split characters', () => {
  const buffer = createRing();
  const writer = new RingWriter(buffer);
  const reader = new RingReader(buffer);
  reader.reset();
  writer.reset();
  writer.write('stdout', 'a');
  writer.write('stdout', 'b\n');
  writer.write('stderr', 'oops\n');
  writer.write('stdout', 'c');
  assert.deepEqual(reader.drain(), [
    { stream: 'stdout', text: 'ab\n' },
    { stream: 'stderr', text: 'oops\n' },
    { stream: 'stdout', text: 'c' },
  ]);
  assert.deepEqual(reader.drain(), []);
  // Many rounds wrap the 256 KiB ring several times; multi-byte characters straddle pieces.
  const text = 'é€😀'.repeat(20_000);
  let got = '';
  for (let i = 0; i < 6; i++) {
    writer.write('stdout', text.slice(0, 30_000));
    for (const c of reader.drain()) got += c.text;
  }
  assert.equal(got, text.slice(0, 30_000).repeat(6));
});

test('ring: output beyond the limit is dropped and flagged', () => {
  const buffer = createRing();
  const writer = new RingWriter(buffer, 1000);
  const reader = new RingReader(buffer);
  reader.reset();
  writer.reset();
  writer.write('stdout', 'x'.repeat(600));
  writer.write('stdout', '€'.repeat(300)); // 900 bytes: only 133 characters fit
  writer.write('stdout', 'never');
  const out = reader.drain().map((c) => c.text).join('');
  assert.equal(out, 'x'.repeat(600) + '€'.repeat(133));
  assert.equal(reader.truncated, true);
  assert.equal(writer.isTruncated, true);
});

test('stdin: a line, end of input, an interrupt', () => {
  const buffer = createStdin();
  const page = new StdinWriter(buffer);
  page.line('hello wörld');
  assert.deepEqual(readLine(buffer), { kind: 'line', text: 'hello wörld' });
  page.eof();
  assert.deepEqual(readLine(buffer), { kind: 'eof' });
  page.interrupt();
  assert.deepEqual(readLine(buffer), { kind: 'interrupted' });
  assert.deepEqual(readLine(buffer, () => true), { kind: 'interrupted' });
});

test('byte counting and cutting respect UTF-8', () => {
  assert.equal(utf8Length('aé€😀'), 1 + 2 + 3 + 4);
  assert.equal(cutToBytes('aé€😀', 6), 'aé€');
  assert.equal(cutToBytes('aé€😀', 9), 'aé€');
  assert.equal(cutToBytes('aé€😀', 10), 'aé€😀');
  assert.equal(cutToBytes('abc', 0), '');
});

function newRunsDoc() {
  const doc = new Y.Doc();
  return { doc, runs: doc.getArray('runs'), provider: null };
}

const participant = { id: 'p1', name: 'Ada', color: '#4daafc', role: 'candidate', joined_at: '' };

test('runs document: a run has the documented fields and only the last 20 are kept', () => {
  const rd = newRunsDoc();
  for (let i = 0; i < MAX_RUNS + 5; i++) addRun(rd, { id: `r${i}`, participant, language: 'python' });
  assert.equal(rd.runs.length, MAX_RUNS);
  assert.equal(rd.runs.get(0).get('id'), 'r5');
  const info = readRun(rd.runs.get(MAX_RUNS - 1));
  assert.equal(info.id, `r${MAX_RUNS + 4}`);
  assert.equal(info.by, 'Ada');
  assert.equal(info.role, 'candidate');
  assert.equal(info.language, 'python');
  assert.equal(info.status, 'running');
  assert.equal(info.truncated, false);
  assert.ok(Math.abs(info.startedAt - Date.now()) < 5000);
  const json = rd.runs.get(0).toJSON();
  for (const key of ['id', 'by', 'color', 'role', 'language', 'started_at', 'status', 'duration_ms', 'truncated', 'output']) {
    assert.ok(key in json, `${key} is present`);
  }
});

test('runs document: output is batched, capped at 1 MB with a mark, and the end recorded', async () => {
  const rd = newRunsDoc();
  const map = addRun(rd, { id: 'r1', participant, language: 'python' });
  const writer = new RunWriter(rd.doc, map);
  let updates = 0;
  rd.doc.on('update', () => updates++);
  writer.append([{ stream: 'stdout', text: 'first\n' }]);
  assert.equal(updates, 1, 'the first chunk is written at once');
  for (let i = 0; i < 100; i++) writer.append([{ stream: 'stdout', text: `${i}\n` }]);
  assert.equal(updates, 1, 'a burst waits for the next batch');
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(updates, 2, 'one update for the whole burst');

  const line = `${'y'.repeat(99)}\n`;
  for (let i = 0; i < 12_000; i++) writer.append([{ stream: i % 2 ? 'stderr' : 'stdout', text: line }]);
  writer.system('Time limit reached.');
  writer.finish('timeout', 2003.6);
  const output = readOutput(map);
  const program = output.filter((c) => c.stream !== 'system').map((c) => c.text).join('');
  assert.equal(utf8Length(program), OUTPUT_LIMIT_BYTES);
  assert.equal(writer.outputBytes, OUTPUT_LIMIT_BYTES);
  const system = output.filter((c) => c.stream === 'system').map((c) => c.text).join('');
  assert.ok(system.includes(TRUNCATED_MARK));
  assert.ok(system.endsWith('Time limit reached.\n'));
  assert.ok(output.some((c) => c.stream === 'stderr'));
  const info = readRun(map);
  assert.equal(info.truncated, true);
  assert.equal(info.status, 'timeout');
  assert.equal(info.durationMs, 2004);
  assert.equal(info.phase, null);
});

test('runs document: a system line always starts on a line of its own', () => {
  const rd = newRunsDoc();
  const map = addRun(rd, { id: 'r1', participant, language: 'javascript' });
  const writer = new RunWriter(rd.doc, map);
  writer.append([{ stream: 'stdout', text: 'no newline' }]);
  writer.system('Stopped.');
  writer.flush();
  assert.equal(readOutput(map).map((c) => c.text).join(''), 'no newline\nStopped.\n');
});
