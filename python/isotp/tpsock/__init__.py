"""``isotp.socket``: the Linux kernel's CAN_ISOTP socket.

Not yet bound in this package (the Rust crate has it as ``isotp::kernel::KernelSocket``);
constructing one raises a clear error instead of failing later.
"""

from typing import Any

__all__ = ['socket']


class socket:
    """The kernel's CAN_ISOTP socket (not available in this version of the package)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("isotp.socket (the kernel's CAN_ISOTP) is not part of this version of the "
                                  "package; use isotp.CanStack('socketcan:IFACE', ...) for SocketCAN")
