"""A checkpoint on disk, without torch: its files and its identity.

A checkpoint is ``NAME.safetensors`` (the torch weights) and ``NAME.onnx`` (the runtime
model that scans load) beside ``NAME.json`` (the sidecar; see :mod:`codegraph.models.runtime`).
A scan answered from its cache needs the model's identity (for cache keys and reports)
but not the model, so the identity (the runtime model's name and sha256) is read from
the sidecar here and the model is loaded only when a predictor is really needed
(:mod:`codegraph.models.loader`); the runtime file's sha256 is verified against the
sidecar whenever it is.

A sidecar also records what the model was trained with: the rules it scores and the
edge kinds it reads, in the order of its embeddings (``model.rules``,
``model.edge_kinds``); one that records none (written before sidecars did) was trained
with :data:`LEGACY_RULES` and :data:`LEGACY_EDGE_KINDS`. :func:`checkpoint_rules` reads
the rules without loading the model (scan says which rules a model leaves off).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FORMAT = "codegraph-checkpoint"
#: the shipped model (NAME without a suffix)
SHIPPED = Path(__file__).resolve().parent / "weights" / "detector"

#: what a checkpoint whose sidecar records no rules was trained with (a record of the past:
#: these never change when rules are added)
LEGACY_RULES: tuple[str, ...] = ("CG001", "CG002", "CG003", "CG004", "CG005", "CG006", "CG007", "CG008")
#: what a checkpoint whose sidecar records no edge kinds was trained with, in embedding order
LEGACY_EDGE_KINDS: tuple[str, ...] = (
    "CHILD", "NEXT_SIBLING", "NEXT_TOKEN", "LAST_READ", "LAST_WRITE", "COMPUTED_FROM", "OCCURRENCE",
    "CONTROL_FLOW", "RETURNS_TO", "CALLS", "FORMAL_ARG_NAME",
)  # fmt: skip


def recorded_config(model: dict[str, Any]) -> dict[str, Any]:
    """A sidecar's ``model`` table with the legacy rules and edge kinds where it records none."""
    return {"rules": LEGACY_RULES, "edge_kinds": LEGACY_EDGE_KINDS, **model}


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, sidecar) for ``NAME``, ``NAME.safetensors``, ``NAME.onnx`` or ``NAME.json``."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json", ".onnx"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def _sidecar(model: str | None) -> dict[str, Any] | None:
    """A checkpoint's sidecar (None: the shipped one's) when it is readable, of this format and
    beside the runtime file it records; else None."""
    _, sidecar = checkpoint_paths(SHIPPED if model is None else model)
    try:
        info = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    recorded = info.get("runtime") if isinstance(info, dict) else None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("file"), str):
        return None
    if info.get("format") != FORMAT or not sidecar.with_name(recorded["file"]).is_file():
        return None
    return info


def checkpoint_identity(model: str | None) -> dict[str, str] | None:
    """``{"name", "sha256"}`` of a checkpoint's runtime model (None: the shipped one) from its
    sidecar; None when there is no readable sidecar beside an existing runtime file (then the
    model is loaded to find out)."""
    info = _sidecar(model)
    if info is None:
        return None
    name, sha = info.get("name"), info["runtime"].get("sha256")
    if not isinstance(name, str) or not isinstance(sha, str):
        return None
    return {"name": name, "sha256": sha}


def checkpoint_rules(model: str | None) -> tuple[str, ...] | None:
    """The rules a checkpoint (None: the shipped one) was trained with, from its sidecar; None
    when the sidecar cannot tell (then the model is loaded to find out)."""
    info = _sidecar(model)
    table = info.get("model") if info is not None else None
    if not isinstance(table, dict):
        return None
    rules = recorded_config(table)["rules"]
    if not isinstance(rules, list | tuple) or not all(isinstance(r, str) for r in rules):
        return None
    return tuple(rules)
