#!/usr/bin/env python3
"""Writes recorded UDS flash sessions (candump text) for the tests of `isotp check --uds --html`.

    report_corpus.py OUT.log [--clean] [--blocks N]

A tester (7E0) flashes an ECU (7E8): DiagnosticSessionControl (the ECU announces P2 50 ms, P2*
5000 ms), SecurityAccess, RequestDownload, N TransferData blocks of 4000 bytes (flow control BS 8,
STmin 1 ms; the ECU answers the first with two "response pending"), RequestTransferExit,
ECUReset. Unless --clean, two faults are planted: one consecutive frame of the second block comes
0.2 ms after the previous one (STmin violation), and the response to RequestTransferExit starts
120 ms after the request (P2 violation). The clean twin is the same session without them.
With N large the recording reaches a million frames and more (N=1700: about 1 M).
"""
import argparse

TESTER, ECU = 0x7E0, 0x7E8


class Log:
    def __init__(self):
        self.lines = []
        self.t = 1_700_000_000_000_000  # microseconds

    def frame(self, can_id, data):
        data = list(data) + [0xAA] * (8 - len(data))
        self.lines.append(
            f"({self.t // 1_000_000}.{self.t % 1_000_000:06d}) can0 {can_id:03X}#{bytes(data).hex().upper()}"
        )

    def wait(self, us):
        self.t += us

    def message(self, sender, receiver, payload, st_min_ms=1, block_size=8, too_fast_cf=None):
        """One ISO-TP message; too_fast_cf: the index of a consecutive frame sent 0.2 ms early."""
        if len(payload) <= 7:
            self.frame(sender, [len(payload)] + payload)
            return
        self.frame(sender, [0x10 | (len(payload) >> 8), len(payload) & 0xFF] + payload[:6])
        rest, sn, cf = payload[6:], 1, 0
        while rest:
            self.wait(800)
            self.frame(receiver, [0x30, block_size, st_min_ms])
            for i in range(block_size or 10**9):
                if not rest:
                    break
                gap = 300 if i == 0 else st_min_ms * 1000 + 150
                if cf == too_fast_cf:
                    gap = 200
                self.wait(gap)
                self.frame(sender, [0x20 | sn] + rest[:7])
                rest, sn, cf = rest[7:], (sn + 1) & 0x0F, cf + 1

    def exchange(self, request, responses, p2_us=8000):
        self.message(TESTER, ECU, request)
        for i, r in enumerate(responses):
            self.wait(p2_us if i == 0 else 40_000)
            self.message(ECU, TESTER, r)
        self.wait(15_000)


def session(blocks, clean):
    log = Log()
    log.exchange([0x10, 0x02], [[0x50, 0x02, 0x00, 0x32, 0x01, 0xF4]])
    log.exchange([0x27, 0x01], [[0x67, 0x01, 0x12, 0x34, 0x56, 0x78]])
    log.exchange([0x27, 0x02, 0xED, 0xCB, 0xA9, 0x87], [[0x67, 0x02]])
    log.exchange([0x34, 0x00, 0x44, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0xFA, 0x00],
                 [[0x74, 0x20, 0x0F, 0xA2]])
    for block in range(1, blocks + 1):
        counter = block & 0xFF
        data = [(block * 7 + i) & 0xFF for i in range(4000)]
        too_fast = 20 if block == 2 and not clean else None
        log.message(TESTER, ECU, [0x36, counter] + data, too_fast_cf=too_fast)
        log.wait(6000)
        if block == 1:
            log.message(ECU, TESTER, [0x7F, 0x36, 0x78])
            log.wait(30_000)
            log.message(ECU, TESTER, [0x7F, 0x36, 0x78])
            log.wait(30_000)
        log.message(ECU, TESTER, [0x76, counter])
        log.wait(5000)
    log.exchange([0x37], [[0x77]], p2_us=8000 if clean else 120_000)
    log.exchange([0x11, 0x01], [[0x51, 0x01]])
    return log.lines


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--clean", action="store_true")
    p.add_argument("--blocks", type=int, default=2)
    a = p.parse_args()
    with open(a.out, "w") as f:
        f.write("\n".join(session(a.blocks, a.clean)) + "\n")


if __name__ == "__main__":
    main()
