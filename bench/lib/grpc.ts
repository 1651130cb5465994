// A grpc-js client for any method of our generated services: what Vald users run
// (grpc-js over HTTP/2), with protobuf-es messages.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type DescMethod, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";

export class GrpcClient {
  readonly client: grpc.Client;

  constructor(address: string) {
    this.client = new grpc.Client(address, grpc.credentials.createInsecure(), {
      "grpc.max_receive_message_length": 512 * 1024 * 1024,
      "grpc.max_send_message_length": 512 * 1024 * 1024,
    });
  }

  waitReady(ms = 10_000): Promise<void> {
    return new Promise((done, fail) => this.client.waitForReady(Date.now() + ms, (e) => (e ? fail(e) : done())));
  }

  unary<I extends DescMessage, O extends DescMessage>(m: DescMethod & { input: I; output: O }, req: MessageInitShape<I>, timeoutMs = 600_000): Promise<MessageShape<O>> {
    return new Promise((done, fail) => {
      this.client.makeUnaryRequest(
        `/${m.parent.typeName}/${m.name}`,
        (v: MessageShape<I>) => Buffer.from(toBinary(m.input, v)),
        (b: Buffer) => fromBinary(m.output, b),
        create(m.input, req),
        new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs },
        (err, res) => (err ? fail(err) : done(res as MessageShape<O>)),
      );
    });
  }

  /**
   * One bidi stream, up to `window` requests in flight; responses come back in request
   * order (Vald's Stream* contract). Returns each request's latency (ms) and the wall time.
   */
  pipeline<I extends DescMessage, O extends DescMessage>(
    m: DescMethod & { input: I; output: O },
    reqs: MessageShape<I>[],
    window: number,
    onResponse: (res: MessageShape<O>, i: number) => void,
  ): Promise<{ latencies: Float64Array; wallMs: number }> {
    const call = this.client.makeBidiStreamRequest(
      `/${m.parent.typeName}/${m.name}`,
      (v: MessageShape<I>) => Buffer.from(toBinary(m.input, v)),
      (b: Buffer) => fromBinary(m.output, b),
      new grpc.Metadata(),
      {},
    );
    const sentAt = new Float64Array(reqs.length);
    const latencies = new Float64Array(reqs.length);
    let sent = 0;
    let received = 0;
    let ended = false;
    const t0 = performance.now();
    return new Promise((done, fail) => {
      const fill = () => {
        while (sent < reqs.length && sent - received < window) {
          sentAt[sent] = performance.now();
          call.write(reqs[sent]!);
          sent++;
        }
        if (!ended && sent === reqs.length) {
          ended = true;
          call.end();
        }
      };
      call.on("data", (res: MessageShape<O>) => {
        latencies[received] = performance.now() - sentAt[received]!;
        onResponse(res, received);
        received++;
        if (received === reqs.length) return;
        fill();
      });
      call.on("error", fail);
      call.on("end", () => done({ latencies, wallMs: performance.now() - t0 }));
      fill();
    });
  }

  close(): void {
    this.client.close();
  }
}
