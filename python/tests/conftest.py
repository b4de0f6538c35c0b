"""Fixtures shared by the package's suites."""

import os
import re
import subprocess
import threading
import uuid

import can
import pytest


def interop_programs(what):
    """(ISOTP_BIN, ISOTP_CANISOTP_PYTHON) for a module of interop tests, called at its import: the
    `isotp` command and a python with can-isotp 2.0.7 (interop/venv.sh). scripts/python-tests sets
    both; there (ISOTP_REQUIRE_INTEROP=1) their absence fails the suite, elsewhere it skips the module."""
    isotp_bin, canisotp_python = os.environ.get('ISOTP_BIN'), os.environ.get('ISOTP_CANISOTP_PYTHON')
    if not (isotp_bin and canisotp_python):
        if os.environ.get('ISOTP_REQUIRE_INTEROP') == '1':
            raise RuntimeError('ISOTP_BIN and ISOTP_CANISOTP_PYTHON must be set for the %s' % what)
        pytest.skip('%s need ISOTP_BIN and ISOTP_CANISOTP_PYTHON (set by scripts/python-tests)' % what,
                    allow_module_level=True)
    return isotp_bin, canisotp_python


@pytest.fixture(scope='module')
def hub():
    """`isotp hub` (ISOTP_BIN) on a free local port, for the module: yields (host, port)."""
    proc = subprocess.Popen([os.environ['ISOTP_BIN'], 'hub', '--listen', '127.0.0.1:0', '--color', 'never'],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    line = proc.stdout.readline()
    m = re.search(r'listening on ([0-9.]+):(\d+)', line)
    assert m, 'hub did not start: %r' % line
    # The hub logs every connection; an unread pipe would fill up and stop it.
    threading.Thread(target=proc.stdout.read, daemon=True).start()
    yield m.group(1), int(m.group(2))
    proc.terminate()
    proc.wait(5)


@pytest.fixture
def virtual_pair():
    """A function of kind ('python-can' or 'interface-string') giving two ends of one fresh virtual
    channel: two python-can virtual buses, or twice the same 'virtual:NAME' string. The buses are
    shut down after the test."""
    buses = []

    def make(kind):
        channel = uuid.uuid4().hex
        if kind == 'python-can':
            pair = [can.Bus(interface='virtual', channel=channel), can.Bus(interface='virtual', channel=channel)]
            buses.extend(pair)
            return pair[0], pair[1]
        return 'virtual:' + channel, 'virtual:' + channel

    yield make
    for bus in buses:
        bus.shutdown()
