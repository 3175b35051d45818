"""AnalysisUnit -> tensors: the vocabulary, :class:`UnitData`, batching and shard files.

This module is the only place where analysis units become tensors; no ``nn.Module``
lives here. :func:`tensorize` turns one :class:`~codegraph.units.AnalysisUnit` into a
:class:`UnitData` (a ``torch_geometric.data.Data``):

========================  ==========  ===================================================
field                     shape       meaning
========================  ==========  ===================================================
``x_type``                [N]         node type id (:attr:`Vocabulary.node_types`)
``x_sub``                 [N, S]      subtoken ids of the node text, 0-padded (S = 4)
``fn_mask``               [N]         True for the analysed function's own graph nodes
``fn_root``               [N]         True for ``function_definition`` graph nodes
``edge_index``            [2, E]      every unit edge in both directions
``edge_type``             [E]         :class:`~codegraph.schema.EdgeKind`, reverse edges
                                      get ``kind + NUM_EDGE_KINDS``
``cand_node``             [C]         graph node of each candidate location
``cand_rule``             [C]         rule index (0 = CG001 ... 7 = CG008)
``cand_graph``            [C]         graph index inside a batch (0 for one unit)
``rep_cand``              [R]         candidate index of each repair
``rep_token``             [R]         repair token id (:attr:`Vocabulary.repair_tokens`)
``rep_target``            [R]         graph node the repair points at, or -1
``y_loc``                 [1]         index of the buggy candidate, -1 = no bug
``y_rep``                 [1]         index of the fixing repair (into R), -1 = none
``rule_id``               [1]         rule index of the bug, -1 = no bug
``hops``, ``lines``       [1]         ``unit.meta["hops"]`` / ``["lines"]``, -1 if absent
========================  ==========  ===================================================

The transforms of :mod:`codegraph.models.encodings` add ``virtual_mask`` [N] (virtual
graph nodes, appended after the real ones), shortcut edge types (ids from
``NUM_BASE_EDGE_TYPES`` on), ``rw_pe`` [N, k] and ``lap_pe`` [N, k]; with
``ModelConfig.name_edges``, NAME_MATCH edges between arguments and parameters.

Batching: ``__inc__`` offsets ``cand_node`` / ``rep_target`` by the node count,
``rep_cand`` / ``y_loc`` by the candidate count and ``y_rep`` by the repair count, so
plain PyG batching is right for every valid index. PyG adds offsets blindly, so a -1
would turn into an index of the previous graph; :func:`collate` (and
:func:`restore_sentinels`, which the models apply to whatever batch they get) turn
those back into -1.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch_geometric.data import Batch, Data

from codegraph.rules import RULE_CODES, RULE_INDEX
from codegraph.schema import EdgeKind
from codegraph.units import AnalysisUnit

#: the rule codes in model order (stable: checkpoints depend on it)
RULES: tuple[str, ...] = RULE_CODES

#: forward edge kinds of the code graph; reverse edges use ``kind + NUM_EDGE_KINDS``
NUM_EDGE_KINDS: int = len(EdgeKind)
#: edge types with an id below this come from the unit's own edges (both directions)
NUM_BASE_EDGE_TYPES: int = 2 * NUM_EDGE_KINDS
#: shortcut edge types added by :class:`codegraph.models.encodings.AddShortcuts`
DEF_USE: int = NUM_BASE_EDGE_TYPES  # first occurrence of a binding -> each later occurrence
USE_DEF: int = NUM_BASE_EDGE_TYPES + 1  # the reverse
TO_VIRTUAL: int = NUM_BASE_EDGE_TYPES + 2  # graph node -> its function's virtual node
FROM_VIRTUAL: int = NUM_BASE_EDGE_TYPES + 3  # virtual node -> the function's graph nodes
NUM_EDGE_TYPES: int = NUM_BASE_EDGE_TYPES + 4
#: name edges added by :class:`codegraph.models.encodings.AddNameEdges` (``ModelConfig.name_edges``)
NAME_MATCH: int = NUM_BASE_EDGE_TYPES + 4  # argument -> the parameter of its callee that its name asks for
NAME_MATCH_REV: int = NUM_BASE_EDGE_TYPES + 5  # the reverse
NUM_EDGE_TYPES_WITH_NAMES: int = NUM_BASE_EDGE_TYPES + 6

#: subtokens kept per graph node
SUBTOKENS: int = 4
PAD, UNK, VIRTUAL = "<pad>", "<unk>", "<virtual>"
PAD_ID, UNK_ID, VIRTUAL_ID = 0, 1, 2
#: syntax types that root a function (each gets a virtual node)
FUNCTION_TYPES: frozenset[str] = frozenset({"function_definition"})

#: per-graph-node tensor fields (row i belongs to graph node i)
NODE_FIELDS: tuple[str, ...] = ("x_type", "x_sub", "fn_mask", "fn_root", "virtual_mask", "rw_pe", "lap_pe")

_WORD = re.compile(r"[^\W_]+")
_SUBTOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z0-9])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
#: node text longer than this is cut before splitting (string literals)
_MAX_TEXT = 200


def split_subtokens(text: str) -> list[str]:
    """Split an identifier or literal on snake_case / camelCase / digits, lowercased.

    ``getHTTPResponse2`` -> ``["get", "http", "response", "2"]``; ``__init__`` -> ``["init"]``.
    Words with letters outside ASCII are kept whole; operators yield nothing.
    """
    parts: list[str] = []
    for word in _WORD.findall(text[:_MAX_TEXT]):
        if word.isascii():
            parts += [m.lower() for m in _SUBTOKEN.findall(word)]
        else:
            parts.append(word.lower())
    return parts


@dataclass
class Vocabulary:
    """Node types, identifier subtokens and repair tokens, each a list whose index is the id.

    ``node_types`` starts with ``<pad>``, ``<unk>``, ``<virtual>``; ``subtokens`` and
    ``repair_tokens`` with ``<pad>``, ``<unk>``. Built once from the training units
    (:meth:`build`) and saved beside the dataset; a checkpoint carries its own copy.
    """

    node_types: list[str]
    subtokens: list[str]
    repair_tokens: list[str]
    max_subtokens: int = SUBTOKENS
    _type_ids: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _sub_ids: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _rep_ids: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    _text_cache: dict[str, list[int]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.node_types[:3] != [PAD, UNK, VIRTUAL]:
            raise ValueError("node_types must start with <pad>, <unk>, <virtual>")
        for name, lst in (("subtokens", self.subtokens), ("repair_tokens", self.repair_tokens)):
            if lst[:2] != [PAD, UNK]:
                raise ValueError(f"{name} must start with <pad>, <unk>")
        self._type_ids = {t: i for i, t in enumerate(self.node_types)}
        self._sub_ids = {t: i for i, t in enumerate(self.subtokens)}
        self._rep_ids = {t: i for i, t in enumerate(self.repair_tokens)}

    # -- building -----------------------------------------------------------------------
    @classmethod
    def build(
        cls,
        units: Iterable[AnalysisUnit],
        max_subtokens: int = 10_000,
        max_node_types: int = 1_000,
        min_count: int = 1,
    ) -> Vocabulary:
        """Count node types, subtokens and repair tokens over (training) units; keep the top ones.

        Ties are broken alphabetically, so the result depends only on the counts.
        """
        types: Counter[str] = Counter()
        subs: Counter[str] = Counter()
        reps: Counter[str] = Counter()
        for unit in units:
            types.update(unit.node_type)
            for text in unit.node_text:
                if text:
                    subs.update(split_subtokens(text))
            for cand in unit.candidates:
                reps.update(r.token for r in cand.repairs)

        def top(counter: Counter[str], k: int, reserved: Sequence[str]) -> list[str]:
            items = [(t, c) for t, c in counter.items() if c >= min_count and t not in reserved]
            items.sort(key=lambda tc: (-tc[1], tc[0]))
            return list(reserved) + [t for t, _ in items[:k]]

        return cls(
            node_types=top(types, max_node_types, (PAD, UNK, VIRTUAL)),
            subtokens=top(subs, max_subtokens, (PAD, UNK)),
            repair_tokens=top(reps, 10_000, (PAD, UNK)),
        )

    # -- lookups ------------------------------------------------------------------------
    def node_type_id(self, node_type: str) -> int:
        return self._type_ids.get(node_type, UNK_ID)

    def repair_token_id(self, token: str) -> int:
        return self._rep_ids.get(token, UNK_ID)

    def subtoken_ids(self, text: str) -> list[int]:
        """The first ``max_subtokens`` subtoken ids of ``text``, padded with 0."""
        ids = self._text_cache.get(text)
        if ids is None:
            ids = [self._sub_ids.get(s, UNK_ID) for s in split_subtokens(text)[: self.max_subtokens]]
            ids += [PAD_ID] * (self.max_subtokens - len(ids))
            if len(self._text_cache) < 200_000:
                self._text_cache[text] = ids
        return ids

    # -- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "codegraph-vocabulary",
            "version": 1,
            "max_subtokens": self.max_subtokens,
            "node_types": self.node_types,
            "subtokens": self.subtokens,
            "repair_tokens": self.repair_tokens,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Vocabulary:
        if d.get("format") != "codegraph-vocabulary" or d.get("version") != 1:
            raise ValueError("not a codegraph vocabulary (format/version mismatch)")
        return cls(
            node_types=list(d["node_types"]),
            subtokens=list(d["subtokens"]),
            repair_tokens=list(d["repair_tokens"]),
            max_subtokens=int(d["max_subtokens"]),
        )

    def save(self, path: str | Path) -> None:
        atomic_write_bytes(Path(path), json.dumps(self.to_dict(), indent=1).encode())

    @classmethod
    def load(cls, path: str | Path) -> Vocabulary:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON: checkpoints and datasets must agree on it."""
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


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


def _long(values: Sequence[int] | list[list[int]], shape: tuple[int, ...] | None = None) -> Tensor:
    """An int64 tensor of a flat list, or of equal-length rows flattened into ``shape``
    (through numpy.fromiter: torch.tensor on Python lists is several times slower)."""
    if shape is not None:
        flat = np.fromiter(itertools.chain.from_iterable(values), dtype=np.int64)  # type: ignore[arg-type]
        return torch.from_numpy(flat).view(shape)
    return torch.from_numpy(np.fromiter(values, dtype=np.int64, count=len(values)))


def _meta_int(meta: dict[str, object], key: str) -> int:
    value = meta.get(key, -1)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return -1
    return int(value)


def tensorize(unit: AnalysisUnit, vocab: Vocabulary) -> UnitData:
    """Convert one unit to tensors. Raises ValueError for an inconsistent unit."""
    n = unit.num_nodes
    if not (len(unit.node_text) == len(unit.node_kind) == n):
        raise ValueError(f"{unit.function}: node_type/node_text/node_kind lengths differ")
    if not (len(unit.src) == len(unit.dst) == len(unit.edge_kind)):
        raise ValueError(f"{unit.function}: src/dst/edge_kind lengths differ")
    if not 0 <= unit.num_function_nodes <= n:
        raise ValueError(f"{unit.function}: num_function_nodes {unit.num_function_nodes} out of range")

    x_type = _long([vocab.node_type_id(t) for t in unit.node_type])
    x_sub = _long([vocab.subtoken_ids(t) for t in unit.node_text], (n, vocab.max_subtokens))
    src, dst, kind = _long(unit.src), _long(unit.dst), _long(unit.edge_kind)
    if src.numel() and (min(int(src.min()), int(dst.min())) < 0 or max(int(src.max()), int(dst.max())) >= n):
        raise ValueError(f"{unit.function}: edge endpoint out of range 0..{n - 1}")
    if kind.numel() and (int(kind.min()) < 0 or int(kind.max()) >= NUM_EDGE_KINDS):
        raise ValueError(f"{unit.function}: edge kind out of range 0..{NUM_EDGE_KINDS - 1}")
    edge_index = torch.stack([torch.cat([src, dst]), torch.cat([dst, src])])
    edge_type = torch.cat([kind, kind + NUM_EDGE_KINDS])

    cand_node: list[int] = []
    cand_rule: list[int] = []
    rep_cand: list[int] = []
    rep_token: list[int] = []
    rep_target: list[int] = []
    rep_start: list[int] = []
    for ci, cand in enumerate(unit.candidates):
        if not 0 <= cand.node < n:
            raise ValueError(f"{unit.function}: candidate {ci} node {cand.node} out of range")
        if cand.rule not in RULE_INDEX:
            raise ValueError(f"{unit.function}: candidate {ci} has unknown rule {cand.rule!r}")
        cand_node.append(cand.node)
        cand_rule.append(RULE_INDEX[cand.rule])
        rep_start.append(len(rep_cand))
        for repair in cand.repairs:
            if not -1 <= repair.target < n:
                raise ValueError(f"{unit.function}: repair target {repair.target} out of range")
            rep_cand.append(ci)
            rep_token.append(vocab.repair_token_id(repair.token))
            rep_target.append(repair.target)

    y_loc, y_rep, rule_id = -1, -1, -1
    if unit.bug >= 0:
        if unit.bug >= len(unit.candidates):
            raise ValueError(f"{unit.function}: bug index {unit.bug} out of range")
        y_loc, rule_id = unit.bug, cand_rule[unit.bug]
        if unit.fix >= 0:
            if unit.fix >= len(unit.candidates[unit.bug].repairs):
                raise ValueError(f"{unit.function}: fix index {unit.fix} out of range")
            y_rep = rep_start[unit.bug] + unit.fix

    fn_mask = torch.zeros(n, dtype=torch.bool)
    fn_mask[: unit.num_function_nodes] = True
    data = UnitData(
        x_type=x_type,
        x_sub=x_sub,
        fn_mask=fn_mask,
        fn_root=torch.from_numpy(np.fromiter((t in FUNCTION_TYPES for t in unit.node_type), bool, n)),
        edge_index=edge_index,
        edge_type=edge_type,
        cand_node=_long(cand_node),
        cand_rule=_long(cand_rule),
        cand_graph=torch.zeros(len(cand_node), dtype=torch.long),
        rep_cand=_long(rep_cand),
        rep_token=_long(rep_token),
        rep_target=_long(rep_target),
        y_loc=_long([y_loc]),
        y_rep=_long([y_rep]),
        rule_id=_long([rule_id]),
        hops=_long([_meta_int(unit.meta, "hops")]),
        lines=_long([_meta_int(unit.meta, "lines")]),
    )
    data.num_nodes = n
    return data


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


def compact(data: Data) -> Data:
    """The same unit with int32 integers and float16 positional encodings, for holding a
    large training split in memory (about half the bytes); :func:`collate` widens again."""
    out = copy.copy(data)
    for key, value in data.items():
        if isinstance(value, Tensor):
            if value.dtype == torch.int64:
                out[key] = value.to(torch.int32)
            elif key in _COMPACT_FLOATS and value.dtype == torch.float32:
                out[key] = value.to(torch.float16)
    return out


def collate(data_list: Sequence[Data]) -> Batch:
    """Batch UnitData objects (PyG ``Batch``) with -1 sentinels kept as -1 (compacted units are
    widened back to int64 / float32)."""
    batch = Batch.from_data_list(list(data_list))
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


def atomic_write_bytes(path: Path, payload: bytes) -> None:
    """Write ``payload`` to ``path`` through a temporary file and a rename (never half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the file gets a normal file's mode
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_shard(data_list: Sequence[Data], path: str | Path) -> None:
    """Write units to ``path`` as one dict of concatenated tensors (loadable with weights_only=True).

    Every unit must have the same attribute names. Tensors are concatenated along
    their PyG concatenation dimension (int64 tensors whose values fit are stored as
    int32 and widened again by :func:`load_shard`); plain ``int``/``float``/``str``/
    ``bool`` attributes are stored as lists. The write is atomic.
    """
    path = Path(path)
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
