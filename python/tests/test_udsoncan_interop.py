"""udsoncan 1.26 against the real can-isotp 2.0.7 in another process, both directions, through
`isotp hub` on python-can's socketcand interface: interop/uds_tester.py (udsoncan's
PythonIsoTpConnection) against interop/uds_ecu.py (BS 8, STmin 1 ms, P2server_max 50 ms: its
multi-frame requests take longer to send than P2), one of the two on this
package and the other on can-isotp, with `blocking_send` False and True on the tester.

Every step of interop/uds_tester.py STEPS is one test: DiagnosticSessionControl, ReadDataByIdentifier
(multi-frame response), a 600-byte WriteDataByIdentifier, RequestDownload, three 4093-byte
TransferData blocks, RequestTransferExit, ECUReset, TesterPresent, then a request the ECU leaves
unanswered (it must end in udsoncan's P2 timeout) and one more request, which must work. Run with
-s to see the time of every step.

One known difference of the reference is asserted as such: can-isotp 2.0.7 as a non-blocking tester
lets udsoncan's P2 run while its own multi-frame request is still being sent (with the ECU's STmin
a 4095-byte TransferData request takes at least 585 ms), so it times out whatever the ECU does; there
the test asserts that our ECU received the whole request and answered it within P2 of its end (this
package, as the tester, counts P2 from the end of its request).

Needs ISOTP_BIN (the `isotp` command) and ISOTP_CANISOTP_PYTHON (a python with can-isotp 2.0.7,
python-can and udsoncan 1.26: interop/venv.sh), which scripts/python-tests sets; there
(ISOTP_REQUIRE_INTEROP=1) their absence fails the suite, elsewhere it skips it.
"""

import importlib.util
import json
import os
import select
import subprocess
import sys
import uuid

import pytest
from conftest import interop_programs

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INTEROP = os.path.join(ROOT, 'interop')
ISOTP_BIN, CANISOTP_PYTHON = interop_programs('udsoncan interop tests')


def _load_tester():
    # The step names come from the tester itself (it imports uds_ecu from its own directory).
    path = list(sys.path)
    try:
        spec = importlib.util.spec_from_file_location('uds_tester', os.path.join(INTEROP, 'uds_tester.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path[:] = path
    return module


TESTER = _load_tester()
STEPS = [name for name, _ in TESTER.STEPS]
# (tester's python, ECU's python): this package runs under sys.executable, can-isotp under the
# interop venv's python.
DIRECTIONS = {
    'ours-tester-canisotp-ecu': (sys.executable, CANISOTP_PYTHON),
    'canisotp-tester-ours-ecu': (CANISOTP_PYTHON, sys.executable),
}


def read_line(proc, timeout):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ''


def run_session(hub, direction, blocking):
    """Runs the tester against a fresh ECU on a channel of their own; returns (the steps by name, the
    ECU's answered events, a report for failure messages)."""
    tester_python, ecu_python = DIRECTIONS[direction]
    channel = uuid.uuid4().hex[:12]
    where = ['--host', hub[0], '--port', str(hub[1]), '--channel', channel]
    ecu = subprocess.Popen([ecu_python, os.path.join(INTEROP, 'uds_ecu.py')] + where, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready = read_line(ecu, 30)
        assert ready and json.loads(ready).get('event') == 'ready', 'the ECU did not start: %r %s' % (
            ready, ecu.stderr.read() if ecu.poll() is not None else '')
        tester = subprocess.run([tester_python, os.path.join(INTEROP, 'uds_tester.py')] + where
                                + ['--blocking-send', 'true' if blocking else 'false'],
                                capture_output=True, text=True, timeout=300)
    finally:
        # communicate() closes the ECU's stdin, which ends it.
        try:
            ecu_out, ecu_err = ecu.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            ecu.kill()
            ecu_out, ecu_err = ecu.communicate()
    lines = [json.loads(line) for line in tester.stdout.splitlines() if line.startswith('{')]
    hello = next((line for line in lines if line.get('event') == 'hello'), {})
    steps = {line['step']: line for line in lines if 'step' in line}
    answered = [json.loads(line) for line in ecu_out.splitlines() if line.startswith('{')]
    answered = [a for a in answered if a.get('event') == 'answered']
    report = 'tester (%s) exit %d, %s\ntester stderr:\n%s\nECU: %s\nECU stderr (tail):\n%s' % (
        tester_python, tester.returncode, hello, tester.stderr[-3000:], ecu_out.strip(), ecu_err[-3000:])
    print('\n%s, blocking_send=%s: %s' % (direction, blocking, ', '.join(
        '%s %s %.1f ms' % (name, 'ok' if s['ok'] else 'FAILED', s['seconds'] * 1e3) for name, s in steps.items())))
    return steps, answered, report


_sessions = {}


@pytest.mark.parametrize('step', STEPS)
@pytest.mark.parametrize('blocking', [False, True], ids=['blocking_send-False', 'blocking_send-True'])
@pytest.mark.parametrize('direction', list(DIRECTIONS))
def test_udsoncan_step(hub, direction, blocking, step):
    key = (direction, blocking)
    if key not in _sessions:
        try:
            _sessions[key] = run_session(hub, direction, blocking)
        except Exception as e:  # the session itself failed: every one of its steps reports it
            _sessions[key] = ({}, [], 'the session failed: %s: %s' % (type(e).__name__, e))
    steps, answered, report = _sessions[key]
    assert step in steps, 'the tester did not run step %s\n%s' % (step, report)
    result = steps[step]
    if (direction, blocking) == ('canisotp-tester-ours-ecu', False) and not result['ok'] \
            and 'P2 timeout' in (result['error'] or ''):
        # can-isotp 2.0.7's send() returns at once and udsoncan's recv(timeout=P2) starts counting
        # while can-isotp is still segmenting a multi-frame request (with the ECU's STmin of 1 ms,
        # 86 ms or more for 600 bytes), so its tester gives up after 50 ms whatever the ECU does: a known
        # difference of the reference, which this package does not have (ours-tester-canisotp-ecu,
        # blocking_send-False). What is under test here, our ECU, must have received the whole
        # request and answered it positively within P2 of its end.
        request = next((a for a in answered if a['at'] >= result['at']), None)
        assert request is not None, 'our ECU got no request for %s: %s\n%s' % (step, answered, report)
        assert request['length'] > 7 and request['response'] is not None and \
            int(request['response'][:2], 16) == int(request['request'][:2], 16) + 0x40, \
            'a P2 timeout on a single-frame request, or no positive answer: %s\n%s' % (request, report)
        assert request['ms'] < TESTER.ecu.P2_MS, 'our ECU took %.1f ms to answer' % request['ms']
        print('%s: the can-isotp tester timed out on P2 after %.1f ms; its %d-byte request had taken '
              '%.1f ms to arrive whole, our ECU answered it in %.2f ms' % (
                  step, result['seconds'] * 1e3, request['length'], (request['at'] - result['at']) * 1e3,
                  request['ms']))
        return
    assert result['ok'], '%s failed after %.1f ms: %s\n%s' % (step, result['seconds'] * 1e3, result['error'], report)
