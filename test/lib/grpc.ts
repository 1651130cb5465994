// A plain grpc-js client for any generated method: what third-party gRPC clients
// (Go, Python, grpc-js) see on the wire, with protobuf-es doing the (de)serialising.
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import type { DescMethodUnary } from "@bufbuild/protobuf";

export function grpcClient(addr: string): grpc.Client {
  return new grpc.Client(addr, grpc.credentials.createInsecure());
}

export function grpcUnary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  method: DescMethodUnary<I, O>,
  input: MessageInitShape<I>,
  deadlineMs = 10_000,
): Promise<MessageShape<O>> {
  const path = `/${method.parent.typeName}/${method.name}`;
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      path,
      (m: MessageShape<I>) => Buffer.from(toBinary(method.input, m)),
      (b: Buffer) => fromBinary(method.output, b),
      create(method.input, input),
      { deadline: Date.now() + deadlineMs },
      (err: grpc.ServiceError | null, res?: MessageShape<O>) => (err ? reject(err) : resolve(res!)),
    );
  });
}
