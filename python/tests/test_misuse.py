"""What users do that the happy path does not: Ctrl-C in a blocking call, cancelled asyncio
waits, stop() from another thread, stacks dropped without stop(), error handlers that raise, the
texts logs and tests match on. can-isotp 2.0.7 handles each of these; so must the drop-in."""

import asyncio
import gc
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import can
import pytest

import isotp

A = isotp.Address(isotp.AddressingMode.Normal_11bits, txid=0x7E0, rxid=0x7E8)
B = isotp.Address(isotp.AddressingMode.Normal_11bits, txid=0x7E8, rxid=0x7E0)
KINDS = ['python-can', 'interface-string']


def bus_for(kind, channel):
    if kind == 'python-can':
        return can.Bus(interface='virtual', channel=channel)
    return 'virtual:' + channel


def shut(*buses):
    for b in buses:
        if not isinstance(b, str):
            b.shutdown()


def wait_for(predicate, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.01)
    return predicate()


# -- Ctrl-C ------------------------------------------------------------------------------------

CTRL_C_SCRIPT = r'''
import sys, time, threading, uuid, can, isotp
kind, call = sys.argv[1], sys.argv[2]
channel = uuid.uuid4().hex
bus = can.Bus(interface='virtual', channel=channel) if kind == 'python-can' else 'virtual:' + channel
a = isotp.Address(txid=0x7E0, rxid=0x7E8)
params = {'blocking_send': True, 'wftmax': 0xFF}
s = isotp.CanStack(bus, address=a, params=params)
s.start()
if call == 'send-against-wait':
    # A peer that answers every first frame with FC.WAIT, forever (within wftmax).
    peer = can.Bus(interface='virtual', channel=channel) if kind == 'python-can' else None
    def waiter():
        import isotp as _i
        while True:
            m = peer.recv(1)
            if m is not None and m.data[0] >> 4 == 1:
                while True:
                    peer.send(can.Message(arbitration_id=0x7E8, data=[0x31, 0, 0], is_extended_id=False))
                    time.sleep(0.5)
    if peer is not None:
        threading.Thread(target=waiter, daemon=True).start()
print('ready', flush=True)
started = time.monotonic()
try:
    if call == 'recv-forever':
        s.recv(block=True, timeout=None)
    elif call == 'recv-timeout':
        s.recv(block=True, timeout=30)
    elif call == 'send-against-wait':
        s.send(bytes(100), send_timeout=None)
    print('returned', flush=True)
except KeyboardInterrupt:
    print('interrupted after %.3f' % (time.monotonic() - started), flush=True)
'''


# The FC.WAIT peer of the send case is a python-can bus.
@pytest.mark.parametrize('kind, call', [(k, c) for k in KINDS for c in ('recv-forever', 'recv-timeout')]
                         + [('python-can', 'send-against-wait')])
def test_ctrl_c_interrupts_every_blocking_call(kind, call):
    p = subprocess.Popen([sys.executable, '-c', CTRL_C_SCRIPT, kind, call], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == 'ready'
    time.sleep(0.5)  # well inside the call
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=10)
    took = time.monotonic() - sent
    assert out.startswith('interrupted'), (out, err)
    assert 'protocol error' not in err and 'bus peer' not in err, err
    # Seen within 100 ms by the call (the rest is the interpreter's exit).
    assert float(out.split()[-1]) < 0.5 + 0.1 + 0.5, out
    assert took < 5, took


# -- asyncio -----------------------------------------------------------------------------------

@pytest.mark.parametrize('kind', KINDS)
def test_cancelled_arecv_loses_no_message(kind):
    channel = uuid.uuid4().hex
    buses = [bus_for(kind, channel), bus_for(kind, channel)]
    tester = isotp.CanStack(buses[0], address=A)
    ecu = isotp.CanStack(buses[1], address=B)
    tester.start()
    ecu.start()

    async def scenario():
        for _ in range(20):
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(tester.arecv(), 0.01)
        ecu.send(b'\x62\xF1\x90hello')
        return await asyncio.wait_for(tester.arecv(timeout=5), 5)

    try:
        started = time.monotonic()
        got = asyncio.run(scenario())
        assert got == b'\x62\xF1\x90hello'
        assert time.monotonic() - started < 5
        # No executor thread is left waiting for a message.
        assert wait_for(lambda: not any(t.name.startswith('asyncio') and t.is_alive()
                                        for t in threading.enumerate()), 2)
    finally:
        tester.stop()
        ecu.stop()
        shut(*buses)


# -- stop() and dropped stacks -----------------------------------------------------------------

@pytest.mark.parametrize('kind', KINDS)
def test_stop_wakes_a_thread_waiting_in_recv(kind):
    channel = uuid.uuid4().hex
    bus = bus_for(kind, channel)
    s = isotp.CanStack(bus, address=A)
    s.start()
    outcome = []

    def waiter():
        started = time.monotonic()
        try:
            outcome.append(s.recv(block=True, timeout=8))
        except Exception as e:
            outcome.append(e)
        outcome.append(time.monotonic() - started)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)
    s.stop()
    t.join(3)
    assert not t.is_alive(), 'recv(timeout=8) still waits after stop()'
    assert outcome[-1] < 2, outcome
    shut(bus)


def isotp_threads():
    return [t for t in threading.enumerate() if t.name.startswith('isotp')]


@pytest.mark.parametrize('kind', KINDS)
def test_dropped_stacks_release_their_threads(kind):
    gc.collect()
    before = len(isotp_threads())
    buses = []
    for _ in range(30):
        bus = bus_for(kind, uuid.uuid4().hex)
        buses.append(bus)
        s = isotp.CanStack(bus, address=A)
        s.start()
        del s
    # A layer is in reference cycles (its bound methods): the cyclic collector frees it, as it runs
    # by itself in a program that keeps allocating.
    assert wait_for(lambda: gc.collect() >= 0 and len(isotp_threads()) <= before, 5), \
        [t.name for t in isotp_threads()]
    shut(*buses)


# -- error handlers ----------------------------------------------------------------------------

@pytest.mark.parametrize('raised', [RuntimeError('handler bug'), SystemExit(3), KeyboardInterrupt()])
def test_an_error_handler_that_raises_does_not_end_delivery(raised, caplog):
    errors = []

    def handler(e):
        errors.append(e)
        raise raised

    channel = uuid.uuid4().hex
    bus = can.Bus(interface='virtual', channel=channel)
    s = isotp.CanStack(bus, address=A, params={'rx_flowcontrol_timeout': 50}, error_handler=handler)
    s.start()
    try:
        s.send(bytes(100))
        assert wait_for(lambda: len(errors) >= 1)
        s.send(bytes(100))  # nobody answers: a second FlowControlTimeoutError
        assert wait_for(lambda: len(errors) >= 2), errors
        assert all(isinstance(e, isotp.FlowControlTimeoutError) for e in errors)
        assert 'error_handler raised' in caplog.text
    finally:
        s.stop()
        bus.shutdown()


# -- can-isotp's texts -------------------------------------------------------------------------

def test_errors_carry_can_isotp_texts():
    errors = []
    channel = uuid.uuid4().hex
    buses = [can.Bus(interface='virtual', channel=channel) for _ in range(2)]
    s = isotp.CanStack(buses[0], address=A, params={'rx_flowcontrol_timeout': 50, 'rx_consecutive_frame_timeout': 50},
                       error_handler=errors.append)
    s.start()
    try:
        s.send(bytes(100))
        assert wait_for(lambda: errors)
        assert str(errors[0]) == 'Reception of FlowControl timed out. Stopping transmission'
        errors.clear()
        # A first frame and nothing after it: N_Cr.
        buses[1].send(can.Message(arbitration_id=0x7E8, data=[0x10, 20, 1, 2, 3, 4, 5, 6], is_extended_id=False))
        assert wait_for(lambda: errors)
        assert isinstance(errors[0], isotp.ConsecutiveFrameTimeoutError)
        assert str(errors[0]) == 'Reception of CONSECUTIVE_FRAME timed out.'
        errors.clear()
        buses[1].send(can.Message(arbitration_id=0x7E8, data=[0x21, 1, 2, 3, 4, 5, 6, 7], is_extended_id=False))
        assert wait_for(lambda: errors)
        assert isinstance(errors[0], isotp.UnexpectedConsecutiveFrameError)
        assert str(errors[0]) == 'Received a ConsecutiveFrame while reception was idle. Ignoring'
    finally:
        s.stop()
        shut(*buses)


def test_the_logic_layer_reports_can_isotp_texts():
    # TransportLayerLogic (process() driven): the wrong sequence number text with its numbers.
    frames = [isotp.CanMessage(arbitration_id=0x7E8, data=bytes([0x10, 20, 1, 2, 3, 4, 5, 6])),
              isotp.CanMessage(arbitration_id=0x7E8, data=bytes([0x23, 1, 2, 3, 4, 5, 6, 7]))]
    errors = []
    sent = []
    layer = isotp.TransportLayerLogic(rxfn=lambda timeout: frames.pop(0) if frames else None, txfn=sent.append,
                                      address=A, error_handler=errors.append)
    layer.process()
    assert [type(e) for e in errors] == [isotp.WrongSequenceNumberError]
    assert str(errors[0]) == 'Received a ConsecutiveFrame with wrong SequenceNumber. Expecting 0x01, Received 3'
    assert sent and sent[0].data[0] == 0x30  # the flow control went out in the same process()


@pytest.mark.skipif(os.name != 'posix', reason='signals')
def test_keyboard_interrupt_inside_a_python_can_recv_is_not_a_bus_error():
    # The interrupt lands in python-can's recv, which the driver calls: it must come back to the
    # main thread as KeyboardInterrupt, not become a bus failure.
    script = CTRL_C_SCRIPT
    p = subprocess.Popen([sys.executable, '-c', script, 'python-can', 'recv-timeout'], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == 'ready'
    for _ in range(3):
        time.sleep(0.3)
        p.send_signal(signal.SIGINT)
        if p.poll() is not None:
            break
    out, err = p.communicate(timeout=10)
    assert out.startswith('interrupted'), (out, err)
    assert 'CanBusError' not in err and 'protocol error' not in err, err
