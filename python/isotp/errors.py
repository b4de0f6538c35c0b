"""can-isotp's exception classes. Protocol errors are given to a stack's ``error_handler``."""

__all__ = [
    'IsoTpError', 'BlockingSendFailure', 'BadGeneratorError', 'BlockingSendTimeout',
    'FlowControlTimeoutError', 'ConsecutiveFrameTimeoutError', 'InvalidCanDataError',
    'UnexpectedFlowControlError', 'UnexpectedConsecutiveFrameError',
    'ReceptionInterruptedWithSingleFrameError', 'ReceptionInterruptedWithFirstFrameError',
    'WrongSequenceNumberError', 'UnsupportedWaitFrameError', 'MaximumWaitFrameReachedError',
    'FrameTooLongError', 'ChangingInvalidRXDLError', 'MissingEscapeSequenceError',
    'InvalidCanFdFirstFrameRXDL', 'OverflowError', 'TransmitConfirmationTimeoutError',
    'InvalidPaddingError', 'CanBusError', 'ReceiveQueueFullError',
]

from typing import Any


class IsoTpError(Exception):
    """Base of every error of this package."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        Exception.__init__(self, *args, **kwargs)


class BlockingSendFailure(IsoTpError):
    """A blocking send did not complete."""


class BadGeneratorError(IsoTpError):
    """A (generator, size) given to send() did not yield exactly ``size`` bytes."""


class BlockingSendTimeout(BlockingSendFailure):
    """A blocking send did not complete within its timeout."""


class FlowControlTimeoutError(IsoTpError):
    """N_Bs: the receiver sent no flow control frame in time (``rx_flowcontrol_timeout``)."""


class ConsecutiveFrameTimeoutError(IsoTpError):
    """N_Cr: the sender sent no consecutive frame in time (``rx_consecutive_frame_timeout``)."""


class InvalidCanDataError(IsoTpError):
    """A frame could not be decoded as an ISO-TP PDU, or a flow control frame had an invalid flow status."""


class UnexpectedFlowControlError(IsoTpError):
    """A flow control frame arrived while no transmission waited for one."""


class UnexpectedConsecutiveFrameError(IsoTpError):
    """A consecutive frame arrived while no reception was in progress."""


class ReceptionInterruptedWithSingleFrameError(IsoTpError):
    """A single frame interrupted a reception in progress (which is dropped)."""


class ReceptionInterruptedWithFirstFrameError(IsoTpError):
    """A first frame interrupted a reception in progress (which is dropped)."""


class WrongSequenceNumberError(IsoTpError):
    """A consecutive frame had an unexpected sequence number."""


class UnsupportedWaitFrameError(IsoTpError):
    """A flow control WAIT arrived while ``wftmax`` is 0."""


class MaximumWaitFrameReachedError(IsoTpError):
    """More than ``wftmax`` flow control WAIT frames arrived in a row."""


class FrameTooLongError(IsoTpError):
    """A first frame announced more than ``max_frame_size`` bytes (answered with FC.OVFLW)."""


class ChangingInvalidRXDLError(IsoTpError):
    """A consecutive frame, not the last, had a length other than the first frame's."""


class MissingEscapeSequenceError(IsoTpError):
    """A single frame longer than 8 bytes did not use the escape sequence."""


class InvalidCanFdFirstFrameRXDL(IsoTpError):
    """A CAN FD first frame was shorter than its RX_DL implies."""


class OverflowError(IsoTpError):
    """The receiver answered FC.OVFLW; the transmission stopped."""


class TransmitConfirmationTimeoutError(IsoTpError):
    """N_As/N_Ar: the bus did not confirm a transmitted frame in time (not in can-isotp)."""


class InvalidPaddingError(IsoTpError):
    """A received frame failed the receive padding check (not in can-isotp)."""


class CanBusError(IsoTpError):
    """The CAN bus failed (not in can-isotp, where bus exceptions reach the stack's thread)."""


class ReceiveQueueFullError(IsoTpError):
    """Complete messages arrived while the stack's receive queue (``receive_queue`` messages) was
    full: they were refused (FC.WAIT then FC.OVFLW for first frames, single frames dropped) and are
    counted in the message (not in can-isotp, whose queue is unbounded)."""
