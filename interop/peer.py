#!/usr/bin/env python3
"""A python can-isotp peer driven over stdin/stdout, for crates/isotp/tests/python_interop.rs.

The Rust test starts one process of this script per test function and sends it one JSON object a
line on stdin; each command opens a fresh python-can `socketcand` connection to the hub on the
channel the command names, runs an `isotp.CanStack` on it, and answers with one line on stdout:

    STATUS<TAB>HEX<TAB>ERRORS<TAB>INFO

STATUS is READY (the stack is listening: the Rust side may send now; a final line follows), SENT,
RECEIVED, SERVED, RESPONSE, NOTHING (timed out, nothing received), FAILED (an exception) or HELLO.
HEX is a payload in hex or "-". ERRORS lists what the stack's error handler was given, as
"ClassName: message" joined by " | ", or "-". INFO is free text (timings, versions).

Commands (`address` holds `mode` — an isotp.AddressingMode name — and the isotp.Address keyword
arguments; `params` is handed to CanStack as its params dict):

    {"op": "hello"}
    {"op": "send", "channel", "address", "params", "data": HEX, "timeout": s}
    {"op": "recv", "channel", "address", "params", "timeout": s}
    {"op": "serve", "channel", "address", "params", "request": HEX, "response": HEX, "timeout": s}
        receive one request; when it equals `request`, answer `response`
    {"op": "request", "channel", "address", "params", "request": HEX, "timeout": s}
        send `request`, then wait for one response
    {"op": "quit"}

Every command may also carry "settle": seconds to wait after the stack started (default 0).

Diagnostics go to stderr; stdout carries answers only.
"""

import json
import logging
import sys
import threading
import time
import traceback

try:
    from importlib.metadata import version as _dist_version
except ImportError:  # pragma: no cover - python < 3.8
    _dist_version = None

import can
import isotp

HOST = "127.0.0.1"
PORT = 29536


def clean(text):
    return " ".join(str(text).replace("\t", " ").split()) or "-"


def answer(status, data=None, errors=None, info=""):
    hexdata = bytes(data).hex() if data else "-"
    errs = " | ".join("%s: %s" % (type(e).__name__, clean(e)) for e in (errors or [])) or "-"
    sys.stdout.write("%s\t%s\t%s\t%s\n" % (status, hexdata, errs, clean(info) if info else "-"))
    sys.stdout.flush()


def make_address(spec):
    spec = dict(spec)
    mode = getattr(isotp.AddressingMode, spec.pop("mode"))
    return isotp.Address(mode, **spec)


class Session:
    """A socketcand connection and a started CanStack on it, stopped on exit."""

    def __init__(self, cmd):
        self.errors = []
        self.lock = threading.Lock()
        self.bus = can.Bus(
            interface="socketcand",
            host=HOST,
            port=PORT,
            channel=cmd["channel"],
            # TCP_NODELAY: without it Nagle's algorithm holds small frames back.
            tcp_tune=True,
        )
        params = dict(cmd.get("params") or {})
        # send() waits for the outcome and raises on failure, like our send_blocking.
        params.setdefault("blocking_send", True)
        self.stack = isotp.CanStack(
            self.bus,
            address=make_address(cmd["address"]),
            error_handler=self.on_error,
            params=params,
            # How long the reading thread blocks in bus.recv; it wakes on every frame anyway.
            read_timeout=0.01,
        )
        self.stack.start()
        # Optional pause before the first frame, e.g. so a round-trip figure does not include the
        # hub's short pause after `< rawmode >` (frames for this client wait in its queue meanwhile).
        time.sleep(float(cmd.get("settle", 0)))

    def on_error(self, error):
        with self.lock:
            self.errors.append(error)

    def errors_now(self):
        with self.lock:
            return list(self.errors)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        try:
            self.stack.stop()
        finally:
            self.bus.shutdown()
        return False


def recv_one(session, timeout):
    return session.stack.recv(block=True, timeout=timeout)


def op_send(cmd):
    data = bytes.fromhex(cmd["data"])
    with Session(cmd) as s:
        start = time.perf_counter()
        try:
            s.stack.send(data, send_timeout=cmd.get("timeout", 10.0))
        except Exception as e:  # BlockingSendFailure, BlockingSendTimeout, ...
            time.sleep(0.05)  # let the error handler run
            answer("FAILED", None, s.errors_now(), "%s: %s" % (type(e).__name__, clean(e)))
            return
        elapsed = time.perf_counter() - start
        answer("SENT", None, s.errors_now(), "%.3f s" % elapsed)


def op_recv(cmd):
    with Session(cmd) as s:
        answer("READY")
        start = time.perf_counter()
        data = recv_one(s, cmd.get("timeout", 10.0))
        elapsed = time.perf_counter() - start
        if data is None:
            answer("NOTHING", None, s.errors_now(), "after %.3f s" % elapsed)
        else:
            answer("RECEIVED", bytes(data), s.errors_now(), "%.3f s" % elapsed)


def op_serve(cmd):
    want = bytes.fromhex(cmd["request"])
    response = bytes.fromhex(cmd["response"])
    with Session(cmd) as s:
        answer("READY")
        req = recv_one(s, cmd.get("timeout", 10.0))
        if req is None:
            answer("NOTHING", None, s.errors_now(), "no request")
            return
        req = bytes(req)
        if req != want:
            answer("FAILED", req, s.errors_now(), "unexpected request")
            return
        try:
            s.stack.send(response, send_timeout=cmd.get("timeout", 10.0))
        except Exception as e:
            answer("FAILED", req, s.errors_now(), "%s: %s" % (type(e).__name__, clean(e)))
            return
        answer("SERVED", req, s.errors_now())


def op_request(cmd):
    request = bytes.fromhex(cmd["request"])
    with Session(cmd) as s:
        start = time.perf_counter()
        try:
            s.stack.send(request, send_timeout=cmd.get("timeout", 10.0))
        except Exception as e:
            answer("FAILED", None, s.errors_now(), "%s: %s" % (type(e).__name__, clean(e)))
            return
        resp = recv_one(s, cmd.get("timeout", 10.0))
        elapsed = time.perf_counter() - start
        if resp is None:
            answer("NOTHING", None, s.errors_now(), "no response after %.3f s" % elapsed)
        else:
            answer("RESPONSE", bytes(resp), s.errors_now(), "%.2f ms" % (elapsed * 1e3))


def op_hello(_cmd):
    def ver(dist, module):
        if _dist_version is not None:
            try:
                return _dist_version(dist)
            except Exception:
                pass
        return getattr(module, "__version__", "unknown")

    answer(
        "HELLO",
        None,
        None,
        "can-isotp=%s python-can=%s python=%s"
        % (ver("can-isotp", isotp), ver("python-can", can), sys.version.split()[0]),
    )


OPS = {"send": op_send, "recv": op_recv, "serve": op_serve, "request": op_request, "hello": op_hello}


def main():
    global HOST, PORT
    args = sys.argv[1:]
    while args:
        a = args.pop(0)
        if a == "--host":
            HOST = args.pop(0)
        elif a == "--port":
            PORT = int(args.pop(0))
        else:
            sys.stderr.write("usage: peer.py --host HOST --port PORT\n")
            return 2
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    # python-can warns each time a TCP read ends inside a `< frame ... >` message; that is normal
    # when frames stream in, and it buffers the rest.
    logging.getLogger("can.interfaces.socketcand.socketcand").setLevel(logging.ERROR)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
        except ValueError as e:
            answer("FAILED", None, None, "bad command: %s" % e)
            continue
        op = cmd.get("op")
        if op == "quit":
            break
        fn = OPS.get(op)
        if fn is None:
            answer("FAILED", None, None, "unknown op %r" % op)
            continue
        try:
            fn(cmd)
        except Exception as e:
            traceback.print_exc(file=sys.stderr)
            answer("FAILED", None, None, "%s: %s" % (type(e).__name__, clean(e)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
