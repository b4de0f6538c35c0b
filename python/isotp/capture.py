"""Recorded CAN traffic for analysis: frames, reassembled ISO-TP messages and ``isotp check``'s
findings, read by the Rust crates (every format the ``isotp`` command reads: candump ``.log``,
Vector ASC and BLF, PEAK TRC).

    >>> from isotp import capture
    >>> frames = capture.read_frames("drive.blf")                       # doctest: +SKIP
    >>> messages = capture.read_messages("drive.blf")                   # doctest: +SKIP
    >>> findings = capture.check("flash.asc", uds=True)                 # doctest: +SKIP
    >>> capture.to_pandas(messages)                                     # doctest: +SKIP

Frame numbers count from 1 in the order of the log, as in ``isotp check``'s output. Conversations
are discovered as ``isotp sniff`` does (``discover``: ``'normal'``, ``'extended'`` or ``'mixed'``,
where the address byte is). ``to_pandas`` and ``to_arrow`` need pandas or pyarrow installed; nothing
else does.

Counting UDS services per ECU across a folder of recordings::

    import collections, pathlib
    from isotp import capture

    def uds_services(path):
        counts = collections.Counter()
        for x in capture.read_exchanges(path):
            counts[(str(x.ecu) if x.ecu else "functional", x.service)] += 1
        return counts

    total = collections.Counter()
    for path in sorted(pathlib.Path("recordings").glob("*.log")):
        total += uds_services(str(path))
"""

import os
from typing import Iterable, List, NamedTuple, Optional, Sequence, Union

from isotp import _isotp

__all__ = ['Frame', 'Party', 'Message', 'Exchange', 'Finding', 'read_frames', 'read_messages',
           'read_exchanges', 'check',
           'to_pandas', 'to_arrow']

PathLike = Union[str, os.PathLike]


class Frame(NamedTuple):
    """A CAN frame of a recording."""
    time: float
    """Seconds: since the Unix epoch when the log says when it was recorded, else since its start."""
    channel: str
    direction: Optional[str]
    """'rx' or 'tx' as seen by the recording node, when the log says."""
    arbitration_id: int
    is_extended_id: bool
    is_fd: bool
    data: bytes


class Party(NamedTuple):
    """One end of a conversation: its CAN id and, with extended or mixed addressing, address byte."""
    arbitration_id: int
    is_extended_id: bool
    address_byte: Optional[int]

    def __str__(self) -> str:
        width = 8 if self.is_extended_id else 3
        text = f"{self.arbitration_id:0{width}X}"
        return text if self.address_byte is None else f"{text}[{self.address_byte:02X}]"


class Message(NamedTuple):
    """A reassembled ISO-TP message."""
    first_frame: int
    time: float
    last_frame: int
    end_time: float
    conversation: str
    source: Party
    target: Optional[Party]
    """The receiving end, once the conversation is paired (a flow control answered a first frame)."""
    functional: bool
    payload: bytes


class Exchange(NamedTuple):
    """A UDS request and what answered it, paired per tester-ECU pair as ``isotp check --uds``
    pairs them (a response from an ECU whose peer the monitor does not know yet answers the open
    request of its service)."""
    tester: Party
    ecu: Optional[Party]
    """The ECU that answered (or the one the request named); None for an unanswered functional
    request."""
    service: int
    functional: bool
    request_frame: int
    request_time: float
    request_end_time: float
    response_frame: Optional[int]
    """The final response's first frame (after any "response pending")."""
    response_time: Optional[float]
    outcome: str
    """'positive', 'negative' or 'unanswered'."""
    nrc: Optional[int]
    pending: int
    """How many "response pending" (0x78) came first."""
    p2: Optional[float]
    """Seconds from the request's end to the first response's start."""


class Finding(NamedTuple):
    """A finding of ``isotp check``: the fields of its ``--json`` lines, times in seconds."""
    layer: str
    """'iso-tp' or 'uds'."""
    conversation: str
    severity: str
    kind: str
    party: Optional[str]
    frame: int
    time: float
    since_frame: Optional[int]
    since_time: Optional[float]
    measured: Optional[float]
    limit: Optional[float]
    detail: str


def _party(t) -> Optional[Party]:
    return None if t is None else Party(*t)


def read_frames(path: PathLike, format: Optional[str] = None) -> List[Frame]:
    """Every frame of the log at ``path``. ``format``: a format the ``isotp`` command reads
    ('candump', 'asc', 'blf', 'trc', 'pcapng', 'pcap' ...); by default the file's extension, else
    its first bytes. Malformed records are skipped; a file in
    no known format raises ValueError, one that cannot be opened OSError."""
    return list(map(Frame._make, _isotp.capture_frames(str(path), format)))


def read_messages(path: PathLike, format: Optional[str] = None,
                  discover: str = "normal") -> List[Message]:
    """Every ISO-TP message reassembled from the log at ``path``, in the order they completed."""
    return [Message(a, b, c, d, e, _party(f), _party(g), h, i)
            for (a, b, c, d, e, f, g, h, i) in _isotp.capture_messages(str(path), format, discover)]


def read_exchanges(path: PathLike, format: Optional[str] = None,
                   discover: str = "normal") -> List[Exchange]:
    """Every UDS exchange of the log at ``path``, in the order they ended."""
    return [Exchange(_party(t[0]), _party(t[1]), *t[2:])
            for t in _isotp.capture_exchanges(str(path), format, discover)]


def check(path: PathLike, format: Optional[str] = None, discover: str = "normal",
          uds: bool = False, p2: Optional[float] = None,
          p2_star: Optional[float] = None) -> List[Finding]:
    """``isotp check`` on the log at ``path``: ISO 15765-2 findings, then with ``uds`` the UDS
    timing ones (``p2``/``p2_star`` in seconds; by default 50 ms / 5 s, or what a
    DiagnosticSessionControl response announces)."""
    return list(map(Finding._make, _isotp.capture_check(str(path), format, discover, uds, p2, p2_star)))


_PARTY_FIELDS = {"source", "target", "tester", "ecu"}


def _columns(records: Sequence) -> dict:
    if not records:
        return {}
    columns = {}
    for name, values in zip(records[0]._fields, zip(*records)):
        # Ends of a conversation become their text; the other fields are plain values.
        if name in _PARTY_FIELDS:
            values = [None if v is None else str(v) for v in values]
        columns[name] = list(values)
    return columns


def to_pandas(records: Iterable):
    """A pandas DataFrame of frames, messages or findings, one column per field (ends of a
    conversation as their text, ``7E8`` or ``6F1[10]``). Needs pandas."""
    import pandas
    return pandas.DataFrame(_columns(list(records)))


def to_arrow(records: Iterable):
    """A pyarrow Table of frames, messages or findings, as ``to_pandas``. Needs pyarrow."""
    import pyarrow
    return pyarrow.table(_columns(list(records)))
