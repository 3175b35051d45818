"""The torch side of the arrays: :class:`UnitData` (a PyG ``Data``), batching and shard files.

Training and the torch model work on ``UnitData``; scanning never imports this module.
:func:`to_data` turns the numpy :class:`~codegraph.models.tensorize.UnitArrays` of
:func:`~codegraph.models.tensorize.tensorize` and the encodings into a ``UnitData``
without copying; :func:`collate`, :func:`compact` and :func:`save_shard` take either.

Batching: ``__inc__`` offsets ``cand_node`` / ``rep_target`` by the node count,
``rep_cand`` / ``y_loc`` by the candidate count and ``y_rep`` by the repair count, so
plain PyG batching is right for every valid index. PyG adds offsets blindly, so a -1
would turn into an index of the previous graph; :func:`collate` (and
:func:`restore_sentinels`, which the models apply to whatever batch they get) turn
those back into -1.
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from codegraph.models.tensorize import UnitArrays


class UnitData(Data):
    """The tensors of one analysis unit (see the module docstring for the fields)."""

    def __inc__(self, key: str, value: Any, *args: Any, **kwargs: Any) -> Any:
        if key in ("cand_node", "rep_target"):
            return self.num_nodes
        if key in ("rep_cand", "y_loc"):
            return int(self.cand_node.numel())
        if key == "y_rep":
            return int(self.rep_cand.numel())
        if key == "cand_graph":
            return 1
        return super().__inc__(key, value, *args, **kwargs)


def to_data(arrays: UnitArrays | Data) -> Data:
    """The :class:`UnitData` of ``arrays`` (sharing their memory); a ``Data`` is returned as is."""
    if isinstance(arrays, Data):
        return arrays
    data = UnitData(**{k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in arrays.items()})
    data.num_nodes = arrays.num_nodes
    return data


def to_arrays(data: Data) -> UnitArrays:
    """The :class:`UnitArrays` of a (CPU) ``UnitData``, sharing its memory."""
    fields = {k: v.numpy() if isinstance(v, Tensor) else v for k, v in data.items() if k != "num_nodes"}
    return UnitArrays(int(data.num_nodes or 0), **fields)


class TorchTransform:
    """A numpy transform of :mod:`codegraph.models.encodings` applied to ``UnitData`` (or arrays).

    ``UnitData`` in, ``UnitData`` out: the fields the transform leaves alone keep their
    tensor objects; ``UnitArrays`` pass straight through the numpy transform.
    """

    def __init__(self, transform: Callable[[UnitArrays], UnitArrays]) -> None:
        self.transform = transform

    def __call__(self, data: UnitArrays | Data) -> UnitArrays | Data:
        if isinstance(data, UnitArrays):
            return self.transform(data)
        arrays = to_arrays(data)
        before = dict(arrays.items())
        out = self.transform(arrays)
        result = copy.copy(data)
        for key in list(result.keys()):
            if key != "num_nodes" and key not in out:
                del result[key]
        for key, value in out.items():
            if before.get(key) is not value:
                result[key] = torch.from_numpy(value) if isinstance(value, np.ndarray) else value
        result.num_nodes = out.num_nodes
        return result

    def __repr__(self) -> str:
        return repr(self.transform)


# -- batching ------------------------------------------------------------------------------
def _group_offsets(counts: Tensor) -> Tensor:
    """Exclusive prefix sums: the first index of each group."""
    return torch.cumsum(counts, 0) - counts


def restore_sentinels(batch: Data) -> Data:
    """Turn the -1 entries that PyG batching shifted back into -1; returns a new object.

    A valid ``rep_target`` / ``y_loc`` / ``y_rep`` of graph g is never below g's first
    node / candidate / repair index, while a shifted -1 always is. Idempotent; a single
    (unbatched) UnitData is returned as is.
    """
    ptr = getattr(batch, "ptr", None)
    if not isinstance(batch, Batch) or ptr is None:
        return batch
    num_graphs = int(ptr.numel() - 1)
    out = batch.__copy__()
    cand_graph = batch.cand_graph
    rep_graph = cand_graph[batch.rep_cand]
    cand_first = _group_offsets(torch.bincount(cand_graph, minlength=num_graphs))
    rep_first = _group_offsets(torch.bincount(rep_graph, minlength=num_graphs))
    minus_one = torch.tensor(-1, dtype=torch.long, device=ptr.device)
    out.rep_target = torch.where(batch.rep_target < ptr[:-1][rep_graph], minus_one, batch.rep_target)
    out.y_loc = torch.where(batch.y_loc < cand_first, minus_one, batch.y_loc)
    out.y_rep = torch.where(batch.y_rep < rep_first, minus_one, batch.y_rep)
    return out


#: positional encodings held as float16 by :func:`compact`
_COMPACT_FLOATS = ("rw_pe", "lap_pe")


def compact(data: UnitArrays | Data) -> Data:
    """The same unit with int32 integers and float16 positional encodings, for holding a
    large training split in memory (about half the bytes); :func:`collate` widens again."""
    data = to_data(data)
    out = copy.copy(data)
    for key, value in data.items():
        if isinstance(value, Tensor):
            if value.dtype == torch.int64:
                out[key] = value.to(torch.int32)
            elif key in _COMPACT_FLOATS and value.dtype == torch.float32:
                out[key] = value.to(torch.float16)
    return out


def collate(data_list: Sequence[UnitArrays | Data]) -> Batch:
    """Batch UnitData objects (PyG ``Batch``) with -1 sentinels kept as -1 (compacted units are
    widened back to int64 / float32); UnitArrays are converted first."""
    batch = Batch.from_data_list([to_data(d) for d in data_list])
    for key, value in batch.items():
        if isinstance(value, Tensor):
            if value.dtype == torch.int32:
                batch[key] = value.long()
            elif value.dtype == torch.float16:
                batch[key] = value.float()
    out = restore_sentinels(batch)
    assert isinstance(out, Batch)
    return out


# -- shard files ---------------------------------------------------------------------------
SHARD_FORMAT = "codegraph-unitdata"
SHARD_VERSION = 1


def save_shard(data_list: Sequence[UnitArrays | Data], path: str | Path) -> None:
    """Write units to ``path`` as one dict of concatenated tensors (loadable with weights_only=True).

    Every unit must have the same attribute names. Tensors are concatenated along
    their PyG concatenation dimension (int64 tensors whose values fit are stored as
    int32 and widened again by :func:`load_shard`); plain ``int``/``float``/``str``/
    ``bool`` attributes are stored as lists. The write is atomic.
    """
    path = Path(path)
    data_list = [to_data(d) for d in data_list]
    tensors: dict[str, Tensor] = {}
    sizes: dict[str, Tensor] = {}
    cat_dims: dict[str, int] = {}
    scalars: dict[str, list[Any]] = {}
    widened: list[str] = []

    def attrs(d: Data) -> list[str]:
        return sorted(k for k in d.keys() if k != "num_nodes")  # noqa: SIM118 (Data is not a dict)

    keys = attrs(data_list[0]) if data_list else []
    for i, d in enumerate(data_list):
        if attrs(d) != keys:
            raise ValueError(f"unit {i} has attributes {attrs(d)}, expected {keys}")
    for key in keys:
        first = data_list[0][key]
        if isinstance(first, Tensor):
            dim = int(data_list[0].__cat_dim__(key, first))
            dim = dim if dim >= 0 else first.dim() + dim
            values = [d[key] for d in data_list]
            cat = torch.cat(values, dim=dim)
            if cat.dtype == torch.long and (
                cat.numel() == 0 or -(2**31) <= int(cat.min()) <= int(cat.max()) < 2**31
            ):
                cat = cat.to(torch.int32)  # lossless: stored at half the size, int64 again on load
                widened.append(key)
            tensors[key] = cat
            sizes[key] = torch.tensor([v.size(dim) for v in values], dtype=torch.long)
            cat_dims[key] = dim
        elif isinstance(first, int | float | str | bool):
            scalars[key] = [d[key] for d in data_list]
        else:
            raise TypeError(f"cannot store attribute {key!r} of type {type(first).__name__} in a shard")
    payload = {
        "format": SHARD_FORMAT,
        "version": SHARD_VERSION,
        "count": len(data_list),
        "num_nodes": torch.tensor([int(d.num_nodes or 0) for d in data_list], dtype=torch.long),
        "tensors": tensors,
        "sizes": sizes,
        "cat_dims": cat_dims,
        "scalars": scalars,
        "int64": widened,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_shard(path: str | Path) -> list[UnitData]:
    """Read a shard written by :func:`save_shard` (``torch.load(weights_only=True)``, no pickle)."""
    payload = torch.load(Path(path), weights_only=True, map_location="cpu")
    if not isinstance(payload, dict) or payload.get("format") != SHARD_FORMAT:
        raise ValueError(f"{path}: not a codegraph shard")
    if payload.get("version") != SHARD_VERSION:
        raise ValueError(f"{path}: shard version {payload.get('version')} (expected {SHARD_VERSION})")
    count = int(payload["count"])
    columns: dict[str, Sequence[Any]] = {}
    widen = set(payload.get("int64", ()))
    for key, cat in payload["tensors"].items():
        if key in widen:
            cat = cat.to(torch.long)
        lengths = payload["sizes"][key].tolist()
        if len(lengths) != count or sum(lengths) != cat.size(payload["cat_dims"][key]):
            raise ValueError(f"{path}: inconsistent sizes for {key!r}")
        columns[key] = torch.split(cat, lengths, dim=payload["cat_dims"][key])
    for key, values in payload["scalars"].items():
        columns[key] = values
    num_nodes = payload["num_nodes"].tolist()
    out: list[UnitData] = []
    for i in range(count):
        d = UnitData(**{key: col[i] for key, col in columns.items()})
        d.num_nodes = int(num_nodes[i])
        out.append(d)
    return out
