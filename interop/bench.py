#!/usr/bin/env python3
"""Python half of scripts/compare-bench: a pair of can-isotp CanStacks on python-can's `virtual`
bus, measured exactly as crates/isotp/examples/compare_bench.rs measures a pair of our Stacks on our
VirtualBus. Prints one JSON object on stdout.

    python interop/bench.py [--sizes 64,4095] [--block-sizes 0,8] [--messages 64=2000,4095=100]
                            [--round-trips 2000]

- Throughput: one thread sends `messages` messages of `size` bytes with a blocking send
  (blocking_send=True), another receives them; the time runs from the first send until the last
  message is received. STmin 0, the receiver asks for the block size given, classic CAN frames, no
  padding.
- Round trip: a 1-byte request from A, B answers 1 byte as soon as it has the request; the time
  runs from A's send() until A's recv() returns. Median and 99th percentile over `round-trips`.

The stacks keep can-isotp's defaults otherwise (read_timeout 0.05 s: the reading thread blocks in
bus.recv and wakes on every frame).
"""

import argparse
import itertools
import json
import threading
import time

try:
    from importlib.metadata import version
except ImportError:  # pragma: no cover
    version = None

import can
import isotp

_channels = itertools.count()


def pair(block_size, blocking_send):
    channel = "bench%d" % next(_channels)
    bus_a = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)
    bus_b = can.Bus(interface="virtual", channel=channel, receive_own_messages=False)
    params = {
        "stmin": 0,
        "blocksize": block_size,
        "tx_padding": None,
        "max_frame_size": 4095,
        "blocking_send": blocking_send,
    }
    a = isotp.CanStack(bus_a, address=isotp.Address(isotp.AddressingMode.Normal_11bits, txid=0x7E0, rxid=0x7E8), params=params)
    b = isotp.CanStack(bus_b, address=isotp.Address(isotp.AddressingMode.Normal_11bits, txid=0x7E8, rxid=0x7E0), params=params)
    a.start()
    b.start()
    return (a, bus_a), (b, bus_b)


def close(*parts):
    for stack, bus in parts:
        stack.stop()
        bus.shutdown()


def throughput(size, block_size, messages):
    (a, bus_a), (b, bus_b) = pair(block_size, blocking_send=True)
    try:
        data = bytes(i & 0xFF for i in range(size))
        for _ in range(3):  # warm up
            a.send(data, send_timeout=30)
            got = b.recv(block=True, timeout=30)
            assert got is not None and len(got) == size, "warm-up message lost"
        done = {}

        def receive():
            for i in range(messages):
                m = b.recv(block=True, timeout=30)
                if m is None or len(m) != size:
                    done["error"] = "message %d: %r" % (i, None if m is None else len(m))
                    return
            done["end"] = time.perf_counter()

        t = threading.Thread(target=receive)
        t.start()
        start = time.perf_counter()
        for _ in range(messages):
            a.send(data, send_timeout=30)
        t.join()
        if "error" in done:
            raise RuntimeError(done["error"])
        return done["end"] - start
    finally:
        close((a, bus_a), (b, bus_b))


def round_trips(n):
    (a, bus_a), (b, bus_b) = pair(0, blocking_send=False)
    stop = threading.Event()

    def respond():
        while not stop.is_set():
            req = b.recv(block=True, timeout=0.5)
            if req is None:
                continue
            if bytes(req) == b"\xff":
                return
            b.send(bytes([req[0] ^ 0x40]))

    t = threading.Thread(target=respond)
    t.start()
    times = []
    try:
        for i in range(n + 20):
            req = bytes([i % 0x3F])
            t0 = time.perf_counter()
            a.send(req)
            resp = a.recv(block=True, timeout=30)
            dt = time.perf_counter() - t0
            if resp is None or bytes(resp) != bytes([req[0] ^ 0x40]):
                raise RuntimeError("round trip %d: bad response %r" % (i, resp))
            if i >= 20:  # the first 20 warm up
                times.append(dt * 1e6)
        a.send(b"\xff")
    finally:
        stop.set()
        t.join()
        close((a, bus_a), (b, bus_b))
    times.sort()
    return times


def percentile(sorted_values, p):
    i = int(round((len(sorted_values) - 1) * p))
    return sorted_values[min(i, len(sorted_values) - 1)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="64,4095")
    ap.add_argument("--block-sizes", default="0,8")
    ap.add_argument("--messages", default="64=2000,4095=100")
    ap.add_argument("--round-trips", type=int, default=2000)
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    block_sizes = [int(x) for x in args.block_sizes.split(",")]
    counts = {int(k): int(v) for k, v in (p.split("=") for p in args.messages.split(","))}

    rows = []
    for size in sizes:
        for bs in block_sizes:
            messages = counts.get(size, 100)
            seconds = throughput(size, bs, messages)
            rows.append({
                "size": size,
                "block_size": bs,
                "st_min": 0,
                "messages": messages,
                "seconds": round(seconds, 6),
                "messages_per_s": round(messages / seconds, 3),
                "kib_per_s": round(messages * size / seconds / 1024, 3),
            })
    rtt = round_trips(args.round_trips)
    ver = (lambda d: version(d)) if version else (lambda d: "?")
    print(json.dumps({
        "implementation": "python can-isotp %s CanStack on python-can %s virtual bus" % (ver("can-isotp"), ver("python-can")),
        "throughput": rows,
        "round_trip": {
            "size": 1,
            "count": len(rtt),
            "median_us": round(percentile(rtt, 0.5), 1),
            "p99_us": round(percentile(rtt, 0.99), 1),
            "mean_us": round(sum(rtt) / len(rtt), 1),
            "min_us": round(rtt[0], 1),
            "max_us": round(rtt[-1], 1),
        },
    }))


if __name__ == "__main__":
    main()
