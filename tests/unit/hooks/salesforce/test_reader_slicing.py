"""The reader's pure helpers: id groups sized by a length budget, and the id that splits a dense slice."""

from __future__ import annotations

import random

import pytest

from lumina_integration.hooks.salesforce.reader import fitting_chunks, id_between
from lumina_sandbox.salesforce.ids import IdFactory, canonical


def test_groups_are_consecutive_as_large_as_the_budget_allows_and_cover_every_item() -> None:
    items = [f"id{n:05d}" for n in range(1000)]

    def build(group: list[str]) -> str:
        return "SELECT Id FROM Account WHERE Id IN (" + ", ".join(f"'{i}'" for i in group) + ")"

    budget = 700

    def fits(query: str) -> bool:
        return len(query) <= budget

    groups = list(fitting_chunks(items, build, fits))
    assert [i for g in groups for i in g] == items
    assert all(fits(build(g)) for g in groups)
    # Maximal: one more item would not have fitted (the last group simply ran out of items).
    assert all(not fits(build([*g, "id99999"])) for g in groups[:-1])
    assert len({len(g) for g in groups[:-1]}) == 1


def test_a_single_item_over_the_budget_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="single id 'x'"):
        list(fitting_chunks(["x"], lambda g: "y" * 100, lambda q: len(q) < 10))


def test_the_split_id_lies_after_the_lowest_and_at_most_at_the_highest() -> None:
    factory, rng = IdFactory(), random.Random(9)
    ids = factory.take("001", 5000)
    for _ in range(500):
        low, high = sorted(rng.sample(ids, 2))
        middle = canonical(id_between(low, high))  # how Salesforce (and the sandbox) compare a 15-char literal
        assert low < middle <= high
        below = [i for i in ids if low <= i < high]
        assert any(i < middle for i in below) and any(i >= middle for i in ids if low <= i <= high)
    assert canonical(id_between(ids[0], ids[1])) == ids[1]  # neighbours: the split isolates the higher one
    with pytest.raises(ValueError):
        id_between(ids[3], ids[3])
