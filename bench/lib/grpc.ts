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

  close(): void {
    this.client.close();
  }
}
