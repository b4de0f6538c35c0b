"""``isotp.socket``: the Linux kernel's CAN_ISOTP socket, with can-isotp 2.0.7's interface, through
the Rust ``isotp::kernel::KernelSocket``. Options set with ``set_opts``/``set_fc_opts``/``set_ll_opts``
apply when ``bind()`` opens the socket."""

import os
import socket as _pysocket
from typing import Any, Optional, Union

import isotp.address
from isotp import _isotp

__all__ = ['socket', 'flags', 'LinkLayerProtocol']


class flags:
    """``optflag`` bits (the kernel's CAN_ISOTP_* flags)."""
    LISTEN_MODE = 0x001
    EXTEND_ADDR = 0x002
    TX_PADDING = 0x004
    RX_PADDING = 0x008
    CHK_PAD_LEN = 0x010
    CHK_PAD_DATA = 0x020
    HALF_DUPLEX = 0x040
    FORCE_TXSTMIN = 0x080
    FORCE_RXSTMIN = 0x100
    RX_EXT_ADDR = 0x200
    WAIT_TX_DONE = 0x400


class LinkLayerProtocol:
    CAN = 16
    CAN_FD = 72


class _Opts:
    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return '<%s %s>' % (self.__class__.__name__, self.__dict__)


class socket:
    """A CAN_ISOTP socket: ``bind(interface, address)``, ``send(data)``, ``recv()``.

    The socket is opened at ``bind()`` (OSError there when the kernel has no CAN_ISOTP; can-isotp
    fails at construction). ``recv`` raises ``TimeoutError`` after the timeout, as a socket does.
    """

    flags = flags
    LinkLayerProtocol = LinkLayerProtocol

    def __init__(self, timeout: Optional[float] = None) -> None:
        if os.name == 'nt' or not hasattr(_isotp, 'NativeKernelSocket'):
            raise NotImplementedError("The kernel's CAN_ISOTP socket exists on Linux only")
        self.interface: Optional[str] = None
        self.address: Optional[isotp.address.AbstractAddress] = None
        self.bound = False
        self.closed = False
        self._timeout = timeout if timeout is not None and timeout > 0 else None
        self._native: Any = None
        self._socket: Optional[_pysocket.socket] = None
        self._opts = _Opts(optflag=0, frame_txtime=None, ext_address=None, txpad=None, rxpad=None,
                           rx_ext_address=None, tx_stmin=None)
        self._fc = _Opts(bs=0, stmin=0, wftmax=0)
        self._ll = _Opts(mtu=LinkLayerProtocol.CAN, tx_dl=8, tx_flags=0)

    def settimeout(self, value: Optional[float]) -> None:
        self._timeout = value

    def gettimeout(self) -> Optional[float]:
        return self._timeout

    def _require_bound(self) -> Any:
        if not self.bound:
            raise RuntimeError("bind() must be called before using the socket")
        return self._native

    def send(self, data: bytes, flags: int = 0) -> int:
        return self._require_bound().send(bytes(data))

    def recv(self, bufsize: int = 4095, flags: int = 0) -> bytes:
        return self._require_bound().recv(self._timeout)

    def set_opts(self, optflag: Optional[int] = None, frame_txtime: Optional[int] = None,
                 ext_address: Optional[int] = None, txpad: Optional[int] = None, rxpad: Optional[int] = None,
                 rx_ext_address: Optional[int] = None, tx_stmin: Optional[int] = None) -> _Opts:
        """General options (CAN_ISOTP_OPTS); times in nanoseconds."""
        for name, value in dict(optflag=optflag, frame_txtime=frame_txtime, ext_address=ext_address, txpad=txpad,
                                rxpad=rxpad, rx_ext_address=rx_ext_address, tx_stmin=tx_stmin).items():
            if value is not None:
                if not isinstance(value, int):
                    raise ValueError('%s must be an integer' % name)
                setattr(self._opts, name, value)
        return self._opts

    def set_fc_opts(self, bs: Optional[int] = None, stmin: Optional[int] = None, wftmax: Optional[int] = None) -> _Opts:
        """Flow control options (CAN_ISOTP_RECV_FC)."""
        for name, value in dict(bs=bs, stmin=stmin, wftmax=wftmax).items():
            if value is not None:
                if not isinstance(value, int) or not 0 <= value <= 0xFF:
                    raise ValueError('%s must be an integer between 0 and 255' % name)
                setattr(self._fc, name, value)
        return self._fc

    def set_ll_opts(self, mtu: Optional[int] = None, tx_dl: Optional[int] = None, tx_flags: Optional[int] = None) -> _Opts:
        """Link layer options (CAN_ISOTP_LL_OPTS)."""
        for name, value in dict(mtu=mtu, tx_dl=tx_dl, tx_flags=tx_flags).items():
            if value is not None:
                if not isinstance(value, int):
                    raise ValueError('%s must be an integer' % name)
                setattr(self._ll, name, value)
        return self._ll

    def get_opts(self) -> _Opts:
        return self._opts

    def get_fc_opts(self) -> _Opts:
        return self._fc

    def get_ll_opts(self) -> _Opts:
        return self._ll

    def bind(self, interface: str, address: Union[isotp.address.Address, isotp.address.AsymmetricAddress]) -> None:
        """Opens the socket on ``interface`` for ``address`` (physical ids)."""
        if not isinstance(interface, str):
            raise ValueError("interface must be a string")
        if not isinstance(address, (isotp.address.Address, isotp.address.AsymmetricAddress)):
            raise ValueError("address and instance of isotp.Address or isotp.AsymmetricAddress")
        options = dict(self._opts.__dict__)
        options.update(self._fc.__dict__)
        options.update(self._ll.__dict__)
        self._native = _isotp.NativeKernelSocket(interface, address.native, options)
        # What bind() gave the kernel (the address's extension bytes set their flags), as
        # can-isotp's get_opts() shows it after bind().
        for name, value in self._native.opts().items():
            if value is not None:
                setattr(self._opts, name, value)
        # can-isotp keeps its Python socket as `_socket` (scripts call `_socket.getsockname()`):
        # the same kernel socket, through a duplicate descriptor.
        self._socket = _pysocket.socket(_pysocket.AF_CAN, _pysocket.SOCK_DGRAM, _pysocket.CAN_ISOTP,
                                      fileno=os.dup(self._native.fileno()))
        self.interface = interface
        self.address = address
        self.bound = True

    def fileno(self) -> int:
        return self._require_bound().fileno()

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if self._native is not None:
            self._native.close()
        self._native = None
        self.bound = False
        self.closed = True
        self.address = None

    def __repr__(self) -> str:
        if self.bound and self.address is not None:
            return "<ISO-TP Socket: %s, %s>" % (self.interface, self.address.get_content_str())
        return "<ISO-TP Socket: Unbound>"
