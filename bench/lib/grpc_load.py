# A C-core gRPC load client (Debian's python3-grpcio) for the benchmarks: it sends
# pre-encoded request messages with `concurrency` calls in flight and writes each
# response and latency back, so the client costs little and decodes nothing. Usage:
#   python3 grpc_load.py TARGET METHOD_PATH REQUESTS_FILE REPEAT CONCURRENCY OUT_FILE [stream]
# With "stream" the requests go down one bidi stream, CONCURRENCY of them in flight
# (Vald's Stream* answer in request order).
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
    stream = len(sys.argv) > 7 and sys.argv[7] == "stream"
    repeat, concurrency = int(repeat), int(concurrency)
    reqs = read_messages(req_file) * repeat
    opts = [("grpc.max_receive_message_length", 1 << 30), ("grpc.max_send_message_length", 1 << 30)]
    channel = grpc.insecure_channel(target, options=opts)
    grpc.channel_ready_future(channel).result(timeout=30)
    results = [None] * len(reqs)
    lat = [0] * len(reqs)
    if stream:
        write(out_file, *run_stream(channel, path, reqs, concurrency, results, lat), results, lat)
        return
    call = channel.unary_unary(path, request_serializer=None, response_deserializer=None)
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
    write(out_file, wall, state["error"], results, lat)


def run_stream(channel, path, reqs, window, results, lat):
    call = channel.stream_stream(path, request_serializer=None, response_deserializer=None)
    room = threading.Semaphore(window)
    sent = [0] * len(reqs)

    def requests():
        for i, r in enumerate(reqs):
            room.acquire()
            sent[i] = time.perf_counter_ns()
            yield r

    t_start = time.perf_counter_ns()
    error = None
    i = 0
    try:
        for resp in call(requests(), timeout=3600):
            lat[i] = time.perf_counter_ns() - sent[i]
            results[i] = resp
            i += 1
            room.release()
    except grpc.RpcError as e:
        error = f"{e.code().name}: {e.details()}"
    for j in range(i, len(reqs)):
        results[j] = b""
    if error is None and i != len(reqs):
        error = f"stream ended after {i} of {len(reqs)} responses"
    return time.perf_counter_ns() - t_start, error


def write(out_file, wall, error, results, lat):
    with open(out_file, "wb") as f:
        f.write(struct.pack(">QQ", len(results), wall))
        for r, l in zip(results, lat):
            f.write(struct.pack(">I", len(r)))
            f.write(r)
            f.write(struct.pack(">Q", l))
    if error:
        print(error, file=sys.stderr)
        sys.exit(1)


main()
