// The shared `runs` document: what every participant's run panel and the interviewer's timeline read.
import { describe, expect, test } from 'vitest';
import * as Y from 'yjs';
import type { Participant } from '../src/api/sessions';
import { OUTPUT_LIMIT_BYTES, utf8Length } from '../src/run/protocol';
import { addRun, closeOrphanRuns, cutToBytes, MAX_RUNS, readOutput, readRun, RunWriter, TRUNCATED_MARK, type RunMap, type RunsDoc } from '../src/run/runsDoc';

function newRunsDoc(): RunsDoc {
  const doc = new Y.Doc();
  // No network in these tests: the provider is never touched by the functions under test.
  return { doc, runs: doc.getArray<RunMap>('runs'), provider: null as unknown as RunsDoc['provider'] };
}

const ada: Participant = { id: 'p1', name: 'Ada', color: '#4daafc', role: 'candidate', joined_at: '' };
const bob: Participant = { id: 'p2', name: 'Bob', color: '#f48771', role: 'interviewer', joined_at: '' };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('runs document', () => {
  test('a run has the documented fields, and only the last 20 runs are kept', () => {
    const rd = newRunsDoc();
    for (let i = 0; i < MAX_RUNS + 5; i++) addRun(rd, { id: `r${i}`, participant: ada, language: 'python' });
    expect(rd.runs.length).toBe(MAX_RUNS);
    expect(rd.runs.get(0).get('id')).toBe('r5');
    const info = readRun(rd.runs.get(MAX_RUNS - 1));
    expect(info).toMatchObject({ id: `r${MAX_RUNS + 4}`, by: 'Ada', role: 'candidate', language: 'python', status: 'running', truncated: false });
    expect(Math.abs(info.startedAt - Date.now())).toBeLessThan(5000);
    const json = rd.runs.get(0).toJSON();
    for (const key of ['id', 'by', 'color', 'role', 'language', 'started_at', 'status', 'duration_ms', 'truncated', 'output']) {
      expect(json, `${key} is present`).toHaveProperty(key);
    }
  });

  test('output is batched: the first chunk at once, a burst in one update', async () => {
    const rd = newRunsDoc();
    const writer = new RunWriter(rd.doc, addRun(rd, { id: 'r1', participant: ada, language: 'python' }));
    let updates = 0;
    rd.doc.on('update', () => updates++);
    writer.append([{ stream: 'stdout', text: 'first\n' }]);
    expect(updates).toBe(1);
    for (let i = 0; i < 100; i++) writer.append([{ stream: 'stdout', text: `${i}\n` }]);
    expect(updates).toBe(1);
    await sleep(80);
    expect(updates).toBe(2);
  });

  test('output is capped at 1 MB with a mark, and the end of the run is recorded', () => {
    const rd = newRunsDoc();
    const map = addRun(rd, { id: 'r1', participant: ada, language: 'python' });
    const writer = new RunWriter(rd.doc, map);
    const line = `${'y'.repeat(99)}\n`;
    for (let i = 0; i < 12_000; i++) writer.append([{ stream: i % 2 ? 'stderr' : 'stdout', text: line }]);
    writer.system('Time limit reached.');
    writer.finish('timeout', 2003.6);
    const output = readOutput(map);
    const program = output.filter((c) => c.stream !== 'system').map((c) => c.text).join('');
    expect(utf8Length(program)).toBe(OUTPUT_LIMIT_BYTES);
    expect(writer.outputBytes).toBe(OUTPUT_LIMIT_BYTES);
    const system = output.filter((c) => c.stream === 'system').map((c) => c.text).join('');
    expect(system).toContain(TRUNCATED_MARK);
    expect(system.endsWith('Time limit reached.\n')).toBe(true);
    expect(output.some((c) => c.stream === 'stderr')).toBe(true);
    expect(readRun(map)).toMatchObject({ truncated: true, status: 'timeout', durationMs: 2004, phase: null });
  });

  test('a system line always starts on a line of its own', () => {
    const rd = newRunsDoc();
    const map = addRun(rd, { id: 'r1', participant: ada, language: 'javascript' });
    const writer = new RunWriter(rd.doc, map);
    writer.append([{ stream: 'stdout', text: 'no newline' }]);
    writer.system('Stopped.');
    writer.flush();
    expect(readOutput(map).map((c) => c.text).join('')).toBe('no newline\nStopped.\n');
  });

  test('reading is defensive: chunks someone else wrote badly are skipped, unknown streams are stdout', () => {
    const rd = newRunsDoc();
    const map = addRun(rd, { id: 'r1', participant: ada, language: 'python' });
    (map.get('output') as Y.Array<unknown>).push([{ stream: 'stdout', text: 'a' }, null, { text: 42 }, { stream: 'weird', text: 'b' }, { stream: 'stderr', text: 'c' }]);
    expect(readOutput(map)).toEqual([
      { stream: 'stdout', text: 'ab' },
      { stream: 'stderr', text: 'c' },
    ]);
    expect(readOutput(map, false)).toHaveLength(3);
  });

  test("after a reload, only this participant's runs left running are closed, and say why", () => {
    const rd = newRunsDoc();
    const mine = addRun(rd, { id: 'mine', participant: ada, language: 'python' });
    const active = addRun(rd, { id: 'active', participant: ada, language: 'python' });
    const theirs = addRun(rd, { id: 'theirs', participant: bob, language: 'python' });
    closeOrphanRuns(rd, ada.id, 'active');
    expect(readRun(mine).status).toBe('stopped');
    expect(readOutput(mine).at(-1)?.text).toContain('closed or reloaded');
    expect(readRun(active).status).toBe('running');
    expect(readRun(theirs).status).toBe('running');
  });
});

test('byte counting and cutting respect UTF-8', () => {
  expect(utf8Length('aé€😀')).toBe(1 + 2 + 3 + 4);
  expect(cutToBytes('aé€😀', 6)).toBe('aé€');
  expect(cutToBytes('aé€😀', 9)).toBe('aé€');
  expect(cutToBytes('aé€😀', 10)).toBe('aé€😀');
  expect(cutToBytes('abc', 0)).toBe('');
});
