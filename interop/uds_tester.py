#!/usr/bin/env python3
"""udsoncan 1.26 (PythonIsoTpConnection on `isotp.CanStack`) as the tester of `uds_ecu.py`, over
python-can's socketcand interface (e.g. through `isotp hub`).

Runs unchanged under can-isotp 2.0.7 and under the project's package (both are `import isotp`).
After DiagnosticSessionControl, udsoncan takes the ECU's P2server_max (50 ms) as its P2 timeout, so
every later request must be answered within 50 ms of its end. The steps are STEPS, in order; each
prints one JSON line on stdout: {"step", "ok", "seconds", "at" (its start, time.time()), "error"}.
A failed step does not stop the run; its late answer, if any, is dropped before the next step. The
request the ECU never answers (UnansweredRequestTimesOut) is followed at once by the next one
(RequestAfterTimeout): a timed-out request must leave nothing behind in the stack.

    python uds_tester.py --host 127.0.0.1 --port 29536 --channel CHANNEL --blocking-send false
"""

import argparse
import json
import os
import sys
import time
from importlib.metadata import version

import can
import isotp
import udsoncan
from udsoncan.client import Client
from udsoncan.connections import PythonIsoTpConnection
from udsoncan.exceptions import TimeoutException

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uds_ecu as ecu  # noqa: E402

BLOCKS = 3
QUIET = 2.0


def drop_late_answers(client):
    """After a failed step: the answer to a timed-out request may still come (a tester that gave up
    while its request was still being sent gets it once the request is through: 4095 bytes at STmin
    1 ms take 0.6 s or more), and udsoncan would take it for the answer to the next one. Drops what
    arrives until nothing has for QUIET seconds (10 s at most), so that each step's outcome is its own."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            client.conn.wait_frame(timeout=QUIET, exception=True)
        except TimeoutException:
            return


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def session_control(client):
    response = client.change_session(3)
    p2 = response.service_data.p2_server_max
    check(p2 == ecu.P2_MS / 1000, 'P2server_max %r, expected %r' % (p2, ecu.P2_MS / 1000))
    check(client.session_timing.p2_server_max == p2, 'udsoncan did not take the ECU\'s P2')


def read_vin(client):
    value = client.read_data_by_identifier(ecu.DID_VIN).service_data.values[ecu.DID_VIN]
    check(value == ecu.VIN.decode(), 'VIN %r' % value)


def write_600(client):
    client.write_data_by_identifier(ecu.DID_WRITE, ecu.write_pattern())


def request_download(client):
    location = udsoncan.MemoryLocation(address=ecu.MEMORY_ADDRESS, memorysize=BLOCKS * ecu.BLOCK_DATA,
                                       address_format=32, memorysize_format=32)
    max_length = client.request_download(location).service_data.max_length
    check(max_length == ecu.MAX_BLOCK_LENGTH, 'max block length %r' % max_length)


def transfer(counter):
    def step(client):
        response = client.transfer_data(counter, ecu.block_pattern(counter))
        check(response.service_data.sequence_number_echo == counter, 'sequence number echo')
    return step


def transfer_exit(client):
    client.request_transfer_exit()


def ecu_reset(client):
    client.ecu_reset(udsoncan.services.ECUReset.ResetType.hardReset)


def tester_present(client):
    client.tester_present()


def unanswered(client):
    try:
        client.read_data_by_identifier(ecu.DID_UNANSWERED)
    except TimeoutException as e:
        check('P2 timeout' in str(e), 'timed out, but not on P2: %s' % e)
        return
    raise AssertionError('the ECU does not answer this request, yet a response came')


STEPS = (
    [('DiagnosticSessionControl', session_control),
     ('ReadDataByIdentifier', read_vin),
     ('WriteDataByIdentifier-600B', write_600),
     ('RequestDownload', request_download)]
    + [('TransferData-%d-4093B' % n, transfer(n)) for n in range(1, BLOCKS + 1)]
    + [('RequestTransferExit', transfer_exit),
       ('ECUReset', ecu_reset),
       ('TesterPresent', tester_present),
       ('UnansweredRequestTimesOut', unanswered),
       ('RequestAfterTimeout', read_vin)]
)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, required=True)
    parser.add_argument('--channel', required=True)
    parser.add_argument('--blocking-send', choices=['true', 'false'], required=True)
    args = parser.parse_args()
    ecu.quiet_python_can()

    bus = ecu.open_bus(args.host, args.port, args.channel)
    # Let the hub finish python-can's socketcand handshake before the first request.
    time.sleep(0.1)
    stack = isotp.CanStack(bus, address=isotp.Address(isotp.AddressingMode.Normal_11bits, **ecu.TESTER_ADDRESS),
                           params={'blocksize': ecu.BLOCKSIZE, 'stmin': 0, 'max_frame_size': ecu.MAX_BLOCK_LENGTH,
                                   'blocking_send': args.blocking_send == 'true'})
    config = dict(udsoncan.configs.default_client_config)
    config['data_identifiers'] = {ecu.DID_VIN: udsoncan.AsciiCodec(len(ecu.VIN)),
                                  ecu.DID_WRITE: udsoncan.DidCodec('%ds' % ecu.WRITE_LENGTH),
                                  ecu.DID_UNANSWERED: udsoncan.DidCodec('B')}
    config['request_timeout'] = 5
    print(json.dumps({'event': 'hello', 'isotp': ecu.isotp_version(), 'udsoncan': version('udsoncan'),
                      'python-can': can.__version__}), flush=True)
    try:
        with Client(PythonIsoTpConnection(stack), config=config) as client:
            for name, step in STEPS:
                started_at, started = time.time(), time.perf_counter()
                error = None
                try:
                    step(client)
                except Exception as e:
                    error = '%s: %s' % (type(e).__name__, e)
                print(json.dumps({'step': name, 'ok': error is None, 'seconds': time.perf_counter() - started,
                                  'at': started_at, 'error': error}), flush=True)
                if error is not None:
                    drop_late_answers(client)
    finally:
        bus.shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
