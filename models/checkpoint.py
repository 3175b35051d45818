"""A checkpoint on disk, without torch: its files and its identity.

A checkpoint is ``NAME.safetensors`` (the weights) beside ``NAME.json`` (the sidecar; see
:mod:`codegraph.models.predict`). A scan answered from its cache needs the model's
identity (for cache keys and reports) but not the model, so the identity is read from
the sidecar here and torch is imported only when a predictor is really loaded
(:mod:`codegraph.models.loader`); the weights' sha256 is verified against the sidecar
whenever they are.
"""

from __future__ import annotations

import json
from pathlib import Path

FORMAT = "codegraph-checkpoint"
#: the shipped model (NAME without a suffix)
SHIPPED = Path(__file__).resolve().parent / "weights" / "detector"


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, sidecar) for ``NAME``, ``NAME.safetensors`` or ``NAME.json``."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def checkpoint_identity(model: str | None) -> dict[str, str] | None:
    """``{"name", "sha256"}`` of a checkpoint (None: the shipped one) from its sidecar; None when
    there is no readable sidecar beside existing weights (then the model is loaded to find out)."""
    weights, sidecar = checkpoint_paths(SHIPPED if model is None else model)
    try:
        info = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(info, dict) or not weights.is_file():
        return None
    name, recorded = info.get("name"), info.get("weights")
    sha = recorded.get("sha256") if isinstance(recorded, dict) else None
    if info.get("format") != FORMAT or not isinstance(name, str) or not isinstance(sha, str):
        return None
    return {"name": name, "sha256": sha}
