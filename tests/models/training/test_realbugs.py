"""Real-fix mining: exact matches of one known repair between releases, and the report."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from codegraph.config import Settings
from codegraph.models.training import realbugs
from codegraph.pipeline import Analyzer
from codegraph.units import AnalysisUnit

OLD = b"""\
def area(width, height):
    return width + height


def scale(values, factor):
    out = []
    for v in values:
        out.append(v * factor)
    return out


def limits(lo, hi):
    if lo < hi:
        return lo
    return hi


def unchanged(a, b):
    return a - b
"""

# area: + -> * (CG003); scale: two edits (not one repair); limits: < -> > (CG004); unchanged as is
NEW = b"""\
def area(width, height):
    return width * height


def scale(values, factor):
    out = []
    for value in values:
        out.append(value * factor)
    return out


def limits(lo, hi):
    if lo > hi:
        return lo
    return hi


def unchanged(a, b):
    return a - b
"""


def test_one_known_repair_between_releases_is_a_fix() -> None:
    fixes = list(realbugs.fixes_between(Analyzer(Settings()), OLD, NEW, "geometry.py"))
    assert sorted(fixes) == [("area", "CG003", "op:*", 2), ("limits", "CG004", "cmp:>", 13)]


def test_identical_or_broken_files_give_nothing() -> None:
    analyzer = Analyzer(Settings())
    assert list(realbugs.fixes_between(analyzer, OLD, OLD, "m.py")) == []
    assert list(realbugs.fixes_between(analyzer, OLD, b"def area(:\n", "m.py")) == []


def _sdist(folder: Path, name: str, version: str, files: dict[str, bytes]) -> None:
    """An sdist laid out where corpus.fetch_one finds it, so nothing is downloaded."""
    target = folder / f"{name}-{version}"
    target.mkdir(parents=True)
    with tarfile.open(target / f"{name}-{version}.tar.gz", "w:gz") as tf:
        for path, data in files.items():
            info = tarfile.TarInfo(f"{name}-{version}/{path}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


@dataclass
class _Prediction:
    p_no_bug: float
    loc_probs: list[float]
    rep_probs: list[list[float]]


@dataclass
class TokenPredictor:
    """Test double: 0.9 on the first repair named ``token`` (else the first candidate's first repair)."""

    token: str
    name: str = "double"
    sha256: str = "d" * 64
    seen: list[str] = field(default_factory=list)

    def predict(self, units: list[AnalysisUnit]) -> list[_Prediction]:
        out = []
        for u in units:
            self.seen.append(u.function)
            where = next(
                (
                    (ci, ri)
                    for ci, c in enumerate(u.candidates)
                    for ri, r in enumerate(c.repairs)
                    if r.token == self.token
                ),
                (0, 0),
            )
            loc = [0.1 / len(u.candidates)] * len(u.candidates)
            loc[where[0]] = 0.9
            reps = [
                [1.0 if (ci, ri) == where else 0.0 for ri in range(len(c.repairs))]
                for ci, c in enumerate(u.candidates)
            ]
            out.append(_Prediction(0.0, loc, reps))
        return out


def test_mine_and_evaluate_from_local_sdists(tmp_path: Path) -> None:
    out = tmp_path / "realbugs"
    _sdist(out / "sdists", "geom", "1.0", {"geom/core.py": OLD, "geom/same.py": b"def f(x):\n    return x\n"})
    _sdist(out / "sdists", "geom", "1.1", {"geom/core.py": NEW, "geom/same.py": b"def f(x):\n    return x\n"})
    console = Console(file=io.StringIO())
    fixes = realbugs.mine_package("geom", ["1.0", "1.1"], out / "sdists", out, Analyzer(Settings()), console)
    assert [(f.function, f.rule, f.old_version, f.new_version) for f in fixes] == [
        ("area", "CG003", "1.0", "1.1"),
        ("limits", "CG004", "1.0", "1.1"),
    ]
    assert fixes[0].old_file(out).read_bytes() == OLD and fixes[0].new_file(out).read_bytes() == NEW
    realbugs.write_samples(out / realbugs.SAMPLES_NAME, fixes)
    assert realbugs.read_samples(out) == fixes
    assert json.loads((out / realbugs.SAMPLES_NAME).read_text().splitlines()[0])["token"] == "op:*"

    # a model that always proposes `+` -> `*`: finds the CG003 fix, misses the CG004 one
    report = realbugs.evaluate(out, Analyzer(Settings(), predictor=TokenPredictor("op:*")), per_package=1)
    assert "- fixes: 2 " in report
    # found / buggy flagged / fixed still flagged (the double flags every function at 0.9)
    assert "| 0.8 | 1 (50.0%) | 2 (100.0%) | 2 (100.0%) |" in report
    # flags in released code: the 4 functions of core.py 1.1 (the file with fixes), all at 0.9;
    # then one seeded file of the newest release
    assert "- files of the fixes (newer release): 4 functions, 4 with candidate locations" in report
    assert "| 0.9 | 4 (100.0%) |" in report
    assert "- newest releases (1 files per package): " in report
    assert "| CG003 | 1 | 1 (100.0%) |" in report and "| CG004 | 1 | 0 (0.0%) |" in report
    assert "| geom | 1.0 .. 1.1 | 2 |" in report


def test_missing_samples_is_a_clear_error(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert realbugs.main(["eval", "--data", str(tmp_path / "none")]) == 2
    assert "run `codegraph realbugs mine" in capsys.readouterr().err


def test_cli_writes_the_report_with_a_given_checkpoint(tmp_path: Path, tiny_model: Path) -> None:
    out = tmp_path / "realbugs"
    _sdist(out / "sdists", "geom", "1.0", {"geom/core.py": OLD})
    _sdist(out / "sdists", "geom", "1.1", {"geom/core.py": NEW})
    console = Console(file=io.StringIO())
    fixes = realbugs.mine_package("geom", ["1.0", "1.1"], out / "sdists", out, Analyzer(Settings()), console)
    realbugs.write_samples(out / realbugs.SAMPLES_NAME, fixes)
    report = tmp_path / "REALBUGS.md"
    args = [
        "eval",
        "--data",
        str(out),
        "--checkpoint",
        str(tiny_model),
        "--latest-files",
        "1",
        "--out",
        str(report),
    ]
    assert realbugs.main(args) == 0
    text = report.read_text()
    assert "`tiny-random`" in text and "- fixes: 2 " in text
    assert "- newest releases (1 files per package): 4 functions, 4 with candidate locations" in text
    assert realbugs.main(["eval", "--data", str(out), "--checkpoint", str(tmp_path / "missing")]) == 2


def test_sample_writes_the_newest_release_files(tmp_path: Path) -> None:
    root = tmp_path / "realbugs"
    _sdist(root / "sdists", "geom", "1.0", {"geom/core.py": OLD})
    _sdist(
        root / "sdists",
        "geom",
        "1.1",
        {
            "geom/core.py": NEW,
            "geom/util.py": b"def g(a, b):\n    return a - b\n",
            "geom/flat.py": b"Y = 2\n",
        },
    )
    out = tmp_path / "sample"
    assert realbugs.main(["sample", "--data", str(root), "--out", str(out), "--latest-files", "5"]) == 0
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*.py"))
    assert written == ["geom/geom/core.py", "geom/geom/util.py"]  # no function, not sampled: flat.py
    assert (out / "geom/geom/core.py").read_bytes() == NEW


def _finding(path: str, line: int) -> dict:
    return {
        "path": path,
        "line": line,
        "column": 1,
        "rule": "CG001",
        "confidence": 0.9,
        "function": "f",
        "message": f"finding at {line}",
        "related": [{"line": 1, "message": "`x` is defined or last used here"}],
    }


def test_review_draws_a_seeded_sample_and_shows_the_code(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "m.py").write_text("".join(f"line{n} = {n}\n" for n in range(1, 21)))
    findings = [_finding("m.py", n) for n in range(1, 21)]
    report = tmp_path / "scan.json"
    report.write_text(json.dumps({"findings": findings[::-1]}))
    first = realbugs.review_sample(json.loads(report.read_text()), 5, seed=3)
    # the draw depends on the seed and the findings, not on the report's order
    assert first == realbugs.review_sample({"findings": findings}, 5, seed=3)
    assert len({f["line"] for f in first}) == 5
    assert first != realbugs.review_sample({"findings": findings}, 5, seed=4)
    args = ["review", str(report), "--root", str(tmp_path), "--count", "2", "--seed", "3", "--context", "1"]
    assert realbugs.main(args) == 0
    text = capsys.readouterr().out
    n = first[0]["line"]
    assert f"## 1. `m.py:{n}` CG001 0.90 `f`" in text and f">> {n:5d} line{n} = {n}" in text
    assert "- line 1: `x` is defined or last used here" in text and "## 3." not in text
    report.write_text("{not json")
    assert realbugs.main(["review", str(report)]) == 2
