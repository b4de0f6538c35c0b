"""isotp.functional_request: one functional request, every responder's answer (an addition of this
package, not in can-isotp 2.0.7)."""

import _thread
import asyncio
import threading
import time
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
    ({'overall_limit': -1}, 'overall_limit must be a number of seconds'),
    ({'overall_limit': 'soon'}, 'overall_limit must be a number of seconds'),
    ({'functional_id': '7DF'}, 'functional_id must be a CAN id'),
    ({'bus': object()}, 'bus must be an interface string or a python-can bus'),
])
def test_bad_input_is_a_value_error(kwargs, message):
    args = {'bus': 'virtual:' + uuid.uuid4().hex, 'data': b'\x09\x02'}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        isotp.functional_request(**args)


def test_an_unknown_interface_is_a_value_error():
    with pytest.raises(ValueError):
        isotp.functional_request('nonsense:xyz', b'\x09\x02')


def test_the_answers_are_a_list_with_cut_off_none_when_every_responder_is_done():
    name = 'virtual:' + uuid.uuid4().hex
    ecus = vehicle(lambda: name)
    try:
        answers = isotp.functional_request(name, bytes([0x09, 0x02]), timeout=1.0, overall_limit=10)
    finally:
        for e in ecus:
            e.close()
    assert isinstance(answers, list) and isinstance(answers, isotp.FunctionalAnswers)
    assert answers.cut_off is None
    check_answers(answers)
    assert answers == list(answers) and len(answers[:1]) == 1


def test_the_overall_limit_cuts_off_a_responder_that_keeps_saying_pending():
    channel = uuid.uuid4().hex
    ecu_bus = can.Bus(interface='virtual', channel=channel)
    tester = can.Bus(interface='virtual', channel=channel)
    functional = isotp.CanStack(ecu_bus, address=isotp.Address(
        isotp.AddressingMode.Normal_11bits, txid=0x7E8, rxid=0x7DF))
    stop = threading.Event()

    def pending_forever():
        # "request correctly received, response pending", every 50 ms, never the answer.
        if functional.recv(block=True, timeout=10) is None:
            return
        while not stop.is_set():
            functional.send(bytes([0x7F, 0x09, 0x78]))
            stop.wait(0.05)

    functional.start()  # before the request: it must not be missed
    t = threading.Thread(target=pending_forever)
    t.start()
    started = time.monotonic()
    try:
        answers = isotp.functional_request(tester, bytes([0x09, 0x02]), timeout=0.1, overall_limit=0.4)
    finally:
        elapsed = time.monotonic() - started
        stop.set()
        t.join()
        functional.stop()
        ecu_bus.shutdown()
        tester.shutdown()
    assert elapsed < 3.0  # the pending window alone would wait 5 s after each answer
    assert answers.cut_off is not None
    assert answers.cut_off.limit == pytest.approx(0.4)
    assert answers.cut_off.unfinished == [(0x7E8, False)]
    assert 'overall limit' in answers.cut_off.reason and '7E8' in answers.cut_off.reason
    assert len(answers) >= 2 and all(a.payload == bytes([0x7F, 0x09, 0x78]) for a in answers)


def test_an_asyncio_request_leaves_the_event_loop_free():
    name = 'virtual:' + uuid.uuid4().hex
    ecus = vehicle(lambda: name)

    async def main():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        t = asyncio.ensure_future(ticker())
        answers = await isotp.afunctional_request(name, bytes([0x09, 0x02]), timeout=0.5)
        t.cancel()
        return answers, ticks

    try:
        answers, ticks = asyncio.run(main())
    finally:
        for e in ecus:
            e.close()
    check_answers(answers)
    assert answers.cut_off is None
    assert ticks >= 10  # the loop ran during the 0.5 s window
    assert no_worker_left()


def no_worker_left():
    return not any(t.name == 'isotp-functional-request' and t.is_alive() for t in threading.enumerate())


@pytest.mark.parametrize('on', ['interface string', 'python-can'])
def test_cancelling_an_asyncio_request_stops_it_and_the_next_one_works(on):
    channel = uuid.uuid4().hex
    buses = []

    def bus_of():
        if on == 'interface string':
            return 'virtual:' + channel
        buses.append(can.Bus(interface='virtual', channel=channel))
        return buses[-1]

    ecus = vehicle(bus_of)
    tester = bus_of()

    async def main():
        started = time.monotonic()
        with pytest.raises(asyncio.TimeoutError):
            # A 30 s window: only the cancellation ends it.
            await asyncio.wait_for(isotp.afunctional_request(tester, bytes([0x09, 0x02]), timeout=30.0), 0.2)
        cancelled_after = time.monotonic() - started
        left = no_worker_left()
        answers = await isotp.afunctional_request(tester, bytes([0x09, 0x02]), timeout=0.5)
        return cancelled_after, left, answers

    try:
        cancelled_after, left, answers = asyncio.run(main())
    finally:
        for e in ecus:
            e.close()
        for b in buses:
            b.shutdown()
    # wait_for returns once the request's thread has ended: within one step of the cancellation.
    assert cancelled_after < 1.0
    assert left
    check_answers(answers)


def test_bad_input_of_an_asyncio_request_is_a_value_error():
    async def main():
        await isotp.afunctional_request('virtual:' + uuid.uuid4().hex, b'\x09\x02', overall_limit=-1)

    with pytest.raises(ValueError, match='overall_limit must be a number of seconds'):
        asyncio.run(main())
    assert no_worker_left()


def test_ctrl_c_stops_a_blocking_request_within_a_step():
    name = 'virtual:' + uuid.uuid4().hex
    timer = threading.Timer(0.2, _thread.interrupt_main)
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        isotp.functional_request(name, bytes([0x09, 0x02]), timeout=30.0)
    assert time.monotonic() - started < 1.5
    timer.join()
    assert no_worker_left()
