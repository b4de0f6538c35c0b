"""Code written against can-isotp 2.0.7 runs unchanged on this package: a burst of non-blocking sends
larger than any transmit queue, the tutorial quickstart users copy, and the submodules that
`import isotp` alone makes reachable.
"""

import os
import subprocess
import sys
import tempfile
import threading
import time

import pytest

import isotp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The quickstart as can-isotp tutorials give it; it lives beside the repository (../shared) and is run
# as users run it, never copied. ISOTP_QUICKSTART names another copy.
QUICKSTART = os.environ.get('ISOTP_QUICKSTART',
                            os.path.join(os.path.dirname(ROOT), 'shared', 'examples', 'tutorial_quickstart.py'))

BURST = 600


def burst_payload(i):
    # Single and multi-frame messages (3 to 62 bytes), each starting with its index.
    return i.to_bytes(2, 'big') + bytes((i + k) % 256 for k in range(1 + i % 61))


@pytest.mark.parametrize('kind', ['python-can', 'interface-string'])
def test_600_non_blocking_sends_never_raise_and_arrive_in_order(kind, virtual_pair):
    tx_bus, rx_bus = virtual_pair(kind)
    sender = isotp.CanStack(tx_bus, address=isotp.Address(txid=0x7E0, rxid=0x7E8),
                            params={'blocking_send': False})
    receiver = isotp.CanStack(rx_bus, address=isotp.Address(txid=0x7E8, rxid=0x7E0))
    received = []
    done = threading.Event()

    def receive():
        deadline = time.monotonic() + 120
        while len(received) < BURST and time.monotonic() < deadline:
            message = receiver.recv(block=True, timeout=0.5)
            if message is not None:
                received.append(bytes(message))
        done.set()

    receiver.start()
    sender.start()
    reader = threading.Thread(target=receive, daemon=True)
    reader.start()
    try:
        started = time.perf_counter()
        for i in range(BURST):
            sender.send(burst_payload(i))  # a full transmit queue must wait for room, not raise
        queued = time.perf_counter() - started
        assert done.wait(130), 'the receiver did not finish'
        elapsed = time.perf_counter() - started
        print('%s: %d sends queued in %.3f s, all received in %.3f s' % (kind, BURST, queued, elapsed))
        indices = [int.from_bytes(m[:2], 'big') for m in received]
        assert len(received) == BURST, 'received %d of %d messages; the last index seen: %s' % (
            len(received), BURST, indices[-1:] or None)
        assert indices == list(range(BURST)), 'messages out of order: %s' % [
            (n, i) for n, i in enumerate(indices) if n != i][:5]
        assert received == [burst_payload(i) for i in range(BURST)]
    finally:
        sender.stop()
        receiver.stop()


def test_tutorial_quickstart_runs_unchanged():
    assert os.path.isfile(QUICKSTART), 'the quickstart is not at %s (set ISOTP_QUICKSTART)' % QUICKSTART
    with tempfile.TemporaryDirectory() as cwd:
        env = dict(os.environ, CAN_BUSTYPE='virtual')
        env.pop('PYTHONPATH', None)
        run = subprocess.run([sys.executable, QUICKSTART], cwd=cwd, env=env, capture_output=True, text=True,
                             timeout=60)
    assert run.returncode == 0, 'exit %d\nstdout:\n%s\nstderr:\n%s' % (run.returncode, run.stdout, run.stderr)
    # Nothing answers on the bus: the 13-byte request waits for a flow control that never comes.
    assert run.stdout.splitlines() == [
        'CAN bus opened successfully: vcan0 (virtual)',
        'Sending ISO-TP message (13 bytes): 22f1900102030405060708090a',
        'Attempting to receive ISO-TP message (timeout=1.0s)...',
        'No ISO-TP message received within the timeout.',
        'CAN bus shut down.',
    ], run.stdout
    assert 'Traceback' not in run.stderr, run.stderr


def test_import_isotp_alone_reaches_the_submodules():
    code = '\n'.join([
        'import isotp',
        'assert isotp.stack.CanStack is isotp.CanStack, isotp.stack.CanStack',
        'assert isotp.protocol.TransportLayer is isotp.TransportLayer',
        'assert isotp.address.Address is isotp.Address',
        'assert isotp.errors.IsoTpError is isotp.IsoTpError',
        'assert callable(isotp.tools.Timer)',
        'assert isotp.socket is isotp.tpsock.socket',
        'print("ok")',
    ])
    with tempfile.TemporaryDirectory() as cwd:
        run = subprocess.run([sys.executable, '-c', code], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and run.stdout == 'ok\n', run.stderr
