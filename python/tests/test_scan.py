"""isotp.scan: probing a range of ids for ISO-TP endpoints (an addition of this package, not in
can-isotp 2.0.7), against ECUs that are stacks of the package, on an interface string and on
python-can's virtual bus."""

import _thread
import threading
import time
import uuid

import can
import pytest

import isotp


def normal(txid, rxid):
    return isotp.Address(isotp.AddressingMode.Normal_11bits, txid=txid, rxid=rxid)


class Ecus:
    """Stacks answering on the bus: a receiver answers a first frame with its flow control."""

    def __init__(self, bus_of):
        self.bus_of = bus_of
        self.stacks = []

    def add(self, address, params=None):
        stack = isotp.CanStack(self.bus_of(), address=address, params=params)
        stack.start()
        self.stacks.append(stack)
        return stack

    def close(self):
        for s in self.stacks:
            s.stop()


class PythonCan:
    """Buses on one channel of python-can's virtual interface."""

    def __init__(self):
        self.channel = uuid.uuid4().hex
        self.buses = []

    def __call__(self):
        self.buses.append(can.Bus(interface='virtual', channel=self.channel))
        return self.buses[-1]

    def close(self):
        for b in self.buses:
            b.shutdown()


@pytest.fixture(params=['interface string', 'python-can'])
def medium(request):
    """(bus_of, tester bus): how ECUs get their bus, and the bus the scan is given."""
    if request.param == 'interface string':
        name = 'virtual:' + uuid.uuid4().hex
        yield (lambda: name), name
    else:
        buses = PythonCan()
        yield buses, buses()
        buses.close()


def no_worker_left(name):
    return not any(t.name == name and t.is_alive() for t in threading.enumerate())


def test_the_endpoints_answering_a_first_frame_are_found(medium):
    bus_of, tester = medium
    ecus = Ecus(bus_of)
    engine = ecus.add(normal(0x7E8, 0x7E0), params={'blocksize': 8, 'stmin': 5})
    ecus.add(normal(0x7EA, 0x7E2), params={'blocksize': 0, 'stmin': 0xF3})
    try:
        report = isotp.scan(tester, range(0x7E0, 0x7E5), interval=0.02, confirm_wait=0.3)
        assert [(e.request_id, e.response_id) for e in report.endpoints] == [(0x7E0, 0x7E8), (0x7E2, 0x7EA)]
        first = report.endpoints[0]
        assert first.flow_control == (0, 8, 5) and first.response is None
        assert report.endpoints[1].flow_control == (0, 0, 0xF3)
        assert first.addressing_mode == isotp.AddressingMode.Normal_11bits and not first.is_extended_id
        assert first.target_address is None and first.source_address is None
        assert report.complete and report.chatter == [] and report.answers_anything == []
        assert report.probes >= 5  # the first pass, then each candidate alone
        # The address found talks to the endpoint.
        tester_stack = isotp.CanStack(bus_of() if isinstance(tester, str) else tester, address=first.address())
        tester_stack.start()
        try:
            tester_stack.send(bytes(range(20)), send_timeout=2.0)
            assert engine.recv(block=True, timeout=2.0) == bytearray(range(20))
        finally:
            tester_stack.stop()
    finally:
        ecus.close()
    assert no_worker_left('isotp-scan')


def test_extended_addressing_probes_carry_the_target_address(medium):
    bus_of, tester = medium
    ecus = Ecus(bus_of)
    # The ECU takes frames led by 0x10 and leads its own with 0xF1.
    ecus.add(isotp.Address(isotp.AddressingMode.Extended_11bits, txid=0x7E9, rxid=0x7E1,
                           target_address=0xF1, source_address=0x10))
    try:
        missed = isotp.scan(tester, range(0x7E0, 0x7E3), addressing='extended', target_address=0x11,
                            confirm_wait=0.3)
        assert missed.endpoints == []
        report = isotp.scan(tester, range(0x7E0, 0x7E3), addressing='extended', target_address=0x10,
                            confirm_wait=0.3)
    finally:
        ecus.close()
    assert [(e.request_id, e.response_id, e.target_address, e.source_address) for e in report.endpoints] == [
        (0x7E1, 0x7E9, 0x10, 0xF1)]
    assert report.endpoints[0].addressing_mode == isotp.AddressingMode.Extended_11bits
    address = report.endpoints[0].address()
    assert (address.get_tx_arbitration_id(), address.get_rx_arbitration_id()) == (0x7E1, 0x7E9)
    assert (address.get_tx_payload_prefix(), address.get_rx_extension_byte()) == (b'\x10', 0xF1)


def test_a_tester_present_probe_finds_uds_servers(medium):
    bus_of, tester = medium
    ecus = Ecus(bus_of)
    server = ecus.add(normal(0x7EB, 0x7E3))
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            if server.recv(block=True, timeout=0.05) == bytearray([0x3E, 0x00]):
                server.send(bytes([0x7E, 0x00]))

    t = threading.Thread(target=serve)
    t.start()
    try:
        report = isotp.scan(tester, range(0x7E0, 0x7E8), probe='tester_present', confirm_wait=0.3)
    finally:
        stop.set()
        t.join()
        ecus.close()
    assert [(e.request_id, e.response_id, e.response, e.flow_control) for e in report.endpoints] == [
        (0x7E3, 0x7EB, b'\x7e\x00', None)]


def test_a_responder_answering_every_probe_is_reported_once():
    buses = PythonCan()
    ecus = Ecus(buses)
    ecus.add(normal(0x7E8, 0x7E0))
    rogue = buses()
    tester = buses()
    stop = threading.Event()

    def answer_everything():
        # A flow control on 0x700 for every frame on the probed ids.
        while not stop.is_set():
            msg = rogue.recv(timeout=0.05)
            if msg is not None and 0x7E0 <= msg.arbitration_id < 0x7E8:
                rogue.send(can.Message(arbitration_id=0x700, is_extended_id=False,
                                       data=[0x30, 0, 0, 0xCC, 0xCC, 0xCC, 0xCC, 0xCC]))

    t = threading.Thread(target=answer_everything)
    t.start()
    try:
        report = isotp.scan(tester, range(0x7E0, 0x7E8), interval=0.03, confirm_wait=0.3)
    finally:
        stop.set()
        t.join()
        ecus.close()
        buses.close()
    assert report.answers_anything == [0x700]
    assert [(e.request_id, e.response_id) for e in report.endpoints] == [(0x7E0, 0x7E8)]


def test_the_limit_ends_the_scan_early():
    name = 'virtual:' + uuid.uuid4().hex
    started = time.monotonic()
    report = isotp.scan(name, range(0x000, 0x800), interval=0.01, limit=0.1)
    assert time.monotonic() - started < 2.0
    assert not report.complete
    assert 1 <= report.probes < 0x800
    assert report.endpoints == []


def test_ctrl_c_stops_a_scan_within_a_step():
    name = 'virtual:' + uuid.uuid4().hex
    timer = threading.Timer(0.2, _thread.interrupt_main)
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        isotp.scan(name, range(0x000, 0x800), interval=0.02)  # 41 s unless stopped
    assert time.monotonic() - started < 1.5
    timer.join()
    assert no_worker_left('isotp-scan')


@pytest.mark.parametrize('kwargs, message', [
    ({'ids': [0x7E0, 0x7E1]}, 'ids must be a non-empty range'),
    ({'ids': range(0x7E0, 0x7E0)}, 'ids must be a non-empty range'),
    ({'ids': range(0x7E0, 0x7F0, 2)}, 'ids must be a non-empty range'),
    ({'ids': range(0x7E0, 0x7E4), 'is_extended_id': False, 'addressing': 'mixed'}, 'addressing must be one of'),
    ({'addressing': 'extended'}, 'needs a target_address'),
    ({'target_address': 0x10}, "for addressing 'extended' only"),
    ({'addressing': 'extended', 'target_address': 256}, 'target_address must be an int from 0 to 255'),
    ({'probe': 'diagnostic_session'}, 'probe must be one of'),
    ({'interval': -0.1}, 'interval must be a number of seconds'),
    ({'confirm_wait': 'long'}, 'confirm_wait must be a number of seconds'),
    ({'limit': float('nan')}, 'limit must be a number of seconds'),
    ({'ids': range(0x7FF, 0x801), 'is_extended_id': False}, '0x800'),
    ({'ids': range(0x1FFFFFFF, 0x20000001)}, '0x20000000'),
    ({'params': {'stmin': 300}}, 'stmin'),
    ({'params': 'fast'}, 'params must be a dict'),
    ({'bus': 42}, 'bus must be an interface string or a python-can bus'),
])
def test_bad_arguments_are_value_errors_naming_what_is_wrong(kwargs, message):
    args = {'bus': 'virtual:' + uuid.uuid4().hex, 'ids': range(0x7E0, 0x7E2)}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        isotp.scan(**args)
    assert no_worker_left('isotp-scan')


def test_an_unknown_interface_is_a_value_error():
    with pytest.raises(ValueError, match='nonsense'):
        isotp.scan('nonsense:xyz', range(0x7E0, 0x7E2))
