"""The pre-commit hook (.pre-commit-hooks.yaml), run for real with `pre-commit try-repo`, offline.

How it stays offline: try-repo builds the hook's virtualenv by `pip install .` of a copy
of this repository. pip gets ``PIP_NO_INDEX`` (no network), ``PIP_FIND_LINKS`` pointing
at the wheels virtualenv ships (setuptools for the build backend) and ``PIP_NO_DEPS``
(torch & co. are not downloaded); the dependencies reach the hook through
``PYTHONPATH`` = this interpreter's site-packages. ``.pth`` files are not read from
``PYTHONPATH`` entries, so the editable install of the working tree is invisible there:
the `codegraph` that runs is the one pip installed into the hook's environment (the
last test shows that without ``PYTHONPATH`` the hook environment lacks the dependencies).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
HOOKS = REPO / ".pre-commit-hooks.yaml"
#: what `pip install .` of the repository needs
COPIED = ("pyproject.toml", "README.md", "LICENSE", ".pre-commit-hooks.yaml", "codegraph", "models", "lsp")

pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or shutil.which("pre-commit", path=str(Path(sys.executable).parent)) is None,
    reason="needs git and pre-commit",
)


def test_hook_definition() -> None:
    (hook,) = yaml.safe_load(HOOKS.read_text())
    assert hook["id"] == "codegraph"
    assert hook["entry"] == "codegraph scan"
    assert hook["language"] == "python"
    assert hook["types"] == ["python"]
    assert hook["require_serial"] is True


def git(cwd: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env=env)


def _ignore(directory: str, names: list[str]) -> set[str]:
    return {n for n in names if n in ("__pycache__", ".codegraph_cache") or n.endswith(".egg-info")}


def _seed_wheels() -> Path:
    import virtualenv.seed.wheels.embed as embed

    return Path(embed.__file__).parent


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository holding a copy of this project (what a user's `repo:` would point at)."""
    dest = tmp_path_factory.mktemp("hook") / "codegraph"
    dest.mkdir()
    for name in COPIED:
        src = REPO / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=_ignore)
        elif src.is_file():
            shutil.copy2(src, dest / name)
    pyproject = dest / "pyproject.toml"
    if not list(_seed_wheels().glob("wheel-*.whl")):
        # offline there is no `wheel` distribution; setuptools >= 70.1 builds wheels without it
        text = pyproject.read_text()
        pyproject.write_text(re.sub(r',\s*"wheel"', "", text, count=1))
    git(dest, "init", "-q")
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "hook under test")
    return dest


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-initialised checkpoint written with the model's export API (as in test_scan_e2e.py)."""
    import torch

    from codegraph.models.detector import build_model
    from codegraph.models.model import ModelConfig
    from codegraph.models.predict import save_checkpoint
    from codegraph.models.tensorize import PAD, UNK, VIRTUAL, Vocabulary

    vocab = Vocabulary([PAD, UNK, VIRTUAL], [PAD, UNK], [PAD, UNK])
    config = ModelConfig(hidden=16, layers=1, heads=2, rw_k=4, lap_k=2).with_vocab(vocab)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "tiny"
    save_checkpoint(path, build_model(config), vocab, name="tiny-random")
    return path


@pytest.fixture
def project(tmp_path: Path, tiny_model: Path) -> Path:
    """A user's repository with one buggy-looking module and one without functions."""
    root = tmp_path / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "calc.py").write_text("def area(width, height):\n    return width * width\n")
    (root / "app" / "consts.py").write_text('"""Constants (none yet)."""\n')
    (root / "app" / "types.pyi").write_text("def f(x: int) -> int: ...\n")
    (root / "pyproject.toml").write_text(f'[tool.codegraph]\nmodel = "{tiny_model}"\nmin-confidence = 0\n')
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def try_repo(project: Path, hook_repo: Path, tmp_path: Path, *args: str, deps: bool = True):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV", "PYTHON"))}
    env |= {
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"),
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(_seed_wheels()),
        "PIP_NO_DEPS": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    if deps:
        env["PYTHONPATH"] = os.pathsep.join(
            sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
        )
    cmd = [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "codegraph", *args]
    return subprocess.run(cmd, cwd=project, capture_output=True, text=True, env=env, timeout=600)


@pytest.mark.slow
def test_try_repo_runs_the_hook_offline(project: Path, hook_repo: Path, tmp_path: Path) -> None:
    failing = try_repo(project, hook_repo, tmp_path, "--all-files")
    out = failing.stdout + failing.stderr
    assert failing.returncode == 1, out
    assert re.search(r"^codegraph\.+Failed$", out, re.M), out
    assert re.search(r"^app/calc\.py:2:\d+: CG00\d \[[a-z-]+\] .* \(confidence \d+%\)$", out, re.M), out
    # require_serial: one process got every file (one summary line); the stub was not analysed
    assert (
        len(re.findall(r"^Found \d+ findings? in \d+ files? .*\(1 function in 2 files analysed", out, re.M))
        == 1
    )
    passing = try_repo(project, hook_repo, tmp_path, "--files", "app/consts.py", "app/types.pyi")
    assert passing.returncode == 0, passing.stdout + passing.stderr
    assert re.search(r"^codegraph\.+Passed$", passing.stdout, re.M)


@pytest.mark.slow
def test_the_hook_runs_from_its_own_environment(project: Path, hook_repo: Path, tmp_path: Path) -> None:
    proc = try_repo(project, hook_repo, tmp_path, "--all-files", deps=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "No module named" in out, out
