"""Functional requests with many responders, and scans for ISO-TP endpoints.

Not part of can-isotp 2.0.7: additions of this package, on the engine's ``FunctionalRequest`` and
``Scan``. Each runs on a thread of its own while the caller waits: Ctrl-C (or cancelling the asyncio
task of ``afunctional_request``) stops it within one short step, and no thread is left behind.
"""

import asyncio
import threading
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Tuple, TypeVar

import isotp.address
import isotp.errors
from isotp import _isotp
from isotp.protocol import _ERRORS, TransportLayerLogic

__all__ = ['FunctionalResponse', 'FunctionalAnswers', 'CutOff', 'functional_request', 'afunctional_request',
           'scan', 'ScanReport', 'FoundEndpoint']

T = TypeVar('T')


class FunctionalResponse(NamedTuple):
    """One responder's answer: its CAN id, and the payload or the error that ended its reception."""
    arbitration_id: int
    is_extended_id: bool
    payload: Optional[bytes]
    error: Optional[isotp.errors.IsoTpError]
    elapsed: float
    """Seconds from the request to the end of this answer."""


class CutOff(NamedTuple):
    """The overall limit of a functional request ended the wait while answers were still due."""
    limit: float
    """The limit, in seconds."""
    unfinished: List[Tuple[int, bool]]
    """(arbitration_id, is_extended_id) of each responder whose answer was still arriving, or whose
    last answer said "response pending" (7F xx 78)."""
    reason: str
    """The same in words."""


class FunctionalAnswers(List[FunctionalResponse]):
    """The answers to a functional request: a list of ``FunctionalResponse`` in the order they
    completed, with ``cut_off``: None when every responder was done, else a ``CutOff``."""
    cut_off: Optional[CutOff]

    def __init__(self, answers: Iterable[FunctionalResponse] = (), cut_off: Optional[CutOff] = None) -> None:
        super().__init__(answers)
        self.cut_off = cut_off


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError('%s must be a number of seconds, 0 or more (got %r)' % (name, value))
    return float(value)


def _native_params(params: Optional[Dict[str, Any]], **defaults: Any) -> Dict[str, Any]:
    """can-isotp's parameters (``defaults`` for those not given), validated as a stack validates
    them, in the engine's form."""
    if params is not None and not isinstance(params, dict):
        raise ValueError('params must be a dict of can-isotp parameters (got %r)' % (params,))
    p = TransportLayerLogic.Params()
    for k, v in {**defaults, **(params or {})}.items():
        p.set(k, v, validate=False)
    p.validate()
    return p.native()


def _bus_kwargs(bus: Any) -> Dict[str, Any]:
    """A python-can bus is read with its ``recv``; an interface string is opened by the engine."""
    if isinstance(bus, str):
        return {}
    if not callable(getattr(bus, 'recv', None)) or not callable(getattr(bus, 'send', None)):
        raise ValueError('bus must be an interface string or a python-can bus (got %r)' % (bus,))
    import can
    return {'reader': bus.recv, 'message': can.Message}


def _call(native: Callable[[], T]) -> T:
    """Calls the engine, its errors as this package raises them."""
    try:
        return native()
    except _isotp.NativeError as e:
        kind, message = e.args
        if kind == 'bus':
            raise isotp.errors.CanBusError(message) from None
        if kind == 'cancelled':
            raise _Cancelled(message) from None
        raise ValueError(message) from None
    except OverflowError as e:
        raise ValueError(str(e)) from None


class _Cancelled(Exception):
    pass


class _Worker:
    """Runs an engine call on a thread of its own; ``cancel`` stops it within one short step."""

    def __init__(self, native: Callable[[_isotp.Cancel], T], name: str) -> None:
        self.cancel = _isotp.Cancel()
        self.result: Any = None
        self.error: Optional[BaseException] = None
        self.on_done: Optional[Callable[[], None]] = None
        self._native = native
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _run(self) -> None:
        try:
            self.result = _call(lambda: self._native(self.cancel))
        except BaseException as e:  # handed to the waiting caller
            self.error = e
        finally:
            if self.on_done is not None:
                self.on_done()

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result

    def run(self) -> Any:
        """Waits in the caller's thread; Ctrl-C cancels the call, waits for its end and is raised."""
        self.thread.start()
        try:
            while self.thread.is_alive():
                self.thread.join(0.1)
        except BaseException:
            self.cancel.cancel()
            self.thread.join()
            raise
        return self.outcome()

    async def arun(self) -> Any:
        """Awaits the call without blocking the event loop. Cancelling the awaiting task cancels
        the call and waits (a short bounded step) for its thread to end."""
        loop = asyncio.get_running_loop()
        finished = loop.create_future()

        def wake() -> None:
            try:
                loop.call_soon_threadsafe(lambda: finished.done() or finished.set_result(None))
            except RuntimeError:  # the loop is closed: nobody is waiting
                pass

        self.on_done = wake
        self.thread.start()
        try:
            await asyncio.shield(finished)
        except asyncio.CancelledError:
            self.cancel.cancel()
            if not finished.done():
                await asyncio.shield(finished)  # one step; a second cancellation is raised here
            self.thread.join()  # past its last statement: returns at once
            raise
        self.thread.join()
        return self.outcome()


def _functional_worker(bus: Any, data: Any, functional_id: int, response_ids: Optional[range], timeout: float,
                       params: Optional[Dict[str, Any]], is_extended_id: Optional[bool],
                       overall_limit: Optional[float]) -> _Worker:
    """Checks the arguments and prepares the engine's call (made by the worker)."""
    if not isinstance(data, (bytes, bytearray)):
        raise ValueError('data must be bytes')
    if isinstance(functional_id, bool) or not isinstance(functional_id, int):
        raise ValueError('functional_id must be a CAN id (int, got %r)' % (functional_id,))
    config = _native_params(params)
    extended = functional_id > 0x7FF if is_extended_id is None else bool(is_extended_id)
    ids = None
    if response_ids is not None:
        if not isinstance(response_ids, range) or len(response_ids) == 0 or response_ids.step != 1:
            raise ValueError('response_ids must be a non-empty range of consecutive ids, e.g. range(0x7E8, 0x7F0)')
        ids = (response_ids.start, response_ids[-1])
    window = _seconds('timeout', timeout)
    limit = None if overall_limit is None else _seconds('overall_limit', overall_limit)
    kwargs = _bus_kwargs(bus)
    payload = bytes(data)

    def native(cancel: _isotp.Cancel) -> FunctionalAnswers:
        raw, cut_off = _isotp.functional_request(bus, payload, functional_id, extended, ids, window, config,
                                                 overall_limit=limit, cancel=cancel, **kwargs)
        out = FunctionalAnswers(cut_off=None if cut_off is None else CutOff(*cut_off))
        for arbitration_id, is_ext, answer, error, elapsed in raw:
            exc = None
            if error is not None:
                kind, message = error
                exc = _ERRORS.get(kind, isotp.errors.IsoTpError)(message)
            out.append(FunctionalResponse(arbitration_id, is_ext, answer, exc, elapsed))
        return out

    return _Worker(native, 'isotp-functional-request')


def functional_request(bus: Any, data: bytes, functional_id: int = 0x7DF,
                       response_ids: Optional[range] = None, timeout: float = 0.2,
                       params: Optional[Dict[str, Any]] = None,
                       is_extended_id: Optional[bool] = None,
                       overall_limit: Optional[float] = None) -> FunctionalAnswers:
    """Sends ``data`` as one functional single frame and returns every responder's answer, in the
    order the answers completed.

    Each responder's first frame is answered with a flow control on that responder's own physical
    id, so multi-frame answers arrive whole. ``timeout`` (seconds) is the wait for answers; it
    restarts on each first frame, and an answer still arriving is followed to its end.
    ``overall_limit`` (seconds; default 30) bounds the whole request whatever the responders do (one
    that keeps restarting its answer or keeps sending "response pending"); when it ends the wait
    early, the result's ``cut_off`` says so and names the responders still answering.

    ``bus``: an interface string ('virtual:NAME', 'socketcan:can0', 'socketcand://HOST:PORT/CH', ...)
    or a python-can bus (read with its ``recv`` while the request runs).
    ``functional_id``: 0x7DF is OBD-II (answers on 0x7E8-0x7EF, flow control on the id 8 below);
    0x18DBxxxx is 29-bit normal fixed addressing (answers from any 0x18DA<SA>xx). For another id give
    ``response_ids``, e.g. ``range(0x7E8, 0x7F0)``; 11-bit response ids pair with the id 8 below,
    0x18DAxxyy with target and source swapped. ``is_extended_id``: default, ids above 0x7FF.
    ``params``: can-isotp's parameters (stmin, blocksize, tx_padding, rx_consecutive_frame_timeout...).

    Returns a ``FunctionalAnswers``: a list of ``FunctionalResponse``, with ``cut_off`` None or a
    ``CutOff``. Raises ValueError for bad arguments or a request longer than a single frame,
    CanBusError when the bus fails. A responder whose answer breaks off has its exception in
    ``error``. Ctrl-C stops the request within one short step.

    >>> answers = isotp.functional_request('socketcan:can0', bytes([0x09, 0x02]))  # doctest: +SKIP
    >>> [(hex(a.arbitration_id), a.payload) for a in answers]                       # doctest: +SKIP
    >>> answers.cut_off is None                                                     # doctest: +SKIP
    True
    """
    return _functional_worker(bus, data, functional_id, response_ids, timeout, params, is_extended_id,
                              overall_limit).run()


async def afunctional_request(bus: Any, data: bytes, functional_id: int = 0x7DF,
                              response_ids: Optional[range] = None, timeout: float = 0.2,
                              params: Optional[Dict[str, Any]] = None,
                              is_extended_id: Optional[bool] = None,
                              overall_limit: Optional[float] = None) -> FunctionalAnswers:
    """``functional_request`` for asyncio: the same arguments and result, awaited without blocking
    the event loop (the request runs on a thread of its own).

    Cancelling the awaiting task (``asyncio.wait_for`` timing out, ``task.cancel()``) stops the
    request: the engine notices within one short step (at most 50 ms waiting on the bus), the
    thread ends, and then ``CancelledError`` is raised; answers collected so far are dropped.

    >>> async def vins():                                                            # doctest: +SKIP
    ...     answers = await isotp.afunctional_request('socketcan:can0', bytes([0x09, 0x02]))
    ...     return {hex(a.arbitration_id): a.payload for a in answers}
    >>> asyncio.run(asyncio.wait_for(vins(), timeout=2.0))                           # doctest: +SKIP
    """
    worker = _functional_worker(bus, data, functional_id, response_ids, timeout, params, is_extended_id,
                                overall_limit)
    return await worker.arun()


class FoundEndpoint(NamedTuple):
    """An endpoint found by ``scan``: the id probed and the id that answered."""
    request_id: int
    """The id the probe went out on: the endpoint's receive id."""
    response_id: int
    """The id the answer came on: the endpoint's transmit id."""
    is_extended_id: bool
    addressing_mode: isotp.address.AddressingMode
    target_address: Optional[int]
    """Extended addressing: the address byte leading the probe."""
    source_address: Optional[int]
    """Extended addressing: the address byte leading the answer."""
    flow_control: Optional[Tuple[int, int, int]]
    """A first-frame probe's answer: (flow status, blocksize, stmin byte)."""
    response: Optional[bytes]
    """A TesterPresent probe's answer: the single frame's data (7E 00, or 7F 3E NRC)."""

    def address(self) -> isotp.address.Address:
        """The tester's address for talking to this endpoint alone (give it to a ``CanStack``)."""
        return isotp.address.Address(self.addressing_mode, txid=self.request_id, rxid=self.response_id,
                                     target_address=self.target_address, source_address=self.source_address)


class ScanReport(NamedTuple):
    """What ``scan`` found, and whether it probed every candidate."""
    endpoints: List[FoundEndpoint]
    """In the order of their request ids."""
    probes: int
    """Probes sent: the first pass and the confirmations."""
    complete: bool
    """False when ``limit`` stopped the scan before every candidate was probed."""
    chatter: List[int]
    """Ids that sent frames looking like answers without being probed (other traffic)."""
    answers_anything: List[int]
    """Response ids that answered more different lone probes than an endpoint does (a node that
    answers every probe, a gateway answering for every id): not reported as endpoints."""


_SCAN_ADDRESSING = ('normal', 'extended', 'extended_all')
_SCAN_PROBES = ('first_frame', 'tester_present')


def scan(bus: Any, ids: range, *, addressing: str = 'normal', target_address: Optional[int] = None,
         probe: str = 'first_frame', interval: float = 0.02, confirm_wait: float = 0.2,
         limit: Optional[float] = None, params: Optional[Dict[str, Any]] = None,
         is_extended_id: Optional[bool] = None) -> ScanReport:
    """Probes each id of ``ids`` and reports the ISO-TP endpoints that answer.

    The default probe (``'first_frame'``) is the first frame of an 8-byte TesterPresent: a receiver
    answers it with a flow control (its response id, BS and STmin), the consecutive frames never
    follow, and no request reaches its application. ``'tester_present'`` sends the single frame
    3E 00, which a UDS server answers 7E 00. Each candidate is probed again alone before it is
    reported, so other traffic is not taken for endpoints (``chatter``), and a node answering every
    probe is reported once in ``answers_anything`` rather than as an endpoint of each id.

    ``bus``: an interface string ('virtual:NAME', 'socketcan:can0', ...) or a python-can bus.
    ``ids``: a range of CAN ids, e.g. ``range(0x7E0, 0x7F0)``; 29-bit when an id is above 0x7FF or
    ``is_extended_id`` is True. ``addressing``: ``'normal'``, ``'extended'`` (probes led by
    ``target_address``) or ``'extended_all'`` (every address byte 0-255 on each id).
    ``interval`` (seconds between probes: the rate limit), ``confirm_wait`` (the wait for a lone
    probe's answer) and ``limit`` (no probe after it; the report is then not ``complete``).
    ``params``: can-isotp's parameters for the probes' frame format; probes are padded with 0xCC
    unless ``tx_padding`` is given. Blocks about ``len(ids) * interval`` plus the confirmations;
    Ctrl-C stops it within one short step.

    Raises ValueError for bad arguments, CanBusError when the bus fails.

    >>> report = isotp.scan('socketcan:can0', range(0x7E0, 0x7F0))                 # doctest: +SKIP
    >>> [(hex(e.request_id), hex(e.response_id)) for e in report.endpoints]          # doctest: +SKIP
    [('0x7e0', '0x7e8')]
    """
    if not isinstance(ids, range) or len(ids) == 0 or ids.step != 1:
        raise ValueError('ids must be a non-empty range of consecutive CAN ids, e.g. range(0x7E0, 0x7F0)')
    if addressing not in _SCAN_ADDRESSING:
        raise ValueError('addressing must be one of %s (got %r)' % (', '.join(map(repr, _SCAN_ADDRESSING)), addressing))
    if probe not in _SCAN_PROBES:
        raise ValueError('probe must be one of %s (got %r)' % (', '.join(map(repr, _SCAN_PROBES)), probe))
    if target_address is not None and (isinstance(target_address, bool) or not isinstance(target_address, int)
                                       or not 0 <= target_address <= 0xFF):
        raise ValueError('target_address must be an int from 0 to 255 (got %r)' % (target_address,))
    times = {name: _seconds(name, value) for name, value in
             (('interval', interval), ('confirm_wait', confirm_wait))}
    stop = None if limit is None else _seconds('limit', limit)
    config = None if params is None else _native_params(params, tx_padding=0xCC)
    extended = ids[-1] > 0x7FF if is_extended_id is None else bool(is_extended_id)
    kwargs = _bus_kwargs(bus)

    def native(cancel: _isotp.Cancel) -> ScanReport:
        raw = _isotp.scan(bus, ids.start, ids[-1], extended, addressing, target_address, probe,
                          times['interval'], times['confirm_wait'], stop, config, cancel=cancel, **kwargs)
        endpoints = [FoundEndpoint(request_id, response_id, is_ext, isotp.address.AddressingMode[mode], target,
                                   source, flow_control, response)
                     for request_id, response_id, is_ext, mode, target, source, flow_control, response
                     in raw['endpoints']]
        return ScanReport(endpoints, raw['probes'], raw['complete'], raw['chatter'], raw['answers_anything'])

    return _Worker(native, 'isotp-scan').run()
