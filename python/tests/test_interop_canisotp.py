"""Interop with the real can-isotp 2.0.7, running in another process (its own venv), through
`isotp hub` (the project's socketcand-compatible server): both directions, with this package on
python-can's socketcand interface and on a 'socketcand://' interface string.

Needs ISOTP_BIN (the `isotp` command) and ISOTP_CANISOTP_PYTHON (a python with can-isotp 2.0.7 and
python-can), which scripts/python-tests sets; there (ISOTP_REQUIRE_INTEROP=1) their absence fails
the suite, elsewhere it skips it.
"""

import json
import os
import subprocess
import sys
import uuid

import can
import pytest
from conftest import interop_programs

import isotp

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PEER = os.path.join(ROOT, 'interop', 'peer.py')
ISOTP_BIN, PEER_PYTHON = interop_programs('interop tests')


@pytest.fixture(scope='module')
def peer(hub):
    proc = subprocess.Popen([PEER_PYTHON, PEER, '--host', hub[0], '--port', str(hub[1])],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def command(cmd):
        proc.stdin.write(json.dumps(cmd) + '\n')
        proc.stdin.flush()

    def answer():
        line = proc.stdout.readline()
        assert line, 'the can-isotp peer exited'
        status, data, errors, info = line.rstrip('\n').split('\t')
        return status, (bytes.fromhex(data) if data != '-' else None), errors, info

    command({'op': 'hello'})
    status, _, _, info = answer()
    assert status == 'HELLO' and '2.0.7' in info, (status, info)
    yield command, answer
    command({'op': 'quit'})
    proc.wait(5)


PEER_ADDRESS = {'mode': 'Normal_11bits', 'txid': 0x7E8, 'rxid': 0x7E0}
OUR_ADDRESS = isotp.Address(isotp.AddressingMode.Normal_11bits, txid=0x7E0, rxid=0x7E8)


def our_stack(kind, hub, channel, params):
    if kind == 'python-can':
        bus = can.Bus(interface='socketcand', host=hub[0], port=hub[1], channel=channel, tcp_tune=True)
        stack = isotp.CanStack(bus, address=OUR_ADDRESS, params=params)
    else:
        bus = None
        stack = isotp.CanStack('socketcand://%s:%d/%s' % (hub[0], hub[1], channel), address=OUR_ADDRESS,
                               params=params)
    stack.start()
    return stack, bus


def close(stack, bus):
    stack.stop()
    if bus is not None:
        bus.shutdown()


SIZES = [1, 7, 8, 62, 100, 4095]
PARAMS = [{'blocksize': 0, 'stmin': 0}, {'blocksize': 3, 'stmin': 2, 'tx_padding': 0x55}]


@pytest.mark.parametrize('kind', ['python-can', 'interface-string'])
@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('params', PARAMS, ids=['bs0', 'bs3-stmin2-pad'])
def test_canisotp_sends_to_us(hub, peer, kind, size, params):
    command, answer = peer
    channel = uuid.uuid4().hex[:12]
    stack, bus = our_stack(kind, hub, channel, dict(params))
    try:
        payload = bytes((i * 13 + size) % 256 for i in range(size))
        command({'op': 'send', 'channel': channel, 'address': PEER_ADDRESS, 'params': params,
                 'data': payload.hex(), 'timeout': 10, 'settle': 0.1})
        got = stack.recv(block=True, timeout=10)
        status, _, errors, info = answer()
        assert status == 'SENT', (status, errors, info)
        assert got == payload
    finally:
        close(stack, bus)


@pytest.mark.parametrize('kind', ['python-can', 'interface-string'])
@pytest.mark.parametrize('size', SIZES)
@pytest.mark.parametrize('params', PARAMS, ids=['bs0', 'bs3-stmin2-pad'])
def test_we_send_to_canisotp(hub, peer, kind, size, params):
    command, answer = peer
    channel = uuid.uuid4().hex[:12]
    command({'op': 'recv', 'channel': channel, 'address': PEER_ADDRESS, 'params': params, 'timeout': 10})
    status, _, errors, info = answer()
    assert status == 'READY', (status, errors, info)
    stack, bus = our_stack(kind, hub, channel, dict(params, blocking_send=True))
    try:
        import time
        time.sleep(0.1)  # the hub's pause after a python-can client's handshake
        payload = bytes((i * 7 + size) % 256 for i in range(size))
        stack.send(payload, send_timeout=10)
        status, data, errors, info = answer()
        assert status == 'RECEIVED', (status, errors, info)
        assert data == payload
    finally:
        close(stack, bus)
