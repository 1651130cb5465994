// The process's streams as the client commands use them, made once by the client entry
// (run.ts) and passed down: results go to stdout with backpressure, progress and
// errors to stderr, input comes from stdin or files as lines or bytes.
export interface Io {
  out: Output;
  /** a line (or a progress redraw) on stderr */
  err(text: string): void;
  stdin(): ReadableStream<Uint8Array>;
  stdinIsTTY: boolean;
  stderrIsTTY: boolean;
  /** stderr's width when it is a terminal */
  columns(): number;
}

/** stdout with backpressure; a reader that went away (EPIPE, `| head`) turns writes into no-ops. */
export class Output {
  closed = false;
  private waiting: (() => void)[] = [];
  constructor(private readonly stream: NodeJS.WriteStream) {
    const release = () => {
      for (const w of this.waiting.splice(0)) w();
    };
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code !== "EPIPE") throw e;
      this.closed = true;
      release();
    });
    stream.on("drain", release);
    stream.on("close", () => {
      this.closed = true;
      release();
    });
  }

  async write(data: string | Uint8Array): Promise<void> {
    if (this.closed || this.stream.write(data)) return;
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  line(text: string): Promise<void> {
    return this.write(`${text}\n`);
  }

  json(value: unknown): Promise<void> {
    return this.write(`${JSON.stringify(value)}\n`);
  }
}

/** --json output: protobuf JSON with zero values shown (a distance of 0, stored: 0) */
export const JSON_OPTIONS = { alwaysEmitImplicit: true } as const;

export function processIo(): Io {
  return {
    out: new Output(process.stdout),
    err: (text) => void process.stderr.write(text),
    stdin: () => Bun.stdin.stream(),
    stdinIsTTY: process.stdin.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    columns: () => process.stderr.columns || 80,
  };
}

/** Lines of UTF-8 text (without "\n" or "\r\n"), read as they arrive. */
export async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder("utf-8", { fatal: true });
  let rest = "";
  for await (const chunk of stream) {
    const text = rest + decoder.decode(chunk, { stream: true });
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      yield text.charCodeAt(nl - 1) === 13 ? text.slice(start, nl - 1) : text.slice(start, nl);
      start = nl + 1;
    }
    rest = text.slice(start);
  }
  rest += decoder.decode();
  if (rest !== "") yield rest.endsWith("\r") ? rest.slice(0, -1) : rest;
}
