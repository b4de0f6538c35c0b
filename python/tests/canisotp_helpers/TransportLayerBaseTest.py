"""Base class of can-isotp's frame-level tests, written for this project from how the tests use it.

The stack under test reads frames from ``ll_rx_queue`` through ``stack_rxfn`` (non-blocking, no
argument) or ``stack_rxfn_blocking(timeout)`` and writes them to ``ll_tx_queue`` through
``stack_txfn``; errors given to ``error_handler`` are recorded by class.
"""

import queue
import unittest

import isotp

from . import unittest_logging  # noqa: F401  (configures logging)

_FD_SIZES = [0, 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]


class TransportLayerBaseTest(unittest.TestCase):
    def setUp(self):
        self.ll_rx_queue = queue.Queue()
        self.ll_tx_queue = queue.Queue()
        self.error_triggered = {}

    def tearDown(self):
        stack = getattr(self, 'stack', None)
        if stack is not None and getattr(stack, 'started', False):
            stack.stop()

    # CAN side
    def stack_rxfn(self):
        try:
            return self.ll_rx_queue.get(block=False)
        except queue.Empty:
            return None

    def stack_rxfn_blocking(self, timeout):
        try:
            return self.ll_rx_queue.get(block=True, timeout=timeout)
        except queue.Empty:
            return None

    def stack_txfn(self, msg):
        self.ll_tx_queue.put(msg)

    def get_tx_can_msg(self):
        try:
            return self.ll_tx_queue.get(block=False)
        except queue.Empty:
            return None

    def simulate_rx_msg(self, msg):
        if msg.dlc is None:
            msg.dlc = len(msg.data)
        self.ll_rx_queue.put(msg)

    # ISO-TP side
    def rx_isotp_frame(self):
        return self.stack.recv()

    def tx_isotp_frame(self, frame, target_address_type=None):
        self.stack.send(frame, target_address_type)

    # Errors
    def error_handler(self, error):
        self.error_triggered.setdefault(error.__class__, []).append(error)

    def assert_error_triggered(self, error_type):
        if error_type not in self.error_triggered:
            raise AssertionError('Error of type %s not triggered (got: %s)'
                                 % (error_type.__name__, [c.__name__ for c in self.error_triggered]))

    def assert_no_error_triggered(self):
        if self.error_triggered:
            raise AssertionError('%d errors triggered: %s' % (
                sum(len(v) for v in self.error_triggered.values()),
                '; '.join('%s: %s' % (k.__name__, [str(e) for e in v]) for k, v in self.error_triggered.items())))

    def clear_errors(self):
        self.error_triggered = {}

    # Data
    def make_payload(self, size, start_val=0):
        return [(start_val + i) % 0x100 for i in range(size)]

    def make_flow_control_data(self, flow_status, stmin, blocksize, prefix=None):
        data = bytearray(prefix or [])
        data.extend([0x30 | (flow_status & 0xF), blocksize & 0xFF, stmin & 0xFF])
        return data

    def assert_sent_flow_control(self, stmin, blocksize, flowstatus=isotp.protocol.PDU.FlowStatus.ContinueToSend,
                                 padding_byte=None, extra_msg='', prefix=None):
        msg = self.get_tx_can_msg()
        self.assertIsNotNone(msg, 'Expected a Flow Control message, none was sent. ' + extra_msg)
        expected = bytearray(prefix or [])
        expected.extend([0x30 | (flowstatus & 0xF), blocksize, stmin])
        if padding_byte is not None:
            expected.extend([padding_byte] * (8 - len(expected)))
        self.assertEqual(msg.data, expected, extra_msg)

    def nearest_can_fd_size(self, size):
        for candidate in _FD_SIZES:
            if candidate >= size:
                return candidate
        raise ValueError('No CAN FD frame holds %d bytes' % size)

    def get_canfd_dlc(self, size):
        size = self.nearest_can_fd_size(size)
        if size <= 8:
            return size
        return {12: 9, 16: 10, 20: 11, 24: 12, 32: 13, 48: 14, 64: 15}[size]
