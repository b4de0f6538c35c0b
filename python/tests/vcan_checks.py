"""The package on a real SocketCAN bus: ``isotp.socket`` (the kernel's CAN_ISOTP) and ``CanStack`` on
python-can's socketcan bus and on the ``'socketcan:vcan0'`` interface string, each against the
kernel's ISO-TP, with the frames on the bus read by a raw CAN socket.

Needs vcan0 (MTU 72) and CAN_ISOTP: run by run_canisotp_vcan.py in the qemu guest of
scripts/python-kernel-tests, not by pytest. Classes whose ``ours_only`` is true use this package's
interface strings; the others run against can-isotp 2.0.7 as well, which shows that they check what
can-isotp does.
"""

import math
import socket
import struct
import threading
import time
import unittest

import can

import isotp

CHANNEL = 'vcan0'
TIMEOUT = 5.0
_CAN_FRAME = struct.Struct('=IB3x64s')   # struct canfd_frame (a classic can_frame is its first 16 bytes)
_next_id = 0x600


def id_pair():
    """Two CAN ids no other check uses, so a late frame of one check cannot reach another."""
    global _next_id
    _next_id += 2
    return _next_id, _next_id + 1


def payload(size, start=0):
    return bytes((start + i) % 251 for i in range(size))


class RawBus:
    """A raw CAN socket on vcan0 that records every frame (classic and CAN FD) from now on."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_CAN, socket.SOCK_RAW, socket.CAN_RAW)
        self.sock.setsockopt(socket.SOL_CAN_RAW, socket.CAN_RAW_FD_FRAMES, 1)
        self.sock.bind((CHANNEL,))
        self.sock.settimeout(TIMEOUT)

    def frames(self, can_id, count):
        """The data of the next ``count`` frames with ``can_id`` (the id without flags)."""
        found = []
        deadline = time.monotonic() + TIMEOUT
        while len(found) < count and time.monotonic() < deadline:
            raw = self.sock.recv(_CAN_FRAME.size)
            ident, length, data = _CAN_FRAME.unpack(raw.ljust(_CAN_FRAME.size, b'\0'))
            if ident & socket.CAN_EFF_MASK == can_id:
                found.append(data[:length])
        return found

    def close(self):
        self.sock.close()


class Base(unittest.TestCase):
    ours_only = False

    def setUp(self):
        self.closers = []

    def tearDown(self):
        for close in reversed(self.closers):
            close()

    def kernel_socket(self, txid, rxid, fd=False, **fc):
        s = isotp.socket(timeout=TIMEOUT)
        if fd:
            s.set_ll_opts(mtu=isotp.socket.LinkLayerProtocol.CAN_FD, tx_dl=64)
        if fc:
            s.set_fc_opts(**fc)
        s.bind(CHANNEL, isotp.Address(isotp.AddressingMode.Normal_11bits, txid=txid, rxid=rxid))
        self.closers.append(s.close)
        return s

    def raw_bus(self):
        raw = RawBus()
        self.closers.append(raw.close)
        return raw


class KernelSocketChecks(Base):
    """``isotp.socket`` to ``isotp.socket``: both ends are the kernel's ISO-TP."""

    def test_sizes_both_ways(self):
        a, b = id_pair()
        s1, s2 = self.kernel_socket(a, b), self.kernel_socket(b, a)
        for size in (1, 7, 8, 62, 63, 4095):
            s1.send(payload(size))
            self.assertEqual(s2.recv(), payload(size))
            s2.send(payload(size, 1))
            self.assertEqual(s1.recv(), payload(size, 1))

    def test_can_fd(self):
        a, b = id_pair()
        s1, s2 = self.kernel_socket(a, b, fd=True), self.kernel_socket(b, a, fd=True)
        raw = self.raw_bus()
        s1.send(payload(4000))
        self.assertEqual(s2.recv(), payload(4000))
        first_frame = raw.frames(a, 1)[0]
        self.assertEqual(len(first_frame), 64)
        self.assertEqual(first_frame[:2], bytes([0x1F, 0xA0]))   # FF, FF_DL 4000

    def test_recv_timeout(self):
        a, b = id_pair()
        s = isotp.socket(timeout=0.2)
        s.bind(CHANNEL, isotp.Address(isotp.AddressingMode.Normal_11bits, txid=a, rxid=b))
        self.closers.append(s.close)
        started = time.monotonic()
        with self.assertRaises(TimeoutError):
            s.recv()
        self.assertGreaterEqual(time.monotonic() - started, 0.2)

    def test_padding_on_the_bus(self):
        a, b = id_pair()
        s = isotp.socket(timeout=TIMEOUT)
        s.set_opts(optflag=isotp.socket.flags.TX_PADDING, txpad=0xAA)
        s.bind(CHANNEL, isotp.Address(isotp.AddressingMode.Normal_11bits, txid=a, rxid=b))
        self.closers.append(s.close)
        raw = self.raw_bus()
        s.send(b'\x01\x02\x03')
        self.assertEqual(raw.frames(a, 1), [bytes([0x03, 1, 2, 3, 0xAA, 0xAA, 0xAA, 0xAA])])

    def test_extended_addressing_on_the_bus(self):
        a, b = id_pair()
        s = isotp.socket(timeout=TIMEOUT)
        s.bind(CHANNEL, isotp.Address(isotp.AddressingMode.Extended_11bits, txid=a, rxid=b,
                                      source_address=0xF1, target_address=0x10))
        self.closers.append(s.close)
        raw = self.raw_bus()
        s.send(b'\x3E\x00')
        self.assertEqual(raw.frames(a, 1), [bytes([0x10, 0x02, 0x3E, 0x00])])


class _StackChecks:
    """A ``CanStack`` against the kernel's ISO-TP socket; a test class mixes it with ``Base`` and
    gives the bus with ``make_stack(txid, rxid, fd=False, **params)``."""

    def stack_params(self, **override):
        # BS 8: a sender that is never paused can overrun a reader in Python (python-can's socket
        # buffer drops frames; can-isotp loses the message the same way)
        params = {'stmin': 0, 'blocksize': 8, 'tx_padding': 0xCC, 'blocking_send': True}
        params.update(override)
        return params

    def test_stack_to_socket(self):
        a, b = id_pair()
        stack = self.make_stack(a, b)
        s = self.kernel_socket(b, a)
        for size in (1, 7, 8, 100, 4095):
            stack.send(payload(size))
            self.assertEqual(s.recv(), payload(size))

    def test_socket_to_stack(self):
        a, b = id_pair()
        stack = self.make_stack(a, b)
        s = self.kernel_socket(b, a)
        for size in (1, 7, 8, 100, 4095):
            s.send(payload(size, 3))
            self.assertEqual(stack.recv(block=True, timeout=TIMEOUT), payload(size, 3))

    def test_socket_asks_block_size_and_stmin(self):
        a, b = id_pair()
        stack = self.make_stack(a, b)
        s = self.kernel_socket(b, a, bs=4, stmin=20)
        size = 200
        consecutive = math.ceil((size - 6) / 7)
        flow_controls = math.ceil(consecutive / 4)
        started = time.monotonic()
        stack.send(payload(size))
        self.assertEqual(s.recv(), payload(size))
        # STmin separates the consecutive frames of a block (ISO 15765-2 asks no wait before a
        # block's first one); no upper bound: the emulated machine may be slow
        self.assertGreaterEqual(time.monotonic() - started, (consecutive - flow_controls) * 0.020)

    def test_stack_flow_control_and_padding_on_the_bus(self):
        a, b = id_pair()
        stack = self.make_stack(a, b, blocksize=5, stmin=3)
        s = self.kernel_socket(b, a)
        raw = self.raw_bus()
        s.send(payload(20))
        self.assertEqual(stack.recv(block=True, timeout=TIMEOUT), payload(20))
        self.assertEqual(raw.frames(a, 1), [bytes([0x30, 5, 3, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC])])

    def test_can_fd_both_ways(self):
        a, b = id_pair()
        stack = self.make_stack(a, b, fd=True, can_fd=True, tx_data_length=64)
        s = self.kernel_socket(b, a, fd=True)
        raw = self.raw_bus()
        stack.send(payload(1000))
        self.assertEqual(s.recv(), payload(1000))
        self.assertEqual(len(raw.frames(a, 1)[0]), 64)
        s.send(payload(1000, 7))
        self.assertEqual(stack.recv(block=True, timeout=TIMEOUT), payload(1000, 7))


class PythonCanSocketcanChecks(_StackChecks, Base):
    """``CanStack`` on python-can's socketcan bus."""

    def make_stack(self, txid, rxid, fd=False, **params):
        bus = can.Bus(interface='socketcan', channel=CHANNEL, fd=fd)
        self.closers.append(bus.shutdown)
        stack = isotp.CanStack(bus, address=isotp.Address(isotp.AddressingMode.Normal_11bits, txid=txid, rxid=rxid),
                               params=self.stack_params(**params))
        stack.start()
        self.closers.append(stack.stop)
        return stack


class InterfaceStringChecks(_StackChecks, Base):
    """``CanStack('socketcan:vcan0')``: the Rust SocketCAN bus, no frame through Python."""
    ours_only = True

    def make_stack(self, txid, rxid, fd=False, **params):
        stack = isotp.CanStack('socketcan:' + CHANNEL,
                               address=isotp.Address(isotp.AddressingMode.Normal_11bits, txid=txid, rxid=rxid),
                               params=self.stack_params(**params))
        stack.start()
        self.closers.append(stack.stop)
        return stack

    def test_string_stack_to_python_can_stack(self):
        a, b = id_pair()
        ours = self.make_stack(a, b)
        bus = can.Bus(interface='socketcan', channel=CHANNEL)
        self.closers.append(bus.shutdown)
        other = isotp.CanStack(bus, address=isotp.Address(isotp.AddressingMode.Normal_11bits, txid=b, rxid=a),
                               params=self.stack_params(blocksize=8, stmin=1))
        other.start()
        self.closers.append(other.stop)
        ours.send(payload(3000))
        self.assertEqual(other.recv(block=True, timeout=TIMEOUT), payload(3000))
        other.send(payload(3000, 9))
        self.assertEqual(ours.recv(block=True, timeout=TIMEOUT), payload(3000, 9))


class StopAfterNotifierChecks(Base):
    """``NotifierBasedCanStack.stop()`` returns when the notifier was stopped first, in the middle of
    a transfer, and the transfer has since timed out (can-isotp's test_can_stack stops them in that
    order)."""

    def test_stop_after_notifier_stopped_mid_transfer(self):
        params = dict(stmin=2, blocksize=8, tx_data_length=8, max_frame_size=65536, blocking_send=False)
        for delay in (0.3, 0.5, 0.7, 0.9):
            a, b = id_pair()
            bus = can.Bus(interface='socketcan', channel=CHANNEL, receive_own_messages=True)
            self.closers.append(bus.shutdown)
            notifier = can.Notifier(bus, [])
            layers = [isotp.NotifierBasedCanStack(bus=bus, notifier=notifier, params=params,
                                                  address=isotp.Address(txid=txid, rxid=rxid))
                      for txid, rxid in ((a, b), (b, a))]
            for layer in layers:
                layer.start()
            layers[0].send(bytes(10000))
            layers[1].recv(block=True, timeout=0.2)   # the reception has begun, or not yet
            time.sleep(delay)
            notifier.stop()
            time.sleep(2.5)   # N_Bs and N_Cr (1000 ms) expire
            for layer in layers:
                # on a thread: a stop() that never returns must fail this check, not hang the run
                stopper = threading.Thread(target=layer.stop, daemon=True)
                stopper.start()
                stopper.join(10)
                self.assertFalse(stopper.is_alive(), 'stop() still running after 10 s (notifier stopped after %.1f s)' % delay)
