"""Fixtures shared by the package's suites."""

import os
import re
import subprocess
import threading
import uuid

import can
import pytest


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
