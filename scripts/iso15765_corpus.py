#!/usr/bin/env python3
"""Writes candump logs of ISO-TP conversations segmented here by the rules of ISO 15765-2, without
the project's code, and the payloads they carry: the reference for Wireshark's ISO-TP dissector
(scripts/capture-tests).

    iso15765_corpus.py DIR

DIR/NAME.log is the traffic, DIR/NAME.payloads one line per message, its bytes in lowercase hex, in
the order their last frames appear. NAME: classic (11-bit, normal addressing), fd (CAN FD: escape
single frames, 64-byte segments), ext29 (29-bit normal fixed ids), extaddr (extended addressing),
long (a 5000-byte message: first frame with the 32-bit length escape).
"""
import sys
from pathlib import Path

FD_LENGTHS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]


def fd_len(n):
    return next(length for length in FD_LENGTHS if length >= n)


def pad(frame, fd):
    """Classic frames padded to 8 bytes; CAN FD frames to the next valid length, at least 8."""
    size = fd_len(max(len(frame), 8)) if fd else 8
    return frame + bytes([0xCC]) * (size - len(frame))


def segment(payload, dl, prefix=b""):
    """The sender's frames of one message: a single frame, or a first frame and consecutive frames."""
    fd = dl > 8
    room = dl - len(prefix)
    n = len(payload)
    if n <= room - 1 and n <= 7 - len(prefix):
        return [pad(prefix + bytes([n]) + payload, fd)], False
    if fd and n <= room - 2:
        # Escape single frame: 0x00, then the length.
        return [pad(prefix + bytes([0, n]) + payload, fd)], False
    if n <= 4095:
        head = prefix + bytes([0x10 | n >> 8, n & 0xFF])
    else:
        head = prefix + bytes([0x10, 0]) + n.to_bytes(4, "big")
    first = head + payload[: dl - len(head)]
    frames = [first]
    rest = payload[dl - len(head):]
    sn = 1
    while rest:
        take = room - 1
        frames.append(pad(prefix + bytes([0x20 | sn]) + rest[:take], fd))
        rest = rest[take:]
        sn = (sn + 1) & 0xF
    return frames, True


def payload(seed, n):
    return bytes((seed * 31 + i * 7 + (i >> 8)) & 0xFF for i in range(n))


def conversation(messages, dl, tx, rx, tx_prefix=b"", rx_prefix=b""):
    """candump lines: each message from tx, a flow control from rx after a first frame."""
    lines, t = [], 1_700_000_000_000_000
    fd = dl > 8

    def line(can_id, data):
        nonlocal t
        t += 250
        sep = "##0" if fd else "#"
        lines.append(f"({t // 1_000_000}.{t % 1_000_000:06d}) can0 {can_id}{sep}{data.hex().upper()}")

    for i, (direction, message) in enumerate(messages):
        src, dst, sp, dp = (tx, rx, tx_prefix, rx_prefix) if direction == 0 else (rx, tx, rx_prefix, tx_prefix)
        frames, multi = segment(message, dl, sp)
        line(src, frames[0])
        if multi:
            line(dst, pad(dp + bytes([0x30, 0, 0]), fd))
        for frame in frames[1:]:
            line(src, frame)
    return lines


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    cases = {
        "classic": (8, "7E0", "7E8", b"", b"",
                    [(0, payload(1, 3)), (1, payload(2, 20)), (0, payload(3, 7)), (1, payload(4, 100))]),
        "fd": (64, "7E0", "7E8", b"", b"",
               [(0, payload(5, 30)), (1, payload(6, 62)), (0, payload(7, 5)), (1, payload(8, 300))]),
        "ext29": (8, "18DA10F1", "18DAF110", b"", b"",
                  [(0, payload(9, 2)), (1, payload(10, 50))]),
        "extaddr": (8, "6F1", "610", b"\x10", b"\xF1",
                    [(0, payload(11, 5)), (1, payload(12, 40)), (0, payload(13, 6))]),
        "long": (8, "7E0", "7E8", b"", b"", [(0, payload(14, 3)), (1, payload(15, 5000))]),
    }
    for name, (dl, tx, rx, tp, rp, messages) in cases.items():
        (out / f"{name}.log").write_text("\n".join(conversation(messages, dl, tx, rx, tp, rp)) + "\n")
        (out / f"{name}.payloads").write_text("".join(m.hex() + "\n" for _, m in messages))


if __name__ == "__main__":
    main()
