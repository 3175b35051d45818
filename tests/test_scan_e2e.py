"""`codegraph scan` / `codegraph fix` end to end: subprocesses and a tiny random checkpoint.

The checkpoint is made through the model's export API (save_checkpoint) with random
weights. With ``--min-confidence 0`` every analysed function reports its most likely
candidate, so findings exist even for an untrained model.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIXTURE = Path(__file__).parent / "fixtures" / "scan_tree"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "tree"
    shutil.copytree(FIXTURE, root)
    return root


def codegraph(*args: str, cwd: Path, python_prelude: str = "") -> subprocess.CompletedProcess[str]:
    """Run the `codegraph` command in a fresh interpreter (``python_prelude`` runs first)."""
    code = f"{python_prelude}\nimport sys\nfrom codegraph.cli import main\nsys.exit(main(sys.argv[1:]))"
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=300
    )


def test_every_function_reports_at_min_confidence_zero(tree: Path, tiny_model: Path) -> None:
    proc = codegraph(
        "scan", "pkg/geometry.py", "pkg/util.py", "--model", str(tiny_model), "--min-confidence", "0",
        "--format", "json", cwd=tree,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""  # no progress bar without a terminal
    data = json.loads(proc.stdout)
    assert data["model"]["name"] == "tiny-random" and len(data["model"]["sha256"]) == 64
    assert data["min_confidence"] == 0.0
    assert data["stats"]["functions"] == 3 and data["stats"]["files"] == 2
    assert sorted(f["function"] for f in data["findings"]) == [
        "pkg.geometry.area", "pkg.geometry.ratio", "pkg.util.scale",
    ]  # fmt: skip
    for f in data["findings"]:
        assert 0.0 <= f["confidence"] <= 1.0 and f["fix"] is not None


def test_exit_0_without_findings_and_warm_cache_never_imports_torch(tree: Path, tiny_model: Path) -> None:
    args = ("scan", "pkg", "--model", str(tiny_model))
    cold = codegraph(*args, "--min-confidence", "0", cwd=tree)
    assert cold.returncode == 1, cold.stderr
    # every file is cached now: torch must not even be imported (and the threshold may change)
    no_torch = "import sys; sys.modules['torch'] = None"
    warm = codegraph(*args, "--min-confidence", "0", cwd=tree, python_prelude=no_torch)
    assert warm.returncode == 1, warm.stderr
    assert warm.stdout.split("\n\n")[:-1] == cold.stdout.split("\n\n")[:-1]
    clean = codegraph(*args, "--min-confidence", "1", cwd=tree, python_prelude=no_torch)
    assert clean.returncode == 0 and clean.stdout.startswith("No findings at confidence >= 1 ")


def test_unusable_model_is_exit_2_with_one_line(tree: Path, tmp_path: Path) -> None:
    proc = codegraph("scan", "pkg", "--model", str(tmp_path / "missing"), cwd=tree)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "model checkpoint file not found" in proc.stderr
    (tmp_path / "broken.json").write_text("{}")
    (tmp_path / "broken.safetensors").write_bytes(b"junk")
    proc = codegraph("scan", "pkg", "--model", str(tmp_path / "broken"), cwd=tree)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1, proc.stderr


@pytest.mark.slow
def test_worker_processes_give_the_same_findings(tmp_path: Path, tiny_model: Path) -> None:
    root = tmp_path / "many"
    (root / "lib").mkdir(parents=True)
    (root / "lib" / "__init__.py").write_text("")
    for i in range(40):
        (root / "lib" / f"m{i}.py").write_text(
            f"from lib.m{(i + 1) % 40} import f{(i + 1) % 40}\n\n\n"
            f"def f{i}(a, b, c):\n    if a < b and c:\n        return f{(i + 1) % 40}(b, a, c) + {i % 3}\n"
            f"    return a - b * c\n"
        )
    common = (
        "scan",
        ".",
        "--model",
        str(tiny_model),
        "--min-confidence",
        "0",
        "--format",
        "json",
        "--no-cache",
    )
    serial = codegraph(*common, "--jobs", "1", cwd=root)
    parallel = codegraph(*common, "--jobs", "2", cwd=root)
    assert serial.returncode == parallel.returncode == 1, parallel.stderr
    a, b = json.loads(serial.stdout), json.loads(parallel.stdout)
    assert a["stats"]["functions"] == b["stats"]["functions"] == 40
    for fa, fb in zip(a["findings"], b["findings"], strict=True):
        assert fa["confidence"] == pytest.approx(fb["confidence"], abs=1e-3)
        assert {k: v for k, v in fa.items() if k != "confidence"} == {
            k: v for k, v in fb.items() if k != "confidence"
        }


def test_fix_diff_only_then_fix(tree: Path, tiny_model: Path) -> None:
    before = (tree / "pkg" / "util.py").read_text()
    args = ("pkg/util.py", "--model", str(tiny_model), "--min-confidence", "0")
    preview = codegraph("fix", *args, "--diff-only", cwd=tree)
    assert preview.returncode == 1, preview.stderr
    assert preview.stdout.startswith("--- a/pkg/util.py\n+++ b/pkg/util.py\n")
    assert (tree / "pkg" / "util.py").read_text() == before
    applied = codegraph("fix", *args, cwd=tree)
    assert applied.returncode == 0, applied.stderr
    assert "pkg/util.py: applied 1 fix" in applied.stdout
    after = (tree / "pkg" / "util.py").read_text()
    patched = [
        line[1:]
        for line in preview.stdout.splitlines()
        if line.startswith("+") and not line.startswith("+++")
    ]
    assert after != before and all(line in after.splitlines() for line in patched)


def test_progress_bar_on_a_terminal(tree: Path, tiny_model: Path) -> None:
    main_fd, tty_fd = pty.openpty()
    code = "import sys\nfrom codegraph.cli import main\nsys.exit(main(sys.argv[1:]))"
    with subprocess.Popen(
        [sys.executable, "-c", code, "scan", "pkg", "--model", str(tiny_model), "--no-cache"],
        cwd=tree, stdout=subprocess.PIPE, stderr=tty_fd, env={**os.environ, "COLUMNS": "100"},
    ) as proc:  # fmt: skip
        os.close(tty_fd)
        seen = b""
        while True:
            try:
                chunk = os.read(main_fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
        proc.wait(timeout=300)
    os.close(main_fd)
    assert proc.returncode in (0, 1)
    assert b"scanning" in seen


def test_help_and_unknown_options(tree: Path) -> None:
    assert codegraph("scan", "--help", cwd=tree).returncode == 0
    bad = codegraph("scan", "--no-such-option", cwd=tree)
    assert bad.returncode == 2 and "unrecognized arguments" in bad.stderr


SHADOWS = ("json", "numpy", "multiprocessing", "tree_sitter", "rich")


def _shadowing_modules(root: Path) -> Path:
    """Modules in ``root`` named like what codegraph imports; each leaves a marker file when imported."""
    marker = root / "imported-from-the-analysed-tree"
    for name in SHADOWS:
        (root / f"{name}.py").write_text(f"open({str(marker)!r}, 'a').write({name!r} + '\\n')\n")
    return marker


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_python_m_codegraph_imports_nothing_from_the_current_directory(
    tree: Path, tiny_model: Path, jobs: str
) -> None:
    marker = _shadowing_modules(tree)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONSAFEPATH", "PYTHONPATH")}
    proc = subprocess.run(
        [sys.executable, "-m", "codegraph", "scan", ".", "--model", str(tiny_model), "--min-confidence", "0",
         "--format", "json", "--no-cache", "--jobs", jobs],
        cwd=tree, capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert not marker.exists(), marker.read_text()
    assert proc.returncode == 1, proc.stderr
    assert "pkg/geometry.py" in {f["path"] for f in json.loads(proc.stdout)["findings"]}


@pytest.fixture(scope="module")
def nan_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A checkpoint whose weights are all NaN, saved through the export API (the sha256 matches)."""
    import torch

    from codegraph.models.detector import ModelConfig, build_model
    from codegraph.models.predict import save_checkpoint
    from codegraph.models.tensorize import PAD, UNK, VIRTUAL, Vocabulary

    vocab = Vocabulary([PAD, UNK, VIRTUAL], [PAD, UNK], [PAD, UNK])
    model = build_model(ModelConfig(hidden=16, layers=1, heads=2, rw_k=4, lap_k=2).with_vocab(vocab))
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(float("nan"))
    path = tmp_path_factory.mktemp("nan-model") / "nan"
    save_checkpoint(path, model, vocab, name="nan")
    return path


@pytest.mark.parametrize("fmt", ["json", "sarif"])
def test_a_model_that_outputs_nan_is_refused_with_one_line(tree: Path, nan_model: Path, fmt: str) -> None:
    proc = codegraph("scan", "pkg", "--model", str(nan_model), "--format", fmt, "--no-cache", cwd=tree)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("codegraph scan: error:"), proc.stderr
    assert "non-finite score (nan)" in lines[0]
    fixed = codegraph("fix", "pkg", "--model", str(nan_model), "--no-cache", cwd=tree)
    assert fixed.returncode == 2 and "non-finite score" in fixed.stderr
