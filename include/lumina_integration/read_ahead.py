"""Produce an iterator's items on a worker thread, a bounded number ahead of the consumer.

A Bulk extract alternates between waiting for the next result page (network, and the source's own
work to render it), parsing it to typed Arrow, and writing Parquet parts to the lake. All three
release the GIL for most of their time, so on a second core the next page can download and parse
while this one is written (bench/README.md gives the figures). ``depth`` bounds what is held ahead,
so memory stays bounded by the depth, not by the size of the extract.

Whatever the producer raises is raised to the consumer, unchanged and in order (after the items it
produced before), so callers see the same exceptions as without read-ahead. A consumer that stops
early (an exception, ``close()``) stops the producer: it finishes the item it is making and quits.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
_POLL_SECONDS = 0.1


def read_ahead(items: Iterable[T], depth: int) -> Iterator[T]:
    """Yield what ``items`` yields, made by a worker thread at most ``depth`` items ahead."""
    if depth < 1:
        raise ValueError("read-ahead depth must be at least 1")
    handoff: queue.Queue[tuple[bool, object]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(entry: tuple[bool, object]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        source = iter(items)
        try:
            for item in source:
                if not offer((True, item)):
                    return
            offer((False, None))
        except BaseException as error:  # handed to the consumer, who raises it
            offer((False, error))
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="lumina-read-ahead", daemon=True)
    worker.start()
    try:
        while True:
            is_item, value = handoff.get()
            if is_item:
                yield value  # type: ignore[misc]
            elif value is None:
                return
            else:
                assert isinstance(value, BaseException)
                raise value
    finally:
        stop.set()
        worker.join()
