"""What the can-isotp tests ask of their environment. The vcan interface and the kernel's CAN_ISOTP
socket do not exist on this project's test machines (no AF_CAN), so the tests that need them are
skipped, as they are for can-isotp itself there."""

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
    if not hasattr(_socket, 'CAN_ISOTP'):
        return 'This Python has no socket.CAN_ISOTP'
    try:
        s = _socket.socket(_socket.AF_CAN, _socket.SOCK_DGRAM, _socket.CAN_ISOTP)
        s.close()
    except OSError as e:
        return 'Cannot open a CAN_ISOTP socket: %s' % e
    return 'isotp.socket is not part of this package yet'


def check_isotp_socket_possible():
    return False


def isotp_socket_impossible_reason():
    return _isotp_socket_reason()


def is_can_fd_socket_possible():
    return False


def isotp_can_fd_socket_impossible_reason():
    return _isotp_socket_reason()
