"""udsoncan 1.26's PythonIsoTpConnection on this package, against a UDS responder."""

import threading
import uuid

import can
import pytest

import isotp

udsoncan = pytest.importorskip('udsoncan')
from udsoncan.client import Client  # noqa: E402
from udsoncan.connections import PythonIsoTpConnection  # noqa: E402

VIN = b'WVWZZZ1JZXW000001'


def responder(stack, stop):
    """Answers ReadDataByIdentifier F190 with a 17-byte VIN (a multi-frame response)."""
    while not stop.is_set():
        request = stack.recv(block=True, timeout=0.1)
        if request is None:
            continue
        if bytes(request[:3]) == b'\x22\xF1\x90':
            stack.send(b'\x62\xF1\x90' + VIN)
        else:
            stack.send(bytes([0x7F, request[0], 0x11]))


@pytest.mark.parametrize('tester_stmin', [0, 60], ids=['stmin0', 'stmin60-answer-longer-than-p2'])
@pytest.mark.parametrize('kind', ['python-can', 'interface-string'])
def test_read_vin(kind, tester_stmin):
    channel = uuid.uuid4().hex
    if kind == 'python-can':
        buses = [can.Bus(interface='virtual', channel=channel), can.Bus(interface='virtual', channel=channel)]
        tester_bus, ecu_bus = buses
    else:
        buses = []
        tester_bus = ecu_bus = 'virtual:' + channel
    # With STmin 60 ms asked by the tester, the 20-byte answer (FF + 2 CFs) takes longer than P2.
    tester = isotp.CanStack(tester_bus, address=isotp.Address(txid=0x7E0, rxid=0x7E8),
                            params={'stmin': tester_stmin})
    ecu = isotp.CanStack(ecu_bus, address=isotp.Address(txid=0x7E8, rxid=0x7E0))
    ecu.start()
    stop = threading.Event()
    t = threading.Thread(target=responder, args=(ecu, stop), daemon=True)
    t.start()
    try:
        conn = PythonIsoTpConnection(tester)
        config = dict(udsoncan.configs.default_client_config)
        config['data_identifiers'] = {0xF190: udsoncan.AsciiCodec(17)}
        # A P2 of 50 ms: the multi-frame answer must not be cut by it (recv waits for a started message).
        config['request_timeout'] = 5
        config['p2_timeout'] = 0.05
        with Client(conn, config=config) as client:
            for _ in range(20 if tester_stmin == 0 else 3):
                response = client.read_data_by_identifier(0xF190)
                assert response.service_data.values[0xF190] == VIN.decode()
    finally:
        stop.set()
        t.join()
        ecu.stop()
        for b in buses:
            b.shutdown()
