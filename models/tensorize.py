"""AnalysisUnit -> arrays: the vocabulary, :class:`UnitArrays` and their batching, in numpy only.

This module is the only place where analysis units become arrays; it needs neither
torch nor torch_geometric (scanning runs without them). :func:`tensorize` turns one
:class:`~codegraph.units.AnalysisUnit` into a :class:`UnitArrays`:

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
``cand_rule``             [C]         rule index (:data:`codegraph.rules.RULE_CODES` order)
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

Batching (:func:`batch_arrays`) offsets ``cand_node`` / ``rep_target`` by the node count,
``rep_cand`` / ``y_loc`` by the candidate count and ``y_rep`` by the repair count, keeps
every -1 sentinel a -1 and adds ``batch`` [N] (the graph of each graph node).
The torch side (:mod:`codegraph.models.tensors`: ``UnitData``, PyG batching, shard files)
is for training and converts these arrays without copying them.
"""

from __future__ import annotations

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

from codegraph.rules import RULE_INDEX
from codegraph.schema import EdgeKind
from codegraph.units import AnalysisUnit

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

    def node_type_array(self, node_types: Sequence[str]) -> np.ndarray:
        """:meth:`node_type_id` of every entry, as an int64 array."""
        get = self._type_ids.get
        return np.fromiter((get(t, UNK_ID) for t in node_types), dtype=np.int64, count=len(node_types))

    def subtoken_array(self, texts: Sequence[str]) -> np.ndarray:
        """:meth:`subtoken_ids` of every entry, as an int64 array [len(texts), max_subtokens]: each
        distinct text is split once (a unit repeats its names, and inner graph nodes have none)."""
        distinct: dict[str, int] = {}
        index = np.fromiter(
            (distinct.setdefault(t, len(distinct)) for t in texts), dtype=np.int64, count=len(texts)
        )
        rows = _long([self.subtoken_ids(t) for t in distinct], (len(distinct), self.max_subtokens))
        return rows[index]

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


#: per-graph-node fields (row i belongs to graph node i)
NODE_FIELDS: tuple[str, ...] = ("x_type", "x_sub", "fn_mask", "fn_root", "virtual_mask", "rw_pe", "lap_pe")
#: fields holding graph node ids (offset by the node count when batching; -1 stays -1)
NODE_INDEX_FIELDS: tuple[str, ...] = ("cand_node", "rep_target")
#: fields holding candidate ids / repair ids (offset likewise)
CANDIDATE_INDEX_FIELDS: tuple[str, ...] = ("rep_cand", "y_loc")
REPAIR_INDEX_FIELDS: tuple[str, ...] = ("y_rep",)


class UnitArrays:
    """The arrays of one analysis unit (or of a batch of them), by field name.

    Fields are read and set as attributes (``d.edge_index``) or items (``d["edge_index"]``);
    ``num_nodes`` is the graph node count. :meth:`copy` is shallow: transforms copy, then
    assign fresh arrays, so their input is never changed.
    """

    __slots__ = ("fields", "num_nodes")

    def __init__(self, num_nodes: int, **fields: Any) -> None:
        object.__setattr__(self, "num_nodes", int(num_nodes))
        object.__setattr__(self, "fields", dict(fields))

    def __getattr__(self, key: str) -> Any:
        try:
            return self.fields[key]
        except KeyError:
            raise AttributeError(key) from None

    def __setattr__(self, key: str, value: Any) -> None:
        if key == "num_nodes":
            object.__setattr__(self, key, int(value))
        else:
            self.fields[key] = value

    def __delattr__(self, key: str) -> None:
        del self.fields[key]

    def __getitem__(self, key: str) -> Any:
        return self.fields[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.__setattr__(key, value)

    def __contains__(self, key: object) -> bool:
        return key in self.fields

    def keys(self) -> list[str]:
        return list(self.fields)

    def items(self) -> list[tuple[str, Any]]:
        return list(self.fields.items())

    def copy(self) -> UnitArrays:
        return UnitArrays(self.num_nodes, **self.fields)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={list(getattr(v, 'shape', ()))}" for k, v in self.fields.items())
        return f"UnitArrays(num_nodes={self.num_nodes}, {shapes})"


def _long(values: Sequence[int] | list[list[int]], shape: tuple[int, ...] | None = None) -> np.ndarray:
    """An int64 array of a flat list, or of equal-length rows flattened into ``shape``."""
    if shape is not None:
        flat = np.fromiter(itertools.chain.from_iterable(values), dtype=np.int64)  # type: ignore[arg-type]
        return flat.reshape(shape)
    return np.fromiter(values, dtype=np.int64, count=len(values))


def _meta_int(meta: dict[str, object], key: str) -> int:
    value = meta.get(key, -1)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return -1
    return int(value)


def tensorize(unit: AnalysisUnit, vocab: Vocabulary) -> UnitArrays:
    """Convert one unit to arrays. Raises ValueError for an inconsistent unit."""
    n = unit.num_nodes
    if not (len(unit.node_text) == len(unit.node_kind) == n):
        raise ValueError(f"{unit.function}: node_type/node_text/node_kind lengths differ")
    if not (len(unit.src) == len(unit.dst) == len(unit.edge_kind)):
        raise ValueError(f"{unit.function}: src/dst/edge_kind lengths differ")
    if not 0 <= unit.num_function_nodes <= n:
        raise ValueError(f"{unit.function}: num_function_nodes {unit.num_function_nodes} out of range")

    x_type = vocab.node_type_array(unit.node_type)
    x_sub = vocab.subtoken_array(unit.node_text)
    src, dst, kind = _long(unit.src), _long(unit.dst), _long(unit.edge_kind)
    if src.size and (min(int(src.min()), int(dst.min())) < 0 or max(int(src.max()), int(dst.max())) >= n):
        raise ValueError(f"{unit.function}: edge endpoint out of range 0..{n - 1}")
    if kind.size and (int(kind.min()) < 0 or int(kind.max()) >= NUM_EDGE_KINDS):
        raise ValueError(f"{unit.function}: edge kind out of range 0..{NUM_EDGE_KINDS - 1}")
    edge_index = np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])])
    edge_type = np.concatenate([kind, kind + NUM_EDGE_KINDS])

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

    fn_mask = np.zeros(n, dtype=bool)
    fn_mask[: unit.num_function_nodes] = True
    return UnitArrays(
        n,
        x_type=x_type,
        x_sub=x_sub,
        fn_mask=fn_mask,
        fn_root=np.fromiter((t in FUNCTION_TYPES for t in unit.node_type), bool, n),
        edge_index=edge_index,
        edge_type=edge_type,
        cand_node=_long(cand_node),
        cand_rule=_long(cand_rule),
        cand_graph=np.zeros(len(cand_node), dtype=np.int64),
        rep_cand=_long(rep_cand),
        rep_token=_long(rep_token),
        rep_target=_long(rep_target),
        y_loc=_long([y_loc]),
        y_rep=_long([y_rep]),
        rule_id=_long([rule_id]),
        hops=_long([_meta_int(unit.meta, "hops")]),
        lines=_long([_meta_int(unit.meta, "lines")]),
    )


def batch_arrays(units: Sequence[UnitArrays]) -> UnitArrays:
    """One :class:`UnitArrays` of several, as PyG batches them: fields concatenated, graph node /
    candidate / repair ids offset (every -1 stays -1), ``cand_graph`` and ``batch`` [N] set
    to each entry's graph index, ``ptr`` [B + 1] the first graph node of each graph.

    Every unit must have the same fields (those :func:`tensorize` and the encodings make).
    """
    if not units:
        raise ValueError("cannot batch zero units")
    keys = units[0].keys()
    for u in units[1:]:
        if u.keys() != keys:
            raise ValueError(f"units with different fields: {u.keys()} and {keys}")
    nodes = np.array([u.num_nodes for u in units], dtype=np.int64)
    cands = np.array([u.cand_node.shape[0] for u in units], dtype=np.int64)
    reps = np.array([u.rep_cand.shape[0] for u in units], dtype=np.int64)
    offsets = {
        **dict.fromkeys(NODE_INDEX_FIELDS, np.cumsum(nodes) - nodes),
        **dict.fromkeys(CANDIDATE_INDEX_FIELDS, np.cumsum(cands) - cands),
        **dict.fromkeys(REPAIR_INDEX_FIELDS, np.cumsum(reps) - reps),
    }
    out = UnitArrays(int(nodes.sum()))
    for key in keys:
        values = [u[key] for u in units]
        if key == "edge_index":
            out[key] = np.concatenate([v + off for v, off in zip(values, np.cumsum(nodes) - nodes)], 1)
        elif key == "cand_graph":
            out[key] = np.repeat(np.arange(len(units), dtype=np.int64), cands)
        elif key in offsets:
            out[key] = np.concatenate([np.where(v >= 0, v + off, v) for v, off in zip(values, offsets[key])])
        elif isinstance(values[0], np.ndarray):
            out[key] = np.concatenate(values)
        else:
            out[key] = values
    out.batch = np.repeat(np.arange(len(units), dtype=np.int64), nodes)
    out.ptr = np.concatenate([[0], np.cumsum(nodes)]).astype(np.int64)
    return out


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
