"""Simulated OBD-II ECUs on python can-isotp 2.0.7, for crates/isotp/tests/python_discovery.rs.

    python ecus.py HOST PORT CHANNEL SPEC

SPEC is JSON: a list of {"request": ID, "response": ID, "answer": HEX or null, "blocksize": N,
"stmin": N}. Each ECU has two CanStacks on their own socketcand connections to the hub: one on the
OBD-II functional id 0x7DF (can-isotp receives on one id per stack) and its physical link, which
sends the answer to a functional 09 02 (mode 09 PID 02) and receives the tester's flow control.
Prints READY once every stack runs; exits when stdin closes.
"""

import json
import logging
import sys
import threading
import time

import can
import isotp


def main():
    host, port, channel, spec = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
    logging.basicConfig(level=logging.ERROR)
    buses, stacks, threads = [], [], []
    stop = threading.Event()

    def bus():
        b = can.Bus(interface="socketcand", host=host, port=port, channel=channel, tcp_tune=True)
        buses.append(b)
        return b

    for ecu in spec:
        params = {"blocksize": ecu.get("blocksize", 0), "stmin": ecu.get("stmin", 0),
                  "tx_padding": 0x55, "blocking_send": True}
        functional = isotp.CanStack(bus(), address=isotp.Address(
            isotp.AddressingMode.Normal_11bits, txid=ecu["response"], rxid=0x7DF), params=params,
            read_timeout=0.01)
        physical = isotp.CanStack(bus(), address=isotp.Address(
            isotp.AddressingMode.Normal_11bits, txid=ecu["response"], rxid=ecu["request"]), params=params,
            read_timeout=0.01)
        functional.start()
        physical.start()
        stacks.extend([functional, physical])
        answer = bytes.fromhex(ecu["answer"]) if ecu.get("answer") else None

        def serve(functional=functional, physical=physical, answer=answer):
            while not stop.is_set():
                request = functional.recv(block=True, timeout=0.05)
                if request == bytearray([0x09, 0x02]) and answer is not None:
                    try:
                        physical.send(answer, send_timeout=5)
                    except Exception as e:  # reported, the ECU keeps serving
                        print(f"send failed: {e!r}", file=sys.stderr, flush=True)

        t = threading.Thread(target=serve, daemon=True)
        t.start()
        threads.append(t)

    time.sleep(0.2)  # the hub's pause after rawmode
    print("READY", flush=True)
    sys.stdin.read()
    stop.set()
    for t in threads:
        t.join()
    for s in stacks:
        s.stop()
    for b in buses:
        b.shutdown()


if __name__ == "__main__":
    main()
