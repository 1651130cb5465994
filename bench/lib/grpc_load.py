# A C-core gRPC load client (Debian's python3-grpcio) for the benchmarks: it sends
# pre-encoded request messages with `concurrency` calls in flight and writes each
# response and latency back, so the client costs little and decodes nothing. Usage:
#   python3 grpc_load.py TARGET METHOD_PATH REQUESTS_FILE REPEAT CONCURRENCY OUT_FILE
# REQUESTS_FILE and OUT_FILE hold messages as u32 big-endian length + bytes; OUT_FILE
# also has each call's latency in ns (u64) after its response, in request order.
import struct
import sys
import threading
import time

import grpc


def read_messages(path):
    data = open(path, "rb").read()
    out, at = [], 0
    while at < len(data):
        (n,) = struct.unpack_from(">I", data, at)
        out.append(data[at + 4 : at + 4 + n])
        at += 4 + n
    return out


def main():
    target, path, req_file, repeat, concurrency, out_file = sys.argv[1:7]
    repeat, concurrency = int(repeat), int(concurrency)
    reqs = read_messages(req_file) * repeat
    opts = [("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30)]
    channel = grpc.insecure_channel(target, options=opts)
    grpc.channel_ready_future(channel).result(timeout=30)
    call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
    results = [None] * len(reqs)
    lat = [0] * len(reqs)
    lock = threading.Lock()
    done = threading.Event()
    state = {"next": 0, "finished": 0, "error": None}

    def launch():
        with lock:
            i = state["next"]
            if i >= len(reqs):
                return
            state["next"] = i + 1
        t0 = time.perf_counter_ns()
        fut = call.future(reqs[i], timeout=60)

        def finished(f, i=i, t0=t0):
            lat[i] = time.perf_counter_ns() - t0
            try:
                results[i] = f.result()
            except grpc.RpcError as e:
                state["error"] = f"{e.code().name}: {e.details()}"
                results[i] = b""
            with lock:
                state["finished"] += 1
                last = state["finished"] == len(reqs)
            if last:
                done.set()
            else:
                launch()

        fut.add_done_callback(finished)

    t_start = time.perf_counter_ns()
    for _ in range(min(concurrency, len(reqs))):
        launch()
    done.wait()
    wall = time.perf_counter_ns() - t_start
    with open(out_file, "wb") as f:
        f.write(struct.pack(">QQ", len(reqs), wall))
        for r, l in zip(results, lat):
            f.write(struct.pack(">I", len(r)))
            f.write(r)
            f.write(struct.pack(">Q", l))
    if state["error"]:
        print(state["error"], file=sys.stderr)
        sys.exit(1)


main()
