"""A CAN frame as can-isotp's rxfn/txfn callbacks exchange it."""

__all__ = ['CanMessage']

from binascii import hexlify


class CanMessage:
    """A CAN or CAN FD frame: ``arbitration_id`` (11 or 29 bits with ``extended_id``), ``dlc``,
    ``data``, ``is_fd`` and ``bitrate_switch``."""

    __slots__ = 'arbitration_id', 'dlc', 'data', 'is_extended_id', 'is_fd', 'bitrate_switch'

    def __init__(self, arbitration_id: int = 0, dlc: int = 0, data: bytes = bytes(), extended_id: bool = False,
                 is_fd: bool = False, bitrate_switch: bool = False):
        self.arbitration_id = arbitration_id
        self.dlc = dlc
        self.data = data
        self.is_extended_id = extended_id
        self.is_fd = is_fd
        self.bitrate_switch = bitrate_switch

    def __repr__(self) -> str:
        data = hexlify(bytes(self.data[:64])).decode('ascii') + ('...' if len(self.data) > 64 else '')
        ident = ('%08x' if self.is_extended_id else '%03x') % self.arbitration_id
        flags = ','.join(f for f, on in (('fd', self.is_fd), ('bs', self.bitrate_switch)) if on)
        flags = '(%s)' % flags if flags else ''
        return '<%s %s [%d] %s "%s" at 0x%x>' % (self.__class__.__name__, ident, self.dlc, flags, data, id(self))
