"""Real bug fixes mined from the release history of the held-out packages, and the detector on them.

Injected bugs say how well the detector learned its task; real fixes say how it
behaves on the mistakes people make and on the code they ship. No training corpus
contains the held-out distributions (``heldout_packages.txt``), so their history is
unseen code.

``codegraph realbugs mine --out data/realbugs [--releases 8]``

1. for each held-out distribution, its last ``--releases`` final releases (``pip
   index versions``) are downloaded as sdists (resumable, like the corpus);
2. for each pair of consecutive releases and each Python file present in both with
   different content, every function (matched by qualified name) whose text changed
   is tried against codegraph's own candidate enumeration on the *old* text: when
   exactly one candidate repair turns the old function into the new one, the old
   function is a real bug of that rule and the new function is its fix. Changes of
   any other shape (several edits, new code, formatting) are not bugs of a known kind
   and are left out. Whether a matching change really fixed a bug is not checked: a
   literal changed from 10 to 30 between releases counts as a CG006 fix;
3. the old and new files go to ``DIR/files/PACKAGE/VERSION/PATH`` and one JSON line
   per fix to ``DIR/samples.jsonl``.

``codegraph realbugs eval --data data/realbugs [--checkpoint PATH] [--out FILE]``
runs the detector (each file on its own, as ``codegraph scan`` of a single file does)
on every sample and reports, over confidence thresholds: the fixes found (the buggy
function's most likely location and repair are the real fix, at that confidence or
above), the fixed functions still flagged, and the share of functions flagged in
released code (mostly correct: the false-alarm rate), both in the newer files of the
fixes and in a seeded sample of ``--latest-files`` files per package of each newest
downloaded release.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tarfile
import time
import zipfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from packaging.version import InvalidVersion, Version
from rich.console import Console

from codegraph.config import Settings
from codegraph.graph import build_file_graph
from codegraph.models.predict import best_pair
from codegraph.models.training.corpus import (
    DOWNLOAD_TIMEOUT_S,
    MAX_FILE_BYTES,
    CorpusError,
    PinnedPackage,
    fetch_one,
    iter_archive_python,
    normalize_name,
    pip_download,
    pip_error,
    read_heldout,
)
from codegraph.models.training.evaluate import THRESHOLDS  # the same grid as `codegraph eval`
from codegraph.pipeline import Analyzer
from codegraph.rules import RULE_CODES as RULES
from codegraph.schema import CodeGraph
from codegraph.syntax import SourceError, check_source
from codegraph.units import AnalysisUnit

HERE = Path(__file__).resolve().parent
DEFAULT_PACKAGES = HERE / "heldout_packages.txt"
SAMPLES_NAME = "samples.jsonl"
LATEST_FILES_PER_PACKAGE = 25
#: the label of the newest-release population (reports and JSON)
NEWEST = "newest releases"


@dataclass(frozen=True)
class RealFix:
    """One mined fix: ``function`` in ``path`` went from ``old_version`` (buggy) to ``new_version``."""

    package: str
    old_version: str
    new_version: str
    path: str  # inside the sdist's root folder, POSIX
    function: str  # qualified name
    rule: str
    token: str  # the repair token of codegraph's enumeration
    line: int  # 1-based line of the edit in the old file

    def old_file(self, root: Path) -> Path:
        return root / "files" / self.package / self.old_version / self.path

    def new_file(self, root: Path) -> Path:
        return root / "files" / self.package / self.new_version / self.path


# --------------------------------------------------------------------------- matching


def function_text(graph: CodeGraph, qualname: str) -> bytes | None:
    """The source bytes of the function ``qualname`` (None when absent or defined twice)."""
    found = [f for f in graph.functions if f.qualname == qualname]
    if len(found) != 1:
        return None
    node = found[0].node
    return graph.source[graph.start_byte[node] : graph.end_byte[node]]


def matching_repair(graph: CodeGraph, unit: AnalysisUnit, fixed: bytes) -> tuple[int, int] | None:
    """(candidate, repair) of ``unit`` whose repair turns its function into ``fixed``, if exactly one does."""
    node = next(f.node for f in graph.functions if f.qualname == unit.function)
    start, end = graph.start_byte[node], graph.end_byte[node]
    text = graph.source[start:end]
    hits = []
    for ci, cand in enumerate(unit.candidates):
        for ri, rep in enumerate(cand.repairs):
            if not start <= rep.start_byte <= rep.end_byte <= end:
                continue
            a, b = rep.start_byte - start, rep.end_byte - start
            if text[:a] + rep.replacement.encode("utf-8") + text[b:] == fixed:
                hits.append((ci, ri))
    return hits[0] if len(hits) == 1 else None


def fixes_between(
    analyzer: Analyzer, old: bytes, new: bytes, path: str
) -> Iterator[tuple[str, str, str, int]]:
    """(function, rule, token, line) of each function of ``old`` that one known repair makes ``new``'s."""
    try:
        g_old, g_new = build_file_graph(old, path), build_file_graph(new, path)
    except SourceError:
        return
    if g_old.has_error or g_new.has_error:
        return
    names = Counter(f.qualname for f in g_old.functions)
    changed = []
    for f in g_old.functions:
        if names[f.qualname] != 1:
            continue
        before, after = function_text(g_old, f.qualname), function_text(g_new, f.qualname)
        if before is not None and after is not None and before != after:
            changed.append((f.qualname, after))
    if not changed:
        return
    fixed_text = dict(changed)
    for unit in analyzer.units(g_old, None, fixed_text):
        hit = matching_repair(g_old, unit, fixed_text[unit.function])
        if hit is None:
            continue
        rep = unit.candidates[hit[0]].repairs[hit[1]]
        line = g_old.source.count(b"\n", 0, rep.start_byte) + 1
        yield unit.function, rep.rule, rep.token, line


# --------------------------------------------------------------------------- mining


def final_releases(name: str, count: int) -> list[str]:
    """The last ``count`` final (not pre- or dev-) releases of ``name``, oldest first, from pip's index."""
    command = [sys.executable, "-m", "pip", "index", "versions", name, "--disable-pip-version-check"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=DOWNLOAD_TIMEOUT_S, check=False)
    if result.returncode != 0:
        raise CorpusError(pip_error(result.stderr or result.stdout) or f"pip exited with {result.returncode}")
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("Available versions:")), "")
    versions = []
    for text in line.removeprefix("Available versions:").split(","):
        try:
            v = Version(text.strip())
        except InvalidVersion:
            continue
        if not (v.is_prerelease or v.is_devrelease):
            versions.append(v)
    return [str(v) for v in sorted(set(versions))[-count:]]


def release_files(archive: Path) -> dict[str, bytes]:
    """The Python files of one sdist that codegraph can read, by path."""
    out: dict[str, bytes] = {}
    for path, size, read in iter_archive_python(archive):
        if size > MAX_FILE_BYTES:
            continue
        data = read()
        try:
            check_source(data)
        except SourceError:
            continue
        if b"def " in data:
            out[path.as_posix()] = data
    return out


def mine_package(
    name: str, versions: Sequence[str], sdists: Path, out: Path, analyzer: Analyzer, console: Console
) -> list[RealFix]:
    """Fixes between consecutive ``versions`` of one distribution (their files written below ``out``)."""
    fixes: list[RealFix] = []
    previous: tuple[str, dict[str, bytes]] | None = None
    for version in versions:
        try:
            archive = fetch_one(PinnedPackage(name, version), sdists, pip_download)
            files = release_files(archive)
        except (CorpusError, OSError, subprocess.SubprocessError, EOFError) as exc:
            console.print(f"[yellow]skipped[/] {name}=={version}: {exc}")
            previous = None
            continue
        if previous is not None:
            old_version, old_files = previous
            for path in sorted(old_files.keys() & files.keys()):
                old, new = old_files[path], files[path]
                if old == new:
                    continue
                for function, rule, token, line in fixes_between(analyzer, old, new, path):
                    fix = RealFix(name, old_version, version, path, function, rule, token, line)
                    for target, data in ((fix.old_file(out), old), (fix.new_file(out), new)):
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(data)
                    fixes.append(fix)
        previous = (version, files)
    return fixes


def mine(packages: Sequence[str], releases: int, out: Path, console: Console) -> list[RealFix]:
    """Mine every package (``out/sdists`` keeps the downloads) and write ``out/samples.jsonl``."""
    analyzer = Analyzer(Settings())
    sdists = out / "sdists"
    fixes: list[RealFix] = []
    for name in packages:
        try:
            versions = final_releases(name, releases)
        except (CorpusError, subprocess.SubprocessError) as exc:
            console.print(f"[yellow]skipped[/] {name}: {exc}")
            continue
        start = time.perf_counter()
        found = mine_package(name, versions, sdists, out, analyzer, console)
        fixes += found
        console.print(
            f"{name}: {len(versions)} releases ({versions[0] if versions else '-'} .. "
            f"{versions[-1] if versions else '-'}), {len(found)} fixes, {time.perf_counter() - start:.0f} s"
        )
        write_samples(out / SAMPLES_NAME, fixes)
    return fixes


def write_samples(path: Path, fixes: Sequence[RealFix]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(asdict(f)) + "\n" for f in fixes), encoding="utf-8")
    tmp.replace(path)


def read_samples(root: Path) -> list[RealFix]:
    path = root / SAMPLES_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: run `codegraph realbugs mine --out {root}` first")
    return [RealFix(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line]


# --------------------------------------------------------------------------- evaluation


@dataclass
class SampleResult:
    """The detector on one mined fix."""

    fix: RealFix
    found: float  # confidence of the real fix when it is the most likely pair, else 0
    buggy_top: float  # confidence of the most likely pair in the buggy function
    fixed_top: float  # ... and in the fixed function (a flag there is a false alarm)


def _top(analyzer: Analyzer, unit: AnalysisUnit) -> tuple[int, int, float] | None:
    pred = analyzer.predictor.predict([unit])[0]
    return best_pair(pred.loc_probs, pred.rep_probs)


def evaluate_sample(analyzer: Analyzer, root: Path, fix: RealFix) -> SampleResult | None:
    """Run the detector on both sides of one fix; None when a side no longer yields the function."""
    old, new = fix.old_file(root).read_bytes(), fix.new_file(root).read_bytes()
    g_old, g_new = build_file_graph(old, fix.path), build_file_graph(new, fix.path)
    u_old = analyzer.units(g_old, None, [fix.function])
    fixed = function_text(g_new, fix.function)
    if not u_old or fixed is None:
        return None
    truth = matching_repair(g_old, u_old[0], fixed)
    top = _top(analyzer, u_old[0])
    if truth is None or top is None:
        return None
    found = top[2] if top[:2] == truth else 0.0
    u_new = analyzer.units(g_new, None, [fix.function])
    new_top = _top(analyzer, u_new[0]) if u_new else None
    return SampleResult(fix, found, top[2], new_top[2] if new_top else 0.0)


def flag_rates(analyzer: Analyzer, items: Sequence[tuple[str, bytes]]) -> tuple[int, list[float], list[str]]:
    """(functions analysed, the best confidence of each function with candidates, the first
    path component of its file: the package in a :func:`latest_release_sample`) over ``items``."""
    confidences: list[float] = []
    groups: list[str] = []
    count = 0
    for path, source in items:
        try:
            graph = build_file_graph(source, path)
        except SourceError:
            continue
        units = analyzer.units(graph, None)
        count += len(graph.functions)
        for pred in analyzer.predictor.predict(units) if units else []:
            best = best_pair(pred.loc_probs, pred.rep_probs)
            confidences.append(best[2] if best else 0.0)
            groups.append(path.split("/", 1)[0])
    return count, confidences, groups


def latest_release_sample(root: Path, per_package: int, seed: int = 0) -> list[tuple[str, bytes]]:
    """Up to ``per_package`` files (a seeded sample) of the newest downloaded release of each package."""
    newest: dict[str, tuple[Version, Path]] = {}
    for folder in sorted((root / "sdists").glob("*-*")):
        name, _, text = folder.name.rpartition("-")
        archive = next((p for p in sorted(folder.iterdir()) if p.is_file()), None)
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if archive is not None and (name not in newest or version > newest[name][0]):
            newest[name] = (version, archive)
    rng = random.Random(seed)
    items: list[tuple[str, bytes]] = []
    for name in sorted(newest):
        try:
            files = release_files(newest[name][1])
        except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile):
            continue
        for path in rng.sample(sorted(files), min(per_package, len(files))):
            items.append((f"{name}/{path}", files[path]))
    return items


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "-"


def render(
    results: Sequence[SampleResult], populations: dict[str, tuple[int, list[float]]], info: dict[str, str]
) -> str:
    n = len(results)
    lines = [
        "# Real bug fixes from the held-out packages' release history",
        "",
        *(f"- {k}: {v}" for k, v in info.items()),
        f"- fixes: {n} (each a function changed between consecutive releases by exactly one "
        "repair of codegraph's enumeration; the buggy side is the older release)",
        "",
        "## The fixes, over confidence thresholds",
        "",
        "found: the buggy function's most likely (location, repair) is the real fix, at that "
        "confidence or above; buggy flagged: any finding in the buggy function; fixed still "
        "flagged: a finding in the fixed function (a false alarm).",
        "",
        "| threshold | found | buggy flagged | fixed still flagged |",
        "|---:|---:|---:|---:|",
    ]
    for t in THRESHOLDS:
        found = sum(r.found >= t and r.found > 0 for r in results)
        buggy = sum(r.buggy_top >= t for r in results)
        fixed = sum(r.fixed_top >= t for r in results)
        lines.append(
            f"| {t:g} | {found} ({_pct(found, n)}) | {buggy} ({_pct(buggy, n)}) "
            f"| {fixed} ({_pct(fixed, n)}) |"
        )
    names = list(populations)
    lines += [
        "",
        "## Functions flagged in released code",
        "",
        "Released code is mostly correct: the share of its functions with a finding is the "
        "false-alarm rate a user sees (an upper bound: some findings may be real bugs).",
        "",
        *(
            f"- {name}: {populations[name][0]} functions, "
            f"{len(populations[name][1])} with candidate locations"
            for name in names
        ),
        "",
        "| threshold | " + " | ".join(names) + " |",
        "|---:|" + "---:|" * len(names),
    ]
    for t in THRESHOLDS:
        cells = []
        for name in names:
            functions, confidences = populations[name]
            flagged = sum(c >= t for c in confidences)
            cells.append(f"{flagged} ({_pct(flagged, functions)})")
        lines.append(f"| {t:g} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Per rule",
        "",
        "| rule | fixes | top pair is the fix (any confidence) |",
        "|---|---:|---:|",
    ]
    by_rule = Counter(r.fix.rule for r in results)
    for rule in RULES:
        if by_rule[rule]:
            hit = sum(r.found > 0 for r in results if r.fix.rule == rule)
            lines.append(f"| {rule} | {by_rule[rule]} | {hit} ({_pct(hit, by_rule[rule])}) |")
    lines += ["", "## Per package", "", "| package | releases | fixes |", "|---|---|---:|"]
    spans: dict[str, set[str]] = {}
    for r in results:
        spans.setdefault(r.fix.package, set()).update((r.fix.old_version, r.fix.new_version))
    for pkg in sorted(spans):
        vs = sorted(spans[pkg], key=Version)
        lines.append(f"| {pkg} | {vs[0]} .. {vs[-1]} | {sum(r.fix.package == pkg for r in results)} |")
    return "\n".join(lines) + "\n"


def evaluate(
    root: Path, analyzer: Analyzer, per_package: int = LATEST_FILES_PER_PACKAGE, json_out: Path | None = None
) -> str:
    """The markdown report of ``analyzer``'s model on the fixes mined into ``root``; with
    ``json_out``, also each function's best confidence per population (for ``compare``)."""
    model = analyzer.model_info()
    info = {"model": f"`{model['name']}` (sha256 {model['sha256'][:12]})"}
    fixes = read_samples(root)
    results = [r for f in fixes if (r := evaluate_sample(analyzer, root, f)) is not None]
    new_files = sorted({f.new_file(root) for f in fixes})
    populations = {
        "files of the fixes (newer release)": flag_rates(
            analyzer, [(str(p), p.read_bytes()) for p in new_files]
        ),
    }
    if per_package > 0:
        sample = latest_release_sample(root, per_package)
        populations[f"{NEWEST} ({per_package} files per package)"] = flag_rates(analyzer, sample)
    info["data"] = f"`{root}` ({len(fixes)} mined, {len(results)} still matched)"
    info["date"] = time.strftime("%Y-%m-%d")
    if json_out is not None:
        payload = {
            "model": {"name": model["name"], "sha256": model["sha256"]},
            "populations": {
                name: {"functions": n, "confidence": conf, "group": groups}
                for name, (n, conf, groups) in populations.items()
            },
            "fixes": [{"function": r.fix.function, "path": r.fix.path, "found": r.found} for r in results],
        }
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(payload) + "\n", encoding="utf-8")
    return render(results, {k: v[:2] for k, v in populations.items()}, info)


# --------------------------------------------------------------------------- compare


@dataclass
class Curve:
    """One model: its synthetic recall over thresholds (``codegraph eval --json``'s ``curve``)
    and its best confidence per function of released code (``codegraph realbugs eval --json``)."""

    name: str
    recall: list[tuple[float, float]]  # (threshold, recall), thresholds ascending
    confidence: list[float]
    group: list[str]
    model: str = ""  # the checkpoint's name and sha256, as the real-code JSON records them

    def threshold_for(self, target: float) -> tuple[float, float] | None:
        """The highest threshold whose synthetic recall is at least ``target``, and that recall."""
        ok = [(t, r) for t, r in self.recall if r >= target]
        return max(ok) if ok else None


def read_json_report(path: Path) -> dict[str, Any]:
    """The JSON object that ``codegraph eval --json`` or ``realbugs eval --json`` wrote;
    raises FileNotFoundError / ValueError."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileNotFoundError(f"{path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return data


def eval_curve(synthetic: dict[str, Any], key: str, path: Path) -> list[dict[str, Any]]:
    """The 0.01-step ``curve`` of model ``key`` in a ``codegraph eval --json`` report."""
    if key not in synthetic or "curve" not in synthetic[key]:
        raise ValueError(f"{path}: no curve for {key!r} (written by `codegraph eval --json`)")
    curve: list[dict[str, Any]] = synthetic[key]["curve"]
    return curve


def load_curve(name: str, real_json: Path, eval_json: Path, key: str) -> Curve:
    """A :class:`Curve` from the two JSON files; raises FileNotFoundError / ValueError."""
    real = read_json_report(real_json)
    population = next((v for k, v in real.get("populations", {}).items() if k.startswith(NEWEST)), None)
    if population is None:
        raise ValueError(f"{real_json}: no newest-release population (written by `realbugs eval --json`)")
    curve = eval_curve(read_json_report(eval_json), key, eval_json)
    recall = sorted((float(r["threshold"]), float(r["recall"])) for r in curve)
    model = real.get("model", {})
    label = f"`{model.get('name')}` (sha256 {str(model.get('sha256'))[:12]})" if model else ""
    return Curve(name, recall, [float(c) for c in population["confidence"]], list(population["group"]), label)


class PackageBootstrap:
    """Ratios of flag counts over one population of functions, with 95% intervals from
    ``draws`` resamplings of its packages (functions of one package are not independent)."""

    def __init__(self, group: Sequence[str], draws: int = 2000, seed: int = 0) -> None:
        self.packages = sorted(set(group))
        index = {p: i for i, p in enumerate(self.packages)}
        self.member = np.array([index[g] for g in group], dtype=np.int64)
        k = len(self.packages)
        rng = np.random.default_rng(seed)
        self.weights = np.stack([np.bincount(rng.integers(0, k, k), minlength=k) for _ in range(draws)])

    def counts(self, flagged: np.ndarray) -> np.ndarray:
        """Flags per package for a boolean mask over the functions."""
        return np.bincount(self.member[flagged], minlength=len(self.packages))

    def ratio(self, counts: np.ndarray, reference: np.ndarray) -> tuple[float, float, float] | None:
        """(ratio of the totals, 2.5th and 97.5th percentile) of ``counts`` over ``reference``;
        None when the reference has no flags."""
        if reference.sum() == 0:
            return None
        boot = (self.weights @ counts) / np.maximum(self.weights @ reference, 1)
        lo, hi = np.percentile(boot, [2.5, 97.5])
        return float(counts.sum() / reference.sum()), float(lo), float(hi)


def compare(curves: Sequence[Curve], targets: Sequence[float], draws: int = 2000, seed: int = 0) -> str:
    """Markdown: at each synthetic recall target, each model's threshold and the share of
    released functions it flags; against the first model, the ratio of flags with a 95%
    bootstrap interval that resamples packages (the same functions for every model)."""
    first = curves[0]
    for c in curves[1:]:
        if c.group != first.group:
            raise ValueError(f"{c.name} was evaluated on other released functions than {first.name}")
    boot = PackageBootstrap(first.group, draws, seed)
    packages = boot.packages
    total = len(first.group)
    lines = [
        "# Flags on released code at equal recall of injected bugs",
        "",
        *(f"- {c.name}: {c.model}" for c in curves if c.model),
        "",
        f"Released functions: {total:,} with candidate locations in {len(packages)} packages. At each "
        "recall of injected bugs (test units), each model at the highest threshold that reaches it; "
        f"flags against {first.name}'s, with a 95% interval from {draws:,} draws of packages.",
        "",
        "| recall at least | " + " | ".join(f"{c.name}: threshold, recall, flagged" for c in curves)
        + "".join(f" | {c.name} / {first.name}" for c in curves[1:]) + " |",
        "|---:|" + "---:|" * (len(curves) + len(curves) - 1),
    ]  # fmt: skip
    confidences = [np.array(c.confidence) for c in curves]
    for target in targets:
        cells: list[str] = []
        counts: list[Any] = []  # per model: flags per package, or None where the recall is out of reach
        for c, conf in zip(curves, confidences):
            point = c.threshold_for(target)
            if point is None:
                cells.append("-")
                counts.append(None)
                continue
            flagged = conf >= point[0]
            counts.append(boot.counts(flagged))
            cells.append(
                f"{point[0]:.2f}, {100 * point[1]:.1f}%, {int(flagged.sum())} ({100 * flagged.mean():.2f}%)"
            )
        ratios = []
        for n in counts[1:]:
            r = None if n is None or counts[0] is None else boot.ratio(n, counts[0])
            ratios.append("-" if r is None else f"{r[0]:.2f} [{r[1]:.2f}, {r[2]:.2f}]")
        lines.append(f"| {100 * target:.0f}% | " + " | ".join(cells + ratios) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codegraph realbugs", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    m = sub.add_parser("mine", help="mine fixes from the held-out packages' releases")
    m.add_argument("--out", type=Path, default=Path("data/realbugs"))
    m.add_argument("--releases", type=int, default=8, help="final releases per package (default 8)")
    m.add_argument(
        "--packages", type=Path, default=DEFAULT_PACKAGES, help="held-out list (one name per line)"
    )
    m.add_argument("--only", nargs="*", default=None, help="mine these distributions only")
    e = sub.add_parser("eval", help="run the detector on the mined fixes")
    e.add_argument("--data", type=Path, default=Path("data/realbugs"))
    e.add_argument("--checkpoint", default=None, help="checkpoint (default: the shipped model)")
    e.add_argument("--out", type=Path, default=None, help="write the markdown report here")
    e.add_argument(
        "--latest-files",
        type=int,
        default=LATEST_FILES_PER_PACKAGE,
        help=f"files per package of each newest release to count flags in ({LATEST_FILES_PER_PACKAGE})",
    )
    e.add_argument("--json", type=Path, default=None, help="also write each function's best confidence here")
    c = sub.add_parser(
        "compare",
        help="flags on released code of several models at equal recall of injected bugs",
    )
    c.add_argument(
        "--model",
        nargs=4,
        action="append",
        required=True,
        metavar=("NAME", "REAL_JSON", "EVAL_JSON", "KEY"),
        help="a model: its `realbugs eval --json` file, a `codegraph eval --json` file and the model's key "
        "there (detector or baseline); the first is the reference",
    )
    c.add_argument("--recall", type=float, nargs="+", default=[0.30, 0.35, 0.40, 0.45, 0.50])
    c.add_argument("--draws", type=int, default=2000, help="bootstrap draws of packages")
    c.add_argument("--out", type=Path, default=None, help="write the markdown here")
    x = sub.add_parser(
        "sample",
        help="write the seeded sample of newest-release files that `eval` counts flags in, to scan or review",
    )
    x.add_argument("--data", type=Path, default=Path("data/realbugs"))
    x.add_argument("--out", type=Path, required=True, help="directory to write PACKAGE/PATH files into")
    x.add_argument("--latest-files", type=int, default=LATEST_FILES_PER_PACKAGE, help="files per package")
    r = sub.add_parser(
        "review",
        help="print a seeded sample of a `codegraph scan --format json` report's findings with their code, "
        "to judge by hand",
    )
    r.add_argument("report", type=Path, help="the JSON report (paths in it relative to --root)")
    r.add_argument("--root", type=Path, default=Path("."), help="where the scan ran (default: .)")
    r.add_argument("--count", type=int, default=30, help="findings to draw (default 30)")
    r.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    r.add_argument("--context", type=int, default=8, help="source lines shown above each finding (default 8)")
    return p


def review_sample(report: dict, count: int, seed: int) -> list[dict]:
    """``count`` findings of a scan report drawn without replacement (seeded), in the drawn order."""
    findings = sorted(
        report.get("findings", []), key=lambda f: (f["path"], f["line"], f["column"], f["rule"])
    )
    random.Random(seed).shuffle(findings)
    return findings[:count]


def render_review(findings: Sequence[dict], root: Path, context: int) -> str:
    """Markdown: each finding with its message, related locations and the code above and below it."""
    out = []
    for i, f in enumerate(findings, 1):
        head = f"## {i}. `{f['path']}:{f['line']}` {f['rule']} {f['confidence']:.2f} `{f['function']}`"
        out += [head, "", f"{f['message']}", ""]
        out += [f"- line {r['line']}: {r['message']}" for r in f.get("related", [])]
        try:
            lines = (root / f["path"]).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            out += ["", f"(source unavailable: {exc})", ""]
            continue
        first, last = max(1, f["line"] - context), min(len(lines), f["line"] + 3)
        out += ["", "```python"]
        out += [f"{'>>' if n == f['line'] else '  '} {n:5d} {lines[n - 1]}" for n in range(first, last + 1)]
        out += ["```", ""]
    return "\n".join(out)


def write_sample(root: Path, out: Path, per_package: int) -> int:
    """Write :func:`latest_release_sample` under ``out`` (``PACKAGE/PATH``); the number of files."""
    items = latest_release_sample(root, per_package)
    for name, source in items:
        target = out / name
        if not target.resolve().is_relative_to(out.resolve()):
            raise CorpusError(f"refusing to write outside {out}: {name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(source)
    return len(items)


def emit_markdown(text: str, out: Path | None, console: Console) -> None:
    """Write a report to ``out`` (creating its folder) and say so, or print it to stdout."""
    if out is None:
        print(text, end="")
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    console.print(f"wrote {out}")


def main(argv: Sequence[str] | None = None) -> int:
    from codegraph.models.predict import ModelError

    args = _parser().parse_args(argv)
    console = Console(stderr=True)
    try:
        if args.command == "mine":
            names = sorted(read_heldout(args.packages).distributions)
            if args.only:
                wanted = {normalize_name(n) for n in args.only}
                names = [n for n in names if n in wanted]
            fixes = mine(names, args.releases, args.out, console)
            console.print(f"{len(fixes)} fixes in {args.out / SAMPLES_NAME}")
            return 0
        if args.command == "review":
            try:
                report = json.loads(args.report.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
                console.print(f"codegraph realbugs: cannot read the scan report {args.report}: {exc}")
                return 2
            print(render_review(review_sample(report, args.count, args.seed), args.root, args.context))
            return 0
        if args.command == "compare":
            if len(args.model) < 2:
                console.print("codegraph realbugs compare: give --model at least twice")
                return 2
            curves = [load_curve(name, Path(real), Path(ev), key) for name, real, ev, key in args.model]
            emit_markdown(compare(curves, args.recall, draws=args.draws), args.out, console)
            return 0
        if args.command == "sample":
            count = write_sample(args.data, args.out, args.latest_files)
            console.print(f"{count} files under {args.out}")
            return 0
        analyzer = Analyzer(Settings(model=args.checkpoint) if args.checkpoint else Settings())
        report = evaluate(args.data, analyzer, args.latest_files, args.json)
    except (FileNotFoundError, ValueError, CorpusError, ModelError) as exc:
        console.print(f"codegraph realbugs: {exc}")
        return 2
    emit_markdown(report, args.out, console)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
