"""The detector without torch: the exported ONNX model run with onnxruntime, inputs made in numpy.

What scans load (``codegraph scan``, ``fix``, the language server, pre-commit). A
checkpoint ``NAME`` is a sidecar ``NAME.json`` (config, vocabulary, temperatures, the
sha256 of every file) beside its files; the runtime reads ``NAME.json`` and the ONNX
file its ``runtime`` entry names (``NAME.onnx``, written by ``codegraph train run`` and
``codegraph train export``), never the torch weights. Nothing is unpickled: the sidecar
is JSON and the model protobuf. :func:`read_sidecar` checks the sidecar, and
:func:`load_runtime` the model file against the sha256 recorded there; both raise
:class:`ModelError` with a one-line message.

Per batch, :func:`layer_plan` works out in numpy which graph nodes each layer must
compute (the heads' graph nodes and, going backwards, their in-neighbours: the same
pruning as the torch model's inference path) and the edges into them; the ONNX graph
(:mod:`codegraph.models.export`) does the rest and returns raw scores, which
:class:`RuntimePredictor` turns into calibrated probabilities.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from codegraph.command import CommandError
from codegraph.models.checkpoint import FORMAT, SHIPPED, recorded_config
from codegraph.models.config import ModelConfig, input_transform
from codegraph.models.schema_map import SchemaMap
from codegraph.models.tensorize import UnitArrays, Vocabulary, batch_arrays
from codegraph.units import AnalysisUnit

CHECKPOINT_FORMAT = FORMAT
CHECKPOINT_VERSION = 1
RUNTIME_FORMAT = "codegraph-onnx"
RUNTIME_VERSION = 1
#: the shipped model
DEFAULT_MODEL = SHIPPED


class ModelError(CommandError):
    """A model cannot be loaded or used; the message is one line for the user."""


def model_base(path: str | Path | None) -> Path:
    """``NAME`` for NAME, NAME.safetensors, NAME.json or NAME.onnx (None: the shipped model)."""
    p = Path(path) if path is not None else DEFAULT_MODEL
    return p.with_suffix("") if p.suffix in (".safetensors", ".json", ".onnx") else p


@dataclass(frozen=True)
class Sidecar:
    """A checked checkpoint sidecar (``NAME.json``)."""

    path: Path
    info: dict[str, Any]
    vocab: Vocabulary
    config: ModelConfig
    temperature: dict[str, float]
    metadata: dict[str, Any]

    @property
    def name(self) -> str:
        return str(self.info.get("name", self.path.stem))

    def file_entry(self, key: str) -> dict[str, Any]:
        """The sidecar's record of one of its files (``weights`` or ``runtime``)."""
        entry = self.info.get(key)
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise ModelError(f"{self.path}: no {key} file is recorded")
        return entry


def read_sidecar(path: str | Path | None) -> Sidecar:
    """Read and check ``NAME.json`` (format, version, vocabulary, config, temperatures)."""
    base = model_base(path)
    sidecar = base.with_name(base.name + ".json")
    if not sidecar.is_file():
        given = Path(path) if path is not None else sidecar
        where = "" if given == sidecar else f" (no {sidecar})"
        raise ModelError(f"model checkpoint file not found: {given}{where}")
    try:
        info = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read the model sidecar {sidecar}: {exc}") from None
    if not isinstance(info, dict) or info.get("format") != CHECKPOINT_FORMAT:
        raise ModelError(f"{sidecar} is not a codegraph checkpoint sidecar")
    if info.get("version") != CHECKPOINT_VERSION:
        raise ModelError(
            f"{sidecar}: checkpoint version {info.get('version')!r} is not supported "
            f"(this codegraph reads version {CHECKPOINT_VERSION})"
        )
    try:
        vocab = Vocabulary.from_dict(info["vocab"])
        config = ModelConfig.from_dict(recorded_config(info["model"]))
        temperature = {k: float(info["temperature"][k]) for k in ("location", "repair")}
        metadata = dict(info.get("metadata") or {})
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{sidecar}: invalid checkpoint description ({exc})") from None
    if config.with_vocab(vocab) != config:
        raise ModelError(f"{sidecar}: the model config does not match the vocabulary sizes")
    if not all(t > 0 for t in temperature.values()):
        raise ModelError(f"{sidecar}: temperatures must be positive")
    return Sidecar(sidecar, info, vocab, config, temperature, metadata)


def read_checked(sidecar: Sidecar, key: str) -> tuple[Path, bytes, str]:
    """(path, bytes, sha256) of the sidecar's ``key`` file, checked against the recorded sha256."""
    entry = sidecar.file_entry(key)
    path = sidecar.path.with_name(entry["file"])
    if not path.is_file():
        raise ModelError(f"model checkpoint file not found: {path}")
    try:
        blob = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the model file {path}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(blob).hexdigest()
    if digest != entry.get("sha256"):
        raise ModelError(
            f"{path} does not match the sha256 recorded in {sidecar.path.name}: "
            "the file is corrupt or was modified"
        )
    return path, blob, digest


def runtime_entry(file: str, blob: bytes, dtype: str) -> dict[str, Any]:
    """The sidecar's ``runtime`` record of an exported model."""
    return {
        "file": file,
        "format": RUNTIME_FORMAT,
        "version": RUNTIME_VERSION,
        "sha256": hashlib.sha256(blob).hexdigest(),
        "dtype": dtype,
        "bytes": len(blob),
    }


# -- predictions ---------------------------------------------------------------------------
@dataclass
class Prediction:
    """What the detector says about one unit (temperature-calibrated probabilities).

    ``loc_probs[c]`` = P(the bug is at candidate c); ``p_no_bug + sum(loc_probs) == 1``.
    ``rep_probs[c][r]`` = P(repair r | the bug is at candidate c); each row sums to 1.
    """

    function: str
    path: str
    p_no_bug: float
    loc_probs: list[float] = field(default_factory=list)
    rep_probs: list[list[float]] = field(default_factory=list)

    def best(self) -> tuple[int, int, float] | None:
        """(candidate, repair, P(bug there and that repair)) of the most likely fix, or None."""
        return best_pair(self.loc_probs, self.rep_probs)


def best_pair(
    loc_probs: Sequence[float], rep_probs: Sequence[Sequence[float]]
) -> tuple[int, int, float] | None:
    """(candidate, repair, P(bug there) x P(repair | there)) of the most likely pair, or None."""
    best: tuple[int, int, float] | None = None
    for ci, (p_loc, reps) in enumerate(zip(loc_probs, rep_probs)):
        for ri, p_rep in enumerate(reps):
            score = p_loc * p_rep
            if best is None or score > best[2]:
                best = (ci, ri, score)
    return best


def predict_scored(
    schema: SchemaMap,
    units: Sequence[AnalysisUnit],
    predict: Callable[[list[AnalysisUnit]], list[Prediction]],
) -> list[Prediction]:
    """``predict`` run on the candidates of the rules the model scores (``schema``); a candidate of
    a rule it was not trained with gets probability 0 (its repairs too): the model never sees it."""
    scored = [schema.scored(u) for u in units]
    preds = predict(scored)
    return [p if s is u else _spread(u, s, p) for u, s, p in zip(units, scored, preds, strict=True)]


def _spread(unit: AnalysisUnit, scored: AnalysisUnit, pred: Prediction) -> Prediction:
    """``pred`` of ``scored`` (some of ``unit``'s candidates) spread over all of ``unit``'s, 0 elsewhere."""
    kept = iter(zip(pred.loc_probs, pred.rep_probs, strict=True))
    wanted = {id(c) for c in scored.candidates}
    loc: list[float] = []
    rep: list[list[float]] = []
    for cand in unit.candidates:
        p_loc, p_rep = next(kept) if id(cand) in wanted else (0.0, [0.0] * len(cand.repairs))
        loc.append(p_loc)
        rep.append(p_rep)
    return Prediction(pred.function, pred.path, pred.p_no_bug, loc, rep)


def batches_by_size(
    sizes: Sequence[int], max_nodes: int, max_units: int, skip: Sequence[bool] = ()
) -> list[list[int]]:
    """Indices grouped into batches of at most ``max_nodes`` graph nodes and ``max_units`` units,
    smallest units first (a unit larger than ``max_nodes`` is a batch of its own)."""
    todo = sorted((i for i in range(len(sizes)) if not (skip and skip[i])), key=lambda i: sizes[i])
    return pack_batches(todo, sizes, max_nodes, max_units)


def pack_batches(
    order: Sequence[int], sizes: Sequence[int], max_nodes: int, max_units: int
) -> list[list[int]]:
    """The indices of ``order``, in that order, packed greedily into batches of at most ``max_nodes``
    graph nodes and ``max_units`` units (a unit larger than ``max_nodes`` is a batch of its own)."""
    batches: list[list[int]] = []
    nodes = 0
    for i in order:
        n = sizes[i]
        if batches and nodes + n <= max_nodes and len(batches[-1]) < max_units:
            batches[-1].append(i)
            nodes += n
        else:
            batches.append([i])
            nodes = n
    return batches


def grouped_log_softmax(scores: np.ndarray, index: np.ndarray, num_groups: int) -> np.ndarray:
    """log softmax of ``scores`` within the groups given by ``index`` (float64, stable).

    A non-finite score gives non-finite results in its group, silently: the caller refuses
    them with one error line (numpy's warnings would print above it)."""
    scores = scores.astype(np.float64)
    if not scores.size:
        return scores
    top = np.full(num_groups, -np.inf)
    with np.errstate(invalid="ignore", over="ignore"):
        np.maximum.at(top, index, scores)
        shifted = scores - top[index]
        total = np.bincount(index, np.exp(shifted), minlength=num_groups)
        return shifted - np.log(np.maximum(total, 1e-30))[index]


def probabilities(
    no_bug: np.ndarray,
    loc: np.ndarray,
    rep: np.ndarray,
    cand_graph: np.ndarray,
    rep_cand: np.ndarray,
    t_loc: float = 1.0,
    t_rep: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(P(no bug) [B], P(bug at c) [C], P(repair | its candidate) [R]) of raw scores at temperatures."""
    b = no_bug.shape[0]
    index = np.concatenate([np.arange(b), cand_graph])
    lsm = grouped_log_softmax(np.concatenate([no_bug, loc]) / t_loc, index, b)
    rep_lp = grouped_log_softmax(rep / t_rep, rep_cand, loc.shape[0])
    return np.exp(lsm[:b]), np.exp(lsm[b:]), np.exp(rep_lp)


def read_by_heads(batch: UnitArrays) -> np.ndarray:
    """The graph nodes whose final states the heads read: the functions' own graph nodes,
    candidate locations and repair targets (a boolean mask)."""
    needed = batch.fn_mask.astype(bool).copy()
    needed[batch.cand_node] = True
    needed[batch.rep_target[batch.rep_target >= 0]] = True
    return needed


def layer_plan(batch: UnitArrays, num_layers: int) -> dict[str, np.ndarray]:
    """The ONNX model's inputs for ``batch`` (see :mod:`codegraph.models.export`).

    Going backwards from the graph nodes the heads read, the input of each layer must
    hold the sources of the edges into its output rows; nothing else is computed.
    """
    n = batch.num_nodes
    src, dst, etype = batch.edge_index[0], batch.edge_index[1], batch.edge_type
    masks = [read_by_heads(batch)]
    for _ in range(num_layers):
        grown = masks[-1].copy()
        grown[src[masks[-1][dst]]] = True
        masks.append(grown)
    masks.reverse()  # masks[0]: the first layer's input, masks[l + 1]: layer l's output
    keep = np.flatnonzero(masks[0])
    inputs: dict[str, np.ndarray] = {"x_type": batch.x_type[keep], "x_sub": batch.x_sub[keep]}
    for key in ("rw_pe", "lap_pe"):
        if key in batch:
            inputs[key] = np.ascontiguousarray(batch[key][keep], dtype=np.float32)
    pos = np.full(n, -1, dtype=np.int64)
    for layer, mask in enumerate(masks[1:]):
        pos[keep] = np.arange(keep.size)
        rows = np.flatnonzero(mask)
        out_pos = np.full(n, -1, dtype=np.int64)
        out_pos[rows] = np.arange(rows.size)
        sel = mask[dst]
        inputs[f"rows_{layer}"] = pos[rows]
        inputs[f"src_{layer}"] = pos[src[sel]]
        inputs[f"dst_{layer}"] = out_pos[dst[sel]]
        inputs[f"type_{layer}"] = etype[sel]
        keep, pos = rows, np.full(n, -1, dtype=np.int64)
    pos[keep] = np.arange(keep.size)
    fn = np.flatnonzero(batch.fn_mask)
    graph = batch.batch
    target = batch.rep_target
    inputs.update(
        graphs=np.arange(batch.ptr.size - 1, dtype=np.int64),
        fn_pos=pos[fn],
        fn_graph=graph[fn],
        cand_pos=pos[batch.cand_node],
        cand_rule=batch.cand_rule,
        cand_graph=batch.cand_graph,
        rep_cand=batch.rep_cand,
        rep_token=batch.rep_token,
        rep_target_pos=np.where(target >= 0, pos[np.maximum(target, 0)], 0),
        rep_has_target=(target >= 0).astype(np.float32),
    )
    return {k: np.ascontiguousarray(v) for k, v in inputs.items()}


def _session(blob: bytes, path: Path) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    # one thread: onnxruntime's multi-threaded ScatterND with a reduction races on repeated
    # destinations (wrong sums, measured); scans get their parallelism from worker processes
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for unreadable models
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"cannot load the runtime model {path}: {message}") from None


#: graph nodes per onnxruntime call: its memory arena keeps the largest call's buffers (per-edge
#: [E, 4, 64] products), about 390 MB at 16,384 nodes and 140 MB at 4,096, where the buffers
#: also stay in cache (the model took 23% less time)
MAX_BATCH_NODES = 4_096


class RuntimePredictor:
    """A loaded runtime model that scores units in batches (numpy + onnxruntime, no torch)."""

    def __init__(
        self,
        sidecar: Sidecar,
        session: Any,
        sha256: str,
        *,
        max_batch_nodes: int = MAX_BATCH_NODES,
        max_batch_units: int = 128,
    ) -> None:
        self.sidecar = sidecar
        self.session = session
        self._sha256 = sha256
        self.vocab = sidecar.vocab
        self.config = sidecar.config
        self.metadata = dict(
            sidecar.metadata, name=sidecar.name, sha256=sha256, temperature=sidecar.temperature
        )
        self.t_loc = sidecar.temperature["location"]
        self.t_rep = sidecar.temperature["repair"]
        self.max_batch_nodes = max_batch_nodes
        self.max_batch_units = max_batch_units
        self.transform = input_transform(sidecar.config)
        self.schema = SchemaMap(sidecar.config.rules, sidecar.config.edge_kinds)
        self._input_names = {i.name for i in session.get_inputs()}

    @property
    def name(self) -> str:
        return self.sidecar.name

    @property
    def sha256(self) -> str:
        return self._sha256

    @property
    def missing_rules(self) -> tuple[str, ...]:
        """This code's rules that the model was not trained with: left off (probability 0)."""
        return self.schema.missing_rules

    def arrays(self, unit: AnalysisUnit) -> UnitArrays:
        """The model input of one unit (tensorize + shortcuts + positional encodings) in the model's
        rule and edge-type ids; its candidates must all be of rules the model scores."""
        return self.schema.model_input(unit, self.vocab, self.transform)

    def predict(self, units: Sequence[AnalysisUnit]) -> list[Prediction]:
        """One Prediction per unit, in order. Units without candidates get ``p_no_bug = 1``;
        candidates of rules the model was not trained with get probability 0."""
        return predict_scored(self.schema, units, self._predict_scored)

    def _predict_scored(self, units: list[AnalysisUnit]) -> list[Prediction]:
        out: list[Prediction | None] = [
            None if unit.candidates else Prediction(unit.function, unit.path, 1.0) for unit in units
        ]
        skip = [not unit.candidates for unit in units]
        sizes = [unit.num_nodes for unit in units]
        for idx in batches_by_size(sizes, self.max_batch_nodes, self.max_batch_units, skip):
            for i, pred in zip(idx, self._predict_batch([units[i] for i in idx])):
                out[i] = pred
        return [p for p in out if p is not None]

    def scores(self, batch: UnitArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Raw (no_bug [B], loc [C], rep [R]) scores of a batch of transformed arrays."""
        feed = layer_plan(batch, self.config.layers)
        no_bug, loc, rep = self.session.run(
            ["no_bug", "loc", "rep"], {k: v for k, v in feed.items() if k in self._input_names}
        )
        return no_bug, loc, rep

    def probabilities(self, arrays: Sequence[UnitArrays]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P(no bug) [B], P(location) [C], P(repair | its location) [R]) of transformed arrays,
        batched in their order."""
        batch = batch_arrays(list(arrays))
        no_bug, loc, rep = self.scores(batch)
        return probabilities(no_bug, loc, rep, batch.cand_graph, batch.rep_cand, self.t_loc, self.t_rep)

    def _predict_batch(self, units: list[AnalysisUnit]) -> list[Prediction]:
        p_no_bug, p_loc, p_rep = self.probabilities([self.arrays(u) for u in units])
        preds = []
        c0 = r0 = 0
        for g, unit in enumerate(units):
            loc_probs = p_loc[c0 : c0 + len(unit.candidates)].tolist()
            rep_probs = []
            for cand in unit.candidates:
                rep_probs.append(p_rep[r0 : r0 + len(cand.repairs)].tolist())
                r0 += len(cand.repairs)
            c0 += len(unit.candidates)
            preds.append(Prediction(unit.function, unit.path, float(p_no_bug[g]), loc_probs, rep_probs))
        return preds


def load_runtime(path: str | Path | None = None) -> RuntimePredictor:
    """The runtime model of checkpoint ``path`` (None: the shipped model). Raises ModelError.

    It runs on one thread (see :func:`_session`)."""
    sidecar = read_sidecar(path)
    entry = sidecar.file_entry("runtime") if "runtime" in sidecar.info else None
    if entry is None:
        raise ModelError(
            f"{sidecar.path} records no runtime model: export one with "
            f"`codegraph train export {model_base(sidecar.path)}`"
        )
    if entry.get("format") != RUNTIME_FORMAT or entry.get("version") != RUNTIME_VERSION:
        raise ModelError(
            f"{sidecar.path}: runtime model format {entry.get('format')!r} version "
            f"{entry.get('version')!r} is not supported (this codegraph reads {RUNTIME_FORMAT} "
            f"version {RUNTIME_VERSION})"
        )
    model_path, blob, digest = read_checked(sidecar, "runtime")
    return RuntimePredictor(sidecar, _session(blob, model_path), digest)
