"""Positional encodings and long-range shortcut edges, as transforms on numpy arrays.

Every transform here works on numpy :class:`~codegraph.models.tensorize.UnitArrays`
(no torch: scanning runs without it; training wraps them with
:class:`codegraph.models.tensors.TorchTransform`) and returns a NEW object, never
mutating its input: the input is shallow-copied and only fresh arrays are assigned to
the copy.

* :class:`RandomWalkPE` - random-walk structural encoding (Dwivedi et al., "Graph
  Neural Networks with Learnable Structural and Positional Representations", ICLR
  2022): the landing probabilities ``diag(P^i)``, ``i = 1..k``, ``P = D^-1 A``.
* :class:`LaplacianPE` - Laplacian eigenvectors (Dwivedi & Bresson, "A Generalization
  of Transformer Networks to Graphs", 2021): the ``k`` eigenvectors of the symmetric
  normalised Laplacian ``I - D^-1/2 A D^-1/2`` with the smallest non-trivial
  eigenvalues. Sign handling: the encoding stored in the data has a *canonical* sign
  (each eigenvector is flipped so that its largest-magnitude entry is positive; when
  that entry is not unique, so that the sum of cubed entries is positive), which
  makes it deterministic and independent of graph node order. In addition the model
  flips each eigenvector's sign at random per graph during training
  (``ModelConfig.lap_sign_flip``), so it cannot rely on the canonical sign either.
* :class:`AddShortcuts` - long-range edges: first occurrence of a binding -> every later
  occurrence (OCCURRENCE edges only chain neighbours), and one virtual graph node per
  function (the analysed function and each ``function_definition`` in the context),
  linked both ways to all of that function's graph nodes. Call site -> callee
  (CALLS) and argument -> parameter (FORMAL_ARG_NAME) edges come from the graph
  builder and are already present in both directions.
  :class:`RemoveShortcuts` undoes it (an ablation on shards that were stored with them).

Both encodings are computed on the undirected graph of the unit's own edges (no
shortcut edges) among the graph nodes of their *scope*: by default the analysed
function's own graph nodes (``scope="function"``: a unit's context is typically several
times larger than the function, and the eigendecomposition is superlinear), or every
real graph node (``scope="unit"``). Graph nodes outside the scope and virtual nodes get
all-zero rows. The encodings are deterministic given the graph and cached per graph
(LRU, keyed on the edge list), so computing them again for the same unit is free.
"""

from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse as sp

from codegraph.models.tensorize import (
    DEF_USE,
    FROM_VIRTUAL,
    NAME_MATCH,
    NAME_MATCH_REV,
    NUM_BASE_EDGE_TYPES,
    PAD_ID,
    TO_VIRTUAL,
    UNK_ID,
    USE_DEF,
    VIRTUAL_ID,
    UnitArrays,
)
from codegraph.schema import EdgeKind

#: graphs with at most this many graph nodes get both encodings from one dense eigendecomposition
#: of ``S = D^-1/2 A D^-1/2`` (shared by the two transforms through a small cache); bigger ones
#: take sparse random-walk powers and ARPACK. The crossover was measured on the standard
#: library's function graphs. Callers that run several processes cap the BLAS threads
#: (:func:`codegraph.models.runtime.limit_threads`): many BLAS threads crawl on a busy machine.
DENSE_SPECTRUM_MAX_NODES = 224
#: which graph nodes get positional encodings: the analysed function's own ("function", the
#: default: cheap, and where the candidates are) or every real graph node of the unit ("unit")
PE_SCOPES = ("function", "unit")


def num_real_nodes(data: UnitArrays) -> int:
    """Graph nodes that are not virtual (virtual nodes, if any, are always at the end)."""
    n = int(data.num_nodes or 0)
    vmask = getattr(data, "virtual_mask", None)
    return n - int(np.count_nonzero(vmask)) if vmask is not None else n


def scope_size(data: UnitArrays, scope: str = "function") -> int:
    """Graph nodes 0..n-1 that an encoding of ``scope`` covers (the function's nodes come first)."""
    if scope not in PE_SCOPES:
        raise ValueError(f"unknown positional-encoding scope {scope!r} (known: {', '.join(PE_SCOPES)})")
    fn_mask = getattr(data, "fn_mask", None)
    if scope == "function" and fn_mask is not None:
        return int(np.count_nonzero(fn_mask))
    return num_real_nodes(data)


class Adjacency:
    """The binary symmetric adjacency (no self loops) of a unit's own edges among ``n`` graph nodes.

    Held as its unique undirected pairs ``i < j``; ``key`` identifies the graph for caching.
    The sparse and dense forms are made on demand (small graphs never touch scipy).
    """

    __slots__ = ("_csr", "cols", "key", "n", "rows")

    def __init__(self, n: int, src: np.ndarray, dst: np.ndarray) -> None:
        pairs = np.unique(np.minimum(src, dst).astype(np.int64) * max(n, 1) + np.maximum(src, dst))
        self.n = n
        self.rows, self.cols = np.divmod(pairs, max(n, 1))
        self.key = hashlib.sha1(n.to_bytes(8, "little") + pairs.tobytes()).digest()
        self._csr: sp.csr_matrix | None = None

    def csr(self) -> sp.csr_matrix:
        import scipy.sparse as sp  # only graphs above DENSE_SPECTRUM_MAX_NODES: a lazy import

        if self._csr is None:
            idx = (np.concatenate([self.rows, self.cols]), np.concatenate([self.cols, self.rows]))
            self._csr = sp.csr_matrix((np.ones(2 * len(self.rows)), idx), shape=(self.n, self.n))
        return self._csr

    def dense(self) -> np.ndarray:
        a = np.zeros((self.n, self.n))
        a[self.rows, self.cols] = 1.0
        a[self.cols, self.rows] = 1.0
        return a


def adjacency(data: UnitArrays, scope: str = "function") -> Adjacency:
    """The :class:`Adjacency` of the unit's own edges (no shortcuts) among graph nodes in ``scope``."""
    n = scope_size(data, scope)
    ei = data.edge_index
    et = data.edge_type
    keep = (et < NUM_BASE_EDGE_TYPES) & (ei[0] < n) & (ei[1] < n) & (ei[0] != ei[1])
    return Adjacency(n, ei[0, keep], ei[1, keep])


def base_adjacency(data: UnitArrays, scope: str = "function") -> sp.csr_matrix:
    """Binary symmetric adjacency (no self loops) of the unit's own edges among graph nodes in ``scope``."""
    return adjacency(data, scope).csr()


def _inv_sqrt(deg: np.ndarray) -> np.ndarray:
    """``D^-1/2`` as a vector; isolated graph nodes (degree 0) get 0, so their rows of S are zero."""
    return np.divide(1.0, np.sqrt(deg), out=np.zeros_like(deg), where=deg > 0)


def _normalized(a: sp.csr_matrix) -> tuple[np.ndarray, sp.csr_matrix]:
    """Degrees and the sparse ``S = D^-1/2 A D^-1/2``."""
    import scipy.sparse as sp

    deg = np.asarray(a.sum(axis=1)).ravel()
    dinv = _inv_sqrt(deg)
    return deg, (sp.diags(dinv) @ a @ sp.diags(dinv)).tocsr()


_SPECTRA: OrderedDict[bytes, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_SPECTRA_SIZE = 64


def dense_spectrum(a: Adjacency) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (ascending) and eigenvectors of ``S = D^-1/2 A D^-1/2``, float64, cached.

    Both encodings read it: ``diag(S^i) = (U * U) @ w^i`` and the normalised Laplacian
    ``I - S`` has the same eigenvectors with eigenvalues ``1 - w``.
    """
    hit = _SPECTRA.get(a.key)
    if hit is not None:
        _SPECTRA.move_to_end(a.key)
        return hit
    dense = a.dense()
    dinv = _inv_sqrt(dense.sum(1))
    hit = np.linalg.eigh(dinv[:, None] * dense * dinv[None, :])
    _SPECTRA[a.key] = hit
    if len(_SPECTRA) > _SPECTRA_SIZE:
        _SPECTRA.popitem(last=False)
    return hit


def clear_spectrum_cache() -> None:
    """Forget cached eigendecompositions (benchmarks time the encodings cold)."""
    _SPECTRA.clear()


class Transform:
    """A transform of :class:`UnitArrays`: calling it shallow-copies the input, then
    :meth:`forward` assigns fresh arrays to the copy."""

    def __call__(self, data: UnitArrays) -> UnitArrays:
        return self.forward(data.copy())

    def forward(self, data: UnitArrays) -> UnitArrays:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class Compose(Transform):
    """Transforms applied in order."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, data: UnitArrays) -> UnitArrays:
        for t in self.transforms:
            data = t(data)
        return data

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {t!r}" for t in self.transforms)
        return f"Compose([\n{inner}\n])"


class _CachedEncoding(Transform):
    """A per-graph-node encoding stored as ``data[attr]`` of shape [N, k], with an LRU cache."""

    attr: str = ""

    def __init__(self, k: int, scope: str = "function", cache_size: int = 4096) -> None:
        if k <= 0:
            raise ValueError("k must be positive")
        if scope not in PE_SCOPES:
            raise ValueError(f"unknown positional-encoding scope {scope!r} (known: {', '.join(PE_SCOPES)})")
        self.k = k
        self.scope = scope
        self.cache_size = cache_size
        self._cache: OrderedDict[bytes, np.ndarray] = OrderedDict()

    def compute(self, a: Adjacency) -> np.ndarray:
        raise NotImplementedError

    def encode(self, data: UnitArrays, a: Adjacency | None = None) -> np.ndarray:
        """The encoding [N, k] (float32) for ``data``; virtual graph nodes get zero rows.

        ``a``: ``adjacency(data, self.scope)`` when the caller already has it."""
        if a is None:
            a = adjacency(data, self.scope)
        key = a.key
        pe = self._cache.get(key)
        if pe is None:
            pe = self.compute(a).astype(np.float32)
            self._cache[key] = pe
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(key)
        out = np.zeros((int(data.num_nodes or 0), self.k), dtype=np.float32)
        out[: pe.shape[0]] = pe
        return out

    def forward(self, data: UnitArrays) -> UnitArrays:  # `data` is already a shallow copy
        if not self._present(data):
            data[self.attr] = self.encode(data)
        return data

    def _present(self, data: UnitArrays) -> bool:
        """Whether ``data`` already has this encoding (same width, and as far as visible, same scope)."""
        existing = getattr(data, self.attr, None)
        if not isinstance(existing, np.ndarray) or existing.shape != (data.num_nodes, self.k):
            return False
        fn, real = scope_size(data, "function"), num_real_nodes(data)
        if fn == real:
            return True
        context_encoded = bool(np.abs(existing[fn:real]).sum() > 0)
        return context_encoded == (self.scope == "unit")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(k={self.k}, scope={self.scope!r})"


class RandomWalkPE(_CachedEncoding):
    """Random-walk landing probabilities ``diag(P^i)``, ``i = 1..k``, stored as ``rw_pe`` [N, k].

    ``diag(P^i) = diag(S^i)`` for the symmetric ``S = D^-1/2 A D^-1/2``. Small graphs read it
    off the eigendecomposition of ``S`` (:func:`dense_spectrum`); larger ones form only the
    sparse ``S^1 .. S^ceil(k/2)`` and use ``diag(S^(a+b)) = rowsum(S^a * S^b)``. Isolated
    graph nodes get zeros.
    """

    attr = "rw_pe"

    def __init__(self, k: int = 16, scope: str = "function", cache_size: int = 4096) -> None:
        super().__init__(k, scope, cache_size)

    def compute(self, a: Adjacency) -> np.ndarray:
        n = a.n
        out = np.zeros((n, self.k))
        if n == 0:
            return out
        if n <= DENSE_SPECTRUM_MAX_NODES:  # diag(S^i) = sum_j U_vj^2 w_j^i
            w, u = dense_spectrum(a)
            powers = w[:, None] ** np.arange(1, self.k + 1)[None, :]
            out = np.maximum((u * u) @ powers, 0.0)  # probabilities: no rounding below zero
            out[:, 0] = 0.0  # exact: no self loops, a walk cannot stay put in one step
            return out
        # diag(P^i) = diag(S^i) for the symmetric S = D^-1/2 A D^-1/2 (P^i = D^-1/2 S^i D^1/2),
        # and diag(S^(a+b)) = rowsum(S^a * S^b) because S^b is symmetric
        _, s = _normalized(a.csr())
        half = math.ceil(self.k / 2)
        pows = [s]
        for _ in range(half - 1):
            pows.append(pows[-1] @ s)
        for i in range(1, self.k + 1):
            ia = math.ceil(i / 2)
            pa = pows[ia - 1]
            if i == ia:
                out[:, i - 1] = pa.diagonal()
            else:
                out[:, i - 1] = np.asarray(pa.multiply(pows[i - ia - 1]).sum(axis=1)).ravel()
        return out


def canonical_signs(vectors: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Flip each column so its largest-magnitude entry is positive (or, if that is tied,
    the sum of its cubed entries). Columns where both are ambiguous are left as they are."""
    out = vectors.copy()
    for j in range(out.shape[1]):
        v = out[:, j]
        mag = np.abs(v)
        top = mag.max(initial=0.0)
        if top <= tol:
            continue
        winners = np.flatnonzero(mag >= top - tol)
        signs = np.sign(v[winners])
        if np.all(signs == signs[0]):
            sign = signs[0]
        else:
            cubes = float(np.sum(v**3))
            sign = np.sign(cubes) if abs(cubes) > tol else 1.0
        out[:, j] = v * sign
    return out


class LaplacianPE(_CachedEncoding):
    """Normalised-Laplacian eigenvectors of the k smallest non-trivial eigenvalues: ``lap_pe`` [N, k].

    The trivial first eigenvector is skipped; graphs with ``N <= k`` are zero-padded.
    Small graphs use the dense eigendecomposition of ``S`` (:func:`dense_spectrum`, shared
    with :class:`RandomWalkPE`); larger ones ``scipy.sparse.linalg.eigsh`` in shift-invert
    mode around 0 with a deterministic start vector (dense fallback if ARPACK fails).
    Signs are canonical (:func:`canonical_signs`).
    """

    attr = "lap_pe"

    def __init__(self, k: int = 8, scope: str = "function", cache_size: int = 4096) -> None:
        super().__init__(k, scope, cache_size)

    def compute(self, a: Adjacency) -> np.ndarray:
        n = a.n
        out = np.zeros((n, self.k))
        if n <= 1:
            return out
        m = min(self.k + 1, n)
        vals: np.ndarray | None = None
        vecs: np.ndarray | None = None
        if n > DENSE_SPECTRUM_MAX_NODES and m < n - 1:
            deg, s = _normalized(a.csr())
            import scipy.sparse as sp
            from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, eigsh

            lap = (sp.identity(n, format="csr") - s).tocsc()
            v0 = 1.0 + np.sqrt(deg) / max(1.0, float(np.sqrt(deg).max()))
            try:
                vals, vecs = eigsh(lap, k=m, sigma=-1e-3, which="LM", v0=v0, tol=1e-8)
            except (ArpackError, ArpackNoConvergence, RuntimeError):
                vals = vecs = None
        if vals is None or vecs is None:
            w, vecs = dense_spectrum(a)
            vals = 1.0 - w
        order = np.argsort(vals, kind="stable")[:m]
        chosen = vecs[:, order[1:]]
        out[:, : chosen.shape[1]] = canonical_signs(chosen)
        return out


# -- shortcut edges ---------------------------------------------------------------------------
def _occurrence_shortcuts(edge_index: np.ndarray, edge_type: np.ndarray) -> list[tuple[int, int]]:
    """(first occurrence, later occurrence) pairs two or more OCCURRENCE steps apart."""
    occ = edge_type == int(EdgeKind.OCCURRENCE)
    src, dst = edge_index[0, occ].tolist(), edge_index[1, occ].tolist()
    nexts: dict[int, list[int]] = {}
    for s, d in zip(src, dst):
        nexts.setdefault(s, []).append(d)
    has_pred = set(dst)
    pairs: list[tuple[int, int]] = []
    for head in sorted(set(src) - has_pred):
        seen = {head}
        frontier = [head]
        depth = 0
        while frontier:
            depth += 1
            nxt: list[int] = []
            for u in frontier:
                for v in nexts.get(u, ()):
                    if v not in seen:
                        seen.add(v)
                        nxt.append(v)
                        if depth >= 2:
                            pairs.append((head, v))
            frontier = nxt
    return pairs


def _subtrees(
    edge_index: np.ndarray, edge_type: np.ndarray, roots: list[int], n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Each root with its CHILD-edge descendants (the edges form a forest): (root position, graph
    node) pairs, by root then graph node.

    Membership ``M[r, v]`` (root ``r`` is ``v`` or an ancestor of it) by pointer doubling:
    with ``jump`` the 2^k-th ancestor, ``M[:, v] |= M[:, jump[v]]`` covers twice the distance
    per step, so a tree of depth d takes log2(d) vectorised steps.
    """
    if not roots:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    child = edge_type == int(EdgeKind.CHILD)
    ei = edge_index
    jump = np.full(n + 1, n, dtype=np.int64)  # n: a sentinel above every root
    jump[ei[1, child]] = ei[0, child]
    member = np.zeros((len(roots), n + 1), dtype=bool)
    member[np.arange(len(roots)), roots] = True
    while True:
        grown = member | member[:, jump]
        if np.array_equal(grown, member) and np.all(jump[jump] == jump):
            break
        member, jump = grown, jump[jump]
    group, node = np.nonzero(member[:, :n])
    return group.astype(np.int64), node.astype(np.int64)


class AddShortcuts(Transform):
    """Add DEF_USE/USE_DEF edges and one virtual graph node per function (TO/FROM_VIRTUAL edges).

    Virtual nodes are appended after the real graph nodes (``x_type = <virtual>``,
    no subtokens, zero positional encodings) and flagged in ``virtual_mask``. Arrays
    that already has ``virtual_mask`` is returned unchanged (as a copy).
    """

    def forward(self, data: UnitArrays) -> UnitArrays:
        if getattr(data, "virtual_mask", None) is not None:
            return data
        n = int(data.num_nodes or 0)
        ei, et = data.edge_index, data.edge_type
        fwd = et < NUM_BASE_EDGE_TYPES // 2
        ei_f, et_f = ei[:, fwd], et[fwd]

        # virtual graph node g: the analysed function's graph nodes, then each other function's subtree
        fn_nodes = np.flatnonzero(data.fn_mask)
        fn_set = set(fn_nodes.tolist())
        roots = [r for r in np.flatnonzero(data.fn_root).tolist() if r not in fn_set]
        group, member = _subtrees(ei_f, et_f, roots, n)
        first = 1 if len(fn_nodes) else 0
        group = np.concatenate([np.zeros(len(fn_nodes), dtype=np.int64), group + first])
        member = np.concatenate([fn_nodes, member])
        num_virtual = first + len(roots)
        # per group g: its members -> v, then v -> its members (v = n + g)
        sizes = np.bincount(group, minlength=num_virtual)
        start = np.repeat(2 * (np.cumsum(sizes) - sizes), sizes)  # where group g's block begins
        rank = np.arange(len(member)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        v_src = np.empty(2 * len(member), dtype=np.int64)
        v_dst = np.empty_like(v_src)
        v_type = np.empty_like(v_src)
        to_pos, from_pos = start + rank, start + np.repeat(sizes, sizes) + rank
        v_src[to_pos], v_dst[to_pos], v_type[to_pos] = member, n + group, TO_VIRTUAL
        v_src[from_pos], v_dst[from_pos], v_type[from_pos] = n + group, member, FROM_VIRTUAL

        pairs = np.asarray(_occurrence_shortcuts(ei_f, et_f), dtype=np.int64).reshape(-1, 2)
        new_src = np.concatenate([pairs.ravel(), v_src])
        new_dst = np.concatenate([pairs[:, ::-1].ravel(), v_dst])
        new_type = np.concatenate([np.tile([DEF_USE, USE_DEF], len(pairs)), v_type])

        data.edge_index = np.concatenate([ei, np.stack([new_src, new_dst])], 1)
        data.edge_type = np.concatenate([et, new_type])
        data.x_type = np.concatenate([data.x_type, np.full(num_virtual, VIRTUAL_ID, dtype=data.x_type.dtype)])
        sub = data.x_sub
        data.x_sub = np.concatenate([sub, np.full((num_virtual, sub.shape[1]), PAD_ID, dtype=sub.dtype)])
        for key in ("fn_mask", "fn_root"):
            data[key] = np.concatenate([data[key], np.zeros(num_virtual, dtype=bool)])
        for key in ("rw_pe", "lap_pe"):
            pe = getattr(data, key, None)
            if isinstance(pe, np.ndarray):
                data[key] = np.concatenate([pe, np.zeros((num_virtual, pe.shape[1]), dtype=pe.dtype)])
        data.virtual_mask = np.concatenate([np.zeros(n, dtype=bool), np.ones(num_virtual, dtype=bool)])
        data.num_nodes = n + num_virtual
        return data


class AddNameEdges(Transform):
    """Add NAME_MATCH edges: an argument -> the parameter of the same call's callee named like it,
    when the argument binds another one (and the reverse, NAME_MATCH_REV).

    A call's arguments bind the callee's parameters through FORMAL_ARG_NAME edges. With
    ``def clamp(value, limit)``, the call ``clamp(limit, value)`` binds ``limit`` to
    ``value``; its NAME_MATCH edge joins ``limit`` to the parameter ``limit``, which
    the other argument binds. Correct calls whose arguments are spelled like the
    parameters they bind get none. Names are equal when their subtoken rows are, every
    subtoken known to the vocabulary; the arguments of one call share the syntax parent.
    Arrays that already have name edges are returned unchanged.
    """

    def forward(self, data: UnitArrays) -> UnitArrays:
        et, ei = data.edge_type, data.edge_index
        if bool(((et == NAME_MATCH) | (et == NAME_MATCH_REV)).any()):
            return data
        n = int(data.num_nodes or 0)
        child = et == int(EdgeKind.CHILD)
        parent = np.full(n, -1, dtype=np.int64)
        parent[ei[1, child]] = ei[0, child]
        formal = et == int(EdgeKind.FORMAL_ARG_NAME)
        arg, param = ei[0, formal], ei[1, formal]
        if arg.size < 2:
            return data
        call = parent[arg]
        sub = data.x_sub
        named = ((sub > UNK_ID) | (sub == PAD_ID)).all(1) & (sub > UNK_ID).any(1)
        same_call = (call[:, None] == call[None, :]) & (call >= 0)[:, None]
        other_param = param[:, None] != param[None, :]
        same_name = (sub[arg][:, None] == sub[param][None, :]).all(-1)
        same_name &= named[arg][:, None] & named[param][None, :]
        i, j = np.nonzero(same_call & other_param & same_name)
        if not i.size:
            return data
        src, dst = arg[i], param[j]
        new_index = np.stack([np.concatenate([src, dst]), np.concatenate([dst, src])])
        new_type = np.concatenate([np.full_like(src, NAME_MATCH), np.full_like(src, NAME_MATCH_REV)])
        data.edge_index = np.concatenate([ei, new_index], 1)
        data.edge_type = np.concatenate([et, new_type.astype(et.dtype)])
        return data


class RemoveShortcuts(Transform):
    """Drop virtual graph nodes and shortcut edges (the inverse of :class:`AddShortcuts`)."""

    def forward(self, data: UnitArrays) -> UnitArrays:
        vmask = getattr(data, "virtual_mask", None)
        if vmask is None:
            return data
        n = num_real_nodes(data)
        keep = data.edge_type < NUM_BASE_EDGE_TYPES
        data.edge_index = data.edge_index[:, keep]
        data.edge_type = data.edge_type[keep]
        for key in ("x_type", "x_sub", "fn_mask", "fn_root", "rw_pe", "lap_pe"):
            value = getattr(data, key, None)
            if isinstance(value, np.ndarray):
                data[key] = value[:n]
        del data.virtual_mask
        data.num_nodes = n
        return data


class PositionalEncodings(Transform):
    """:class:`RandomWalkPE` and/or :class:`LaplacianPE` of one scope, sharing one adjacency."""

    def __init__(self, encodings: list[_CachedEncoding]) -> None:
        if len({e.scope for e in encodings}) > 1:
            raise ValueError("positional encodings of one transform must share a scope")
        self.encodings = encodings

    def forward(self, data: UnitArrays) -> UnitArrays:
        todo = [e for e in self.encodings if not e._present(data)]
        if todo:
            a = adjacency(data, todo[0].scope)
            for e in todo:
                data[e.attr] = e.encode(data, a)
        return data

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(map(repr, self.encodings))})"


def build_transform(
    *,
    shortcuts: bool = True,
    rw_k: int = 8,
    lap_k: int = 8,
    pe_scope: str = "function",
    name_edges: bool = False,
) -> Compose:
    """The feature pipeline a model config asks for (``rw_k`` / ``lap_k`` = 0 disables an encoding)."""
    encodings: list[_CachedEncoding] = []
    if rw_k > 0:
        encodings.append(RandomWalkPE(rw_k, pe_scope))
    if lap_k > 0:
        encodings.append(LaplacianPE(lap_k, pe_scope))
    steps: list[Transform] = [AddShortcuts() if shortcuts else RemoveShortcuts()]
    if name_edges:
        steps.append(AddNameEdges())
    if encodings:
        steps.append(PositionalEncodings(encodings))
    return Compose(steps)
