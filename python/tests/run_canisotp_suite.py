"""Runs can-isotp 2.0.7's own test suite (test/*.py of its PyPI sdist, fetched at test time)
against this package, with this project's helper modules in place of the ones the sdist lacks.

    python run_canisotp_suite.py SDIST_DIR

Every test runs. A test listed in KNOWN_DIFFERENCES asserts a can-isotp behaviour this package
deliberately does not copy (ISO 15765-2 says otherwise; python/README.md names each one): it must
fail exactly where the entry says (the test file's line, the exception class and a part of its
message). A listed test that passes, or fails anywhere else or otherwise, is reported as a failure,
as is every unlisted test that fails. Tests skipped by the suite itself (no vcan0, no CAN_ISOTP
socket here: they run in the qemu guest) are counted apart.
"""

import os
import shutil
import sys
import tempfile
import traceback
import unittest
from typing import Dict, List, NamedTuple, Tuple


class Difference(NamedTuple):
    reason: str
    line: int            # line of the test file where the test fails
    exception: str       # class name of the exception raised there
    message: str         # a part of its message


# test id suffix -> the documented difference (see python/README.md, "Differences").
KNOWN_DIFFERENCES: Dict[str, Difference] = {
    'test_generator_size_too_big_error_multiframe': Difference(
        'a (generator, size) is read whole at send(): a generator that runs short sends nothing, so the '
        'receiver never gets a first frame announcing bytes that cannot follow (ISO 15765-2: FF_DL is '
        'what the sender delivers); can-isotp sends the first frame and fails later',
        1391, 'AttributeError', "'NoneType' object has no attribute 'data'"),
    'test_receive_can_fd_ignore_changing_rxdl': Difference(
        'a consecutive frame of another CAN_DL breaks the message (ISO 15765-2: every CF but the last has '
        'the first frame\'s RX_DL): the reception is aborted with ChangingInvalidRXDLError; can-isotp drops '
        'the frame and reports a wrong sequence number later',
        562, 'AssertionError', 'Error of type WrongSequenceNumberError not triggered'),
    'test_receive_can_fd_multiframe_64_bytes_escape_sequence': Difference(
        'an escaped first frame with FF_DL <= 4095 is ignored (ISO 15765-2 allows the escape only above '
        '4095); can-isotp accepts it and answers with a flow control',
        536, 'AssertionError', 'Expected a Flow Control message, none was sent'),
    'test_receive_overflow_handling_escape_sequence': Difference(
        'an escaped first frame with FF_DL <= 4095 is ignored (ISO 15765-2), so no FrameTooLongError; '
        'can-isotp answers it',
        167, 'AssertionError', 'Error of type FrameTooLongError not triggered'),
    'test_receive_first_frame_rxdl_too_small': Difference(
        'a first frame whose CAN_DL is not a valid RX_DL for its length is ignored as malformed '
        '(ISO 15765-2); can-isotp reports InvalidCanFdFirstFrameRXDL',
        576, 'AssertionError', 'Error of type InvalidCanFdFirstFrameRXDL not triggered'),
    'test_receive_first_frame_rxdl_too_small_but_ok': Difference(
        'a classic first frame shorter than 8 bytes is malformed (ISO 15765-2 and the Linux kernel: '
        'CAN_DL 8), reported as InvalidCanDataError; can-isotp accepts a 7-byte one',
        570, 'AssertionError', 'InvalidCanDataError'),
    'test_stmin_requirement': Difference(
        'the first consecutive frame after a flow control goes out at once (ISO 15765-2: STmin separates '
        'consecutive frames); can-isotp waits STmin before it too',
        970, 'AssertionError', 'Stack sent a message too quickly'),
}


class _Result(unittest.TextTestResult):
    """Keeps each failure's exception, to compare it with its documented point."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.raised: List[Tuple[unittest.TestCase, BaseException, traceback.StackSummary]] = []
        self.passed: List[unittest.TestCase] = []

    def addError(self, test, err):
        super().addError(test, err)
        self.raised.append((test, err[1], traceback.extract_tb(err[2])))

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.raised.append((test, err[1], traceback.extract_tb(err[2])))

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)


def _difference_of(test: unittest.TestCase):
    for suffix, difference in KNOWN_DIFFERENCES.items():
        if test.id().endswith('.' + suffix) or test.id().endswith(suffix):
            return suffix, difference
    return None, None


def _failure_point(test: unittest.TestCase, tb: traceback.StackSummary) -> int:
    """The line of the test method where it failed (its deepest frame)."""
    module_file = sys.modules[type(test).__module__].__file__
    lines = [f.lineno for f in tb
             if f.name == test._testMethodName and module_file and os.path.samefile(f.filename, module_file)]
    return lines[-1] if lines else -1


def main() -> int:
    sdist = sys.argv[1]
    work = tempfile.mkdtemp(prefix='canisotp-suite-')
    pkg = os.path.join(work, 'test')
    os.makedirs(pkg)
    here = os.path.dirname(os.path.abspath(__file__))
    for name in os.listdir(os.path.join(sdist, 'test')):
        if name.endswith('.py'):
            shutil.copy(os.path.join(sdist, 'test', name), pkg)
    for name in os.listdir(os.path.join(here, 'canisotp_helpers')):
        if name.endswith('.py'):
            shutil.copy(os.path.join(here, 'canisotp_helpers', name), pkg)
    sys.path.insert(0, work)
    os.chdir(work)

    suite = unittest.defaultTestLoader.discover('test', pattern='test_*.py', top_level_dir=work)
    runner = unittest.TextTestRunner(verbosity=2 if os.environ.get('VERBOSE') else 1, resultclass=_Result)
    result = runner.run(suite)

    problems: List[str] = []
    asserted: List[str] = []
    seen = set()
    for test, exc, tb in result.raised:
        suffix, difference = _difference_of(test)
        if difference is None:
            continue  # already a failure of the run
        seen.add(suffix)
        line = _failure_point(test, tb)
        name = type(exc).__name__
        if line == difference.line and name == difference.exception and difference.message in str(exc):
            asserted.append('%s (line %d, %s)' % (test.id(), line, name))
        else:
            problems.append('%s: a known difference expected at line %d (%s: ...%s...), failed at line %d '
                            'with %s: %s' % (test.id(), difference.line, difference.exception, difference.message,
                                             line, name, exc))
    for test in result.passed:
        suffix, difference = _difference_of(test)
        if difference is not None:
            seen.add(suffix)
            problems.append('%s passes: it is listed as a known difference (%s); remove it from the list'
                            % (test.id(), difference.reason))
    for suffix in sorted(set(KNOWN_DIFFERENCES) - seen):
        problems.append('KNOWN_DIFFERENCES entry %s matches no test that ran' % suffix)
    unexpected = [t.id() for t, _, _ in result.raised if _difference_of(t)[1] is None]

    print('\nKnown differences, each failing at its documented point (%d):' % len(asserted))
    for a in asserted:
        print('  ' + a)
    print('\nSkipped by the suite itself:')
    reasons: Dict[str, int] = {}
    for _, reason in result.skipped:
        reasons[reason] = reasons.get(reason, 0) + 1
    for reason, n in sorted(reasons.items()):
        print('  %d x %s' % (n, reason))
    for p in problems:
        print('PROBLEM: ' + p)
    for t in unexpected:
        print('FAILED: ' + t)
    ran = result.testsRun - len(result.skipped)
    print('\ncan-isotp 2.0.7 suite: %d of %d passed, %d known differences asserted, %d failed, %d skipped' % (
        len(result.passed), ran, len(asserted), len(unexpected) + len(problems), len(result.skipped)))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if not unexpected and not problems else 1


if __name__ == '__main__':
    sys.exit(main())
