"""A TestCase in two halves: ``test_X`` (the server half) runs on the main thread while ``_test_X``
(the client half, between ``clientSetUp`` and ``clientTearDown``) runs on a second thread. Used by
the socket tests, which need the kernel's CAN_ISOTP.

Order: the server's ``setUp``, then the client's ``clientSetUp``, then both halves at once. A failure
of the client half fails the test: it is raised again at ``tearDown``, with its own traceback.
"""

import threading
import unittest

# How long tearDown waits for the client half; every wait in the halves is bounded well below it.
CLIENT_TIMEOUT = 30.0


class ThreadableTest(unittest.TestCase):
    def __init__(self, *args, **kwargs):
        unittest.TestCase.__init__(self, *args, **kwargs)
        # Subclasses define setUp/tearDown without calling these: wrap theirs instead.
        self._server_set_up, self._server_tear_down = self.setUp, self.tearDown
        self.setUp, self.tearDown = self._set_up_both, self._tear_down_both
        self.server_ready = threading.Event()
        self.client_ready = threading.Event()
        self.done = threading.Event()
        self._client_errors = []
        self._server_set_up_failed = False

    def clientSetUp(self):
        pass

    def clientTearDown(self):
        pass

    def _set_up_both(self):
        for event in (self.server_ready, self.client_ready, self.done):
            event.clear()
        self._client_errors = []
        self._server_set_up_failed = False
        client_half = getattr(self, '_' + self._testMethodName)
        threading.Thread(target=self._run_client, args=(client_half,), daemon=True,
                         name='client half of ' + self._testMethodName).start()
        try:
            self._server_set_up()
        except BaseException:
            self._server_set_up_failed = True
            raise
        finally:
            self.server_ready.set()
        self.client_ready.wait(CLIENT_TIMEOUT)

    def _run_client(self, client_half):
        try:
            self.server_ready.wait()
            if self._server_set_up_failed:
                return
            try:
                self.clientSetUp()
            except BaseException as e:
                self._client_errors.append(e)
                return
            finally:
                self.client_ready.set()
            try:
                client_half()
            except BaseException as e:
                self._client_errors.append(e)
            try:
                self.clientTearDown()
            except BaseException as e:
                self._client_errors.append(e)
        finally:
            self.client_ready.set()
            self.done.set()

    def _tear_down_both(self):
        self._server_tear_down()
        if not self.done.wait(CLIENT_TIMEOUT):
            raise AssertionError('the client half _%s did not end within %.0f s' % (self._testMethodName, CLIENT_TIMEOUT))
        if self._client_errors:
            raise self._client_errors[0]
