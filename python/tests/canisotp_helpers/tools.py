"""What the can-isotp tests ask of their environment: the vcan0 interface and the kernel's CAN_ISOTP
socket. This project's test machines have no AF_CAN, so the tests that need them are skipped there,
as they are for can-isotp itself."""

import socket as _socket

_next_id = 0x300


def get_test_interface_config(key=None):
    config = {'interface': 'socketcan', 'channel': 'vcan0', 'bitrate': 500000}
    return config[key] if key is not None else config


def get_next_can_id_pair():
    global _next_id
    _next_id += 2
    return _next_id, _next_id + 1


def _isotp_socket_reason():
    """None when a CAN_ISOTP socket can be bound to the test interface, else why not."""
    if not hasattr(_socket, 'CAN_ISOTP'):
        return 'This Python has no socket.CAN_ISOTP'
    try:
        s = _socket.socket(_socket.AF_CAN, _socket.SOCK_DGRAM, _socket.CAN_ISOTP)
    except OSError as e:
        return 'Cannot open a CAN_ISOTP socket: %s' % e
    try:
        s.bind((get_test_interface_config('channel'), 0x123, 0x456))
    except OSError as e:
        return 'Cannot bind a CAN_ISOTP socket to %s: %s' % (get_test_interface_config('channel'), e)
    finally:
        s.close()
    return None


def check_isotp_socket_possible():
    return _isotp_socket_reason() is None


def isotp_socket_impossible_reason():
    return _isotp_socket_reason() or ''


def is_can_fd_socket_possible():
    # CAN FD needs an interface with MTU 72 as well; checked as can-isotp's own tools do, by trying.
    if not check_isotp_socket_possible():
        return False
    try:
        with open('/sys/class/net/%s/mtu' % get_test_interface_config('channel')) as f:
            return int(f.read()) == 72
    except OSError:
        return False


def isotp_can_fd_socket_impossible_reason():
    return _isotp_socket_reason() or 'the test interface is not a CAN FD interface (MTU 72)'

