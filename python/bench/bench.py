"""One benchmark script for can-isotp 2.0.7 and this package (a drop-in: the same code runs on
both). Two CanStacks on python-can's virtual bus (and, with this package, on a 'virtual:' interface
string): 4095-byte transfers (frames/s) and 1-byte round trips (median and p99). Beside them, the
ceiling of python-can's virtual bus itself in the same run: one Python thread sending 8-byte frames
as fast as it can, another receiving them (no ISO-TP at all).

    python bench.py [--messages 20] [--round-trips 500] [--json]
"""

import argparse
import json
import statistics
import threading
import time
import uuid

import can
import isotp

PARAMS = {'stmin': 0, 'blocksize': 0, 'tx_data_length': 8}


def make_pair(kind):
    if kind == 'python-can':
        ch = uuid.uuid4().hex
        buses = [can.Bus(interface='virtual', channel=ch), can.Bus(interface='virtual', channel=ch)]
        a, b = buses
    else:
        buses = []
        a = b = 'virtual:' + uuid.uuid4().hex
    s1 = isotp.CanStack(a, address=isotp.Address(txid=0x7E0, rxid=0x7E8), params=dict(PARAMS))
    s2 = isotp.CanStack(b, address=isotp.Address(txid=0x7E8, rxid=0x7E0), params=dict(PARAMS))
    s1.start()
    s2.start()
    return s1, s2, buses


def close(s1, s2, buses):
    s1.stop()
    s2.stop()
    for b in buses:
        b.shutdown()


def throughput(kind, messages):
    s1, s2, buses = make_pair(kind)
    try:
        payload = bytes(i % 256 for i in range(4095))
        frames_per_message = 1 + (4095 - 6 + 6) // 7 + 1  # FF + CFs + FC
        got = []

        def receive():
            for _ in range(messages):
                got.append(s2.recv(block=True, timeout=10))

        t = threading.Thread(target=receive)
        t.start()
        start = time.perf_counter()
        for _ in range(messages):
            s1.send(payload)
        t.join()
        elapsed = time.perf_counter() - start
        assert all(g == payload for g in got) and len(got) == messages, 'lost or corrupted messages'
        return {'frames_per_s': frames_per_message * messages / elapsed, 'messages': messages, 'seconds': elapsed}
    finally:
        close(s1, s2, buses)


def python_can_ceiling(frames):
    """Frames/s one way through python-can's virtual bus between two Python threads."""
    ch = uuid.uuid4().hex
    tx, rx = can.Bus(interface='virtual', channel=ch), can.Bus(interface='virtual', channel=ch)
    try:
        msg = can.Message(arbitration_id=0x7E0, data=bytes(8), is_extended_id=False)
        received = [0]

        def receive():
            while received[0] < frames and rx.recv(5) is not None:
                received[0] += 1

        t = threading.Thread(target=receive)
        t.start()
        start = time.perf_counter()
        for _ in range(frames):
            tx.send(msg)
        t.join()
        elapsed = time.perf_counter() - start
        assert received[0] == frames, 'python-can lost frames'
        return {'frames_per_s': frames / elapsed, 'frames': frames, 'seconds': elapsed}
    finally:
        tx.shutdown()
        rx.shutdown()


def round_trips(kind, count):
    s1, s2, buses = make_pair(kind)
    stop = threading.Event()

    def echo():
        while not stop.is_set():
            m = s2.recv(block=True, timeout=0.1)
            if m is not None:
                s2.send(m)

    t = threading.Thread(target=echo)
    t.start()
    try:
        times = []
        for i in range(count):
            start = time.perf_counter()
            s1.send(bytes([i % 256]))
            answer = s1.recv(block=True, timeout=5)
            times.append(time.perf_counter() - start)
            assert answer == bytes([i % 256]), 'bad answer'
        times.sort()
        return {'median_us': statistics.median(times) * 1e6, 'p99_us': times[int(len(times) * 0.99) - 1] * 1e6,
                'count': count}
    finally:
        stop.set()
        t.join()
        close(s1, s2, buses)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--messages', type=int, default=20)
    ap.add_argument('--round-trips', type=int, default=500)
    ap.add_argument('--json', action='store_true')
    args = ap.parse_args()
    package = 'isotp (Rust) ' + isotp.__version__ if '+rs' in isotp.__version__ else 'can-isotp ' + isotp.__version__
    kinds = ['python-can'] + (['interface-string'] if '+rs' in isotp.__version__ else [])
    results = {'package': package, 'python_can_ceiling': python_can_ceiling(587 * args.messages)}
    for kind in kinds:
        results[kind] = {'throughput_4095': throughput(kind, args.messages), 'rtt_1_byte': round_trips(kind, args.round_trips)}
    if args.json:
        print(json.dumps(results))
    else:
        print('%-28s %-16s %9.0f frames/s   (one way, two Python threads, no ISO-TP)' % (
            'python-can ' + can.__version__, 'virtual bus', results['python_can_ceiling']['frames_per_s']))
        for kind in kinds:
            r = results[kind]
            print('%-28s %-16s %9.0f frames/s   RTT median %7.0f us  p99 %7.0f us' % (
                package, kind, r['throughput_4095']['frames_per_s'], r['rtt_1_byte']['median_us'], r['rtt_1_byte']['p99_us']))


if __name__ == '__main__':
    main()
