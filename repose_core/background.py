"""Items made in a background thread, a bounded queue ahead of the code that uses them.

What the video reader (frames decoded while MediaPipe runs on the previous ones) and the trainer
(batches made while the optimiser steps) both need: numpy, OpenCV, MediaPipe and torch release
the GIL in their kernels, so producer and consumer work at once, and the bounded queue keeps the
memory bounded whatever the producer's speed.
"""
from __future__ import annotations

import queue
import threading
from typing import Callable, Generic, Iterator, TypeVar

T = TypeVar("T")


class _Failure:
    """An exception of the producer, raised in the consumer where its next item would be."""

    def __init__(self, error: BaseException):
        self.error = error


_END = object()


class BackgroundIterator(Generic[T]):
    """Iterates what ``produce()`` yields, made in a daemon thread up to ``depth`` items ahead.

    One producer keeps the items' order. Use as a context manager (or call :meth:`close`):
    closing stops the producer at its next item and closes its generator, so its ``finally``
    blocks (releasing a video file, say) run in the producer's thread.
    """

    def __init__(self, produce: Callable[[], Iterator[T]], depth: int, name: str = "repose-background"):
        self._queue: queue.Queue = queue.Queue(maxsize=max(depth, 1))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(produce,), name=name, daemon=True)
        self._thread.start()

    def __enter__(self) -> "BackgroundIterator[T]":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __iter__(self) -> Iterator[T]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:  # unblock a producer waiting on a full queue
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._thread.join()

    def _run(self, produce: Callable[[], Iterator[T]]) -> None:
        try:
            items = produce()
            try:
                for item in items:
                    if not self._put(item):
                        return
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
        except BaseException as error:  # noqa: BLE001 - handed to the consumer, raised there
            self._put(_Failure(error))
            return
        self._put(_END)

    def _put(self, item: object) -> bool:
        """Queue ``item``; False once the consumer has closed the iterator."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False
