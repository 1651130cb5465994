// The floor under every unary call: a bare Bun node:http2 gRPC server that reads each
// request body and answers one fixed message with grpc-status in trailers, the same
// stream calls alvd's fast path makes (src/rpc/grpc-unary.ts) and nothing else: no
// decode, no handler, no search. bench perf drives it like a deployment and reports its
// CPU per call beside alvd's. Usage: bun bench/lib/h2-echo.ts PORT ANSWER_BYTES
import http2 from "node:http2";

const [port, size] = process.argv.slice(2).map(Number);
const answer = Buffer.alloc(5 + size!, 0x2a);
answer[0] = 0;
answer.writeUInt32BE(size!, 1);
const server = http2.createServer();
server.on("stream", (stream: http2.ServerHttp2Stream) => {
  stream.on("data", () => {});
  stream.once("end", () => {
    stream.respond({ ":status": 200, "content-type": "application/grpc+proto" }, { waitForTrailers: true });
    stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
    stream.end(answer);
  });
});
server.listen(port, "127.0.0.1", () => process.stdout.write("ready\n"));
