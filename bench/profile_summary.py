"""Top functions of py-spy profiles recorded by ``python -m bench.e2e --profile DIR``.

    python -m bench.profile_summary DIR [--top 15]

Each file in DIR is one child process (a pipeline task, dlt, the limit) in py-spy's raw format: one
line per distinct stack, ``frame;frame;...;leaf COUNT``. For each file this prints the functions with
the most samples, inclusive (anywhere on the stack) and self (the leaf), as shares of all samples.
Idle samples are not recorded (py-spy's default), so the shares are of time spent running.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def _frame(raw: str) -> str:
    """``function (path/to/module.py:line)`` shortened to ``function (module.py)``."""
    name, _, where = raw.partition(" (")
    module = where.rstrip(")").rsplit(":", 1)[0]
    short = "/".join(Path(module).parts[-2:]) if module else "?"
    return f"{name} ({short})"


def summarise(path: Path, top: int) -> list[str]:
    inclusive: Counter[str] = Counter()
    leaf: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [_frame(f) for f in stack.split(";") if f and not f.startswith("process ")]
        if not frames:
            continue
        total += samples
        leaf[frames[-1]] += samples
        for frame in set(frames):
            inclusive[frame] += samples
    lines = [f"== {path.stem}: {total} samples"]
    lines.append("  inclusive:")
    lines += [f"    {n / total:6.1%}  {f}" for f, n in inclusive.most_common(top)]
    lines.append("  self:")
    lines += [f"    {n / total:6.1%}  {f}" for f, n in leaf.most_common(top)]
    return lines


def main() -> None:
    folder = Path(sys.argv[1])
    top = int(sys.argv[sys.argv.index("--top") + 1]) if "--top" in sys.argv else 15
    for path in sorted(folder.glob("*.txt")):
        print("\n".join(summarise(path, top)))


if __name__ == "__main__":
    main()
