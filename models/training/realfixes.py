"""Real fixes (``codegraph train mine``) as training units, and the detector measured on them.

Each mined fix becomes up to three kinds of analysis units, built as ``codegraph scan``
builds them for one file on its own:

- the *buggy* unit: the function (innermost def) around the fixed line in the buggy
  file (at module level, the module's own unit), with ``bug`` / ``fix`` set to the
  candidate and repair of codegraph's enumeration that turn the buggy line into the
  fixed one (the fix is *expressible* when one exists; otherwise the unit cannot be a
  labelled training sample);
- the *fixed* unit: the same function in the fixed file, a negative (no bug) that
  differs from the buggy unit by the one token of the fix;
- *clean* units: up to ``--clean`` other functions of the buggy file, drawn with a seed
  per fix (negatives from the same code base, at the same commit).

``codegraph train realfixes build --data data/realfixes --out data/realfix-dataset``
writes ``OUT/SPLIT/NNNNN.pt`` shards (the training format of ``codegraph train run``)
with the shipped model's vocabulary (``OUT/vocab.json``) and ``OUT/manifest-SPLIT.json``
(per split and rule: fixes, expressible fixes, units).

:func:`score_fixes` runs a checkpoint on the buggy and fixed units of a split, one
:class:`Scored` per fix; :func:`metrics` turns them into localisation, repair and joint
accuracy (top-1 at any confidence) and, at a threshold, the recall of fixes and the
share of fixed functions flagged. ``codegraph train eval --real-fixes`` reports them.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from codegraph.command import CommandError
from codegraph.config import Settings
from codegraph.models.training.mining import (
    DEFAULT_OUT,
    SPLITS,
    byte_range,
    fixed_source,
    function_units,
    innermost_function,
    line_repairs,
    read_split,
)

RULES = [f"CG00{k}" for k in range(1, 9)]
SHARD_UNITS = 100
DEFAULT_DATASET = Path("data/realfix-dataset")


# --------------------------------------------------------------------------- units of one fix


def matching_repair(
    graph: Any, unit: Any, rec: dict[str, Any], span: tuple[int, int, int, int]
) -> tuple[int, int] | None:
    """(candidate, repair) of ``unit`` that turns the buggy line into the fixed line, if any."""
    _, _, line_start, line_end = span
    hits = line_repairs(graph.source, unit.candidates, line_start, line_end, rec["fixed_line"], loose=True)
    return hits[0] if hits else None


@dataclass
class FixUnits:
    buggy: Any | None  # AnalysisUnit with bug/fix set when expressible, else without labels
    fixed: Any | None
    clean: list[Any]
    match: tuple[int, int] | None
    bug_span: tuple[int, int]
    reason: str = ""
    graph: Any = None  # the buggy file's CodeGraph


def fix_units(rec: dict[str, Any], *, clean: int = 0, seed: int = 0, budget: int | None = None) -> FixUnits:
    """The buggy, fixed and clean units of one record (see the module docstring)."""
    from codegraph.graph import build_file_graph
    from codegraph.syntax import SourceError

    budget = budget or Settings().budget
    source = rec["source"]
    span = byte_range(source, rec)
    try:
        g_old = build_file_graph(source.encode("utf-8"), rec["path"])
        g_new = build_file_graph(fixed_source(rec).encode("utf-8"), rec["path"])
    except (SourceError, RecursionError) as exc:
        return FixUnits(None, None, [], None, span[:2], f"graph: {exc}")
    if g_old.has_error or g_new.has_error:
        return FixUnits(None, None, [], None, span[:2], "syntax")
    f_old = innermost_function(g_old, span[0])
    f_new = innermost_function(g_new, span[0])
    from codegraph.rules import analysis_functions

    others = [f for f in analysis_functions(g_old) if f.node != f_old.node and f.qualname != f_old.qualname]
    rng = random.Random(f"{seed}|{rec['id']}")
    picked = rng.sample(others, min(clean, len(others))) if clean else []
    units = function_units(g_old, [f_old, *picked], budget)
    buggy, clean_units = units[0], [u for u in units[1:] if u.candidates]
    (fixed,) = function_units(g_new, [f_new], budget)
    match = matching_repair(g_old, buggy, rec, span) if buggy.candidates else None
    if match is not None:
        buggy.bug, buggy.fix = match
    buggy.meta["rule"] = rec["rule"]
    return FixUnits(buggy, fixed, clean_units, match, span[:2], graph=g_old)


# --------------------------------------------------------------------------- dataset


class _ShardWriter:
    def __init__(self, target: Path, prefix: str = "") -> None:
        self.target, self.shard, self.prefix = target, 0, prefix
        self.buffer: list[Any] = []
        target.mkdir(parents=True, exist_ok=True)
        for old in target.glob(f"{prefix}*.pt"):
            old.unlink()

    def add(self, packed: Any) -> None:
        self.buffer.append(packed)
        if len(self.buffer) >= SHARD_UNITS:
            self.flush()

    def flush(self) -> None:
        from codegraph.models.tensors import save_shard
        from codegraph.models.training.dataset import unpack

        if self.buffer:
            save_shard([unpack(p) for p in self.buffer], self.target / f"{self.prefix}{self.shard:05d}.pt")
            self.buffer, self.shard = [], self.shard + 1


def build_dataset(
    data: Path,
    out: Path,
    *,
    clean: int,
    seed: int,
    splits: Sequence[str],
    checkpoint: str | None,
    rules: Sequence[str] = RULES,
    part: tuple[int, int] = (0, 1),
    log: Any = print,
) -> dict[str, Any]:
    """Shards of every split's pairs (``OUT/SPLIT``: the buggy unit when expressible and the fixed
    unit) and clean units (``OUT/clean/SPLIT``, a dataset of its own), and the manifest.

    Only fixes of ``rules`` are read (the others' repairs are outside the enumeration). With
    ``part=(k, n)`` only every n-th fix from the k-th is built, into shards named ``k-*.pt``, so
    n processes can share a build."""
    from codegraph.models.predict import load_predictor
    from codegraph.models.training.dataset import NO_BUG, pack

    predictor = load_predictor(checkpoint)
    out.mkdir(parents=True, exist_ok=True)
    (out / "clean").mkdir(parents=True, exist_ok=True)
    predictor.vocab.save(out / "vocab.json")
    predictor.vocab.save(out / "clean" / "vocab.json")
    manifest: dict[str, Any] = {
        "format": "codegraph-realfix-dataset",
        "clean": clean,
        "seed": seed,
        "splits": {},
    }
    for split in splits:
        k, parts = part
        recs = [r for r in read_split(data, split) if r["rule"] in rules][k::parts]
        prefix = f"{k}-" if parts > 1 else ""
        pairs, others = _ShardWriter(out / split, prefix), _ShardWriter(out / "clean" / split, prefix)
        counts: dict[str, Counter] = {"fixes": Counter(), "expressible": Counter(), "units": Counter()}
        reasons: Counter = Counter()
        start = time.perf_counter()
        for n, rec in enumerate(recs, 1):
            counts["fixes"][rec["rule"]] += 1
            try:
                fu = fix_units(rec, clean=clean, seed=seed)
            except Exception as exc:  # a file the graph builder cannot take: counted, never hidden
                reasons[f"error: {type(exc).__name__}"] += 1
                continue
            if fu.reason:
                reasons[fu.reason] += 1
            if fu.match is None or fu.buggy is None:
                continue
            counts["expressible"][rec["rule"]] += 1
            pairs.add(pack(predictor.tensors(fu.buggy)))
            counts["units"]["buggy"] += 1
            if fu.fixed is not None and fu.fixed.candidates:
                pairs.add(pack(predictor.tensors(fu.fixed)))
                counts["units"]["fixed"] += 1
            for unit in fu.clean:
                others.add(pack(predictor.tensors(unit)))
                counts["units"][NO_BUG] += 1
            if n % 100 == 0:
                log(
                    f"{split}: {n}/{len(recs)} fixes, {dict(counts['units'])}, "
                    f"{time.perf_counter() - start:.0f} s"
                )
        pairs.flush()
        others.flush()
        manifest["splits"][split] = {k: dict(v) for k, v in counts.items()} | {"skipped": dict(reasons)}
        log(f"{split}: {json.dumps(manifest['splits'][split])}")
        name = f"manifest-{split}" + (f"-{k}" if parts > 1 else "") + ".json"
        (out / name).write_text(json.dumps(manifest["splits"][split], indent=1) + "\n")
    return manifest


# --------------------------------------------------------------------------- scoring


@dataclass
class Scored:
    """The detector on one fix: its top guess in the buggy function, and the fixed function's best score."""

    id: str
    repo: str
    rule: str
    expressible: bool
    confidence: float  # the buggy function's best (location, repair) score; 0 without candidates
    loc_ok: bool  # the top location holds the bug
    joint_ok: bool  # the top location and repair are the real fix
    repair_ok: bool  # at the real location, the top repair is the real one (expressible fixes)
    fixed_confidence: float  # the fixed function's best score (0 without candidates)
    lines: int  # lines of the buggy file


def _location_span(graph: Any, unit: Any, ci: int) -> tuple[int, int]:
    cand = unit.candidates[ci]
    starts = [r.start_byte for r in cand.repairs]
    ends = [r.end_byte for r in cand.repairs]
    _, node = unit.origin[cand.node]
    return min([graph.start_byte[node], *starts]), max([graph.end_byte[node], *ends])


def _overlaps(a: tuple[int, int], b: tuple[int, int]) -> bool:
    if b[0] == b[1]:  # an insertion point
        return a[0] <= b[0] <= a[1]
    return a[0] < b[1] and b[0] < a[1]


def _unit_lines(graph: Any, unit: Any) -> int:
    _, node = unit.origin[0]
    return int(graph.source.count(b"\n", graph.start_byte[node], graph.end_byte[node]) + 1)


def score_inputs(rec: dict[str, Any], predictor: Any, clean: int = 0, seed: int = 0) -> dict[str, Any]:
    """What scoring a fix needs, model-independent: its units as tensors, the real fix, the
    candidates whose location holds the bug; computed once, scored by any checkpoint of the same
    features (:func:`score_cached`)."""
    from codegraph.models.training.dataset import pack

    entry: dict[str, Any] = {"id": rec["id"], "repo": rec["repo"], "rule": rec["rule"], "units": []}
    entry["lines"] = rec["source"].count("\n") + 1
    try:
        fu = fix_units(rec, clean=clean, seed=seed)
    except Exception:  # a file the graph builder cannot take: scored as a miss
        fu = FixUnits(None, None, [], None, (0, 0), "error")
    entry["match"] = list(fu.match) if fu.match is not None else None
    entry["overlap"] = []
    roles = [("buggy", fu.buggy), ("fixed", fu.fixed)] + [("clean", u) for u in fu.clean]
    for role, unit in roles:
        if unit is None or not unit.candidates:
            continue
        if role == "buggy":
            entry["overlap"] = [
                ci
                for ci in range(len(unit.candidates))
                if _overlaps(_location_span(fu.graph, unit, ci), fu.bug_span)
            ]
        entry["units"].append(
            {
                "role": role,
                "data": pack(predictor.tensors(unit)),
                "repairs": [len(c.repairs) for c in unit.candidates],
                "lines": _unit_lines(fu.graph, unit) if role == "clean" else 0,
            }
        )
    return entry


def _chunk_probs(predictor: Any, packed: list[dict[str, Any]]) -> tuple[list[float], list[float]]:
    """P(location) of every candidate and P(repair) of every repair of a few packed units, with the
    torch model of a checkpoint or with its runtime model (onnxruntime, what scans run)."""
    from codegraph.models.runtime import RuntimePredictor

    if isinstance(predictor, RuntimePredictor):
        from codegraph.models.tensorize import UnitArrays

        fields = [{k: v for k, v in p.items() if k != "num_nodes"} for p in packed]
        arrays = [UnitArrays(p["num_nodes"], **f) for p, f in zip(packed, fields, strict=True)]
        _, p_loc, p_rep = predictor.probabilities(arrays)
        return p_loc.tolist(), p_rep.tolist()
    import torch

    from codegraph.models.tensors import collate
    from codegraph.models.training.dataset import unpack

    with torch.inference_mode():
        logits = predictor.model(collate([unpack(p) for p in packed]))
        _, t_loc, t_rep = (t.exp().tolist() for t in logits.log_probs(predictor.t_loc, predictor.t_rep))
    return t_loc, t_rep


def _best_of(
    predictor: Any, packed: list[dict[str, Any]], repairs: list[list[int]], at: list[int | None]
) -> list[tuple[tuple[int, int, float] | None, int | None]]:
    """Per unit given as packed model inputs: its most likely (candidate, repair, confidence), and
    the most likely repair at candidate ``at`` (None where ``at`` is None)."""
    from codegraph.models.runtime import best_pair

    out: list[tuple[tuple[int, int, float] | None, int | None]] = []
    for lo in range(0, len(packed), 32):
        loc, rep = _chunk_probs(predictor, packed[lo : lo + 32])
        c0 = r0 = 0
        for counts, ci in zip(repairs[lo : lo + 32], at[lo : lo + 32]):
            loc_probs = loc[c0 : c0 + len(counts)]
            rep_probs = []
            for k in counts:
                rep_probs.append(rep[r0 : r0 + k])
                r0 += k
            c0 += len(counts)
            top = None if ci is None else max(range(len(rep_probs[ci])), key=rep_probs[ci].__getitem__)
            out.append((best_pair(loc_probs, rep_probs), top))
    return out


#: a checkpoint named ``runtime:NAME`` is scored with its runtime model (the ONNX file its
#: sidecar records, float32 or int8), not with its torch model
RUNTIME_PREFIX = "runtime:"


def load_scorer(checkpoint: str | None) -> Any:
    """The torch predictor of ``checkpoint`` (None: the shipped model), or its runtime model when
    it is named ``runtime:NAME``."""
    if checkpoint is not None and checkpoint.startswith(RUNTIME_PREFIX):
        from codegraph.models.runtime import load_runtime

        rest = checkpoint[len(RUNTIME_PREFIX) :]
        return load_runtime(None if rest in ("", "shipped") else rest)
    from codegraph.models.predict import load_predictor

    return load_predictor(checkpoint)


def score_cached(
    entries: Sequence[dict[str, Any]], checkpoint: str | None
) -> tuple[list[Scored], list[tuple[float, int]]]:
    """Scored fixes and (best confidence, lines) of each clean unit, from :func:`score_inputs` entries
    (``checkpoint``: see :func:`load_scorer`)."""
    predictor = load_scorer(checkpoint)
    flat = [(k, u) for k, e in enumerate(entries) for u in e["units"]]
    at = [
        entries[k]["match"][0] if u["role"] == "buggy" and entries[k]["match"] is not None else None
        for k, u in flat
    ]
    bests = _best_of(predictor, [u["data"] for _, u in flat], [u["repairs"] for _, u in flat], at)
    per: dict[int, dict[str, Any]] = {}
    top_repair: dict[int, int | None] = {}
    clean: list[tuple[float, int]] = []
    for (k, u), (best, top) in zip(flat, bests):
        if u["role"] == "clean":
            clean.append((best[2] if best else 0.0, u["lines"]))
        else:
            per.setdefault(k, {})[u["role"]] = best
            if u["role"] == "buggy":
                top_repair[k] = top
    scored = []
    for k, e in enumerate(entries):
        got = per.get(k, {})
        b, f = got.get("buggy"), got.get("fixed")
        match = tuple(e["match"]) if e["match"] is not None else None
        conf = b[2] if b else 0.0
        loc_ok = b is not None and (b[0] in e["overlap"] or (match is not None and b[0] == match[0]))
        joint_ok = b is not None and match is not None and (b[0], b[1]) == match
        repair_ok = match is not None and top_repair.get(k) == match[1]
        scored.append(
            Scored(
                e["id"],
                e["repo"],
                e["rule"],
                match is not None,
                float(conf),
                loc_ok,
                joint_ok,
                repair_ok,
                float(f[2]) if f else 0.0,
                e["lines"],
            )
        )
    return scored, clean


def metrics(scored: Sequence[Scored], threshold: float) -> dict[str, float | int]:
    """Accuracies at any confidence, recall and fixed functions flagged at ``threshold``."""
    n = len(scored)
    expr = [s for s in scored if s.expressible]
    return {
        "fixes": n,
        "expressible": len(expr),
        "localisation": sum(s.loc_ok for s in scored) / max(n, 1),
        "repair": sum(s.repair_ok for s in expr) / max(len(expr), 1),
        "joint": sum(s.joint_ok for s in scored) / max(n, 1),
        "recall": sum(s.joint_ok and s.confidence >= threshold for s in scored) / max(n, 1),
        "flagged_buggy": sum(s.confidence >= threshold for s in scored) / max(n, 1),
        "fixed_flagged": sum(s.fixed_confidence >= threshold for s in scored) / max(n, 1),
    }


def by_rule(scored: Sequence[Scored]) -> dict[str, list[Scored]]:
    groups: dict[str, list[Scored]] = {}
    for s in scored:
        groups.setdefault(s.rule, []).append(s)
    return dict(sorted(groups.items()))


def save_scored(scored: Iterable[Scored], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(asdict(s)) + "\n" for s in scored), encoding="utf-8")


def load_scored(path: Path) -> list[Scored]:
    return [
        Scored(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()
    ]


def iter_split(data: Path, split: str, limit: int | None = None, seed: int = 0) -> Iterator[dict[str, Any]]:
    recs = read_split(data, split)
    if limit is not None and limit < len(recs):
        recs = random.Random(seed).sample(recs, limit)
    yield from recs


# --------------------------------------------------------------------------- released code, threshold, report

#: the thresholds tried (the grid of ``codegraph eval`` and a finer top end)
GRID = [k / 100 for k in range(1, 100)] + [0.995, 0.999]


def per_kloc(released: Sequence[tuple[float, int]], threshold: float) -> float:
    """Findings per 1,000 lines of released functions (best confidence, lines) at ``threshold``."""
    return 1000 * sum(c >= threshold for c, _ in released) / max(sum(n for _, n in released), 1)


def corpus_released(path: Path) -> list[tuple[str, list[float], int]]:
    """The released-code populations of a ``codegraph train threshold flags`` file: (name, each
    function's best confidence, the lines of the files scored)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [
            (name, [float(c) for c in pop["confidence"]], int(pop["lines"]))
            for name, pop in data["populations"].items()
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CommandError(f"{path}: not a `threshold flags` file with line counts ({exc})") from None


def choose_threshold(
    valid: Sequence[Scored],
    released: Sequence[tuple[float, int]],
    *,
    max_fixed_flagged: float = 0.02,
    max_per_kloc: float = 0.3,
    corpus: Sequence[tuple[str, list[float], int]] = (),
) -> tuple[float, dict[str, float]] | None:
    """The threshold of :data:`GRID` with the highest recall of real validation fixes such that at most
    ``max_fixed_flagged`` of the fixed functions are flagged and released code gets at most
    ``max_per_kloc`` findings per 1,000 lines: the released functions of the fixes' files, and
    each ``corpus`` population (:func:`corpus_released`) too. None when no threshold of the grid
    meets them all."""
    best = None
    for t in GRID:
        m = metrics(valid, t)
        kloc = per_kloc(released, t)
        corpus_kloc = {name: 1000 * sum(c >= t for c in conf) / max(lines, 1) for name, conf, lines in corpus}
        if (
            m["fixed_flagged"] <= max_fixed_flagged
            and kloc <= max_per_kloc
            and all(k <= max_per_kloc for k in corpus_kloc.values())
        ):
            row = {
                "threshold": t,
                "recall": m["recall"],
                "fixed_flagged": m["fixed_flagged"],
                "per_kloc": kloc,
                **{f"per_kloc {name}": k for name, k in corpus_kloc.items()},
            }
            if best is None or row["recall"] > best[1]["recall"]:
                best = (t, row)
    return best


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%"


def report(
    models: dict[str, list[Scored]],
    thresholds: dict[str, float],
    linters: dict[str, list[bool]] | None,
    released: dict[str, list[tuple[float, int]]] | None = None,
    split: str = "test",
) -> str:
    """Markdown: per model and rule, accuracies at any confidence and figures at its threshold."""
    names = list(models)
    first = models[names[0]]
    out = [
        f"{len(first)} real fixes of the {split} split "
        f"({sum(s.expressible for s in first)} expressible by the candidate enumeration), "
        f"from {len({s.repo for s in first})} repositories absent from training. Localisation: the top "
        "location holds the bug; repair: at the real location the top repair is the real one (over "
        "expressible fixes); joint: the top location and repair are the real fix (over all fixes); "
        "all top-1 at any confidence. At the threshold: recall (joint and confidence >= threshold) "
        "and the fixed functions flagged (their best confidence >= threshold).",
        "",
        "| model | threshold | localisation | repair | joint | recall at threshold | fixed flagged "
        "| buggy flagged |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        m = metrics(models[name], thresholds[name])
        out.append(
            f"| {name} | {thresholds[name]:g} | {_pct(m['localisation'])} | {_pct(m['repair'])} | "
            f"{_pct(m['joint'])} | {_pct(m['recall'])} | {_pct(m['fixed_flagged'])} | "
            f"{_pct(m['flagged_buggy'])} |"
        )
    if released:
        out += [
            "",
            "Released code: other functions of the buggy files (code as committed), each on its own:",
            "",
            "| model | threshold | functions | lines | findings per 1,000 lines |",
            "|---|---:|---:|---:|---:|",
        ]
        for name in names:
            if name in released:
                rel, t = released[name], thresholds[name]
                out.append(
                    f"| {name} | {t:g} | {len(rel)} | {sum(n for _, n in rel):,} | {per_kloc(rel, t):.2f} |"
                )
    out += ["", "Per rule (joint at any confidence / recall at the threshold / fixed flagged):", ""]
    out += [
        "| rule | fixes | expressible | " + " | ".join(names) + " |",
        "|---|---:|---:|" + "---|" * len(names),
    ]
    groups = {name: by_rule(models[name]) for name in names}
    for rule, rows in by_rule(first).items():
        cells = []
        for name in names:
            m = metrics(groups[name].get(rule, []), thresholds[name])
            cells.append(f"{_pct(m['joint'])} / {_pct(m['recall'])} / {_pct(m['fixed_flagged'])}")
        out.append(
            f"| {rule} | {len(rows)} | {sum(s.expressible for s in rows)} | " + " | ".join(cells) + " |"
        )
    if linters:
        out += _linter_lines(models, linters)
    return "\n".join(out) + "\n"


def _linter_lines(models: dict[str, list[Scored]], linters: dict[str, list[bool]]) -> list[str]:
    """The report's linter tables: what each linter catches, and each model's joint accuracy on
    the fixes no linter catches and on those one does."""
    first = next(iter(models.values()))
    out: list[str] = []
    n = len(first)
    any_lint = [any(v[k] for v in linters.values()) for k in range(n)]
    out += [
        "",
        "Linters on the buggy side (a message on the fixed line that the fixed file does not have):",
        "",
    ]
    out += ["| linter | fixes caught |", "|---|---:|"]
    for lint, hits in linters.items():
        out.append(f"| {lint} | {sum(hits)} ({_pct(sum(hits) / max(n, 1))}) |")
    out.append(f"| any of them | {sum(any_lint)} ({_pct(sum(any_lint) / max(n, 1))}) |")
    out += [
        "",
        "| model | joint on the fixes no linter catches | joint on the fixes a linter catches |",
        "|---|---:|---:|",
    ]
    for name, rows in models.items():
        miss = [s for s, c in zip(rows, any_lint) if not c]
        hit = [s for s, c in zip(rows, any_lint) if c]
        out.append(
            f"| {name} | {_pct(metrics(miss, 0)['joint'])} ({len(miss)}) "
            f"| {_pct(metrics(hit, 0)['joint'])} ({len(hit)}) |"
        )
    return out


# --------------------------------------------------------------------------- CLI


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codegraph train realfixes", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="action", required=True)
    b = sub.add_parser("build", help="write the real fixes as training shards")
    b.add_argument("--data", type=Path, default=DEFAULT_OUT, help="the miner's output (split first)")
    b.add_argument("--out", type=Path, default=DEFAULT_DATASET)
    b.add_argument(
        "--clean", type=int, default=1, help="other functions of the buggy file per fix (default 1)"
    )
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--splits", nargs="+", default=list(SPLITS), choices=SPLITS)
    b.add_argument("--checkpoint", default=None, help="whose vocabulary and encodings (default: shipped)")
    b.add_argument(
        "--part", type=int, default=0, help="this process builds every --parts-th fix from this one"
    )
    b.add_argument("--parts", type=int, default=1)
    c = sub.add_parser("cache", help="compute a split's scoring inputs once (any checkpoint scores them)")
    c.add_argument("--data", type=Path, default=DEFAULT_OUT)
    c.add_argument("--split", default="test", choices=SPLITS)
    c.add_argument("--clean", type=int, default=0, help="clean functions per fix (released code)")
    c.add_argument("--limit", type=int, default=None, help="a seeded sample of this many fixes")
    c.add_argument("--part", type=int, default=0)
    c.add_argument("--parts", type=int, default=1)
    c.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("threshold", help="choose the default threshold on the real-fix validation split")
    t.add_argument(
        "--cache", type=Path, nargs="+", required=True, help="`cache --split valid --clean 1` output"
    )
    t.add_argument("--checkpoint", default=None)
    t.add_argument("--max-fixed-flagged", type=float, default=0.02)
    t.add_argument("--max-per-kloc", type=float, default=0.3)
    t.add_argument(
        "--corpus-flags",
        type=Path,
        nargs="*",
        default=[],
        help="`codegraph train threshold flags` output: more released code held to --max-per-kloc",
    )
    t.add_argument("--json", type=Path, help="write the choice and the curve here")
    e = sub.add_parser("eval", help="the real-fix test split: models side by side, per rule, linters")
    e.add_argument("--data", type=Path, default=DEFAULT_OUT)
    e.add_argument("--cache", type=Path, nargs="+", required=True, help="`cache --split test` output")
    e.add_argument("--split", choices=SPLITS, default="test", help="the split the cache holds")
    e.add_argument(
        "--model",
        nargs=3,
        action="append",
        metavar=("NAME", "CHECKPOINT", "THRESHOLD"),
        required=True,
        help="a checkpoint (`shipped`: the shipped one; `runtime:NAME`: its ONNX runtime model)",
    )
    e.add_argument("--linters", action="store_true", help="run ruff, pyflakes and pylint on the same fixes")
    e.add_argument("--linters-json", type=Path, help="the linters' catches: read when present, else written")
    e.add_argument(
        "--released", type=Path, nargs="*", default=[], help="`cache --clean 1` output: released code"
    )
    e.add_argument("--json", type=Path, default=None, help="also write every model's scores here")
    e.add_argument("--out", type=Path, default=None)
    return p


def load_cache(paths: Sequence[Path]) -> list[dict[str, Any]]:
    import torch

    entries: list[dict[str, Any]] = []
    for p in paths:
        entries += torch.load(p, weights_only=False)
    return sorted(entries, key=lambda e: e["id"])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.action == "cache":
        import torch

        from codegraph.models.predict import load_predictor

        torch.set_num_threads(1)
        predictor = load_predictor(None)
        recs = [r for r in iter_split(args.data, args.split, args.limit) if r["rule"] in RULES]
        recs = recs[args.part :: args.parts]
        entries = []
        start = time.perf_counter()
        for n, rec in enumerate(recs, 1):
            entries.append(score_inputs(rec, predictor, clean=args.clean))
            if n % 25 == 0 or n == len(recs):
                torch.save(entries, args.out)
                print(f"{n}/{len(recs)} fixes, {time.perf_counter() - start:.0f} s", flush=True)
        return 0
    if args.action == "build":
        build_dataset(
            args.data,
            args.out,
            clean=args.clean,
            seed=args.seed,
            splits=args.splits,
            checkpoint=args.checkpoint,
            part=(args.part, args.parts),
            log=lambda line: print(line, flush=True),
        )
        return 0
    if args.action == "threshold":
        valid, clean = score_cached(load_cache(args.cache), _checkpoint(args.checkpoint))
        corpus = [pop for path in args.corpus_flags for pop in corpus_released(path)]
        choice = choose_threshold(
            valid,
            clean,
            max_fixed_flagged=args.max_fixed_flagged,
            max_per_kloc=args.max_per_kloc,
            corpus=corpus,
        )
        curve = [{"threshold": t, **metrics(valid, t), "per_kloc": per_kloc(clean, t)} for t in GRID]
        if args.json:
            args.json.write_text(json.dumps({"choice": choice, "curve": curve}, indent=1) + "\n")
        print(json.dumps(choice))
        return 0 if choice is not None else 1
    entries = load_cache(args.cache)
    rel_entries = load_cache(args.released) if args.released else []
    models: dict[str, list[Scored]] = {}
    thresholds: dict[str, float] = {}
    released: dict[str, list[tuple[float, int]]] = {}
    for name, checkpoint, threshold in args.model:
        models[name], _ = score_cached(entries, _checkpoint(checkpoint))
        thresholds[name] = float(threshold)
        if rel_entries:
            released[name] = score_cached(rel_entries, _checkpoint(checkpoint))[1]
    lint = None
    if args.linters:
        from codegraph.models.training.linters import catches

        ids = [e["id"] for e in entries]
        if args.linters_json and args.linters_json.is_file():
            saved = json.loads(args.linters_json.read_text(encoding="utf-8"))
            lint = {name: [saved[name][i] for i in ids] for name in saved}
        else:
            by_id = {r["id"]: r for r in read_split(args.data, args.split)}
            lint = catches([by_id[i] for i in ids])
            if args.linters_json:
                args.linters_json.write_text(
                    json.dumps({name: dict(zip(ids, hits)) for name, hits in lint.items()}) + "\n"
                )
    text = report(models, thresholds, lint, released or None, split=args.split)
    if args.json:
        args.json.write_text(json.dumps({k: [asdict(s) for s in v] for k, v in models.items()}) + "\n")
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


def _checkpoint(name: str | None) -> str | None:
    return None if name in (None, "shipped") else name


if __name__ == "__main__":
    sys.exit(main())
