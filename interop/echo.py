#!/usr/bin/env python3
"""A python can-isotp 2.0.7 echo responder on our hub, the device under test of
crates/isotp/tests/python_conformance.rs: every message received is sent back.

    echo.py --host H --port P --channel C [--blocksize N]

It prints READY on stdout once its CanStack runs, then reports every error its stack hands to the
error handler on stderr, and runs until stdin closes.
"""

import argparse
import logging
import sys
import threading

import can
import isotp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--host", required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--channel", required=True)
    ap.add_argument("--blocksize", type=int, default=8)
    args = ap.parse_args()
    logging.getLogger("can.interfaces.socketcand.socketcand").setLevel(logging.ERROR)

    bus = can.Bus(interface="socketcand", host=args.host, port=args.port, channel=args.channel, tcp_tune=True)

    def on_error(e):
        print("error: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)

    # can-isotp's defaults, but for the block size (so that the tester has blocks to judge).
    stack = isotp.CanStack(
        bus,
        address=isotp.Address(isotp.AddressingMode.Normal_11bits, txid=0x7E8, rxid=0x7E0),
        error_handler=on_error,
        params={"blocksize": args.blocksize, "blocking_send": True},
        read_timeout=0.01,
    )
    stack.start()
    done = threading.Event()
    # The test ends the echo by closing stdin.
    threading.Thread(target=lambda: (sys.stdin.read(), done.set()), daemon=True).start()
    print("READY", flush=True)
    try:
        while not done.is_set():
            data = stack.recv(block=True, timeout=0.05)
            if data is None:
                continue
            try:
                stack.send(data, send_timeout=5.0)
            except Exception as e:  # the tester refused or ignored the echo: go on
                print("send: %s: %s" % (type(e).__name__, e), file=sys.stderr, flush=True)
    finally:
        stack.stop()
        bus.shutdown()


if __name__ == "__main__":
    main()
