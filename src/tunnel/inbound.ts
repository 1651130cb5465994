// Received body chunks of one stream, consumed as an async iterable by exactly
// one reader. Credit goes back to the sender only as the reader pulls chunks,
// so a slow reader stalls its own sender instead of growing this queue.

export interface InboundHooks {
  /** bytes the reader has taken out of the queue */
  consumed(bytes: number): void;
  /** the reader stopped before the end (break, return, or throw with a reason) */
  abandoned(reason?: unknown): void;
}

export class Inbound implements AsyncIterable<Uint8Array> {
  private chunks: Uint8Array[] = [];
  private head = 0;
  private ended = false;
  private error: unknown = undefined;
  private failed = false;
  private wake: (() => void) | undefined;
  private iterated = false;
  /** bytes received but not yet taken by the reader */
  buffered = 0;

  constructor(private readonly hooks: InboundHooks) {}

  push(chunk: Uint8Array): void {
    if (this.ended || this.failed) return;
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    this.notify();
  }

  end(): void {
    this.ended = true;
    this.notify();
  }

  fail(err: unknown): void {
    if (this.ended || this.failed) return;
    this.failed = true;
    this.error = err;
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    this.notify();
  }

  get done(): boolean {
    return this.ended || this.failed;
  }

  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      if (this.failed) throw this.error;
      if (this.head < this.chunks.length) {
        const c = this.chunks[this.head]!;
        this.chunks[this.head++] = EMPTY;
        if (this.head === this.chunks.length) {
          this.chunks = [];
          this.head = 0;
        }
        this.buffered -= c.byteLength;
        this.hooks.consumed(c.byteLength);
        return { done: false, value: c };
      }
      if (this.ended) return { done: true, value: undefined };
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    if (this.iterated) throw new Error("tunnel stream body can be read only once");
    this.iterated = true;
    return {
      next: () => this.next(),
      return: async () => {
        if (!this.done) this.hooks.abandoned();
        return { done: true, value: undefined };
      },
      // Connect aborts a pipe by throwing into its source.
      throw: async (e?: unknown) => {
        if (!this.done) this.hooks.abandoned(e);
        throw e;
      },
    };
  }
}

const EMPTY = new Uint8Array(0);
