// The output ring between the code-running worker and the page, and standard input the other way.
import { describe, expect, test } from 'vitest';
import { OUTPUT_LIMIT_BYTES, utf8Length } from '../src/run/protocol';
import { createRing, RingReader, RingWriter } from '../src/run/ring';
import { createStdin, readLine, StdinWriter } from '../src/run/stdin';

function ring(limit?: number) {
  const buffer = createRing();
  const writer = new RingWriter(buffer, limit);
  const reader = new RingReader(buffer);
  reader.reset();
  writer.reset();
  return { writer, reader };
}

const text = (chunks: { text: string }[]) => chunks.map((c) => c.text).join('');

describe('output ring', () => {
  test('output keeps its order and streams; one stream in a row is one chunk', () => {
    const { writer, reader } = ring();
    writer.write('stdout', 'a');
    writer.write('stdout', 'b\n');
    writer.write('stderr', 'oops\n');
    writer.write('stdout', 'c');
    expect(reader.drain()).toEqual([
      { stream: 'stdout', text: 'ab\n' },
      { stream: 'stderr', text: 'oops\n' },
      { stream: 'stdout', text: 'c' },
    ]);
    expect(reader.drain()).toEqual([]);
  });

  test('streams across wrap-arounds of the ring, with characters split between pieces', () => {
    const { writer, reader } = ring();
    // 30,000 characters of 2, 3 and 4 bytes: ~90 KB a round, so six rounds wrap the 256 KiB ring.
    const piece = 'é€😀'.repeat(20_000).slice(0, 30_000);
    let got = '';
    for (let i = 0; i < 6; i++) {
      writer.write('stdout', piece);
      got += text(reader.drain());
    }
    expect(got).toBe(piece.repeat(6));
    expect(reader.truncated).toBe(false);
  });

  test('output past the run limit is dropped, whole characters only, and the run says so', () => {
    const { writer, reader } = ring(1000);
    writer.write('stdout', 'x'.repeat(600));
    writer.write('stdout', '€'.repeat(300)); // 900 bytes: only 133 characters (399 bytes) fit
    writer.write('stderr', 'never shown');
    expect(text(reader.drain())).toBe('x'.repeat(600) + '€'.repeat(133));
    expect(reader.truncated).toBe(true);
    expect(writer.isTruncated).toBe(true);
  });

  test('the default limit is the 1 MB a run keeps', () => {
    const { writer, reader } = ring();
    let got = 0;
    for (let i = 0; i < 12; i++) {
      writer.write('stdout', 'y'.repeat(100_000));
      got += utf8Length(text(reader.drain()));
    }
    expect(got).toBe(OUTPUT_LIMIT_BYTES);
    expect(reader.truncated).toBe(true);
  });

  test('a new run starts from nothing: no old output, no truncation flag', () => {
    const { writer, reader } = ring(10);
    writer.write('stdout', 'more than ten bytes');
    reader.drain();
    reader.reset();
    writer.reset();
    expect(reader.truncated).toBe(false);
    writer.write('stdout', 'fresh');
    expect(reader.drain()).toEqual([{ stream: 'stdout', text: 'fresh' }]);
  });
});

describe('standard input', () => {
  test('a line, end of input, an interrupt', () => {
    const buffer = createStdin();
    const page = new StdinWriter(buffer);
    page.line('hello wörld');
    expect(readLine(buffer)).toEqual({ kind: 'line', text: 'hello wörld' });
    page.eof();
    expect(readLine(buffer)).toEqual({ kind: 'eof' });
    page.interrupt();
    expect(readLine(buffer)).toEqual({ kind: 'interrupted' });
    // Python's own interrupt flag also ends the wait.
    expect(readLine(buffer, () => true)).toEqual({ kind: 'interrupted' });
  });
});
