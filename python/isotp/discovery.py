"""Functional requests with many responders: one single frame to all, every answer collected.

Not part of can-isotp 2.0.7: an addition of this package, on the engine's ``FunctionalRequest``.
"""

from typing import Any, Dict, List, NamedTuple, Optional

import isotp.errors
from isotp import _isotp
from isotp.protocol import _ERRORS, TransportLayerLogic

__all__ = ['FunctionalResponse', 'functional_request']


class FunctionalResponse(NamedTuple):
    """One responder's answer: its CAN id, and the payload or the error that ended its reception."""
    arbitration_id: int
    is_extended_id: bool
    payload: Optional[bytes]
    error: Optional[isotp.errors.IsoTpError]
    elapsed: float
    """Seconds from the request to the end of this answer."""


def functional_request(bus: Any, data: bytes, functional_id: int = 0x7DF,
                       response_ids: Optional[range] = None, timeout: float = 0.2,
                       params: Optional[Dict[str, Any]] = None,
                       is_extended_id: Optional[bool] = None) -> List[FunctionalResponse]:
    """Sends ``data`` as one functional single frame and returns every responder's answer, in the
    order the answers completed.

    Each responder's first frame is answered with a flow control on that responder's own physical
    id, so multi-frame answers arrive whole. ``timeout`` (seconds) is the wait for answers; it
    restarts on each first frame, and an answer still arriving is followed to its end.

    ``bus``: an interface string ('virtual:NAME', 'socketcan:can0', 'socketcand://HOST:PORT/CH', ...)
    or a python-can bus (read with its ``recv`` while the request runs).
    ``functional_id``: 0x7DF is OBD-II (answers on 0x7E8-0x7EF, flow control on the id 8 below);
    0x18DBxxxx is 29-bit normal fixed addressing (answers from any 0x18DA<SA>xx). For another id give
    ``response_ids``, e.g. ``range(0x7E8, 0x7F0)``; 11-bit response ids pair with the id 8 below,
    0x18DAxxyy with target and source swapped. ``is_extended_id``: default, ids above 0x7FF.
    ``params``: can-isotp's parameters (stmin, blocksize, tx_padding, rx_consecutive_frame_timeout...).

    Raises ValueError for bad ids or a request longer than a single frame, CanBusError when the bus
    fails. A responder whose answer breaks off has its exception in ``error``.

    >>> answers = isotp.functional_request('socketcan:can0', bytes([0x09, 0x02]))  # doctest: +SKIP
    >>> [(hex(a.arbitration_id), a.payload) for a in answers]                       # doctest: +SKIP
    """
    p = TransportLayerLogic.Params()
    for k, v in (params or {}).items():
        p.set(k, v, validate=False)
    p.validate()
    extended = functional_id > 0x7FF if is_extended_id is None else bool(is_extended_id)
    ids = None
    if response_ids is not None:
        if not isinstance(response_ids, range) or len(response_ids) == 0 or response_ids.step != 1:
            raise ValueError('response_ids must be a non-empty range of consecutive ids, e.g. range(0x7E8, 0x7F0)')
        ids = (response_ids.start, response_ids[-1])
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError('data must be bytes')
    kwargs: Dict[str, Any] = {}
    if not isinstance(bus, str):
        import can
        kwargs = {'reader': bus.recv, 'message': can.Message}
    try:
        raw = _isotp.functional_request(bus, bytes(data), functional_id, extended, ids, float(timeout),
                                        p.native(), **kwargs)
    except _isotp.NativeError as e:
        kind, message = e.args
        if kind == 'bus':
            raise isotp.errors.CanBusError(message) from None
        raise ValueError(message) from None
    except OverflowError as e:
        raise ValueError(str(e)) from None
    out = []
    for arbitration_id, is_ext, payload, error, elapsed in raw:
        exc = None
        if error is not None:
            kind, message = error
            exc = _ERRORS.get(kind, isotp.errors.IsoTpError)(message)
        out.append(FunctionalResponse(arbitration_id, is_ext, payload, exc, elapsed))
    return out
