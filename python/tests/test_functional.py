"""isotp.functional_request: one functional request, every responder's answer (an addition of this
package, not in can-isotp 2.0.7)."""

import threading
import uuid

import can
import pytest

import isotp

VIN = bytes([0x49, 0x02, 0x01]) + b'WVWZZZ1JZXW000001'


class Ecu:
    """An OBD-II ECU: a link on 7DF for functional requests, its physical link for the answer."""

    def __init__(self, bus_of, request_id, answer):
        self.functional = isotp.CanStack(bus_of(), address=isotp.Address(
            isotp.AddressingMode.Normal_11bits, txid=request_id + 8, rxid=0x7DF))
        self.physical = isotp.CanStack(bus_of(), address=isotp.Address(
            isotp.AddressingMode.Normal_11bits, txid=request_id + 8, rxid=request_id),
            params={'tx_padding': 0xAA})
        self.answer = answer
        self.stop = threading.Event()
        for s in (self.functional, self.physical):
            s.start()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stop.is_set():
            request = self.functional.recv(block=True, timeout=0.05)
            if request == bytearray([0x09, 0x02]) and self.answer is not None:
                self.physical.send(self.answer)

    def close(self):
        self.stop.set()
        self.thread.join()
        for s in (self.functional, self.physical):
            s.stop()


def vehicle(bus_of):
    return [Ecu(bus_of, 0x7E0, VIN), Ecu(bus_of, 0x7E1, bytes([0x49, 0x02, 0x01, 0x4E, 0x4F])),
            Ecu(bus_of, 0x7E3, None)]


def check_answers(answers):
    assert sorted((a.arbitration_id, a.payload, a.error) for a in answers) == [
        (0x7E8, VIN, None), (0x7E9, bytes([0x49, 0x02, 0x01, 0x4E, 0x4F]), None)]
    assert all(not a.is_extended_id and a.elapsed > 0 for a in answers)
    assert [a.elapsed for a in answers] == sorted(a.elapsed for a in answers)


def test_every_answer_on_an_interface_string():
    name = 'virtual:' + uuid.uuid4().hex
    ecus = vehicle(lambda: name)
    try:
        check_answers(isotp.functional_request(name, bytes([0x09, 0x02]), timeout=1.0))
        # The same with the response ids named.
        check_answers(isotp.functional_request(name, b'\x09\x02', functional_id=0x7DF,
                                               response_ids=range(0x7E8, 0x7F0), timeout=1.0))
    finally:
        for e in ecus:
            e.close()


def test_every_answer_on_a_python_can_bus():
    channel = uuid.uuid4().hex
    buses = []

    def bus_of():
        buses.append(can.Bus(interface='virtual', channel=channel))
        return buses[-1]

    ecus = vehicle(bus_of)
    tester = bus_of()
    try:
        check_answers(isotp.functional_request(tester, bytes([0x09, 0x02]), timeout=1.0))
    finally:
        for e in ecus:
            e.close()
        for b in buses:
            b.shutdown()


def test_a_broken_answer_is_reported_with_its_exception():
    channel = uuid.uuid4().hex
    rogue = can.Bus(interface='virtual', channel=channel)
    tester = can.Bus(interface='virtual', channel=channel)

    def answer_with_a_first_frame_only():
        if rogue.recv(timeout=10) is not None:
            rogue.send(can.Message(arbitration_id=0x7EC, is_extended_id=False,
                                   data=[0x10, 0x14, 0x49, 0x02, 0x01, 0x57, 0x56, 0x57]))

    t = threading.Thread(target=answer_with_a_first_frame_only)
    t.start()
    try:
        answers = isotp.functional_request(tester, b'\x09\x02', timeout=0.1,
                                           params={'rx_consecutive_frame_timeout': 100})
    finally:
        t.join()
        rogue.shutdown()
        tester.shutdown()
    assert len(answers) == 1
    assert answers[0].arbitration_id == 0x7EC and answers[0].payload is None
    assert isinstance(answers[0].error, isotp.ConsecutiveFrameTimeoutError)


@pytest.mark.parametrize('kwargs, message', [
    ({'data': bytes(8)}, 'single frame'),
    ({'functional_id': 0x123}, 'give the response ids'),
    ({'functional_id': 0x800, 'is_extended_id': False}, '0x800'),
    ({'response_ids': range(0x7EF, 0x7E7, -1)}, 'range'),
    ({'response_ids': range(0x7E8, 0x7E8)}, 'range'),
    ({'timeout': -1}, 'timeout'),
    ({'data': 'text'}, 'bytes'),
])
def test_bad_input_is_a_value_error(kwargs, message):
    args = {'bus': 'virtual:' + uuid.uuid4().hex, 'data': b'\x09\x02'}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        isotp.functional_request(**args)


def test_an_unknown_interface_is_a_value_error():
    with pytest.raises(ValueError):
        isotp.functional_request('nonsense:xyz', b'\x09\x02')
