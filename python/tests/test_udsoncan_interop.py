"""udsoncan 1.26 against the real can-isotp 2.0.7 in another process, both directions, through
`isotp hub` on python-can's socketcand interface: interop/uds_tester.py (udsoncan's
PythonIsoTpConnection) against interop/uds_ecu.py (BS 8, P2server_max 50 ms), one of the two on this
package and the other on can-isotp, with `blocking_send` False and True on the tester.

Every step of interop/uds_tester.py STEPS is one test: DiagnosticSessionControl, ReadDataByIdentifier
(multi-frame response), a 600-byte WriteDataByIdentifier, RequestDownload, three 4093-byte
TransferData blocks, RequestTransferExit, ECUReset, TesterPresent, then a request the ECU leaves
unanswered (it must end in udsoncan's P2 timeout) and one more request, which must work. Run with
-s to see the time of every step.

Needs ISOTP_BIN (the `isotp` command) and ISOTP_CANISOTP_PYTHON (a python with can-isotp 2.0.7,
python-can and udsoncan 1.26: interop/venv.sh), which scripts/python-tests sets; there
(ISOTP_REQUIRE_INTEROP=1) their absence fails the suite, elsewhere it skips it.
"""

import importlib.util
import json
import os
import re
import select
import subprocess
import sys
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INTEROP = os.path.join(ROOT, 'interop')
ISOTP_BIN = os.environ.get('ISOTP_BIN')
CANISOTP_PYTHON = os.environ.get('ISOTP_CANISOTP_PYTHON')

if not (ISOTP_BIN and CANISOTP_PYTHON):
    if os.environ.get('ISOTP_REQUIRE_INTEROP') == '1':
        raise RuntimeError('ISOTP_BIN and ISOTP_CANISOTP_PYTHON must be set for the udsoncan interop tests')
    pytest.skip('udsoncan interop needs ISOTP_BIN and ISOTP_CANISOTP_PYTHON (set by scripts/python-tests)',
                allow_module_level=True)


def _tester_steps():
    sys.path.insert(0, INTEROP)
    try:
        spec = importlib.util.spec_from_file_location('uds_tester', os.path.join(INTEROP, 'uds_tester.py'))
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(INTEROP)
    return [name for name, _ in module.STEPS]


STEPS = _tester_steps()
# (tester's python, ECU's python): this package runs under sys.executable, can-isotp under the
# interop venv's python.
DIRECTIONS = {
    'ours-tester-canisotp-ecu': (sys.executable, CANISOTP_PYTHON),
    'canisotp-tester-ours-ecu': (CANISOTP_PYTHON, sys.executable),
}


@pytest.fixture(scope='module')
def hub():
    proc = subprocess.Popen([ISOTP_BIN, 'hub', '--listen', '127.0.0.1:0', '--color', 'never'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    m = re.search(r'listening on ([0-9.]+):(\d+)', line)
    assert m, 'hub did not start: %r' % line
    yield m.group(1), int(m.group(2))
    proc.terminate()
    proc.wait(5)


def read_line(proc, timeout):
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    return proc.stdout.readline() if ready else ''


def run_session(hub, direction, blocking):
    """Runs the tester against a fresh ECU on a channel of their own; returns (steps by name, report)."""
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
    report = 'tester (%s) exit %d, %s\ntester stderr:\n%s\nECU: %s\nECU stderr (tail):\n%s' % (
        tester_python, tester.returncode, hello, tester.stderr[-3000:], ecu_out.strip(), ecu_err[-3000:])
    print('\n%s, blocking_send=%s: %s' % (direction, blocking, ', '.join(
        '%s %s %.1f ms' % (name, 'ok' if s['ok'] else 'FAILED', s['seconds'] * 1e3) for name, s in steps.items())))
    return steps, report


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
            _sessions[key] = ({}, 'the session failed: %s: %s' % (type(e).__name__, e))
    steps, report = _sessions[key]
    assert step in steps, 'the tester did not run step %s\n%s' % (step, report)
    result = steps[step]
    assert result['ok'], '%s failed after %.1f ms: %s\n%s' % (step, result['seconds'] * 1e3, result['error'], report)
