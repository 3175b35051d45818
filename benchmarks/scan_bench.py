"""Scan throughput on the standard library, side by side with ruff and pylint.

Copies the stdlib's ``*.py`` files (``site-packages`` and the ``test`` packages left
out unless ``--include-tests``; the first ``--limit`` files in path order) into a
temporary tree, then times, in one run and on that same tree:

* ``codegraph scan`` with an empty cache (cold), then again with the cache it just
  wrote (warm) — the ratio is the warm-cache speed-up. Without ``--model`` and without
  a trained model installed, a random-weight checkpoint of the shipped architecture
  (models/training/default.toml) is used: throughput does not depend on the weights;
* ``ruff check`` (default rules, no cache) and ``pylint`` (default checks), when
  installed; otherwise the row says "not installed".

Each tool runs as a subprocess; peak memory is the largest sum of the resident set
sizes of the tool's whole process tree (workers included), sampled with psutil every
20 ms (``resource`` children's ru_maxrss when psutil is missing). Lines count
newline characters of the copied files.

    python benchmarks/scan_bench.py [--limit N] [--jobs N] [--model FILE] [--json FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

from rich.console import Console
from rich.table import Table

DEFAULT_LIMIT = 40
SAMPLE_SECONDS = 0.02


class Run(NamedTuple):  # a NamedTuple, not a dataclass: benchmarks/run.py loads this file unregistered
    tool: str
    seconds: float | None = None  # None: not run
    peak_mb: float | None = None
    exit_code: int | None = None
    note: str = ""


def stdlib_files(limit: int | None, include_tests: bool) -> tuple[Path, list[Path]]:
    """The stdlib root and its ``*.py`` files in path order (UTF-8 ones only)."""
    root = Path(sysconfig.get_paths()["stdlib"])
    skipped = {"site-packages", "__pycache__"} | (set() if include_tests else {"test", "tests", "idle_test"})
    files = []
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root)
        if skipped & set(rel.parts[:-1]) or not p.is_file():
            continue
        try:
            p.read_bytes().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        files.append(p)
        if limit is not None and len(files) >= limit:
            break
    return root, files


def copy_tree(root: Path, files: list[Path], dest: Path) -> int:
    """Copy ``files`` (relative to ``root``) below ``dest``; returns the number of lines."""
    lines = 0
    for f in files:
        target = dest / f.relative_to(root)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = f.read_bytes()
        target.write_bytes(data)
        lines += data.count(b"\n")
    return lines


def _tree_rss(proc: object) -> int:
    import psutil

    assert isinstance(proc, psutil.Process)
    total = 0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.Error:
            continue
    return total


def measure(tool: str, cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` and return its wall time and peak memory (whole process tree)."""
    try:
        import psutil
    except ImportError:
        psutil = None  # type: ignore[assignment]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    if psutil is not None:
        handle = psutil.Process(proc.pid)
        while proc.poll() is None:
            with contextlib.suppress(psutil.Error):
                peak = max(peak, _tree_rss(handle))
            time.sleep(SAMPLE_SECONDS)
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    if psutil is None:  # max RSS of the largest child so far (KiB on Linux)
        peak = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) * 1024
    note = ""
    if proc.returncode not in (0, 1):
        lines = stderr.decode("utf-8", "replace").strip().splitlines()
        note = lines[-1] if lines else f"exit status {proc.returncode}"
    return Run(tool, seconds, peak / 2**20, proc.returncode, note)


def codegraph_cmd(tree: Path, cache: Path, args: argparse.Namespace) -> list[str]:
    cmd = [sys.executable, "-m", "codegraph", "scan", str(tree), "--format", "json", "--no-progress"]
    cmd += ["--cache-dir", str(cache)]
    if args.jobs is not None:
        cmd += ["--jobs", str(args.jobs)]
    if args.model:
        cmd += ["--model", args.model]
    return cmd


def ruff_cmd(tree: Path) -> list[str] | None:
    exe = shutil.which(
        "ruff", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    )
    if exe is None:
        return None
    return [exe, "check", "--no-cache", "--isolated", "--exit-zero", "--quiet", str(tree)]


def pylint_cmd(tree: Path) -> list[str] | None:
    import importlib.util

    if importlib.util.find_spec("pylint") is None:
        return None
    return [sys.executable, "-m", "pylint", "--exit-zero", "--recursive=y", "--jobs=1", str(tree)]


def run_all(args: argparse.Namespace) -> tuple[dict[str, object], list[Run]]:
    root, files = stdlib_files(args.limit, args.include_tests)
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="scan-bench-") as tmp:
        tree = Path(tmp) / "stdlib"
        cache = Path(tmp) / "cache"
        lines = copy_tree(root, files, tree)
        env = dict(os.environ, NO_COLOR="1")
        if args.model is None and not shipped_checkpoint_exists():
            args.model = str(random_checkpoint(Path(tmp) / "random"))
            model = "random weights, shipped architecture (no trained model installed)"
        else:
            model = args.model or "shipped"
        runs.append(measure("codegraph (cold cache)", codegraph_cmd(tree, cache, args), Path(tmp), env))
        runs.append(measure("codegraph (warm cache)", codegraph_cmd(tree, cache, args), Path(tmp), env))
        for tool, cmd in (("ruff", ruff_cmd(tree)), ("pylint", pylint_cmd(tree))):
            runs.append(measure(tool, cmd, Path(tmp), env) if cmd else Run(tool, note="not installed"))
    python = sys.version.split()[0]
    info = {"stdlib": str(root), "files": len(files), "lines": lines, "python": python, "model": model}
    return info, runs


def table(info: dict[str, object], runs: list[Run]) -> Table:
    lines = int(str(info["lines"]))
    cold = runs[0].seconds if runs and runs[0].exit_code in (0, 1) else None
    title = f"scan throughput: {info['files']} stdlib files, {lines:,} lines (Python {info['python']})"
    t = Table(title=title, caption=f"model: {info['model']}")
    for col in ("tool", "seconds", "lines/s", "peak MB", "time / codegraph cold", "status"):
        t.add_column(col, justify="left" if col in ("tool", "status") else "right")
    for r in runs:
        if r.seconds is None:
            t.add_row(r.tool, "-", "-", "-", "-", r.note)
            continue
        ratio = f"{r.seconds / cold:.3g}" if cold else "-"
        status = "ok" if r.exit_code in (0, 1) else f"failed ({r.exit_code})"
        rate = f"{lines / r.seconds:,.0f}"
        t.add_row(r.tool, f"{r.seconds:.2f}", rate, f"{r.peak_mb or 0:.0f}", ratio, status)
    return t


def random_checkpoint(dest: Path) -> Path:
    """A checkpoint with the shipped architecture (models/training/default.toml) and random
    weights: for throughput only, when no trained model is installed."""
    import tomllib

    import torch

    from codegraph.models.detector import build_model
    from codegraph.models.model import ModelConfig
    from codegraph.models.predict import save_checkpoint
    from codegraph.models.tensorize import PAD, UNK, VIRTUAL, Vocabulary

    config_file = Path(__file__).resolve().parents[1] / "models" / "training" / "default.toml"
    table = tomllib.loads(config_file.read_text())["model"] if config_file.is_file() else {}
    vocab = Vocabulary([PAD, UNK, VIRTUAL], [PAD, UNK], [PAD, UNK])
    torch.manual_seed(0)
    model = build_model(ModelConfig.from_dict(table).with_vocab(vocab))
    save_checkpoint(dest, model, vocab, name="random-weights (shipped architecture)")
    return dest


def shipped_checkpoint_exists() -> bool:
    import importlib.util

    spec = importlib.util.find_spec("codegraph.models")
    locations = list(spec.submodule_search_locations or []) if spec else []
    return bool(locations) and (Path(locations[0]) / "weights" / "detector.safetensors").is_file()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scan_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT, help="stdlib files to scan (0: all)")
    parser.add_argument("--include-tests", action="store_true", help="include the stdlib's test packages")
    parser.add_argument("--jobs", type=int, help="codegraph worker processes (default: automatic)")
    parser.add_argument("--model", help="codegraph checkpoint (default: the shipped model)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.limit == 0:
        args.limit = None
    info, runs = run_all(args)
    console = Console()
    console.print(table(info, runs))
    for r in runs:
        if r.exit_code not in (None, 0, 1):
            console.print(f"{r.tool} failed: {r.note}", markup=False)
    cold, warm = runs[0], runs[1]
    ok = all(r.exit_code in (0, 1) for r in (cold, warm))
    if ok and cold.seconds and warm.seconds:
        console.print(f"warm-cache re-scan speed-up: {cold.seconds / warm.seconds:.1f}x")
    if args.json:
        args.json.write_text(json.dumps({**info, "runs": [r._asdict() for r in runs]}, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
