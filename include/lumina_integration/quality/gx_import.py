"""Import Great Expectations without running the scipy and altair modules it imports but we never use.

``import great_expectations`` registers every core expectation, and a few of those (the KL-divergence
and distribution ones) import ``scipy.stats`` at module level; GX's rendering imports altair. Our
suites use neither, yet the two cost about 80 MB of every validate task (GX's import: 149 -> 71 MB on
top of pandas and pyarrow, bench/README.md). During GX's import those packages are registered with
the standard library's ``importlib.util.LazyLoader``: a module's code runs the first time one of its
attributes is used, so an expectation that does use scipy still gets the real module, only later.
Only the import of GX is affected: the finder is removed again before this returns.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

DEFERRED_PACKAGES = ("scipy", "altair")


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds a deferred package's modules through the other finders and wraps their loaders lazily."""

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages = frozenset(packages)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is None:
                continue
            # Only loaders that separate creating the module from running it can be deferred (not C extensions).
            if spec.loader is not None and isinstance(spec.loader, importlib.machinery.SourceFileLoader):
                spec.loader = importlib.util.LazyLoader(spec.loader)
            return spec
        return None


@contextmanager
def _deferring(packages: Sequence[str]) -> Iterator[None]:
    finder = _DeferringFinder(packages)
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


def import_great_expectations() -> ModuleType:
    """``great_expectations``, imported once per process with scipy and altair deferred."""
    already = sys.modules.get("great_expectations")
    if already is not None:
        return already
    with _deferring(DEFERRED_PACKAGES):
        import great_expectations

    return great_expectations
