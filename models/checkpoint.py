"""A checkpoint on disk, without torch: its files and its identity.

A checkpoint is ``NAME.safetensors`` (the torch weights) and ``NAME.onnx`` (the runtime
model that scans load) beside ``NAME.json`` (the sidecar; see :mod:`codegraph.models.runtime`).
A scan answered from its cache needs the model's identity (for cache keys and reports)
but not the model, so the identity (the runtime model's name and sha256) is read from
the sidecar here and the model is loaded only when a predictor is really needed
(:mod:`codegraph.models.loader`); the runtime file's sha256 is verified against the
sidecar whenever it is.
"""

from __future__ import annotations

import json
from pathlib import Path

FORMAT = "codegraph-checkpoint"
#: the shipped model (NAME without a suffix)
SHIPPED = Path(__file__).resolve().parent / "weights" / "detector"


def checkpoint_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, sidecar) for ``NAME``, ``NAME.safetensors``, ``NAME.onnx`` or ``NAME.json``."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json", ".onnx"):
        p = p.with_suffix("")
    return p.with_name(p.name + ".safetensors"), p.with_name(p.name + ".json")


def checkpoint_identity(model: str | None) -> dict[str, str] | None:
    """``{"name", "sha256"}`` of a checkpoint's runtime model (None: the shipped one) from its
    sidecar; None when there is no readable sidecar beside an existing runtime file (then the
    model is loaded to find out)."""
    _, sidecar = checkpoint_paths(SHIPPED if model is None else model)
    try:
        info = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    recorded = info.get("runtime") if isinstance(info, dict) else None
    if not isinstance(recorded, dict) or not isinstance(recorded.get("file"), str):
        return None
    if not sidecar.with_name(recorded["file"]).is_file():
        return None
    name, sha = info.get("name"), recorded.get("sha256")
    if info.get("format") != FORMAT or not isinstance(name, str) or not isinstance(sha, str):
        return None
    return {"name": name, "sha256": sha}
