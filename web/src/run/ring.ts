// A single-producer single-consumer byte ring on a SharedArrayBuffer carrying output chunks.
// Layout: Int32 header [written, read, truncated, accepted] then DATA_BYTES of records
// `[stream code u8][length u32 LE][UTF-8 bytes]`. Counters only grow during one run and are reset
// by the page (the reader) before each run, while the worker is idle.
import { OUTPUT_LIMIT_BYTES, STREAM_CODES, type Chunk, type Stream } from './protocol';

const HEADER_INTS = 4;
const WRITTEN = 0;
const READ = 1;
const TRUNCATED = 2;
const DATA_BYTES = 256 * 1024;
/** Largest record payload, so a record always fits in the ring. */
const PIECE = 32 * 1024;
const RECORD_HEADER = 5;

export function createRing(): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_INTS * 4 + DATA_BYTES);
}

/** Worker side: writes output, caps it at the run's limit, waits when the page falls behind. */
export class RingWriter {
  private readonly header: Int32Array;
  private readonly data: Uint8Array;
  private readonly encoder = new TextEncoder();
  private accepted = 0;
  private truncated = false;
  private readonly limit: number;

  constructor(buffer: SharedArrayBuffer, limit = OUTPUT_LIMIT_BYTES) {
    this.header = new Int32Array(buffer, 0, HEADER_INTS);
    this.data = new Uint8Array(buffer, HEADER_INTS * 4, DATA_BYTES);
    this.limit = limit;
  }

  /** Starts a run: the page has reset the shared counters. */
  reset(): void {
    this.accepted = 0;
    this.truncated = false;
  }

  get isTruncated(): boolean {
    return this.truncated;
  }

  write(stream: Stream, text: string): void {
    if (this.truncated || text.length === 0) return;
    let bytes = this.encoder.encode(text);
    const room = this.limit - this.accepted;
    if (bytes.length > room) {
      let cut = room;
      // Do not split a UTF-8 sequence.
      while (cut > 0 && (bytes[cut] & 0xc0) === 0x80) cut--;
      bytes = bytes.subarray(0, cut);
      this.truncated = true;
      Atomics.store(this.header, TRUNCATED, 1);
    }
    this.accepted += bytes.length;
    const code = STREAM_CODES.indexOf(stream);
    for (let off = 0; off < bytes.length; off += PIECE) this.put(code, bytes.subarray(off, off + PIECE));
  }

  private put(code: number, bytes: Uint8Array): void {
    const need = RECORD_HEADER + bytes.length;
    let written = Atomics.load(this.header, WRITTEN);
    for (;;) {
      const read = Atomics.load(this.header, READ);
      if (DATA_BYTES - (written - read) >= need) break;
      // The page drains every few milliseconds and notifies; the timeout only guards a lost wake-up.
      Atomics.wait(this.header, READ, read, 100);
      written = Atomics.load(this.header, WRITTEN);
    }
    const head = new Uint8Array(RECORD_HEADER);
    head[0] = code;
    new DataView(head.buffer).setUint32(1, bytes.length, true);
    this.copyIn(written, head);
    this.copyIn(written + RECORD_HEADER, bytes);
    Atomics.store(this.header, WRITTEN, written + need);
  }

  private copyIn(at: number, bytes: Uint8Array): void {
    const start = at % DATA_BYTES;
    const first = Math.min(bytes.length, DATA_BYTES - start);
    this.data.set(bytes.subarray(0, first), start);
    if (first < bytes.length) this.data.set(bytes.subarray(first), 0);
  }
}

/** Page side: takes whatever the worker has written so far. */
export class RingReader {
  private readonly header: Int32Array;
  private readonly data: Uint8Array;
  private decoders = new Map<number, TextDecoder>();

  constructor(buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, HEADER_INTS);
    this.data = new Uint8Array(buffer, HEADER_INTS * 4, DATA_BYTES);
  }

  /** Before a run, while no worker writes. */
  reset(): void {
    Atomics.store(this.header, WRITTEN, 0);
    Atomics.store(this.header, READ, 0);
    Atomics.store(this.header, TRUNCATED, 0);
    this.decoders = new Map();
  }

  get truncated(): boolean {
    return Atomics.load(this.header, TRUNCATED) === 1;
  }

  drain(): Chunk[] {
    const written = Atomics.load(this.header, WRITTEN);
    let read = Atomics.load(this.header, READ);
    if (written === read) return [];
    const chunks: Chunk[] = [];
    while (read < written) {
      const head = this.copyOut(read, RECORD_HEADER);
      const length = new DataView(head.buffer).getUint32(1, true);
      const code = head[0];
      const bytes = this.copyOut(read + RECORD_HEADER, length);
      read += RECORD_HEADER + length;
      let decoder = this.decoders.get(code);
      if (!decoder) this.decoders.set(code, (decoder = new TextDecoder()));
      const text = decoder.decode(bytes, { stream: true });
      const stream = STREAM_CODES[code] ?? 'stdout';
      const last = chunks[chunks.length - 1];
      if (last && last.stream === stream) last.text += text;
      else if (text) chunks.push({ stream, text });
    }
    Atomics.store(this.header, READ, read);
    Atomics.notify(this.header, READ);
    return chunks;
  }

  private copyOut(at: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    const start = at % DATA_BYTES;
    const first = Math.min(length, DATA_BYTES - start);
    out.set(this.data.subarray(start, start + first), 0);
    if (first < length) out.set(this.data.subarray(0, length - first), first);
    return out;
  }
}
