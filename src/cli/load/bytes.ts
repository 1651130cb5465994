// Files as byte streams for the format readers: gzip is recognised by its magic bytes
// and inflated on the fly (Bun's DecompressionStream), an uncompressed file can start at
// an offset (--skip without reading what is skipped), and reads take exactly n bytes.
import { closeSync, openSync, readSync, statSync } from "node:fs";
import { CliError } from "../errors";

export interface Opened {
  stream: ReadableStream<Uint8Array>;
  /** false for gzip: an offset has to be read past */
  seekable: boolean;
  /** bytes in the file (compressed size for gzip) */
  size: number;
}

/** The first `n` bytes of a file (fewer if it is shorter). */
export function peekFile(path: string, n: number): Uint8Array {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`, 2);
  }
  try {
    const buf = new Uint8Array(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

export function isGzip(head: Uint8Array): boolean {
  return head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
}

/** `path` from `offset` (an uncompressed file) or from its start (gzip: inflated). */
export function openFile(path: string, offset = 0): Opened {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new Error("not a regular file");
    size = st.size;
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as Error).message}`, 2);
  }
  const file = Bun.file(path);
  if (isGzip(peekFile(path, 2))) return { stream: file.stream().pipeThrough(new DecompressionStream("gzip")), seekable: false, size };
  return { stream: (offset > 0 ? file.slice(offset) : file).stream(), seekable: true, size };
}

/** Exact-size reads over a byte stream, keeping at most one chunk beyond what was asked. */
export class ByteReader {
  private readonly reader: { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(): Promise<void> };
  private buf: Uint8Array = new Uint8Array(0);
  private at = 0;
  /** bytes handed out or skipped so far */
  consumed = 0;

  constructor(
    stream: ReadableStream<Uint8Array>,
    private readonly name: string,
  ) {
    this.reader = stream.getReader();
  }

  private async fill(n: number): Promise<boolean> {
    while (this.buf.length - this.at < n) {
      const { value, done } = await this.reader.read();
      if (done || value === undefined) return false;
      const left = this.buf.subarray(this.at);
      if (left.length === 0) this.buf = value;
      else {
        const next = new Uint8Array(left.length + value.length);
        next.set(left);
        next.set(value, left.length);
        this.buf = next;
      }
      this.at = 0;
    }
    return true;
  }

  /** n bytes, or undefined at the very end of the stream; a partial record is an error. */
  async read(n: number): Promise<Uint8Array | undefined> {
    if (!(await this.fill(n))) {
      if (this.buf.length - this.at === 0) return undefined;
      throw new CliError(`${this.name}: truncated: the file ends inside a record (offset ${this.consumed + this.buf.length - this.at} of a ${n}-byte read)`);
    }
    const out = this.buf.subarray(this.at, this.at + n);
    this.at += n;
    this.consumed += n;
    return out;
  }

  /** like read, but the end of the stream is an error too */
  async need(n: number, what: string): Promise<Uint8Array> {
    const b = await this.read(n);
    if (b === undefined) throw new CliError(`${this.name}: truncated: the file ends before ${what}`);
    return b;
  }

  /** drops up to n bytes (fewer when the stream ends first) */
  async skip(n: number): Promise<void> {
    while (n > 0) {
      if (this.buf.length === this.at) {
        const { value, done } = await this.reader.read();
        if (done || value === undefined) return;
        this.buf = value;
        this.at = 0;
        continue;
      }
      const step = Math.min(n, this.buf.length - this.at);
      this.at += step;
      this.consumed += step;
      n -= step;
    }
  }

  cancel(): void {
    void this.reader.cancel().catch(() => {});
  }
}
