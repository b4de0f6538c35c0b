"""ISO-TP addressing (N_AI): can-isotp's ``Address`` classes, validated and answered by the engine."""

__all__ = ['AddressingMode', 'TargetAddressType', 'Address', 'AsymmetricAddress']

import abc
from enum import Enum
from typing import Any, Dict, Optional, Union

from isotp import _isotp
from isotp.can_message import CanMessage


class AddressingMode(Enum):
    """The seven addressing modes of ISO 15765-2."""
    Normal_11bits = 0
    Normal_29bits = 1
    NormalFixed_29bits = 2
    Extended_11bits = 3
    Extended_29bits = 4
    Mixed_11bits = 5
    Mixed_29bits = 6

    @classmethod
    def get_name(cls, num: Union[int, "AddressingMode"]) -> str:
        return cls(num).name


class TargetAddressType(Enum):
    """Physical (1 to 1, any length) or functional (1 to n, single frames only)."""
    Physical = 0
    Functional = 1


# ISO's names for the two N_TAtype values.
TargetAddressType.N_PHYSICAL = TargetAddressType.Physical  # type: ignore[attr-defined]
TargetAddressType.N_FUNCTIONAL = TargetAddressType.Functional  # type: ignore[attr-defined]

_NATIVE_MODE = {
    AddressingMode.Normal_11bits: 'Normal11',
    AddressingMode.Normal_29bits: 'Normal29',
    AddressingMode.NormalFixed_29bits: 'NormalFixed29',
    AddressingMode.Extended_11bits: 'Extended11',
    AddressingMode.Extended_29bits: 'Extended29',
    AddressingMode.Mixed_11bits: 'Mixed11',
    AddressingMode.Mixed_29bits: 'Mixed29',
}

_NORMAL = (AddressingMode.Normal_11bits, AddressingMode.Normal_29bits)
_EXTENDED = (AddressingMode.Extended_11bits, AddressingMode.Extended_29bits)


def _message(mode: AddressingMode, kind: str, native_message: str) -> str:
    """can-isotp's wording for an error the engine's address builder reported."""
    what, _, field = kind.partition(':')
    if what == 'missing':
        if mode in _NORMAL:
            return '%s must be specified for Normal addressing mode (11 or 29 bits ID)' % field
        if mode == AddressingMode.NormalFixed_29bits:
            return 'target_address and source_address must be specified for Normal Fixed addressing (29 bits ID)'
        if mode in _EXTENDED:
            if field in ('txid', 'target_address'):
                return 'target_address and txid must be specified for Extended addressing mode (11 or 29 bits ID)'
            return 'source_address and rxid must be specified for Extended addressing mode (11 or 29 bits ID)'
        if mode == AddressingMode.Mixed_11bits:
            return '%s must be specified for Mixed addressing mode (11 bits ID)' % field
        return 'target_address, source_address and address_extension must be specified for Mixed addressing mode (29 bits ID)'
    if what == 'same':
        if mode in _NORMAL:
            return 'txid and rxid must be different for Normal addressing mode'
        if mode == AddressingMode.Mixed_11bits:
            return 'txid and rxid must be different for Mixed addressing mode (11 bits ID)'
        return 'txid and rxid must be different'
    if what == 'negative':
        return '%s must be greater than 0' % field
    if what == 'range':
        if field in ('txid', 'rxid'):
            if mode.name.endswith('11bits'):
                return '%s must be smaller than 0x7FF for 11 bits identifier' % field
            return '%s must be smaller than 0x1FFFFFFF for 29 bits identifier' % field
        return '%s must be an integer between 0x00 and 0xFF' % field
    return native_message


class AbstractAddress(abc.ABC):
    """What a transport layer needs from an address."""

    @abc.abstractmethod
    def get_tx_arbitration_id(self, address_type: TargetAddressType = TargetAddressType.Physical) -> int: ...

    @abc.abstractmethod
    def get_rx_arbitration_id(self, address_type: TargetAddressType = TargetAddressType.Physical) -> int: ...

    @abc.abstractmethod
    def requires_tx_extension_byte(self) -> bool: ...

    @abc.abstractmethod
    def requires_rx_extension_byte(self) -> bool: ...

    @abc.abstractmethod
    def get_tx_extension_byte(self) -> Optional[int]: ...

    @abc.abstractmethod
    def get_rx_extension_byte(self) -> Optional[int]: ...

    @abc.abstractmethod
    def is_tx_29bits(self) -> bool: ...

    @abc.abstractmethod
    def is_rx_29bits(self) -> bool: ...

    @abc.abstractmethod
    def is_for_me(self, msg: CanMessage) -> bool: ...

    @abc.abstractmethod
    def get_rx_prefix_size(self) -> int: ...

    @abc.abstractmethod
    def get_tx_payload_prefix(self) -> bytes: ...

    @abc.abstractmethod
    def is_partial_address(self) -> bool: ...

    @abc.abstractmethod
    def get_content_str(self) -> str: ...

    @property
    @abc.abstractmethod
    def native(self) -> Any:
        """The engine's address object."""


class Address(AbstractAddress):
    """The addressing information (N_AI) of an ISO-TP link.

    Same parameters as can-isotp 2.0.7: ``txid``/``rxid`` for Normal, Extended and Mixed 11-bit
    modes; ``target_address``/``source_address`` (N_TA/N_SA) with ``physical_id``/``functional_id``
    (bits 28-16) for the fixed 29-bit modes; ``target_address``/``source_address`` as the address
    byte of Extended mode; ``address_extension`` (N_AE) for Mixed modes. ``rx_only``/``tx_only`` make
    half an address for :class:`AsymmetricAddress`. Raises ``ValueError`` with can-isotp's messages.

    ``Address(TargetAddressType..., txid=..., rxid=...)`` (as some tutorials write it) means normal
    11-bit addressing.
    """

    def __init__(self,
                 addressing_mode: AddressingMode = AddressingMode.Normal_11bits,
                 txid: Optional[int] = None,
                 rxid: Optional[int] = None,
                 target_address: Optional[int] = None,
                 source_address: Optional[int] = None,
                 physical_id: Optional[int] = None,
                 functional_id: Optional[int] = None,
                 address_extension: Optional[int] = None,
                 rx_only: bool = False,
                 tx_only: bool = False
                 ):
        if isinstance(addressing_mode, TargetAddressType):
            addressing_mode = AddressingMode.Normal_11bits
        self._rx_only = rx_only
        self._tx_only = tx_only
        self._addressing_mode = addressing_mode
        self._target_address = target_address
        self._source_address = source_address
        self._address_extension = address_extension
        self._txid = txid
        self._rxid = rxid
        if addressing_mode == AddressingMode.NormalFixed_29bits:
            self.physical_id = 0x18DA0000 if physical_id is None else physical_id & 0x1FFF0000
            self.functional_id = 0x18DB0000 if functional_id is None else functional_id & 0x1FFF0000
        elif addressing_mode == AddressingMode.Mixed_29bits:
            self.physical_id = 0x18CE0000 if physical_id is None else physical_id & 0x1FFF0000
            self.functional_id = 0x18CD0000 if functional_id is None else functional_id & 0x1FFF0000
        self._native = self._build()

    def _build(self) -> Any:
        if self._rx_only and self._tx_only:
            raise ValueError("Address cannot be tx only and rx only")
        if not isinstance(self._addressing_mode, AddressingMode):
            raise ValueError('Addressing mode is not valid')
        fields: Dict[str, Any] = dict(
            txid=self._txid, rxid=self._rxid, target_address=self._target_address,
            source_address=self._source_address, address_extension=self._address_extension,
            physical_id=getattr(self, 'physical_id', None), functional_id=getattr(self, 'functional_id', None))
        for name, value in fields.items():
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise ValueError('%s must be an integer' % name)
        mode = self._addressing_mode
        while True:
            try:
                return _isotp.NativeAddress(_NATIVE_MODE[mode], rx_only=self._rx_only, tx_only=self._tx_only,
                                            **{k: v for k, v in fields.items() if v is not None})
            except _isotp.NativeError as e:
                kind, native_message = e.args
                if kind.startswith('unused:'):
                    # can-isotp ignores the fields a mode does not use; so do we.
                    fields[kind.partition(':')[2]] = None
                    continue
                raise ValueError(_message(mode, kind, native_message)) from None

    @property
    def native(self) -> Any:
        return self._native

    def validate(self) -> None:
        self._native = self._build()

    def is_partial_address(self) -> bool:
        return self._rx_only or self._tx_only

    def is_tx_only(self) -> bool:
        return self._tx_only

    def is_rx_only(self) -> bool:
        return self._rx_only

    def get_rx_prefix_size(self) -> int:
        return 0 if self._tx_only or self._native.rx_prefix() is None else 1

    def get_tx_payload_prefix(self) -> bytes:
        prefix = None if self._rx_only else self._native.tx_prefix()
        return bytes() if prefix is None else bytes([prefix])

    def is_for_me(self, msg: CanMessage) -> bool:
        if self._tx_only:
            raise NotImplementedError("Not possible with partial address")
        data = bytes(msg.data) if msg.data is not None else bytes()
        return self._native.accepts(msg.arbitration_id, bool(msg.is_extended_id), data,
                                    bool(getattr(msg, 'is_fd', False))) is not None

    def get_tx_arbitration_id(self, address_type: TargetAddressType = TargetAddressType.Physical) -> int:
        if self._rx_only:
            raise NotImplementedError("Not possible with partial address")
        return self._native.tx_id(TargetAddressType(address_type) == TargetAddressType.Functional)[0]

    def get_rx_arbitration_id(self, address_type: TargetAddressType = TargetAddressType.Physical) -> int:
        if self._tx_only:
            raise NotImplementedError("Not possible with partial address")
        rx = self._native.rx_id(TargetAddressType(address_type) == TargetAddressType.Functional)
        if rx is None:  # no separate functional id in this mode: the physical one serves both
            rx = self._native.rx_id(False)
        return rx[0]

    def _requires_extension_byte(self) -> bool:
        return self._native.address_bytes() > 0

    def requires_rx_extension_byte(self) -> bool:
        return self._requires_extension_byte()

    def requires_tx_extension_byte(self) -> bool:
        return self._requires_extension_byte()

    def get_tx_extension_byte(self) -> Optional[int]:
        return None if self._rx_only else self._native.tx_prefix()

    def get_rx_extension_byte(self) -> Optional[int]:
        return None if self._tx_only else self._native.rx_prefix()

    def is_tx_29bits(self) -> bool:
        return self._native.is_29bits()

    def is_rx_29bits(self) -> bool:
        return self._native.is_29bits()

    def get_addressing_mode(self) -> AddressingMode:
        return self._addressing_mode

    def get_content_str(self) -> str:
        vals = []
        for key in ('target_address', 'source_address', 'address_extension', 'txid', 'rxid'):
            val = getattr(self, '_' + key)
            if val is not None:
                vals.append('%s:0x%02x' % (key, val))
        return '[%s - %s]' % (AddressingMode.get_name(self._addressing_mode), ', '.join(vals))

    def __repr__(self) -> str:
        return '<IsoTP Address %s at 0x%08x>' % (self.get_content_str(), id(self))


class AsymmetricAddress(AbstractAddress):
    """The transmit side of one address (``tx_only=True``) with the receive side of another
    (``rx_only=True``), possibly of different addressing modes."""

    def __init__(self, tx_addr: Address, rx_addr: Address):
        if not isinstance(rx_addr, Address):
            raise ValueError("rx_addr must be an isotp.Address instance")
        if not isinstance(tx_addr, Address):
            raise ValueError("tx_addr must be an isotp.Address instance")
        if not tx_addr.is_tx_only():
            raise ValueError("tx_addr must be configured with tx_only=True")
        if not rx_addr.is_rx_only():
            raise ValueError("rx_addr must be configured with rx_only=True")
        self.tx_addr = tx_addr
        self.rx_addr = rx_addr
        try:
            self._native = _isotp.NativeAddress.asymmetric(tx_addr.native, rx_addr.native)
        except _isotp.NativeError as e:
            raise ValueError(e.args[1]) from None

    @property
    def native(self) -> Any:
        return self._native

    def get_tx_extension_byte(self) -> Optional[int]:
        return self.tx_addr.get_tx_extension_byte()

    def get_rx_extension_byte(self) -> Optional[int]:
        return self.rx_addr.get_rx_extension_byte()

    def is_for_me(self, msg: CanMessage) -> bool:
        return self.rx_addr.is_for_me(msg)

    def get_tx_arbitration_id(self, address_type: TargetAddressType = TargetAddressType.Physical) -> int:
        return self.tx_addr.get_tx_arbitration_id(address_type)

    def get_rx_arbitration_id(self, address_type: TargetAddressType = TargetAddressType.Physical) -> int:
        return self.rx_addr.get_rx_arbitration_id(address_type)

    def is_tx_29bits(self) -> bool:
        return self.tx_addr.is_tx_29bits()

    def is_rx_29bits(self) -> bool:
        return self.rx_addr.is_rx_29bits()

    def requires_tx_extension_byte(self) -> bool:
        return self.tx_addr.requires_tx_extension_byte()

    def requires_rx_extension_byte(self) -> bool:
        return self.rx_addr.requires_rx_extension_byte()

    def get_rx_prefix_size(self) -> int:
        return self.rx_addr.get_rx_prefix_size()

    def get_tx_payload_prefix(self) -> bytes:
        return self.tx_addr.get_tx_payload_prefix()

    def is_partial_address(self) -> bool:
        return False

    def get_content_str(self) -> str:
        return '[RX=%s, TX=%s]' % (self.rx_addr.get_content_str(), self.tx_addr.get_content_str())

    def __repr__(self) -> str:
        return '<IsoTP AsymmetricAddress %s at 0x%08x>' % (self.get_content_str(), id(self))
