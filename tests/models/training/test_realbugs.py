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

    # --json: each released function's best confidence and its package, for `compare`
    realbugs.evaluate(
        out,
        Analyzer(Settings(), predictor=TokenPredictor("op:*")),
        per_package=2,
        json_out=tmp_path / "r.json",
    )
    payload = json.loads((tmp_path / "r.json").read_text())
    newest = payload["populations"]["newest releases (2 files per package)"]
    # core.py's four functions (same.py's has no candidate location)
    assert newest == {"functions": 5, "confidence": [0.9] * 4, "group": ["geom"] * 4}
    assert [f["found"] for f in payload["fixes"]] == [0.9, 0.0]


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


def test_compare_flags_at_equal_synthetic_recall(tmp_path: Path) -> None:
    # two packages of released functions; model b reaches each recall at a higher threshold
    groups = ["p"] * 6 + ["q"] * 4
    a = realbugs.Curve(
        "a", [(0.3, 0.5), (0.5, 0.4), (0.7, 0.3)], [0.9, 0.6, 0.6, 0.4, 0.1, 0.0, 0.8, 0.4, 0.35, 0.2], groups
    )
    b = realbugs.Curve(
        "b", [(0.3, 0.6), (0.5, 0.5), (0.7, 0.4)], [0.9, 0.6, 0.2, 0.4, 0.1, 0.0, 0.8, 0.4, 0.35, 0.2], groups
    )
    assert a.threshold_for(0.4) == (0.5, 0.4) and b.threshold_for(0.4) == (0.7, 0.4)
    assert a.threshold_for(0.45) == (0.3, 0.5) and b.threshold_for(0.9) is None
    table = realbugs.compare([a, b], [0.4, 0.5], draws=200)
    # recall 40%: a at 0.5 flags 0.9, 0.6, 0.6, 0.8 (4); b at 0.7 flags 0.9, 0.8 (2): ratio 0.5
    row = next(x for x in table.splitlines() if x.startswith("| 40% |"))
    assert "0.50, 40.0%, 4 (40.00%)" in row and "0.70, 40.0%, 2 (20.00%)" in row and "| 0.50 [" in row
    lo, hi = (float(v) for v in row.rsplit("[", 1)[1].rstrip(" |]").split(","))
    assert lo <= 0.5 <= hi
    row = next(x for x in table.splitlines() if x.startswith("| 50% |"))
    assert "0.30, 50.0%, 7 (70.00%)" in row and "0.50, 50.0%, 3 (30.00%)" in row
    c = realbugs.Curve("c", b.recall, b.confidence, ["p"] * 10)
    try:
        realbugs.compare([a, c], [0.4])
    except ValueError as exc:
        assert "other released functions" in str(exc)
    else:
        raise AssertionError("functions of other packages were compared")

    # from the files `realbugs eval --json` and `codegraph eval --json` write
    real = {
        "populations": {
            "newest releases (1 files per package)": {
                "functions": 10,
                "confidence": a.confidence,
                "group": groups,
            }
        }
    }
    synthetic = {
        "detector": {"curve": [{"threshold": t, "recall": r, "precision": 1.0} for t, r in a.recall]}
    }
    (tmp_path / "real.json").write_text(json.dumps(real))
    (tmp_path / "eval.json").write_text(json.dumps(synthetic))
    loaded = realbugs.load_curve("a", tmp_path / "real.json", tmp_path / "eval.json", "detector")
    assert loaded == a  # (no model recorded)
    argv = ["compare", "--recall", "0.4"]
    for name in ("a", "b"):
        argv += ["--model", name, str(tmp_path / "real.json"), str(tmp_path / "eval.json"), "detector"]
    assert realbugs.main([*argv, "--out", str(tmp_path / "c.md")]) == 0
    assert "| 1.00 [1.00, 1.00] |" in (tmp_path / "c.md").read_text()
    assert realbugs.main([*argv[:-1], "baseline"]) == 2  # no such key
    assert (
        realbugs.main(
            ["compare", "--model", "a", str(tmp_path / "none.json"), str(tmp_path / "eval.json"), "detector"]
        )
        == 2
    )
