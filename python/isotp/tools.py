"""Small helpers can-isotp users import: a monotonic ``Timer`` and ``FiniteByteGenerator``."""

import time
from typing import Generator, Optional


class Timer:
    """A one-shot timer on the monotonic clock; ``is_timed_out()`` once ``timeout`` seconds passed
    since ``start()``."""

    def __init__(self, timeout: float) -> None:
        self.set_timeout(timeout)
        self.start_time: Optional[int] = None

    def set_timeout(self, timeout: float) -> None:
        self.timeout = timeout
        self._timeout_ns = int(timeout * 1e9)

    def start(self, timeout: Optional[float] = None) -> None:
        if timeout is not None:
            self.set_timeout(timeout)
        self.start_time = time.perf_counter_ns()

    def stop(self) -> None:
        self.start_time = None

    def elapsed_ns(self) -> int:
        return 0 if self.start_time is None else time.perf_counter_ns() - self.start_time

    def elapsed(self) -> float:
        return self.elapsed_ns() / 1e9

    def remaining_ns(self) -> int:
        return 0 if self.is_stopped() else max(0, self._timeout_ns - self.elapsed_ns())

    def remaining(self) -> float:
        return self.remaining_ns() / 1e9

    def is_timed_out(self) -> bool:
        if self.is_stopped():
            return False
        return self.elapsed_ns() > self._timeout_ns or self._timeout_ns == 0

    def is_stopped(self) -> bool:
        return self.start_time is None


class FiniteByteGenerator:
    """A generator of ints (bytes) with a declared size; ``consume(n)`` takes n bytes."""

    def __init__(self, gen: Generator[int, None, None], size: int):
        self.gen = gen
        self.size = size
        self.consumed = 0

    def total_length(self) -> int:
        return self.size

    def remaining_size(self) -> int:
        return self.size - self.consumed

    def depleted(self) -> bool:
        return self.remaining_size() <= 0

    def consume(self, size: int, enforce_exact: bool = True) -> bytearray:
        from isotp.errors import BadGeneratorError
        size = min(size, self.remaining_size())
        out = bytearray()
        try:
            for _ in range(size):
                out.append(next(self.gen))
        except StopIteration:
            if enforce_exact:
                raise BadGeneratorError("Generator ran out of data: %d bytes expected, %d given"
                                        % (self.size, self.consumed + len(out)))
        except Exception as e:
            raise BadGeneratorError("Generator failed: %s" % e)
        self.consumed += len(out)
        return out
