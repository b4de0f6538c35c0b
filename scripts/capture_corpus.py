"""Writes one recording of ISO-TP traffic through python-can's own log writers, for
scripts/capture-tests: the same frames as candump (.log), Vector ASC (.asc, absolute and relative
timestamps), Vector BLF (.blf: compressed, uncompressed, and in containers so small that objects are
split between them), ASAM MF4 (.mf4 through asammdf: transposed and deflated, deflated, plain) and PEAK TRC (.trc, classic frames only: python-can's TRCWriter writes no CAN FD).

    python capture_corpus.py OUTDIR

OUTDIR/expected.txt lists the data frames every reader must return, one per line:
    MICROSECONDS CHANNEL(1-based) ID(hex) EXTENDED FD BRS DATA(hex or -)
"""

import inspect
import os
import sys

import can
from can.io.asc import ASCWriter
from can.io.blf import BLFWriter
from can.io.canutils import CanutilsLogWriter
from can.io.mf4 import MF4Writer
from can.io.trc import TRCWriter

# A whole millisecond plus 42 ms: python-can's ASCWriter writes the header's milliseconds unpadded.
START_US = 1_700_000_000_042_000


def frames():
    """(offset us, channel 0-based, id, extended, fd, brs, data, rx)"""
    t = 0
    out = []

    def add(gap, ch, arb, ext, data, fd=False, brs=False, rx=True):
        nonlocal t
        t += gap
        out.append((t, ch, arb, ext, fd, brs, bytes(data), rx))

    vin = b"\x62\xF1\x90WVWZZZ1JZXW000001"  # 20 bytes
    # Classic, 11-bit normal addressing, channel 0: request, multi-frame response.
    add(0, 0, 0x7E0, False, b"\x03\x22\xF1\x90\xCC\xCC\xCC\xCC", rx=False)
    add(410, 0, 0x7E8, False, b"\x10\x14" + vin[:6])
    add(122, 0, 0x7E0, False, b"\x30\x00\x00\xCC\xCC\xCC\xCC\xCC", rx=False)
    add(298, 0, 0x7E8, False, b"\x21" + vin[6:13])
    add(301, 0, 0x7E8, False, b"\x22" + vin[13:20])
    # Unpadded single frames, a negative response.
    add(1000, 0, 0x7E0, False, b"\x02\x10\x03", rx=False)
    add(500, 0, 0x7E8, False, b"\x03\x7F\x10\x22")
    # 29-bit normal fixed addressing on channel 1, 40 bytes with block size 2.
    payload = bytes(range(40))
    add(2000, 1, 0x18DA10F1, True, b"\x10\x28" + payload[:6], rx=False)
    add(350, 1, 0x18DAF110, True, b"\x30\x02\x05")
    sent, sn = 6, 1
    while sent < 40:
        chunk = payload[sent:sent + 7]
        add(5001, 1, 0x18DA10F1, True, bytes([0x20 | (sn & 0xF)]) + chunk, rx=False)
        sent += len(chunk)
        sn += 1
        if sn == 3 and sent < 40:
            add(200, 1, 0x18DAF110, True, b"\x30\x02\x05")
    # An empty classic frame and a 29-bit id with few digits.
    add(700, 0, 0x123, False, b"")
    add(700, 0, 0x00000456, True, b"\x01\x3E")
    # CAN FD on channel 0: a 100-byte response in 64-byte frames with bit rate switch, and one
    # single frame in an FD frame without it.
    big = bytes((i * 7) & 0xFF for i in range(100))
    add(3000, 0, 0x7E0, False, b"\x02\x3E\x00", fd=True, brs=False, rx=False)
    add(250, 0, 0x7E8, False, b"\x10\x64" + big[:62], fd=True, brs=True)
    add(120, 0, 0x7E0, False, b"\x30\x00\x00", fd=True, brs=True, rx=False)
    add(180, 0, 0x7E8, False, b"\x21" + big[62:100] + b"\xCC" * 9, fd=True, brs=True)
    return out


def messages():
    for (t, ch, arb, ext, fd, brs, data, rx) in frames():
        yield can.Message(
            timestamp=(START_US + t) / 1e6,
            channel=ch,
            arbitration_id=arb,
            is_extended_id=ext,
            is_fd=fd,
            bitrate_switch=brs,
            data=data,
            dlc=len(data),
            is_rx=rx,
        )


def extras():
    """Frames every reader passes over: a remote frame and an error frame."""
    t = START_US + 20_000
    yield can.Message(timestamp=t / 1e6, channel=0, arbitration_id=0x7E0, is_remote_frame=True, dlc=8)
    yield can.Message(timestamp=(t + 1) / 1e6, channel=0, is_error_frame=True)


def write(writer, classic_only=False, with_extras=True):
    for m in messages():
        if classic_only and m.is_fd:
            continue
        writer.on_message_received(m)
    if with_extras:
        for m in extras():
            writer.on_message_received(m)
    writer.stop()


def main(outdir):
    os.makedirs(outdir, exist_ok=True)
    p = lambda name: os.path.join(outdir, name)  # noqa: E731
    write(CanutilsLogWriter(p("corpus.log")))
    write(ASCWriter(p("corpus.asc")))
    if "timestamps_format" in inspect.signature(ASCWriter.__init__).parameters:
        write(ASCWriter(p("corpus-relative.asc"), timestamps_format="relative"))
    else:
        print("capture corpus: this python-can has no relative ASC timestamps; not written")
    write(BLFWriter(p("corpus.blf")))
    write(BLFWriter(p("corpus-uncompressed.blf"), compression_level=0))
    write(BLFWriter(p("corpus-split.blf"), max_container_size=100))
    write(MF4Writer(p("corpus.mf4")))
    write(MF4Writer(p("corpus-deflate.mf4"), compression_level=1))
    write(MF4Writer(p("corpus-uncompressed.mf4"), compression_level=0))
    # TRCWriter writes neither CAN FD nor remote or error frames.
    write(TRCWriter(p("corpus.trc")), classic_only=True, with_extras=False)
    write(CanutilsLogWriter(p("corpus-classic.log")), classic_only=True, with_extras=False)
    with open(p("expected.txt"), "w") as f:
        for (t, ch, arb, ext, fd, brs, data, rx) in frames():
            f.write(f"{START_US + t} {ch + 1} {arb:X} {int(ext)} {int(fd)} {int(brs)} {data.hex().upper() or '-'}\n")
    print(f"capture corpus: python-can {can.__version__} wrote {len(os.listdir(outdir))} files to {outdir}")


if __name__ == "__main__":
    main(sys.argv[1])
