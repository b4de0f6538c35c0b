"""A TestCase whose ``clientRun``/``clientSetUp`` half runs on a second thread (used by the
socket tests, which need the kernel's CAN_ISOTP)."""

import threading
import unittest


class ThreadableTest(unittest.TestCase):
    def __init__(self, *args, **kwargs):
        unittest.TestCase.__init__(self, *args, **kwargs)
        self.server_ready = threading.Event()
        self.client_ready = threading.Event()
        self.done = threading.Event()

    def setUp(self):
        self.server_ready.clear()
        self.client_ready.clear()
        self.done.clear()
        test_method = getattr(self, '_' + self._testMethodName, None)
        self.client_thread = threading.Thread(target=self._client_main, args=(test_method,), daemon=True)
        self.client_thread.start()

    def _client_main(self, method):
        self.server_ready.wait(5)
        if hasattr(self, 'clientSetUp'):
            self.clientSetUp()
        self.client_ready.set()
        if method is not None:
            method()
        self.done.set()

    def tearDown(self):
        self.done.wait(5)
