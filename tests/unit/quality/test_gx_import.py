"""GX imported with scipy and altair deferred: they run only when used, and work when they are."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import importlib.util, sys
from lumina_integration.quality.gx_import import import_great_expectations
gx = import_great_expectations()
assert gx.ExpectationSuite is not None
lazy = importlib.util._LazyModule
deferred = [n for n in ("scipy.stats", "altair") if n in sys.modules]
assert deferred, "GX imported neither: the deferral has nothing to do (update DEFERRED_PACKAGES)"
assert all(isinstance(sys.modules[n], lazy) for n in deferred), [type(sys.modules[n]) for n in deferred]
assert not any(f.__class__.__name__ == "_DeferringFinder" for f in sys.meta_path), "finder left installed"
# Used, a deferred module is the real one.
from scipy.stats import norm
assert abs(norm.cdf(0) - 0.5) < 1e-12
print("ok")
"""


def test_scipy_and_altair_run_only_when_used() -> None:
    # A fresh interpreter: this test session may have imported GX (and scipy) already.
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
