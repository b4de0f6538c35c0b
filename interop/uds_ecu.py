#!/usr/bin/env python3
"""A UDS ECU on `isotp.CanStack`, over python-can's socketcand interface (e.g. through `isotp hub`).

Runs unchanged under can-isotp 2.0.7 and under the project's package (both are `import isotp`); the
tester is `uds_tester.py`. The ECU asks BS 8 and STmin 1 ms, and announces P2server_max 50 ms
(P2*server_max 5 s) in its DiagnosticSessionControl response: a 600-byte request then takes at least
86 ms to send and a 4095-byte one 585 ms, longer than P2, which a tester must start counting when its
request has been sent (ISO 14229-2: at T_Data.con), not when it queued it. It answers:

    10 xx        -> 50 xx 00 32 01 F4
    22 F1 90     -> 62 F1 90 + VIN (17 bytes: a multi-frame response)
    22 DE AD     -> nothing (the tester's request times out)
    2E 01 00 ..  -> 6E 01 00 when the 597 data bytes are write_pattern(), else NRC 0x31
    34 00 44 ..  -> 74 20 0F FF (blocks of at most 4095 bytes: 4093 data bytes each)
    36 nn ..     -> 76 nn when nn is the next counter and the data is block_pattern(nn), else NRC
    37           -> 77 when the announced size was transferred, else NRC 0x24
    11 01        -> 51 01
    3E 00        -> 7E 00
    anything else: 7F sid 11

Prints one JSON line on stdout once the stack is started ({"event": "ready", ...}), one per request
({"event": "answered", "request": its first 3 bytes in hex, "length", "response": the first 4 bytes
of the answer in hex or null, "at": when the whole request had arrived (time.time()), "ms": the
time to queue the answer}), serves until stdin closes, then prints {"event": "done", ...} with what
it served and the errors its stack reported.

    python uds_ecu.py --host 127.0.0.1 --port 29536 --channel CHANNEL
"""

import argparse
import json
import logging
import struct
import sys
import threading
import time

import can
import isotp

ECU_ADDRESS = {'txid': 0x7E8, 'rxid': 0x7E0}
TESTER_ADDRESS = {'txid': 0x7E0, 'rxid': 0x7E8}
BLOCKSIZE = 8
STMIN_MS = 1
P2_MS = 50
P2_STAR_MS = 5000
VIN = b'WVWZZZ1JZXW000001'
DID_VIN = 0xF190
DID_UNANSWERED = 0xDEAD
DID_WRITE = 0x0100
WRITE_LENGTH = 597  # 2E + DID + 597 bytes = a 600-byte request
MAX_BLOCK_LENGTH = 4095  # TransferData request: 36 + counter + 4093 data bytes
BLOCK_DATA = MAX_BLOCK_LENGTH - 2
MEMORY_ADDRESS = 0x00010000


def write_pattern():
    return bytes((i * 7 + 3) % 256 for i in range(WRITE_LENGTH))


def block_pattern(counter):
    return bytes((i * 13 + counter * 31) % 256 for i in range(BLOCK_DATA))


def isotp_version():
    try:
        from importlib.metadata import version
        return version('can-isotp')
    except Exception:
        return getattr(isotp, '__version__', 'unknown')


def open_bus(host, port, channel):
    # TCP_NODELAY: without it Nagle's algorithm holds small frames back.
    return can.Bus(interface='socketcand', host=host, port=port, channel=channel, tcp_tune=True)


def quiet_python_can():
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # python-can warns each time a TCP read ends inside a `< frame ... >` message; that is normal
    # when frames stream in, and it buffers the rest.
    logging.getLogger('can.interfaces.socketcand.socketcand').setLevel(logging.ERROR)


def negative(sid, nrc):
    return bytes([0x7F, sid, nrc])


class Ecu:
    def __init__(self):
        self.download = None  # [announced size, received bytes, next counter]
        self.served = {}

    def answer(self, req):
        """The response to one request, or None to leave it unanswered."""
        sid = req[0]
        self.served['%02X' % sid] = self.served.get('%02X' % sid, 0) + 1
        if sid == 0x10 and len(req) == 2:
            return bytes([0x50, req[1]]) + struct.pack('>HH', P2_MS, P2_STAR_MS // 10)
        if sid == 0x22 and len(req) == 3:
            did = struct.unpack('>H', req[1:3])[0]
            if did == DID_VIN:
                return b'\x62' + req[1:3] + VIN
            if did == DID_UNANSWERED:
                return None
            return negative(sid, 0x31)
        if sid == 0x2E and len(req) >= 3:
            ok = struct.unpack('>H', req[1:3])[0] == DID_WRITE and req[3:] == write_pattern()
            return b'\x6E' + req[1:3] if ok else negative(sid, 0x31)
        if sid == 0x34 and len(req) == 11 and req[1:3] == b'\x00\x44':
            address, size = struct.unpack('>II', req[3:11])
            if address != MEMORY_ADDRESS or size == 0:
                return negative(sid, 0x31)
            self.download = [size, 0, 1]
            return b'\x74\x20' + struct.pack('>H', MAX_BLOCK_LENGTH)
        if sid == 0x36 and len(req) >= 2:
            if self.download is None:
                return negative(sid, 0x24)
            size, received, counter = self.download
            if req[1] != counter:
                return negative(sid, 0x73)
            if req[2:] != block_pattern(counter) or received + len(req) - 2 > size:
                return negative(sid, 0x72)
            self.download = [size, received + len(req) - 2, (counter + 1) % 256]
            return bytes([0x76, req[1]])
        if sid == 0x37 and len(req) == 1:
            if self.download is None or self.download[1] != self.download[0]:
                return negative(sid, 0x24)
            self.download = None
            return b'\x77'
        if sid == 0x11 and len(req) == 2 and req[1] == 0x01:
            return b'\x51\x01'
        if sid == 0x3E and len(req) == 2 and req[1] == 0x00:
            return b'\x7E\x00'
        return negative(sid, 0x11)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--channel', required=True)
    args = parser.parse_args()
    quiet_python_can()

    errors = []
    bus = open_bus(args.host, args.port, args.channel)
    stack = isotp.CanStack(bus, address=isotp.Address(isotp.AddressingMode.Normal_11bits, **ECU_ADDRESS),
                           error_handler=lambda e: errors.append('%s: %s' % (type(e).__name__, e)),
                           params={'blocksize': BLOCKSIZE, 'stmin': STMIN_MS,
                                   'max_frame_size': MAX_BLOCK_LENGTH})
    stack.start()
    stop = threading.Event()

    def watch_stdin():
        sys.stdin.read()
        stop.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    print(json.dumps({'event': 'ready', 'isotp': isotp_version(), 'python-can': can.__version__}), flush=True)

    ecu = Ecu()
    try:
        while not stop.is_set():
            req = stack.recv(block=True, timeout=0.05)
            if req is None:
                continue
            received_at = time.time()
            started = time.perf_counter()
            response = ecu.answer(bytes(req))
            if response is not None:
                stack.send(response)
            print(json.dumps({'event': 'answered', 'request': bytes(req[:3]).hex(), 'length': len(req),
                              'response': response[:4].hex() if response else None,
                              'at': received_at, 'ms': (time.perf_counter() - started) * 1e3}), flush=True)
    finally:
        stack.stop()
        bus.shutdown()
    print(json.dumps({'event': 'done', 'served': ecu.served, 'errors': errors}), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
