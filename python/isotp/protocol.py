"""can-isotp's transport layer classes on the isotp engine.

- ``TransportLayerLogic``: can-isotp's rxfn/txfn model; ``process()`` feeds the frames that ``rxfn``
  returns to the engine (``isotp_core::Endpoint``) and gives the frames it has due to ``txfn``.
- ``TransportLayer``: the same on its own threads after ``start()``.
- ``CanStack`` / ``NotifierBasedCanStack``: after ``start()``, an ``isotp::Stack`` (Rust) drives a
  python-can bus, or one of our interface strings ('virtual:NAME', 'socketcan:can0',
  'socketcand://HOST:PORT/CHANNEL', 'slcan:...') in place of the bus, so no frame touches Python.

Every protocol rule (PCI, flow control, STmin, timers, addressing) is the engine's.
"""

import asyncio
import atexit
import enum
import inspect
import logging
import math
import queue
import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any, Callable, Dict, Generator, Iterable, List, Optional, Tuple, Union

import isotp.address
import isotp.errors
from isotp import _isotp
from isotp.can_message import CanMessage
from isotp.tools import FiniteByteGenerator

try:
    import can
    _can_available = True
except ImportError:  # python-can is needed only for CanStack on a python-can bus
    _can_available = False

__all__ = ['PDU', 'RateLimiter', 'TransportLayerLogic', 'TransportLayer', 'CanStack', 'NotifierBasedCanStack',
           'ReceivedMessage']


class PDU:
    """A decoded ISO-TP PDU (decoded by the engine's parser). Raises ``ValueError`` when the frame
    is not a valid PDU."""

    class Type:
        SINGLE_FRAME = 0
        FIRST_FRAME = 1
        CONSECUTIVE_FRAME = 2
        FLOW_CONTROL = 3

    class FlowStatus:
        ContinueToSend = 0
        Wait = 1
        Overflow = 2

    def __init__(self, msg: CanMessage, start_of_data: int = 0) -> None:
        self.type: Optional[int] = None
        self.length: Optional[int] = None
        self.data: bytes = bytes()
        self.blocksize: Optional[int] = None
        self.stmin: Optional[int] = None
        self.stmin_sec: Optional[float] = None
        self.seqnum: Optional[int] = None
        self.flow_status: Optional[int] = None
        self.escape_sequence = False
        self.rx_dl: Optional[int] = None
        self.can_dl = len(msg.data)
        for key, value in _isotp.parse_pdu(bytes(msg.data), start_of_data).items():
            setattr(self, key, value)
        if self.type != self.Type.FLOW_CONTROL:
            self.rx_dl = max(8, self.can_dl)
        if self.type == self.Type.SINGLE_FRAME:
            self.data = bytes(self.data)

    @classmethod
    def craft_flow_control_data(cls, flow_status: int, blocksize: int, stmin: int) -> bytes:
        """The three PCI bytes of a flow control frame (ISO 15765-2 FC: 0x3 | FS, BS, STmin)."""
        return bytes([(0x30 | (flow_status & 0xF)) & 0xFF, blocksize & 0xFF, stmin & 0xFF])

    @property
    def name(self) -> str:
        names = {0: 'SINGLE_FRAME', 1: 'FIRST_FRAME', 2: 'CONSECUTIVE_FRAME', 3: 'FLOW_CONTROL'}
        return names.get(self.type, '[None]') if self.type is not None else '[None]'


class RateLimiter:
    """can-isotp's sliding-window byte budget, for users who throttle their own transmissions.
    (Stacks of this package enforce ``rate_limit_*`` params in the engine.)"""

    TIME_SLOT_LENGTH = 0.005

    def __init__(self, mean_bitrate: float = 10000000, window_size_sec: float = 0.1) -> None:
        self.enabled = False
        self.mean_bitrate = mean_bitrate
        self.window_size_sec = window_size_sec
        self.error_reason = ''
        self.reset()
        if self.can_be_enabled():
            self.enable()

    def can_be_enabled(self) -> bool:
        for name in ('mean_bitrate', 'window_size_sec'):
            try:
                value = float(getattr(self, name))
            except (TypeError, ValueError):
                self.error_reason = '%s is not numerical' % name
                return False
            if value <= 0:
                self.error_reason = '%s must be greater than 0' % name
                return False
        return True

    def set_bitrate(self, mean_bitrate: float) -> None:
        self.mean_bitrate = mean_bitrate

    def enable(self) -> None:
        if not self.can_be_enabled():
            raise ValueError('Cannot enable Rate Limiter.  \n %s' % self.error_reason)
        self.mean_bitrate = float(self.mean_bitrate)
        self.window_size_sec = float(self.window_size_sec)
        self.enabled = True
        self.reset()

    def disable(self) -> None:
        self.enabled = False

    def reset(self) -> None:
        self.burst_bitcount: List[int] = []
        self.burst_time: List[float] = []
        self.bit_total = 0
        try:
            self.window_bit_max = float(self.mean_bitrate) * float(self.window_size_sec)
        except (TypeError, ValueError):
            self.window_bit_max = 0

    def update(self) -> None:
        if not self.enabled:
            self.reset()
            return
        now = time.perf_counter()
        while self.burst_time and now - self.burst_time[0] > self.window_size_sec:
            self.burst_time.pop(0)
            self.bit_total -= self.burst_bitcount.pop(0)

    def allowed_bytes(self) -> int:
        if not self.enabled:
            return 0xFFFFFFFF
        return math.floor(max(self.window_bit_max - self.bit_total, 0) / 8)

    def inform_byte_sent(self, datalen: int) -> None:
        if not self.enabled:
            return
        bits = datalen * 8
        now = time.perf_counter()
        self.bit_total += bits
        # Sends within one time slot share an entry, so the window's list stays short.
        if self.burst_time and now - self.burst_time[-1] < self.TIME_SLOT_LENGTH:
            self.burst_bitcount[-1] += bits
        else:
            self.burst_time.append(now)
            self.burst_bitcount.append(bits)


@dataclass(frozen=True)
class ReceivedMessage:
    """A received message with what can-isotp does not give (see ``recv_message``): the payload, the
    target address type, and the CAN id it was received on as the address configures it for that
    target address type (not read from the frames; None for an address that does not receive)."""
    data: bytearray
    target_address_type: isotp.address.TargetAddressType
    arbitration_id: Optional[int]
    is_extended_id: bool


# Engine error kinds -> can-isotp exception classes.
_ERRORS: Dict[str, type] = {
    'timeout_a': isotp.errors.TransmitConfirmationTimeoutError,
    'timeout_bs': isotp.errors.FlowControlTimeoutError,
    'timeout_cr': isotp.errors.ConsecutiveFrameTimeoutError,
    'wrong_sn': isotp.errors.WrongSequenceNumberError,
    'invalid_fs': isotp.errors.InvalidCanDataError,
    'interrupted_by_sf': isotp.errors.ReceptionInterruptedWithSingleFrameError,
    'interrupted_by_ff': isotp.errors.ReceptionInterruptedWithFirstFrameError,
    'wft_overrun': isotp.errors.MaximumWaitFrameReachedError,
    'buffer_overflow': isotp.errors.OverflowError,
    'message_too_large': isotp.errors.FrameTooLongError,
    'frame_length_mismatch': isotp.errors.ChangingInvalidRXDLError,
    'invalid_padding': isotp.errors.InvalidPaddingError,
    'unexpected_cf': isotp.errors.UnexpectedConsecutiveFrameError,
    'unexpected_fc': isotp.errors.UnexpectedFlowControlError,
    'missing_escape': isotp.errors.MissingEscapeSequenceError,
    'malformed': isotp.errors.InvalidCanDataError,
    'functional_multi_frame': isotp.errors.InvalidCanDataError,
    'bus': isotp.errors.CanBusError,
    # can-isotp reports an incomplete flow control as invalid CAN data too.
    'flow_control_too_short': isotp.errors.InvalidCanDataError,
    'receive_queue_full': isotp.errors.ReceiveQueueFullError,
}


class TransportLayerLogic:
    """can-isotp's transport layer without threads: call ``process()`` often; it calls ``rxfn`` to
    read CAN frames and ``txfn`` to send them. See can-isotp's documentation for every parameter."""

    LOGGER_NAME = 'isotp'

    @dataclass(init=False)
    class Params:
        __slots__ = ('stmin', 'blocksize', 'override_receiver_stmin', 'rx_flowcontrol_timeout',
                     'rx_consecutive_frame_timeout', 'tx_padding', 'wftmax', 'tx_data_length', 'tx_data_min_length',
                     'max_frame_size', 'can_fd', 'bitrate_switch', 'default_target_address_type',
                     'rate_limit_max_bitrate', 'rate_limit_window_size', 'rate_limit_enable', 'listen_mode',
                     'blocking_send', 'logger_name', 'wait_func', '_on_change')
        stmin: int
        blocksize: int
        override_receiver_stmin: Optional[float]
        rx_flowcontrol_timeout: int
        rx_consecutive_frame_timeout: int
        tx_padding: Optional[int]
        wftmax: int
        tx_data_length: int
        tx_data_min_length: Optional[int]
        max_frame_size: int
        can_fd: bool
        bitrate_switch: bool
        default_target_address_type: isotp.address.TargetAddressType
        rate_limit_max_bitrate: int
        rate_limit_window_size: float
        rate_limit_enable: bool
        listen_mode: bool
        blocking_send: bool
        logger_name: str
        wait_func: Callable[[float], None]

        def __init__(self) -> None:
            self.stmin = 0
            self.blocksize = 8
            self.override_receiver_stmin = None
            self.rx_flowcontrol_timeout = 1000
            self.rx_consecutive_frame_timeout = 1000
            self.tx_padding = None
            self.wftmax = 0
            self.tx_data_length = 8
            self.tx_data_min_length = None
            self.max_frame_size = 4095
            self.can_fd = False
            self.bitrate_switch = False
            self.default_target_address_type = isotp.address.TargetAddressType.Physical
            self.rate_limit_max_bitrate = 100000000
            self.rate_limit_window_size = 0.2
            self.rate_limit_enable = False
            self.listen_mode = False
            self.blocking_send = False
            self.logger_name = TransportLayerLogic.LOGGER_NAME
            self.wait_func = time.sleep
            self._on_change: Optional[Callable[[], None]] = None

        def set(self, key: str, val: Any, validate: bool = True) -> None:
            setattr(self, key, val)
            if validate:
                self.validate()
            # can-isotp reads params live: the owning layer applies the change to its engine (a
            # change made without validation waits for the next one that validates, or for
            # load_params(), as can-isotp checks the combination only then).
            if self._on_change is not None:
                self._on_change(validate)

        def validate(self) -> None:
            """Type and range checks with can-isotp's messages; the engine then validates the
            combination (``Config::validate``)."""
            def is_int(v: Any) -> bool:
                return isinstance(v, int)

            for name in ('rx_flowcontrol_timeout', 'rx_consecutive_frame_timeout'):
                if not is_int(getattr(self, name)):
                    raise ValueError('%s must be an integer' % name)
                if getattr(self, name) < 0:
                    raise ValueError('%s must be positive integer' % name)
            if self.tx_padding is not None:
                if not is_int(self.tx_padding):
                    raise ValueError('tx_padding must be an integer')
                if self.tx_padding < 0 or self.tx_padding > 0xFF:
                    raise ValueError('tx_padding must be an integer between 0x00 and 0xFF')
            if not is_int(self.stmin):
                raise ValueError('stmin must be an integer')
            if self.stmin < 0 or self.stmin > 0xFF:
                raise ValueError('stmin must be positive integer between 0x00 and 0xFF')
            if not is_int(self.blocksize):
                raise ValueError('blocksize must be an integer')
            if self.blocksize < 0 or self.blocksize > 0xFF:
                raise ValueError('blocksize must be and integer between 0x00 and 0xFF')
            if self.override_receiver_stmin is not None:
                if not isinstance(self.override_receiver_stmin, (int, float)) or isinstance(self.override_receiver_stmin, bool):
                    raise ValueError('override_receiver_stmin must be a float')
                self.override_receiver_stmin = float(self.override_receiver_stmin)
                if self.override_receiver_stmin < 0 or not math.isfinite(self.override_receiver_stmin):
                    raise ValueError('Invalid override_receiver_stmin')
            if not is_int(self.wftmax):
                raise ValueError('wftmax must be an integer')
            if self.wftmax < 0:
                raise ValueError('wftmax must be and integer equal or greater than 0')
            if not is_int(self.tx_data_length):
                raise ValueError('tx_data_length must be an integer')
            if self.tx_data_length not in [8, 12, 16, 20, 24, 32, 48, 64]:
                raise ValueError('tx_data_length must be one of these value : 8, 12, 16, 20, 24, 32, 48, 64 ')
            if self.tx_data_min_length is not None:
                if not is_int(self.tx_data_min_length):
                    raise ValueError('tx_data_min_length must be an integer')
                if self.tx_data_min_length not in [1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64]:
                    raise ValueError('tx_data_min_length must be one of these value : 1, 2, 3, 4, 5, 6, 7, 8, 12, 16, 20, 24, 32, 48, 64 ')
                if self.tx_data_min_length > self.tx_data_length:
                    raise ValueError('tx_data_min_length cannot be greater than tx_data_length')
            if not is_int(self.max_frame_size):
                raise ValueError('max_frame_size must be an integer')
            if self.max_frame_size < 0:
                raise ValueError('max_frame_size must be a positive integer')
            for name in ('can_fd', 'bitrate_switch'):
                if not isinstance(getattr(self, name), bool):
                    raise ValueError('%s must be a boolean value' % name)
            if isinstance(self.default_target_address_type, int):
                try:
                    self.default_target_address_type = isotp.address.TargetAddressType(self.default_target_address_type)
                except ValueError:
                    raise ValueError('default_target_address_type must be either be Physical (%d) or Functional (%d)' %
                                     (isotp.address.TargetAddressType.Physical.value, isotp.address.TargetAddressType.Functional.value))
            if not isinstance(self.default_target_address_type, isotp.address.TargetAddressType):
                raise ValueError('default_target_address_type must be an integer or a TargetAddressType instance')
            if not is_int(self.rate_limit_max_bitrate):
                raise ValueError('rate_limit_max_bitrate must be an integer')
            if self.rate_limit_max_bitrate <= 0:
                raise ValueError('rate_limit_max_bitrate must be greater than 0')
            if not isinstance(self.rate_limit_window_size, (int, float)):
                raise ValueError('rate_limit_window_size must be a float ')
            if self.rate_limit_window_size <= 0:
                raise ValueError('rate_limit_window_size must be greater than 0')
            if not isinstance(self.rate_limit_enable, bool):
                raise ValueError('rate_limit_enable must be a boolean value')
            if self.rate_limit_max_bitrate * self.rate_limit_window_size < self.tx_data_length * 8:
                raise ValueError(
                    'Rate limiter is so restrictive that a SingleFrame cannot be sent. Please, allow a higher bitrate or increase the window size. (tx_data_length = %d)' % self.tx_data_length)
            for name in ('listen_mode', 'blocking_send'):
                if not isinstance(getattr(self, name), bool):
                    raise ValueError('%s must be a boolean value' % name)
            if not isinstance(self.logger_name, str):
                raise ValueError('logger_name must be a string')
            if not callable(self.wait_func):
                raise ValueError('wait_func should be a callable')

        def native(self) -> Dict[str, Any]:
            """The engine's configuration (its own units are converted in Rust)."""
            d = {name: getattr(self, name) for name in (
                'stmin', 'blocksize', 'override_receiver_stmin', 'rx_flowcontrol_timeout',
                'rx_consecutive_frame_timeout', 'tx_padding', 'wftmax', 'tx_data_length', 'tx_data_min_length',
                'max_frame_size', 'bitrate_switch', 'rate_limit_max_bitrate', 'rate_limit_window_size',
                'rate_limit_enable', 'listen_mode')}
            # The engine's link layer follows ISO 15765-2: frames longer than 8 bytes are CAN FD
            # frames. What each frame given to Python says (`is_fd`) is can-isotp's choice,
            # `can_fd` itself, applied at the boundary (see `tx_flags`).
            d['can_fd'] = bool(self.can_fd or self.tx_data_length > 8)
            d['max_frame_size'] = max(1, min(self.max_frame_size, 0xFFFFFFFF))
            return d

        def tx_flags(self) -> Dict[str, bool]:
            """The flags of every frame given to Python, as can-isotp builds its messages:
            ``is_fd = can_fd`` and ``bitrate_switch``, whatever the frame's length (a 64-byte
            frame with ``can_fd=False`` is what can-isotp gives a classic bus)."""
            return {'tx_fd': bool(self.can_fd), 'tx_brs': bool(self.bitrate_switch)}

    class RxState(enum.Enum):
        IDLE = 0
        WAIT_CF = 1

    class TxState(enum.Enum):
        IDLE = 0
        WAIT_FC = 1
        TRANSMIT_CF = 2
        TRANSMIT_SF_STANDBY = 3
        TRANSMIT_FF_STANDBY = 4

    SendGenerator = Tuple[Generator[int, None, None], int]

    class SendRequest:
        """One call to ``send()``: its data, target address type, and completion."""

        def __init__(self, data: Union[bytes, bytearray, "TransportLayerLogic.SendGenerator"],
                     target_address_type: isotp.address.TargetAddressType):
            if isinstance(data, tuple):
                if len(data) != 2:
                    raise ValueError("Given tuple must have 2 items. A generator and a length")
                gen, size = data
                self.generator = FiniteByteGenerator(gen, size)
            elif isinstance(data, Iterable):
                self.generator = FiniteByteGenerator((x for x in data), len(data))  # type: ignore[arg-type]
            else:
                raise ValueError("data must be an iterable element (bytes or bytearray) or a tuple of generator,size")
            self.target_address_type = target_address_type
            self.complete_event = threading.Event()
            self.success = False
            self.error: Optional[BaseException] = None

        def complete(self, success: bool) -> None:
            self.success = success
            self.complete_event.set()

    @dataclass(frozen=True)
    class ProcessStats:
        __slots__ = ('received', 'received_processed', 'sent', 'frame_received')
        received: int
        received_processed: int
        sent: int
        frame_received: int

        def __repr__(self) -> str:
            return f'<{self.__class__.__name__} received:{self.received} (processed: {self.received_processed}, sent: {self.sent})>'

    RxFn = Callable[[float], Optional[CanMessage]]
    TxFn = Callable[[CanMessage], None]
    PostSendCallback = Callable[["TransportLayerLogic.SendRequest"], None]
    ErrorHandler = Callable[[Exception], None]

    def __init__(self, rxfn: "TransportLayerLogic.RxFn", txfn: "TransportLayerLogic.TxFn",
                 address: isotp.address.AbstractAddress, error_handler: Optional["TransportLayerLogic.ErrorHandler"] = None,
                 params: Optional[Dict[str, Any]] = None,
                 post_send_callback: Optional["TransportLayerLogic.PostSendCallback"] = None):
        self.post_send_callback = post_send_callback
        self.params = self.Params()
        if params is not None:
            for k in params:
                self.params.set(k, params[k], validate=False)
        self.params.validate()
        self.logger = logging.getLogger(self.params.logger_name)
        self.user_rxfn = rxfn
        if len(inspect.signature(rxfn).parameters) < 1:
            self.rxfn: TransportLayerLogic.RxFn = lambda timeout: rxfn()  # type: ignore[call-arg]
            self.blocking_rxfn = False
        else:
            self.rxfn = rxfn
            self.blocking_rxfn = True
        self.txfn = txfn
        self.error_handler = error_handler
        self.rx_queue: "queue.Queue[bytearray]" = queue.Queue()
        self._rx_details: "queue.Queue[ReceivedMessage]" = queue.Queue()
        self._pending: Dict[int, TransportLayerLogic.SendRequest] = {}
        self._lock = threading.RLock()
        self._engine: Any = None
        self.on_message: Optional[Callable[[ReceivedMessage], None]] = None
        self.address: isotp.address.AbstractAddress = address
        self.set_address(address)
        self._params_dirty = False
        self.load_params()
        self.params._on_change = self._params_changed

    def _params_changed(self, validated: bool = True) -> None:
        self._params_dirty = True
        if validated:
            self._apply_params_when_idle()

    def _apply_params_when_idle(self) -> None:
        # A new configuration needs a new engine; a transfer in progress finishes on the old one.
        if self._params_dirty and self._engine.queued() == 0 and not self._engine.is_transmitting() \
                and not self._engine.is_receiving():
            self.load_params()

    # -- configuration -------------------------------------------------------------------------

    def load_params(self) -> None:
        """Validates ``params`` and applies them (a transfer in progress is dropped)."""
        self.params.validate()
        self.logger = logging.getLogger(self.params.logger_name)
        try:
            engine = _isotp.Engine(self.address.native, self.params.native(), **self.params.tx_flags())
        except _isotp.NativeError as e:
            raise ValueError(e.args[1]) from None
        with self._lock:
            self._fail_pending()
            self._engine = engine
            self._params_dirty = False

    def set_address(self, address: isotp.address.AbstractAddress) -> None:
        """Sets the link's address (a transfer in progress is dropped)."""
        if not isinstance(address, (isotp.address.Address, isotp.address.AsymmetricAddress)):
            raise ValueError('address must be a valid Address instance')
        if address.is_partial_address():
            raise ValueError('Cannot use a partially defined address. Either use a fully defined isotp.Address or an isotp.AsymmetricAddress')
        self.address = address
        if self._engine is not None:
            with self._lock:
                self._engine.set_address(address.native)

    def set_sleep_timing(self, idle: float, wait_fc: float) -> None:
        """Accepted for compatibility: the engine wakes on frames and deadlines, never polls."""
        self.timings = {(self.RxState.IDLE, self.TxState.IDLE): idle, (self.RxState.IDLE, self.TxState.WAIT_FC): wait_fc}

    def sleep_time(self) -> float:
        """Seconds until the engine's next deadline (0.02 when it waits for nothing)."""
        d = self._engine.next_deadline()
        return 0.02 if d is None else min(d, 0.02)

    # -- sending -------------------------------------------------------------------------------

    def _make_request(self, data: Any, target_address_type: Any) -> Tuple["TransportLayerLogic.SendRequest", bytes]:
        if self.params.listen_mode:
            raise RuntimeError("Cannot transmit when listen_mode=True")
        if target_address_type is None:
            target_address_type = self.params.default_target_address_type
        else:
            target_address_type = isotp.address.TargetAddressType(target_address_type)
        request = self.SendRequest(data=data, target_address_type=target_address_type)
        # The engine takes whole messages: a generator is read at once.
        payload = bytes(request.generator.consume(request.generator.total_length(), enforce_exact=True))
        return request, payload

    def _send_error(self, e: Any) -> Exception:
        kind, message = e.args
        if kind == 'functional_too_long':
            return ValueError('Cannot send multi packet frame with Functional TargetAddressType')
        if kind == 'listen_mode':
            return RuntimeError("Cannot transmit when listen_mode=True")
        if kind in ('stopped', 'bus', 'queue_full'):
            return RuntimeError(message)
        if kind == 'timeout':
            return isotp.errors.BlockingSendTimeout("Failed to send IsoTP frame in time")
        return ValueError(message)

    def _request(self, data: Any, target_address_type: Any) -> Optional[Tuple["TransportLayerLogic.SendRequest", bytes]]:
        """The request and its payload; None when there is nothing to send: a generator that runs
        short (reported to ``error_handler``, raised as ``BlockingSendFailure`` by a blocking send)
        or an empty payload, which can-isotp accepts and completes without a frame (ISO-TP cannot
        carry 0 bytes)."""
        try:
            request, payload = self._make_request(data, target_address_type)
        except isotp.errors.BadGeneratorError as e:
            self._trigger_error(e)
            if self.params.blocking_send:
                raise isotp.errors.BlockingSendFailure("Error while sending IsoTP frame") from None
            return None
        if not payload:
            request.complete(True)
            if self.post_send_callback is not None:
                self.post_send_callback(request)
            return None
        return request, payload

    def send(self, data: Union[bytes, bytearray, "TransportLayerLogic.SendGenerator"],
             target_address_type: Optional[Union[isotp.address.TargetAddressType, int]] = None,
             send_timeout: Optional[float] = None, *, timeout: Optional[float] = None) -> None:
        """Queues a message (bytes, or a (generator, size) tuple). With ``blocking_send``, waits up to
        ``send_timeout`` (alias ``timeout``) for its last frame to be sent, raising
        ``BlockingSendTimeout`` or ``BlockingSendFailure``."""
        if send_timeout is None:
            send_timeout = timeout
        made = self._request(data, target_address_type)
        if made is None:
            return
        request, payload = made
        self._queue_request(request, payload, self.params.blocking_send, send_timeout)

    def _queue_request(self, request: "TransportLayerLogic.SendRequest", payload: bytes, blocking: bool,
                       send_timeout: Optional[float]) -> None:
        functional = request.target_address_type == isotp.address.TargetAddressType.Functional
        with self._lock:
            self._apply_params_when_idle()
            try:
                msg_id = self._engine.send(payload, functional)
            except _isotp.NativeError as e:
                raise self._send_error(e) from None
            self._pending[msg_id] = request
        if self.post_send_callback is not None:
            self.post_send_callback(request)
        if blocking:
            request.complete_event.wait(send_timeout)
            if not request.complete_event.is_set():
                with self._lock:
                    self._pending.pop(msg_id, None)
                raise isotp.errors.BlockingSendTimeout("Failed to send IsoTP frame in time")
            if not request.success:
                raise isotp.errors.BlockingSendFailure("Error while sending IsoTP frame"
                                                       + (': %s' % request.error if request.error else ''))

    def _fail_pending(self) -> None:
        pending, self._pending = self._pending, {}
        for request in pending.values():
            request.complete(False)

    # -- receiving -----------------------------------------------------------------------------

    def recv(self, block: bool = False, timeout: Optional[float] = None) -> Optional[bytearray]:
        """The next received message, or None. ``timeout`` bounds the wait for a message to begin
        (counted once this link's own transmission has ended): a reception in progress when it
        expires is awaited until it completes or fails."""
        message = self._recv_detail(block, timeout)
        return None if message is None else message.data

    def recv_message(self, block: bool = False, timeout: Optional[float] = None) -> Optional[ReceivedMessage]:
        """Like ``recv``, with the target address type and the receive CAN id of this link."""
        return self._recv_detail(block, timeout)

    def _recv_detail(self, block: bool, timeout: Optional[float]) -> Optional[ReceivedMessage]:
        # Without threads nothing arrives while we wait: process() is the caller's to run.
        try:
            message = self._rx_details.get(block=block, timeout=timeout)
        except queue.Empty:
            return None
        try:
            self.rx_queue.get_nowait()
        except queue.Empty:
            pass
        return message

    def available(self) -> bool:
        """True when a received message waits to be read."""
        return not self._rx_details.empty()

    def transmitting(self) -> bool:
        """True while a message is queued or being sent."""
        return self._engine.queued() > 0 or self._engine.is_transmitting()

    def is_rx_active(self) -> bool:
        return self._engine.is_receiving()

    def is_tx_throttled(self) -> bool:
        return False

    @property
    def rx_state(self) -> "TransportLayerLogic.RxState":
        return self.RxState.WAIT_CF if self._engine.is_receiving() else self.RxState.IDLE

    @property
    def tx_state(self) -> "TransportLayerLogic.TxState":
        return self.TxState.TRANSMIT_CF if self._engine.is_transmitting() else self.TxState.IDLE

    def _message(self, payload: bytes, functional: bool) -> ReceivedMessage:
        tat = isotp.address.TargetAddressType.Functional if functional else isotp.address.TargetAddressType.Physical
        rx = self.address.native.rx_id(functional) or self.address.native.rx_id(False)
        return ReceivedMessage(bytearray(payload), tat, rx[0] if rx else None, bool(rx[1]) if rx else False)

    def _deliver(self, payload: bytes, functional: bool) -> None:
        message = self._message(payload, functional)
        callback = self.on_message
        if callback is not None:
            callback(message)
            return
        self._rx_details.put(message)
        self.rx_queue.put(message.data)

    # -- errors --------------------------------------------------------------------------------

    def _trigger_error(self, error: Exception) -> None:
        """Gives an error to ``error_handler`` (and logs it). A handler that raises is reported in
        the log; the next error is delivered all the same."""
        handler = self.error_handler
        if handler is not None:
            if callable(handler):
                try:
                    handler(error)
                except BaseException as e:  # noqa: B036 - even SystemExit must not end delivery
                    self.logger.error("error_handler raised %r while handling %r" % (e, error))
            else:
                self.logger.warning('Given error handler is not a callable object.')
        self.logger.warning(str(error))

    def _error_for(self, kind: str, message: str) -> Exception:
        cls = _ERRORS.get(kind, isotp.errors.IsoTpError)
        if kind == 'wft_overrun' and self.params.wftmax == 0:
            cls = isotp.errors.UnsupportedWaitFrameError
        return cls(message)

    # -- process() -----------------------------------------------------------------------------

    def _drain_events(self) -> int:
        received = 0
        while True:
            with self._lock:
                event = self._engine.poll_event()
                request = None
                if event is not None and event[0] in ('sent', 'send_failed'):
                    request = self._pending.pop(event[1], None)
            if event is None:
                return received
            what = event[0]
            if what == 'received':
                received += 1
                self._deliver(event[1], event[2])
            elif what == 'sent':
                if request is not None:
                    request.complete(True)
            elif what == 'send_failed':
                error = self._error_for(event[2], event[3])
                if request is not None:
                    request.error = error
                    request.complete(False)
                self._trigger_error(error)
            elif what in ('receive_failed', 'warning'):
                self._trigger_error(self._error_for(event[1], event[2]))
            # 'reception_started' and 'observed' (listen mode's other direction) have no
            # can-isotp counterpart.

    def process(self, rx_timeout: float = 0.0, do_rx: bool = True, do_tx: bool = True) -> "TransportLayerLogic.ProcessStats":
        """Reads frames with ``rxfn`` (each given ``rx_timeout``) until it returns None, runs the
        engine's timers, and sends what is due with ``txfn`` (the engine's ``process``)."""
        self._apply_params_when_idle()
        received, processed, sent = self._engine.process(self.rxfn, self.txfn, CanMessage, rx_timeout, do_rx, do_tx)
        frames = self._drain_events()
        return self.ProcessStats(received=received, received_processed=processed, sent=sent, frame_received=frames)

    def next_cf_delay(self) -> Optional[float]:
        return self._engine.next_deadline() if self._engine.is_transmitting() else None

    def is_tx_transmitting_cf(self) -> bool:
        return self._engine.is_transmitting()

    # -- control -------------------------------------------------------------------------------

    def stop_sending(self) -> None:
        """Drops the message being sent and the queued ones."""
        with self._lock:
            self._engine.stop_sending()
            self._fail_pending()

    def stop_receiving(self) -> None:
        """Drops the reception in progress."""
        with self._lock:
            self._engine.stop_receiving()

    def clear_rx_queue(self) -> None:
        for q in (self.rx_queue, self._rx_details):
            while not q.empty():
                q.get_nowait()

    def clear_tx_queue(self) -> None:
        self.stop_sending()

    def reset(self) -> None:
        """Empties every queue and returns both directions to idle."""
        with self._lock:
            self._engine.reset()
            self._fail_pending()
        self.clear_rx_queue()

    # -- asyncio -------------------------------------------------------------------------------

    async def asend(self, data: Union[bytes, bytearray], target_address_type: Optional[Union[isotp.address.TargetAddressType, int]] = None,
                    send_timeout: Optional[float] = None) -> None:
        """Sends a message and waits for its last frame to leave, without blocking the event loop.
        Raises ``BlockingSendTimeout``/``BlockingSendFailure`` like a blocking send."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, lambda: self._send_blocking(data, target_address_type, send_timeout))

    def _send_blocking(self, data: Any, target_address_type: Any, send_timeout: Optional[float]) -> None:
        made = self._request(data, target_address_type)
        if made is not None:
            self._queue_request(made[0], made[1], True, send_timeout)

    async def arecv(self, timeout: Optional[float] = None) -> Optional[bytearray]:
        """Awaits the next message (``timeout`` as in ``recv``); None on timeout. Cancelling it
        loses no message: the waiting is done in short steps that take nothing from the queue,
        and the message is taken on the event loop's thread."""
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            message = self.recv(block=False)
            if message is not None:
                return message
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                return None
            step = 0.05 if left is None else min(left, 0.05)
            await loop.run_in_executor(None, self._wait_available, step)

    def _wait_available(self, timeout: float) -> bool:
        """Waits up to ``timeout`` for a message to be readable, without taking it. Without
        threads a message arrives only when the caller runs ``process()`` (in another thread):
        looked for every 5 ms."""
        end = time.monotonic() + timeout
        while not self.available() and time.monotonic() < end:
            time.sleep(min(0.005, max(0.0, end - time.monotonic())))
        return self.available()

    def __aiter__(self) -> "TransportLayerLogic":
        return self

    async def __anext__(self) -> bytearray:
        while True:
            data = await self.arecv(timeout=1.0)
            if data is not None:
                return data


def _to_can_message(msg: Any) -> Optional[CanMessage]:
    if msg is None or msg.is_error_frame or msg.is_remote_frame:
        return None
    return CanMessage(arbitration_id=msg.arbitration_id, dlc=msg.dlc, data=msg.data, extended_id=msg.is_extended_id,
                      is_fd=msg.is_fd, bitrate_switch=msg.bitrate_switch)


_open_native: "set[Any]" = set()
_started_stacks: "weakref.WeakSet[Any]" = weakref.WeakSet()


def _stop_all_at_exit() -> None:
    # Before the interpreter finalizes: a thread that takes the GIL from native code after that
    # point is ended by CPython in a way Rust code cannot survive. Every stack is stopped (its
    # waiters return), then the native side lets no thread take the GIL again (see gil.rs).
    for stack in list(_started_stacks):
        try:
            stack.stop()
        except Exception:
            pass
    for native in list(_open_native):
        native.close()
    _isotp.interpreter_exiting()


atexit.register(_stop_all_at_exit)


class TransportLayer(TransportLayerLogic):
    """``TransportLayerLogic`` run by the Rust stack after ``start()`` (``process()`` before it):
    an ``isotp::Stack`` drives ``rxfn``/``txfn`` (the GIL is taken only inside them), so the
    timing (STmin, timers, flow control) is the engine's whatever hardware the callables reach."""

    _native: Any = None
    #: Complete messages held unread after ``start()`` (None: the engine's default of 4096). Set it
    #: before ``start()``; when the queue is full, new messages are refused and
    #: ``ReceiveQueueFullError`` goes to ``error_handler``.
    receive_queue: Optional[int] = None

    def __init__(self, rxfn: TransportLayerLogic.RxFn, txfn: TransportLayerLogic.TxFn, address: isotp.address.AbstractAddress,
                 error_handler: Optional[TransportLayerLogic.ErrorHandler] = None, params: Optional[Dict[str, Any]] = None,
                 read_timeout: float = 0.05) -> None:
        self.started = False
        self.main_thread: Optional[threading.Thread] = None
        self.default_read_timeout = read_timeout
        self._stop_requested = threading.Event()
        self._dispatcher: Optional[threading.Thread] = None
        TransportLayerLogic.__init__(self, rxfn, txfn, address, error_handler, params)

    def _native_bus(self) -> Dict[str, Any]:
        """What the Rust stack drives: here the user's callables and can-isotp's CanMessage."""
        return dict(bus=self.txfn, reader=self.rxfn, message=CanMessage, style='can-isotp')

    def _params_changed(self, validated: bool = True) -> None:
        TransportLayerLogic._params_changed(self, validated)

    def _apply_params_when_idle(self) -> None:
        native = self._native
        if native is None:
            return TransportLayerLogic._apply_params_when_idle(self)
        # can-isotp reads its params live: the running stack takes them as soon as it is idle,
        # else at the next send; the stack checks and applies in one step, so a reception that
        # starts meanwhile is not dropped.
        if self._params_dirty:
            self.params.validate()
            self.logger = logging.getLogger(self.params.logger_name)
            try:
                applied = native.set_config_if_idle(self.params.native(), **self.params.tx_flags())
            except _isotp.NativeError as e:
                raise ValueError(e.args[1]) from None
            if applied:
                self._params_dirty = False

    def start(self) -> None:
        """Starts the Rust stack on the link's bus."""
        if self.started:
            raise RuntimeError("Transport Layer is already started")
        self._apply_params_when_idle()
        spec = self._native_bus()
        try:
            native = _isotp.NativeStack(address=self.address.native, config=self.params.native(),
                                        receive_queue=self.receive_queue, **spec, **self.params.tx_flags())
        except _isotp.NativeError as e:
            kind, message = e.args
            if kind in ('bus_open', 'can_fd_unsupported'):
                raise ValueError(message) from None
            raise RuntimeError(message) from None
        self._native = native
        _open_native.add(native)
        _started_stacks.add(self)
        self._stop_requested.clear()
        # The threads hold the layer weakly: a layer dropped without stop() is collected, and its
        # threads end with it.
        me = weakref.ref(self)
        self.main_thread = threading.Thread(target=_pump_errors, args=(me, native, self._stop_requested),
                                            daemon=True, name='isotp-errors')
        self.main_thread.start()
        self.started = True
        if self.on_message is not None:
            # Set before start(): each message goes to the callback as it completes.
            self._dispatcher = threading.Thread(target=_dispatch_messages, args=(me, native, self._stop_requested),
                                                daemon=True, name='isotp-messages')
            self._dispatcher.start()

    def stop(self) -> None:
        """Stops the Rust stack (every thread waiting in it returns) and resets the link."""
        native, self._native = self._native, None
        _started_stacks.discard(self)
        self._stop_requested.set()
        if native is not None:
            native.close()
            _open_native.discard(native)
        for name in ('main_thread', '_dispatcher'):
            thread = getattr(self, name)
            if thread is not None and thread is not threading.current_thread():
                thread.join(1.0)
            setattr(self, name, None)
        TransportLayerLogic.reset(self)
        self.started = False

    def __del__(self) -> None:
        # A stack dropped without stop() releases its threads.
        native = getattr(self, '_native', None)
        if native is not None:
            self._stop_requested.set()
            native.close()
            _open_native.discard(native)

    def _require_native(self) -> Any:
        native = self._native
        if native is None:
            raise RuntimeError("The stack is not started")
        return native

    def _queue_request(self, request: TransportLayerLogic.SendRequest, payload: bytes, blocking: bool,
                       send_timeout: Optional[float]) -> None:
        if not self.started:
            return TransportLayerLogic._queue_request(self, request, payload, blocking, send_timeout)
        self._apply_params_when_idle()
        functional = request.target_address_type == isotp.address.TargetAddressType.Functional
        try:
            self._require_native().send(payload, functional, blocking, send_timeout)
        except _isotp.NativeError as e:
            kind, message = e.args
            if not blocking:
                raise self._send_error(e) from None
            if kind == 'timeout':
                raise isotp.errors.BlockingSendTimeout("Failed to send IsoTP frame in time") from None
            if kind in ('functional_too_long', 'listen_mode', 'too_long', 'empty', 'send', 'stopped'):
                raise self._send_error(e) from None
            raise isotp.errors.BlockingSendFailure("Error while sending IsoTP frame: %s" % message) from None
        finally:
            if self.post_send_callback is not None:
                self.post_send_callback(request)
        request.complete(True)

    def _recv_detail(self, block: bool, timeout: Optional[float]) -> Optional[ReceivedMessage]:
        if not self.started:
            return TransportLayerLogic._recv_detail(self, block, timeout)
        native = self._require_native()
        try:
            got = native.recv(timeout, True) if block else native.recv(0.0, False)
        except _isotp.NativeError as e:
            raise RuntimeError(e.args[1]) from None
        if got is None:
            return None
        return self._message(*got)

    def available(self) -> bool:
        return self._require_native().available() if self.started else TransportLayerLogic.available(self)

    def _wait_available(self, timeout: float) -> bool:
        if not self.started:
            return TransportLayerLogic._wait_available(self, timeout)
        try:
            return self._require_native().wait_available(timeout)
        except _isotp.NativeError as e:
            raise RuntimeError(e.args[1]) from None

    def transmitting(self) -> bool:
        return self._require_native().transmitting() if self.started else TransportLayerLogic.transmitting(self)

    def is_rx_active(self) -> bool:
        return self._require_native().receiving() if self.started else TransportLayerLogic.is_rx_active(self)

    def stop_sending(self) -> None:
        if self.started:
            self._require_native().stop_sending()
        else:
            TransportLayerLogic.stop_sending(self)

    def stop_receiving(self) -> None:
        if self.started:
            self._require_native().stop_receiving()
        else:
            TransportLayerLogic.stop_receiving(self)

    def clear_rx_queue(self) -> None:
        TransportLayerLogic.clear_rx_queue(self)
        native = self._native
        if native is not None:
            while native.recv(0.0, False) is not None:
                pass

    def set_address(self, address: isotp.address.AbstractAddress) -> None:
        TransportLayerLogic.set_address(self, address)
        if self._native is not None:
            self._native.set_address(address.native)

    def process(self, rx_timeout: float = 0.0, do_rx: bool = True, do_tx: bool = True) -> TransportLayerLogic.ProcessStats:
        if self.started:
            raise RuntimeError("Cannot call process() after a start(). See documentation and notes about backward compatibility.")
        return TransportLayerLogic.process(self, rx_timeout=rx_timeout, do_rx=do_rx, do_tx=do_tx)

    def reset(self) -> None:
        if self.started:
            raise RuntimeError("Cannot call reset() after a start(). See documentation and notes about backward compatibility.")
        TransportLayerLogic.reset(self)


def _pump_errors(layer_ref: "weakref.ref[TransportLayer]", native: Any, stop: threading.Event) -> None:
    """Hands the Rust stack's errors to the layer's ``error_handler``, until the layer stops or is
    collected."""
    while not stop.is_set():
        try:
            err = native.next_error(0.1)
        except _isotp.NativeError:
            return
        # A strong reference only while an error is delivered: a layer in a reference cycle is
        # freed by the garbage collector, which must not find it held by this thread.
        if layer_ref() is None:
            native.close()
            return
        if err is not None:
            layer = layer_ref()
            if layer is None:
                native.close()
                return
            layer._trigger_error(layer._error_for(*err))
            del layer


def _dispatch_messages(layer_ref: "weakref.ref[TransportLayer]", native: Any, stop: threading.Event) -> None:
    """Gives each message to the layer's ``on_message``, until the layer stops or is collected."""
    while not stop.is_set():
        try:
            got = native.recv(0.1, True)
        except _isotp.NativeError:
            return
        # As in _pump_errors: the layer is held only while a message is handed over.
        layer = layer_ref()
        if layer is None:
            return
        callback = layer.on_message
        if got is not None and callback is not None:
            message = layer._message(*got)
            try:
                callback(message)
            except Exception as e:
                layer.logger.error("on_message raised %s" % e)
        del layer


def _is_spec(bus: Any) -> bool:
    return isinstance(bus, str)


class CanStack(TransportLayer):
    """can-isotp's ``CanStack``: a transport layer on a python-can bus (``bus.recv`` and
    ``bus.send``), or on one of our interface strings in its place:
    ``CanStack('virtual:bench', address=..., params=...)``, ``'socketcan:can0'``,
    ``'socketcand://HOST:PORT/CHANNEL'``, ``'slcan:/dev/ttyACM0?bitrate=500000'``."""

    _bus_spec: Optional[str] = None

    def __init__(self, bus: Any, *args: Any, **kwargs: Any):
        self.set_bus(bus)
        kwargs.update(dict(rxfn=self._rx_canbus, txfn=self._tx_canbus))
        super().__init__(*args, **kwargs)

    def set_bus(self, bus: Any) -> None:
        if _is_spec(bus):
            self._bus_spec = bus
            self.bus = None
            return
        if not _can_available:
            raise RuntimeError("python-can is not installed in this environment and is required for the %s object."
                               % self.__class__.__name__)
        if not isinstance(bus, can.BusABC):
            raise ValueError('bus must be a python-can BusABC object or an interface string (%s)'
                             % _isotp.interface_syntax())
        self._bus_spec = None
        self.bus = bus

    def _native_bus(self) -> Dict[str, Any]:
        if self._bus_spec is not None:
            return dict(bus=self._bus_spec)
        # python-can's own calls and messages: no conversion in Python per frame.
        return dict(bus=self.bus, reader=self.bus.recv, message=can.Message, style='python-can')

    def _rx_canbus(self, timeout: float) -> Optional[CanMessage]:
        return _to_can_message(self.bus.recv(timeout))

    def _tx_canbus(self, msg: CanMessage) -> None:
        self.bus.send(can.Message(arbitration_id=msg.arbitration_id, data=msg.data, is_extended_id=msg.is_extended_id,
                                  is_fd=msg.is_fd, bitrate_switch=msg.bitrate_switch))

    def process(self, rx_timeout: float = 0.0, do_rx: bool = True, do_tx: bool = True) -> TransportLayerLogic.ProcessStats:
        if self._bus_spec is not None and not self.started:
            raise RuntimeError("A stack on an interface string runs on its own thread: call start() instead of process()")
        return TransportLayer.process(self, rx_timeout, do_rx, do_tx)


class NotifierBasedCanStack(TransportLayer):
    """can-isotp's ``NotifierBasedCanStack``: reads through a listener on a ``can.Notifier`` (so
    other listeners keep working) and sends with ``bus.send``."""

    def __init__(self, bus: Any, notifier: Any, *args: Any, **kwargs: Any) -> None:
        if not _can_available:
            raise RuntimeError("python-can is not installed in this environment and is required for the %s object."
                               % self.__class__.__name__)
        if not isinstance(bus, can.BusABC):
            raise ValueError('bus must be a python-can BusABC object')
        if not isinstance(notifier, can.Notifier):
            raise ValueError("notifier must be a valid can.Notifier object")
        self.bus = bus
        self.notifier = notifier
        self.buffered_reader: Optional[Any] = None
        kwargs.update(dict(rxfn=self._rx_canbus, txfn=self._tx_canbus))
        super().__init__(*args, **kwargs)

    def _rx_canbus(self, timeout: float) -> Optional[CanMessage]:
        if self.buffered_reader is None:
            return None
        return _to_can_message(self.buffered_reader.get_message(timeout=timeout))

    def _tx_canbus(self, msg: CanMessage) -> None:
        self.bus.send(can.Message(arbitration_id=msg.arbitration_id, data=msg.data, is_extended_id=msg.is_extended_id,
                                  is_fd=msg.is_fd, bitrate_switch=msg.bitrate_switch))

    def _native_bus(self) -> Dict[str, Any]:
        # The listener hands each message to the Rust stack, which reads them without the GIL.
        return dict(bus=self.bus, reader=None, message=can.Message, style='python-can')

    def start(self) -> None:
        self.buffered_reader = can.BufferedReader()
        self.notifier.add_listener(self._on_message_received)
        super().start()

    def stop(self) -> None:
        try:
            if self.buffered_reader is not None:
                self.notifier.remove_listener(self._on_message_received)
        except Exception:
            pass
        self.buffered_reader = None
        super().stop()

    def _on_message_received(self, msg: Any) -> None:
        if msg.is_error_frame or msg.is_remote_frame:
            return
        native = self._native
        if native is not None:
            native.push(msg)
        elif self.buffered_reader is not None:
            self.buffered_reader.on_message_received(msg)
