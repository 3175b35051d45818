"""The markdown report of ``codegraph train eval`` (EVAL.md): the figures of
:mod:`codegraph.models.training.metrics`, side by side for each model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor

from codegraph.config import DEFAULT_MIN_CONFIDENCE
from codegraph.models.training.calibrate import expected_calibration_error
from codegraph.models.training.metrics import (
    ALIGNED,
    ASSIGN_LABELS,
    SWAP_LABELS,
    THRESHOLDS,
    Outcomes,
    paired_difference,
    precision_recall,
    summary,
)
from codegraph.rules import RULE_CODES

HOPS_BUCKETS: tuple[tuple[int, int, str], ...] = (
    (0, 2, "0-1"),
    (2, 4, "2-3"),
    (4, 8, "4-7"),
    (8, 16, "8-15"),
    (16, 1 << 62, "16+"),
)
LINES_BUCKETS: tuple[tuple[int, int, str], ...] = (
    (0, 1, "same line"),
    (1, 5, "1-4"),
    (5, 20, "5-19"),
    (20, 50, "20-49"),
    (50, 1 << 62, "50+"),
)


# -- report ---------------------------------------------------------------------------------------
def _pts(diff: tuple[float, float, float]) -> str:
    """A paired difference in percentage points with its interval; * where it excludes 0."""
    mid, lo, hi = (100.0 * x for x in diff)
    if mid != mid:
        return "-"
    star = "*" if lo > 0 or hi < 0 else ""
    return f"{mid:+.1f} [{lo:+.1f}, {hi:+.1f}]{star}"


def _pct(x: float, digits: int = 1) -> str:
    return "–" if x != x else f"{100 * x:.{digits}f}%"


def _rule_names() -> dict[str, str]:
    try:
        from codegraph.rules import RULES_BY_CODE

        return {code: rule.name for code, rule in RULES_BY_CODE.items()}
    except ImportError:  # pragma: no cover - the rules module is part of the package
        return {}


def _bucket_masks(values: Tensor, buckets: Sequence[tuple[int, int, str]]) -> list[tuple[str, Tensor]]:
    out = [(label, (values >= lo) & (values < hi)) for lo, hi, label in buckets]
    out.append(("unknown", values < 0))
    return out


def render_markdown(results: dict[str, Outcomes], info: dict[str, Any]) -> str:
    """The EVAL.md report: one column per model (first the detector, then the baseline)."""
    names = list(results)
    lines = _overall(results, info)
    if len(names) == 2:
        lines += _paired(results)
    first = results[names[0]]
    rule_names = _rule_names()
    bug = first.is_bug
    sections: list[tuple[str, list[tuple[str, Tensor]], str]] = [
        (
            "Per rule (buggy units)",
            [
                (f"{code} {rule_names.get(code, '')}".strip(), bug & (first.rule == i))
                for i, code in enumerate(RULE_CODES)
            ],
            "rule",
        ),
        (
            "By distance in graph hops (buggy units)",
            [(label, bug & m) for label, m in _bucket_masks(first.hops, HOPS_BUCKETS)],
            "hops",
        ),
        (
            "By distance in lines (buggy units)",
            [(label, bug & m) for label, m in _bucket_masks(first.lines, LINES_BUCKETS)],
            "lines",
        ),
    ]
    if bool((first.swap_evidence >= 0).any()):
        sections.append((
            "Swapped arguments (CG002) by what the graph shows of the callee",
            [(label, first.swap_evidence == value) for value, label in SWAP_LABELS.items()],
            "evidence",
        ))  # fmt: skip
    if bool((first.assign_direction >= 0).any()):
        sections.append((
            "Assignment operators (CG008) by the direction of the injected bug",
            [(label, first.assign_direction == value) for value, label in ASSIGN_LABELS.items()],
            "bug",
        ))  # fmt: skip
    for title, groups, what in sections:
        lines += _breakdown(results, title, groups, what)
    lines += _thresholds(results)
    return "\n".join(lines) + "\n"


def _overall(results: dict[str, Outcomes], info: dict[str, Any]) -> list[str]:
    names = list(results)
    lines = [f"# Evaluation on the `{info.get('split', 'test')}` split", ""]
    for key in ("dataset", "models", "date", "no-bug bias"):
        if key in info:
            lines.append(f"- {key}: {info[key]}")
    s0 = summary(results[names[0]])
    lines += [
        f"- units: {int(s0['units'])} ({int(s0['buggy'])} with an injected bug, {int(s0['clean'])} clean)",
        "",
        "## Overall",
        "",
        "| metric | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    sums = {n: summary(o) for n, o in results.items()}
    labels = [
        ("no_bug_accuracy", "no-bug accuracy (clean units called clean)"),
        ("detection", "detection (buggy units flagged)"),
        ("localisation", "localisation accuracy (buggy units)"),
        ("repair", "repair accuracy (at the true location)"),
        ("joint", "joint accuracy (location and repair)"),
        ("accuracy", "overall accuracy (clean: no bug; buggy: joint)"),
    ]
    for key, label in labels:
        lines.append(f"| {label} | " + " | ".join(_pct(sums[n][key]) for n in names) + " |")
    ece = [expected_calibration_error(o.confidence.tolist(), o.top_ok.tolist()) for o in results.values()]
    lines.append("| calibration error (confidence ECE) | " + " | ".join(f"{e:.3f}" for e in ece) + " |")
    return lines


def _paired(results: dict[str, Outcomes]) -> list[str]:
    """The paired differences of two models evaluated on the same units."""
    (na, a), (nb, b) = results.items()
    same = len(a) == len(b) and all(torch.equal(getattr(a, k), getattr(b, k)) for k in ALIGNED)
    if not same:
        raise ValueError("the two models were evaluated on different units")
    clean = ~a.is_bug
    return [
        "",
        f"Paired differences, {na} minus {nb}, in percentage points over the same",
        "units, with 95% bootstrap intervals (units resampled; * where the interval excludes 0):",
        "",
        f"- no-bug accuracy: {_pts(paired_difference(a.said_no_bug[clean], b.said_no_bug[clean]))}",
        f"- joint accuracy: {_pts(paired_difference(a.joint_ok[a.is_bug], b.joint_ok[a.is_bug]))}",
        f"- overall accuracy: {_pts(paired_difference(a.joint_ok, b.joint_ok))}",
    ]


def _breakdown(
    results: dict[str, Outcomes], title: str, groups: list[tuple[str, Tensor]], what: str
) -> list[str]:
    """One table: localisation, repair and joint accuracy per group of units, per model."""
    names = list(results)
    paired = len(names) == 2
    lines = ["", f"## {title}", ""]
    head = f"| {what} | units | " + " | ".join(
        f"{metric} {n}" for metric in ("localisation", "repair", "joint") for n in names
    )
    if paired:
        head += f" | joint {names[0]} − {names[1]} (95% CI)"
    lines.append(head + " |")
    lines.append("|---|---:|" + "---:|" * (3 * len(names) + int(paired)))
    for label, mask in groups:
        count = int(mask.sum())
        if not count:
            continue
        cells = []
        for metric in ("localisation", "repair", "joint"):
            for n in names:
                cells.append(_pct(summary(results[n].select(mask))[metric]))
        if paired:
            a, b = results[names[0]], results[names[1]]
            cells.append(_pts(paired_difference(a.joint_ok[mask], b.joint_ok[mask])))
        lines.append(f"| {label} | {count} | " + " | ".join(cells) + " |")
    return lines


def _thresholds(results: dict[str, Outcomes]) -> list[str]:
    names = list(results)
    lines = [
        "",
        "## Precision and recall over confidence thresholds",
        "",
        "confidence = P(bug at the location) x P(repair | location) of the most likely pair; a flag is",
        "correct when that pair is the injected bug and its fix; recall is over all buggy units;",
        "clean flagged: the share of clean units with a flag. The scanner's default threshold is "
        f"{DEFAULT_MIN_CONFIDENCE:g}.",
        "",
        "| threshold | "
        + " | ".join(f"precision {n} | recall {n} | flagged {n} | clean flagged {n}" for n in names)
        + " |",
        "|---:|" + "---:|---:|---:|---:|" * len(names),
    ]
    curves = {n: precision_recall(o) for n, o in results.items()}
    for i, t in enumerate(THRESHOLDS):
        cells = []
        for n in names:
            row = curves[n][i]
            cells += [_pct(row["precision"]), _pct(row["recall"]), str(int(row["flagged"]))]
            cells.append(_pct(row["clean_flagged"], 2))
        lines.append(f"| {t:g} | " + " | ".join(cells) + " |")
    return lines
