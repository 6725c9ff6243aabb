// One line of standard input at a time through a SharedArrayBuffer: the worker blocks in
// Atomics.wait until the page hands it a line, end of input, or an interrupt.
// Layout: Int32 [state, length] then the line's UTF-8 bytes.

const STATE = 0;
const LENGTH = 1;
const MAX_LINE = 64 * 1024;

const StdinState = { Idle: 0, Data: 1, Eof: 2, Interrupted: 3 } as const;
type StdinState = (typeof StdinState)[keyof typeof StdinState];

export function createStdin(): SharedArrayBuffer {
  return new SharedArrayBuffer(8 + MAX_LINE);
}

export type StdinResult = { kind: 'line'; text: string } | { kind: 'eof' } | { kind: 'interrupted' };

/** Worker side. `interrupted` lets the caller stop waiting (for Python's interrupt buffer). */
export function readLine(buffer: SharedArrayBuffer, interrupted: () => boolean = () => false): StdinResult {
  const header = new Int32Array(buffer, 0, 2);
  for (;;) {
    const state = Atomics.load(header, STATE);
    if (state === StdinState.Data) {
      const length = Atomics.load(header, LENGTH);
      const text = new TextDecoder().decode(new Uint8Array(buffer, 8, length).slice());
      Atomics.store(header, STATE, StdinState.Idle);
      return { kind: 'line', text };
    }
    if (state === StdinState.Eof) {
      Atomics.store(header, STATE, StdinState.Idle);
      return { kind: 'eof' };
    }
    if (state === StdinState.Interrupted || interrupted()) {
      Atomics.store(header, STATE, StdinState.Idle);
      return { kind: 'interrupted' };
    }
    Atomics.wait(header, STATE, StdinState.Idle, 200);
  }
}

/** Page side. */
export class StdinWriter {
  private readonly header: Int32Array;
  private readonly data: Uint8Array;

  constructor(buffer: SharedArrayBuffer) {
    this.header = new Int32Array(buffer, 0, 2);
    this.data = new Uint8Array(buffer, 8, MAX_LINE);
  }

  reset(): void {
    Atomics.store(this.header, STATE, StdinState.Idle);
  }

  line(text: string): void {
    let bytes = new TextEncoder().encode(text);
    if (bytes.length > MAX_LINE) bytes = bytes.subarray(0, MAX_LINE);
    this.data.set(bytes);
    Atomics.store(this.header, LENGTH, bytes.length);
    this.signal(StdinState.Data);
  }

  eof(): void {
    this.signal(StdinState.Eof);
  }

  interrupt(): void {
    this.signal(StdinState.Interrupted);
  }

  private signal(state: StdinState): void {
    Atomics.store(this.header, STATE, state);
    Atomics.notify(this.header, STATE);
  }
}
