"""Real fixes (``codegraph train mine``) as training units, and the detector measured on them.

Each mined fix becomes up to three kinds of analysis units, built as ``codegraph scan``
builds them for one file on its own:

- the *buggy* unit: the function (innermost def) around the fixed line in the buggy
  file, with ``bug`` / ``fix`` set to the candidate and repair of codegraph's
  enumeration that turn the buggy line into the fixed one (the fix is *expressible*
  when one exists; otherwise the unit cannot be a labelled training sample);
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

from codegraph.config import Settings
from codegraph.models.training.mining import DEFAULT_OUT, SPLITS, read_split

RULES = [f"CG00{k}" for k in range(1, 9)]
SHARD_UNITS = 2000
DEFAULT_DATASET = Path("data/realfix-dataset")


# --------------------------------------------------------------------------- units of one fix


def byte_range(source: str, rec: dict[str, Any]) -> tuple[int, int, int, int]:
    """(bug start, bug end, line start, line end) byte offsets of a record in its UTF-8 source."""
    lines = source.splitlines(keepends=True)
    line = rec["bug"]["line"]
    line_start = sum(len(t.encode("utf-8")) for t in lines[: line - 1])
    text = lines[line - 1]
    col, end = rec["bug"]["column"] - 1, rec["bug"]["end_column"] - 1
    start = line_start + len(text[:col].encode("utf-8"))
    stop = line_start + len(text[:end].encode("utf-8"))
    return start, stop, line_start, line_start + len(text.rstrip("\r\n").encode("utf-8"))


def fixed_source(rec: dict[str, Any]) -> str:
    lines = rec["source"].splitlines(keepends=True)
    k = rec["line"] - 1
    ending = lines[k][len(lines[k].rstrip("\r\n")) :]
    lines[k] = rec["fixed_line"] + ending
    return "".join(lines)


def _squash(text: bytes) -> bytes:
    return b"".join(text.split())


def innermost_function(graph: Any, byte: int) -> Any | None:
    """The FunctionInfo of the innermost function whose text holds ``byte`` (None at module level)."""
    best, size = None, None
    for f in graph.functions:
        s, e = graph.start_byte[f.node], graph.end_byte[f.node]
        if s <= byte < e and (size is None or e - s < size):
            best, size = f, e - s
    return best


def function_units(graph: Any, funcs: Sequence[Any], budget: int) -> list[Any]:
    from codegraph.context import ContextBuilder
    from codegraph.scopes import scopes_of

    builder = ContextBuilder(graph, scopes_of(graph), None, budget=budget)
    return [builder.build(f) for f in funcs]


def matching_repair(
    graph: Any, unit: Any, rec: dict[str, Any], span: tuple[int, int, int, int]
) -> tuple[int, int] | None:
    """(candidate, repair) of ``unit`` that turns the buggy line into the fixed line, if any."""
    _, _, line_start, line_end = span
    line = graph.source[line_start:line_end]
    want = rec["fixed_line"].encode("utf-8")
    hits = []
    for ci, cand in enumerate(unit.candidates):
        for ri, rep in enumerate(cand.repairs):
            if not (line_start <= rep.start_byte <= rep.end_byte <= line_end):
                continue
            a, b = rep.start_byte - line_start, rep.end_byte - line_start
            new = line[:a] + rep.replacement.encode("utf-8") + line[b:]
            if new == want or _squash(new) == _squash(want):
                hits.append((ci, ri))
    return hits[0] if hits else None


@dataclass
class FixUnits:
    buggy: Any | None  # AnalysisUnit with bug/fix set when expressible, else without labels
    fixed: Any | None
    clean: list[Any]
    match: tuple[int, int] | None
    bug_span: tuple[int, int]
    reason: str = ""


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
    if f_old is None or f_new is None:
        return FixUnits(None, None, [], None, span[:2], "module level")
    others = [f for f in g_old.functions if f.node != f_old.node and f.qualname != f_old.qualname]
    rng = random.Random(f"{seed}|{rec['id']}")
    picked = rng.sample(others, min(clean, len(others))) if clean else []
    units = function_units(g_old, [f_old, *picked], budget)
    buggy, clean_units = units[0], [u for u in units[1:] if u.candidates]
    (fixed,) = function_units(g_new, [f_new], budget)
    match = matching_repair(g_old, buggy, rec, span) if buggy.candidates else None
    if match is not None:
        buggy.bug, buggy.fix = match
    buggy.meta["rule"] = rec["rule"]
    return FixUnits(buggy, fixed, clean_units, match, span[:2])


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
        from codegraph.models.tensorize import save_shard
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


def score_fixes(records: Sequence[dict[str, Any]], checkpoint: str | None, log=print) -> list[Scored]:
    """Run ``checkpoint`` (None: the shipped model) on each record's buggy and fixed function."""
    from codegraph.graph import build_file_graph
    from codegraph.models.predict import load_predictor

    predictor = load_predictor(checkpoint)
    out: list[Scored] = []
    start = time.perf_counter()
    for n, rec in enumerate(records, 1):
        lines = rec["source"].count("\n") + 1
        try:
            fu = fix_units(rec)
        except Exception:  # counted as a miss below
            fu = FixUnits(None, None, [], None, (0, 0), "error")
        units = [u for u in (fu.buggy, fu.fixed) if u is not None and u.candidates]
        preds = predictor.predict(units) if units else []
        by_id = {id(u): p for u, p in zip(units, preds)}
        conf = fixed_conf = 0.0
        loc_ok = joint_ok = repair_ok = False
        if fu.buggy is not None and id(fu.buggy) in by_id:
            pred = by_id[id(fu.buggy)]
            best = pred.best()
            if best is not None:
                ci, ri, conf = best
                graph = build_file_graph(rec["source"].encode("utf-8"), rec["path"])
                loc_ok = _overlaps(_location_span(graph, fu.buggy, ci), fu.bug_span)
                joint_ok = fu.match == (ci, ri)
                if fu.match is not None:
                    mc, mr = fu.match
                    reps = pred.rep_probs[mc]
                    repair_ok = max(range(len(reps)), key=reps.__getitem__) == mr
                    loc_ok = loc_ok or ci == mc
        if fu.fixed is not None and id(fu.fixed) in by_id:
            b = by_id[id(fu.fixed)].best()
            fixed_conf = b[2] if b is not None else 0.0
        out.append(
            Scored(
                rec["id"],
                rec["repo"],
                rec["rule"],
                fu.match is not None,
                float(conf),
                loc_ok,
                joint_ok,
                repair_ok,
                float(fixed_conf),
                lines,
            )
        )
        if n % 250 == 0:
            log(f"scored {n}/{len(records)} fixes, {time.perf_counter() - start:.0f} s")
    return out


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
    s = sub.add_parser("score", help="score a checkpoint on a split's fixes (JSON lines)")
    s.add_argument("--data", type=Path, default=DEFAULT_OUT)
    s.add_argument("--split", default="test", choices=SPLITS)
    s.add_argument("--checkpoint", default=None)
    s.add_argument("--limit", type=int, default=None, help="a seeded sample of this many fixes")
    s.add_argument("--out", type=Path, required=True)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.action == "build":
        build_dataset(
            args.data,
            args.out,
            clean=args.clean,
            seed=args.seed,
            splits=args.splits,
            checkpoint=args.checkpoint,
        )
        return 0
    recs = list(iter_split(args.data, args.split, args.limit))
    scored = score_fixes(recs, args.checkpoint)
    save_scored(scored, args.out)
    m = metrics(scored, 0.0)
    print(json.dumps(m))
    return 0


if __name__ == "__main__":
    sys.exit(main())
