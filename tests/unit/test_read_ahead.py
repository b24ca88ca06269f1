"""read_ahead: the same items and exceptions as the iterator it wraps, bounded ahead, stopped on close."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from lumina_integration.read_ahead import read_ahead


def test_items_arrive_in_order() -> None:
    assert list(read_ahead(iter(range(1000)), depth=3)) == list(range(1000))


def test_the_producer_error_arrives_after_the_items_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise LookupError("page 3 is gone")

    got: list[int] = []
    with pytest.raises(LookupError, match="page 3 is gone"):
        for item in read_ahead(failing(), depth=8):
            got.append(item)
    assert got == [1, 2]


def test_the_producer_is_never_more_than_depth_ahead() -> None:
    made: list[int] = []

    def counting() -> Iterator[int]:
        for i in range(100):
            made.append(i)
            yield i

    reader = read_ahead(counting(), depth=4)
    assert next(reader) == 0
    time.sleep(0.3)  # time for the producer to run ahead as far as it can
    # One taken, four in the hand-off, one made and waiting for room.
    assert len(made) <= 1 + 4 + 1
    reader.close()


def test_closing_the_consumer_stops_and_closes_the_producer() -> None:
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            i = 0
            while True:
                yield i
                i += 1
        finally:
            closed.set()

    reader = read_ahead(endless(), depth=2)
    assert [next(reader) for _ in range(5)] == [0, 1, 2, 3, 4]
    reader.close()
    assert closed.wait(5)
    assert not [t for t in threading.enumerate() if t.name == "lumina-read-ahead"]


def test_depth_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        next(read_ahead(iter([1]), depth=0))
