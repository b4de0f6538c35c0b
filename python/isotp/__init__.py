"""ISO 15765-2 (ISO-TP) for Python: can-isotp 2.0.7's API on the isotp Rust engine and drivers.

Installing this package in place of can-isotp is the whole migration: ``import isotp`` and
``isotp.CanStack(bus, address=..., params=...)`` work unchanged. A python-can bus works as before;
an interface string ('virtual:NAME', 'socketcan:can0', 'socketcand://HOST:PORT/CHANNEL',
'slcan:...') in place of the bus keeps every frame out of Python.
"""

_major_version_ = 2

__all__ = [
    'CanMessage', 'AddressingMode', 'TargetAddressType', 'Address', 'AsymmetricAddress',
    'TransportLayerLogic', 'TransportLayer', 'CanStack', 'NotifierBasedCanStack', 'socket',
    'IsoTpError', 'BlockingSendFailure', 'BadGeneratorError', 'BlockingSendTimeout',
    'FlowControlTimeoutError', 'ConsecutiveFrameTimeoutError', 'InvalidCanDataError',
    'UnexpectedFlowControlError', 'UnexpectedConsecutiveFrameError',
    'ReceptionInterruptedWithSingleFrameError', 'ReceptionInterruptedWithFirstFrameError',
    'WrongSequenceNumberError', 'UnsupportedWaitFrameError', 'MaximumWaitFrameReachedError',
    'FrameTooLongError', 'ChangingInvalidRXDLError', 'MissingEscapeSequenceError',
    'InvalidCanFdFirstFrameRXDL', 'OverflowError', 'ReceivedMessage', 'TransmitConfirmationTimeoutError',
    'InvalidPaddingError', 'CanBusError', 'ReceiveQueueFullError',
    'functional_request', 'FunctionalResponse', 'afunctional_request', 'FunctionalAnswers', 'CutOff',
    'scan', 'ScanReport', 'FoundEndpoint',
]

from isotp.errors import *  # noqa: F401,F403
from isotp.can_message import CanMessage
from isotp.address import AddressingMode, TargetAddressType, Address, AsymmetricAddress
from isotp.protocol import TransportLayerLogic, TransportLayer, CanStack, NotifierBasedCanStack, ReceivedMessage
from isotp.tpsock import socket
from isotp.discovery import functional_request, FunctionalResponse
from isotp.discovery import afunctional_request, FunctionalAnswers, CutOff, scan, ScanReport, FoundEndpoint
from isotp import _isotp
# can-isotp's package makes these modules attributes of ``isotp`` by importing them; scripts and
# tutorials reach the stacks as ``isotp.stack.CanStack`` or ``isotp.protocol.CanStack`` without an
# import of their own.
from isotp import address, can_message, errors, protocol, stack, tools, tpsock  # noqa: F401

__version__ = '2.0.7+rs.' + _isotp.__version__
__license__ = 'MIT OR Apache-2.0'
