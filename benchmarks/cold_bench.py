"""Cold start: a one-file `codegraph scan` with no cache beside pylint (and ruff) on the same file.

Each tool runs ``--repeat`` times as a fresh subprocess on one standard-library file
(``--file``, about 350 lines by default), codegraph with ``--no-cache``; the table
prints the median wall time of each and codegraph's time as a multiple of pylint's.
What a pre-commit hook pays on a one-file commit.

    python benchmarks/cold_bench.py [--file NAME] [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

DEFAULT_FILE = "textwrap.py"


def timed(cmd: list[str], cwd: Path, repeat: int) -> tuple[float, int]:
    """(median seconds, last exit code) of ``repeat`` runs of ``cmd``."""
    times, code = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        code = subprocess.run(cmd, cwd=cwd, capture_output=True, check=False).returncode
        times.append(time.perf_counter() - start)
    return statistics.median(times), code


def installed(cmd: list[str]) -> bool:
    """Whether the tool of ``cmd`` runs (``--version`` exits 0)."""
    probe = cmd[:3] if cmd[1:2] == ["-m"] else cmd[:1]
    try:
        return subprocess.run([*probe, "--version"], capture_output=True, check=False).returncode == 0
    except OSError:
        return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cold_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=DEFAULT_FILE, help="a file of the standard library")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    source = Path(sysconfig.get_paths()["stdlib"]) / args.file
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="codegraph-cold-") as tmp:
        work = Path(tmp)
        target = work / source.name
        shutil.copy(source, target)
        lines = target.read_bytes().count(b"\n")
        tools = {
            "codegraph scan --no-cache": [str(bindir / "codegraph"), "scan", target.name, "--no-cache"],
            "pylint": [sys.executable, "-m", "pylint", target.name],
            "ruff check": [str(bindir / "ruff"), "check", "--no-cache", target.name],
        }
        rows = {}
        for name, cmd in tools.items():
            rows[name] = timed(cmd, work, args.repeat) if installed(cmd) else None
    table = Table(title=f"Cold one-file scan: {source.name} ({lines} lines), median of {args.repeat} runs")
    table.add_column("tool")
    table.add_column("seconds", justify="right")
    table.add_column("x pylint", justify="right")
    pylint = rows.get("pylint")
    for name, row in rows.items():
        if row is None:
            table.add_row(name, "not installed", "")
            continue
        ratio = f"{row[0] / pylint[0]:.2f}" if pylint else ""
        table.add_row(name, f"{row[0]:.2f}", ratio)
    Console().print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
