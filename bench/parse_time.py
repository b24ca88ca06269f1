"""Parse time of a ``dags/`` folder with 100 generated pipelines, in a fresh interpreter (``make bench``).

    python -m bench.parse_time WORKDIR [--pipelines 100]

The folder holds the real loader (``dags/lumina_pipelines.py``) and ``_defaults.yaml``, and 100 specs
made from the shipped ones (Salesforce, SAP and file-drop pipelines, in their domain folders with their
defaults), each under a new name. Specs with a ``maintenance`` section add their reconcile and refresh
DAGs. A fresh interpreter then times ``DagBag`` over the folder; the interpreter's import of Airflow is
reported separately. The last line printed is a JSON result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS = ROOT / "dags"


def build_folder(target: Path, pipelines: int) -> int:
    """Copy the loader and defaults, then ``pipelines`` specs made from the shipped ones."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(DAGS / "lumina_pipelines.py", target)
    shutil.copy(DAGS / "_defaults.yaml", target)
    specs = sorted(DAGS.glob("*/*.dag.yaml"))
    for number in range(pipelines):
        spec = specs[number % len(specs)]
        domain = target / spec.parent.name
        domain.mkdir(exist_ok=True)
        if (spec.parent / "_defaults.yaml").exists():
            shutil.copy(spec.parent / "_defaults.yaml", domain)
        name = spec.name.removesuffix(".dag.yaml")
        shutil.copy(spec, domain / f"{name}_{number:03d}.dag.yaml")
    return pipelines


CHILD = """
import json, time
started = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
imported = time.perf_counter()
bag = DagBag(dag_folder={folder!r})
parsed = time.perf_counter()
print(json.dumps({{"import_s": imported - started, "parse_s": parsed - imported, "dags": len(bag.dags),
                  "import_errors": len(bag.import_errors)}}))
"""


def measure(folder: Path, runs: int = 3) -> dict[str, object]:
    """Median of ``runs`` fresh interpreters."""
    env = {**os.environ, "AIRFLOW__CORE__DAGS_FOLDER": str(folder), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    results = []
    for _ in range(runs):
        started = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", CHILD.format(folder=str(folder))],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["interpreter_s"] = time.perf_counter() - started
        results.append(result)
    results.sort(key=lambda r: r["parse_s"])
    median = results[len(results) // 2]
    if median["import_errors"]:
        raise RuntimeError(f"{median['import_errors']} import error(s) in the generated folder {folder}")
    return {
        "parse_s": round(median["parse_s"], 3),
        "airflow_import_s": round(median["import_s"], 3),
        "interpreter_s": round(median["interpreter_s"], 2),
        "dags": median["dags"],
        "runs": runs,
    }


def main() -> None:
    workdir = Path(sys.argv[1])
    pipelines = int(sys.argv[sys.argv.index("--pipelines") + 1]) if "--pipelines" in sys.argv else 100
    folder = workdir / "dags"
    build_folder(folder, pipelines)
    print(json.dumps({"pipelines": pipelines, **measure(folder)}), flush=True)


if __name__ == "__main__":
    main()
