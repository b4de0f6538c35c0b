"""Runs can-isotp 2.0.7's tests that need vcan0 and the kernel's CAN_ISOTP (test_socket.py,
test_layer_vs_socket.py and test_can_stack.py of its PyPI sdist), then this project's own SocketCAN
checks (vcan_checks.py), against the ``isotp`` package this Python imports. Meant for the qemu guest
of scripts/python-kernel-tests, which has vcan0 (MTU 72) and the kernel's CAN_ISOTP.

    python run_canisotp_vcan.py SDIST_DIR ours|can-isotp [-k SUBSTRING]

(-k runs only the tests whose id holds SUBSTRING: a partial run, for debugging, never a pass.)

The second argument names the package expected to be imported (this project's, or the real
can-isotp 2.0.7 as the reference). Every test must pass, or fail exactly as listed below: with the
listed exception, its message, at the listed statement of the test file. A listed test that passes,
or fails another way, fails the run; so does a skipped test (a prerequisite is missing) and a missing
prerequisite of the run itself.
"""

import faulthandler
import importlib.metadata
import os
import re
import shutil
import socket
import sys
import tempfile
import traceback
import unittest
from typing import Dict, List, NamedTuple, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))

# The sdist's tests that need vcan0 and CAN_ISOTP, and how many tests each holds.
CANISOTP_MODULES = {'test_socket': 11, 'test_layer_vs_socket': 15, 'test_can_stack': 5}

# A test still running after this long is hung: every thread's stack is printed and the run ends.
TEST_LIMIT_S = 120


class Expected(NamedTuple):
    """How a listed test fails: ``error`` (exception class name) whose message matches ``message``
    (a regular expression searched in ``str(exception)``), raised at ``statement`` (the stripped
    source line of the test file's innermost frame)."""
    error: str
    message: str
    statement: str
    why: str


# Differences this package keeps on purpose, for ISO 15765-2's sake (python/README.md,
# "Differences"): test id suffix -> how. None of these tests meets one.
ISO_DIFFERENCES: Dict[str, Expected] = {}

# RACES: tests that race with themselves: the socket half sends its first frame as soon as it
# signals "ready", while the stack half only then calls set_address() for the address that frame is
# for. can-isotp 2.0.7 processes received frames later, on its own thread's next pass, so the new
# address usually reaches them first; this package handles each frame when it arrives (the Rust
# driver reads the bus itself), so a frame that arrives before set_address() is not for the stack's
# address then and is ignored. Either outcome is accepted, and reported: passing (the race won), or
# failing at one of these points (the race lost). Test id suffix -> (why, [(error, message regex,
# statement regex)]).
_RACE_LOST = [
    # The socket half waits for the flow control our stack never sends: the innermost statement
    # is the raise inside can-isotp's wait_reception_complete() helper.
    ('TimeoutError', r'^Reception timed out$', r'^raise TimeoutError\("Reception timed out"\)$'),
    ('AssertionError', r'^None != ', r'^self\.assertEqual\(frame, self\.make_payload\(100(, \d+)?\)\)$'),
]
_RACE_WHY = ("set_address() after the peer's first frame: this package handles a frame on arrival, "
             "can-isotp on its thread's next pass")
RACES: Dict[str, Tuple[str, List[Tuple[str, str, str]]]] = {
    'TestLayerAgainstSocket.test_receive_extended_29bits': (_RACE_WHY, _RACE_LOST),
    'TestLayerAgainstSocket.test_receive_mixed_29bits': (_RACE_WHY, _RACE_LOST),
}

# BUGS TO FIX: defects of this package that these tests find, to be fixed in the package; they are
# not differences. Test id suffix -> how the test fails today. Fixing one makes its test pass (or
# fail further on), and the run then fails until the entry is removed (or changed).
BUGS_TO_FIX: Dict[str, Expected] = {}

# BUGS TO FIX found by the project's checks (vcan_checks.py), the same way.
CHECKS_BUGS_TO_FIX: Dict[str, Expected] = {}

# The reference, can-isotp 2.0.7, in this guest: every test passes.
REFERENCE_FAILURES: Dict[str, Expected] = {}


def prerequisites_missing():
    """None when vcan0 is up as a CAN FD interface and CAN_ISOTP and python-can's socketcan work."""
    try:
        with open('/sys/class/net/vcan0/mtu') as f:
            if int(f.read()) != 72:
                return 'vcan0 is not a CAN FD interface (MTU 72)'
    except OSError as e:
        return 'no vcan0: %s' % e
    if not hasattr(socket, 'CAN_ISOTP'):
        return 'this Python has no socket.CAN_ISOTP'
    try:
        s = socket.socket(socket.AF_CAN, socket.SOCK_DGRAM, socket.CAN_ISOTP)
        try:
            s.bind(('vcan0', 0x123, 0x456))
        finally:
            s.close()
    except OSError as e:
        return 'cannot bind a CAN_ISOTP socket to vcan0: %s' % e
    try:
        import can
        can.Bus(interface='socketcan', channel='vcan0').shutdown()
    except Exception as e:  # ImportError, OSError, can.CanError
        return "python-can's socketcan bus on vcan0: %s: %s" % (type(e).__name__, e)
    return None


def package_mismatch(which):
    """None when ``import isotp`` gives the package named ``which``."""
    import isotp
    ours = hasattr(isotp, '_isotp')
    if which == 'ours':
        return None if ours else 'isotp at %s is not this project\'s package' % isotp.__file__
    if ours:
        return 'isotp at %s is this project\'s package, not can-isotp' % isotp.__file__
    version = importlib.metadata.version('can-isotp')
    return None if version == '2.0.7' else 'can-isotp %s, not 2.0.7' % version


def stage_tests(sdist, work):
    """The sdist's test modules and the project's helper modules, as package ``test`` in ``work``."""
    pkg = os.path.join(work, 'test')
    os.makedirs(pkg)
    for src in (os.path.join(sdist, 'test'), os.path.join(HERE, 'canisotp_helpers')):
        for name in os.listdir(src):
            if name.endswith('.py'):
                shutil.copy(os.path.join(src, name), pkg)
    return pkg


def failure_point(err, test_dir):
    """(exception class name, message, statement): the statement is the innermost frame's in a test
    file of ``test_dir`` (the client half's frames included: ThreadableTest raises its exception)."""
    exc_type, exc, tb = err
    statement = None
    for frame in traceback.extract_tb(tb):
        if os.path.dirname(os.path.abspath(frame.filename)) == test_dir and \
                os.path.basename(frame.filename).startswith(('test_', 'vcan_')):
            statement = (frame.line or '').strip()
    return exc_type.__name__, str(exc), statement


def iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            yield from iter_tests(t)
        else:
            yield t


class Outcome(NamedTuple):
    test_id: str
    verdict: str      # 'passed', 'asserted' (failed as listed), 'flaky' or 'FAILED'
    detail: str


def judge_race(test_id, err, race, test_dir):
    """The verdict on a test of RACES: passed (race won), or 'asserted' at a listed point (lost)."""
    why, points = race
    if err is None:
        return Outcome(test_id, 'passed', '')
    error, message, statement = failure_point(err, test_dir)
    got = '%s: %s at `%s`' % (error, message, statement)
    for e, m, st in points:
        if error == e and re.search(m, message) and re.search(st, statement):
            return Outcome(test_id, 'asserted', 'race lost: %s (%s)' % (got, why))
    return Outcome(test_id, 'FAILED', 'fails otherwise than its race allows: got %s\n%s'
                   % (got, ''.join(traceback.format_exception(*err))))


def judge(test_id, err, skipped, listed, test_dir):
    """The verdict on one test, given its error (None when it passed) and its listed expectation."""
    if skipped is not None:
        return Outcome(test_id, 'FAILED', 'skipped (a prerequisite is missing): %s' % skipped)
    if isinstance(listed, tuple) and not isinstance(listed, Expected):
        return judge_race(test_id, err, listed, test_dir)
    if err is None:
        if listed is None:
            return Outcome(test_id, 'passed', '')
        return Outcome(test_id, 'FAILED', 'passes, but is listed as failing with %s at `%s` (%s)'
                       % (listed.error, listed.statement, listed.why))
    error, message, statement = failure_point(err, test_dir)
    got = '%s: %s at `%s`' % (error, message, statement)
    if listed is None:
        return Outcome(test_id, 'FAILED', got + '\n' + ''.join(traceback.format_exception(*err)))
    if error == listed.error and re.search(listed.message, message) and statement == listed.statement:
        return Outcome(test_id, 'asserted', '%s (%s)' % (got, listed.why))
    return Outcome(test_id, 'FAILED', 'fails otherwise than listed: got %s; listed %s matching %r at `%s`\n%s'
                   % (got, listed.error, listed.message, listed.statement,
                      ''.join(traceback.format_exception(*err))))


class _Recorder(unittest.TextTestResult):
    """Keeps each test's error (exc_info, not text: the failure point is read from its frames)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.errors_by_id = {}
        self.skips_by_id = {}

    def startTest(self, test):
        faulthandler.dump_traceback_later(TEST_LIMIT_S, exit=True)
        super().startTest(test)

    def stopTest(self, test):
        faulthandler.cancel_dump_traceback_later()
        super().stopTest(test)

    def addError(self, test, err):
        self.errors_by_id.setdefault(test.id(), err)
        super().addError(test, err)
        self._print_now(err)

    def addFailure(self, test, err):
        self.errors_by_id.setdefault(test.id(), err)
        super().addFailure(test, err)
        self._print_now(err)

    def _print_now(self, err):
        # at once, not at the end: a later test may hang and end the run
        self.stream.write(''.join(traceback.format_exception(*err)))
        self.stream.flush()

    def printErrors(self):
        pass   # printed as they happened

    def addSkip(self, test, reason):
        self.skips_by_id[test.id()] = reason
        super().addSkip(test, reason)


def run_and_judge(tests, expectations, test_dir, title, whole):
    """Runs ``tests`` and judges each; returns the outcomes (when ``whole``, expectation entries that
    match no test are failures too).

    A test judged FAILED runs once more: the emulated machine is slow and shared, and the tests
    bound their waits in wall-clock time (can-isotp 2.0.7 itself misses such a bound now and then).
    One that then meets its expectation is judged 'flaky', printed with its first failure, and does
    not fail the run; one that fails again is FAILED."""
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=2, resultclass=_Recorder)
    print('\n=== %s: %d tests ===' % (title, len(tests)), flush=True)
    result = runner.run(unittest.TestSuite(tests))
    listed, used = {}, set()
    for t in tests:
        for suffix, expected in expectations.items():
            if t.id().endswith(suffix):
                listed[t.id()] = expected
                used.add(suffix)

    def judged(t, result):
        return judge(t.id(), result.errors_by_id.get(t.id()), result.skips_by_id.get(t.id()),
                     listed.get(t.id()), test_dir)

    outcomes = [judged(t, result) for t in tests]
    again = [t for t, o in zip(tests, outcomes) if o.verdict == 'FAILED' and t.id() not in result.skips_by_id]
    if again:
        print('\n=== %s: %d tests judged FAILED, once more ===' % (title, len(again)), flush=True)
        retry = runner.run(unittest.TestSuite(again))
        for i, (t, first) in enumerate(zip(tests, list(outcomes))):
            if t in again:
                second = judged(t, retry)
                if second.verdict != 'FAILED':
                    second = Outcome(t.id(), 'flaky', 'as expected the second time; the first: ' + first.detail)
                outcomes[i] = second
    if whole:
        for suffix in sorted(set(expectations) - used):
            outcomes.append(Outcome(suffix, 'FAILED', 'listed, but matches no test'))
    return outcomes


def report(title, outcomes):
    counts = {v: sum(1 for o in outcomes if o.verdict == v) for v in ('passed', 'asserted', 'flaky', 'FAILED')}
    print('\n--- %s: %d passed, %d failed as listed, %d flaky (as expected the second time), %d FAILED ---'
          % (title, counts['passed'], counts['asserted'], counts['flaky'], counts['FAILED']))
    for o in outcomes:
        if o.verdict != 'passed':
            print('  %-8s %s\n           %s' % (o.verdict, o.test_id, o.detail.replace('\n', '\n           ')))
    return counts['FAILED'] == 0


def main(argv):
    partial = None
    if len(argv) == 5 and argv[3] == '-k':
        partial = argv[4]
    elif len(argv) != 3:
        argv = []
    if len(argv) < 3 or argv[2] not in ('ours', 'can-isotp'):
        print(__doc__)
        return 2
    sdist, which = os.path.abspath(argv[1]), argv[2]
    problem = prerequisites_missing() or package_mismatch(which)
    if problem:
        print('run_canisotp_vcan: cannot run: %s' % problem)
        return 1
    import isotp
    print('run_canisotp_vcan: isotp from %s (%s)' % (os.path.dirname(isotp.__file__), which))

    work = tempfile.mkdtemp(prefix='canisotp-vcan-')
    test_dir = stage_tests(sdist, work)
    sys.path.insert(0, work)
    os.chdir(work)
    loader = unittest.defaultTestLoader
    ok = True

    tests = []
    for module, count in CANISOTP_MODULES.items():
        found = list(iter_tests(loader.loadTestsFromName('test.' + module)))
        if partial is not None:
            found = [t for t in found if partial in t.id()]
        elif len(found) != count:
            print('%s holds %d tests, %d expected: is this can-isotp 2.0.7\'s sdist?' % (module, len(found), count))
            ok = False
        tests += found
    if which == 'ours':
        expectations = dict(ISO_DIFFERENCES)
        expectations.update(BUGS_TO_FIX)
        expectations.update(RACES)
    else:
        expectations = REFERENCE_FAILURES
    title = "can-isotp 2.0.7's vcan tests against %s" % which
    ok = report(title, run_and_judge(tests, expectations, test_dir, title, partial is None)) and ok

    sys.path.insert(0, HERE)
    import vcan_checks
    checks = [t for t in iter_tests(loader.loadTestsFromModule(vcan_checks))
              if (which == 'ours' or not getattr(t, 'ours_only', False))
              and (partial is None or partial in t.id())]
    title = "the project's SocketCAN checks against %s" % which
    checks_dir = os.path.dirname(os.path.abspath(vcan_checks.__file__))
    expectations = CHECKS_BUGS_TO_FIX if which == 'ours' else {}
    ok = report(title, run_and_judge(checks, expectations, checks_dir, title, partial is None)) and ok

    shutil.rmtree(work, ignore_errors=True)
    if partial is not None:
        print('\nrun_canisotp_vcan: partial run (-k %s): %s' % (partial, 'as expected so far' if ok else 'FAILED'))
        return 1
    print('\nrun_canisotp_vcan: %s' % ('all as expected' if ok else 'FAILED'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main(sys.argv))
