"""Export a trained :class:`~codegraph.models.detector.BugModel` to ONNX (what scans run, without torch).

The ONNX graph is built operator by operator from the model's weights, so it holds
exactly the inference computation of :meth:`BugModel.forward` (``_encode_needed``:
only the graph nodes the heads read, and going backwards their in-neighbours):

* the sparse attention and the GGNN messages are gathers over the edge list and
  scatters back onto the destinations (``ScatterND`` with ``reduction="add"`` /
  ``"max"``, opset 18): ONNX expresses the sparse attention directly, so the runtime
  needs no numpy fallback for it;
* which rows each layer computes, and the edges into them, are inputs
  (:func:`codegraph.models.runtime.layer_plan` computes them in numpy);
* the outputs are the raw scores ``no_bug`` [B], ``loc`` [C], ``rep`` [R]; the
  runtime applies the temperatures and the grouped softmaxes.

Inputs (int64 unless said): ``x_type`` [K], ``x_sub`` [K, S], ``rw_pe`` / ``lap_pe``
[K, k] float32 (when the config has them); per layer l ``rows_l`` (positions in the
layer's input of its output rows), ``src_l`` / ``dst_l`` (edge sources as positions
in the input, destinations as positions in the output) and ``type_l``; for the heads
``graphs`` [B] (0..B-1), ``fn_pos`` / ``fn_graph`` [F], ``cand_pos`` / ``cand_rule`` /
``cand_graph`` [C], ``rep_cand`` / ``rep_token`` / ``rep_target_pos`` [R] (0 when there
is no target) and ``rep_has_target`` [R] float32; positions index the last layer's rows.

:func:`quantize` makes the int8 variant (dynamic quantization of the matrix products).
"""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from codegraph.models.detector import BugModel
from codegraph.models.runtime import model_base, runtime_entry
from codegraph.models.tensorize import atomic_write_bytes

OPSET = 18
LN_EPS = 1e-5


class _Builder:
    """Nodes, initializers and fresh names of one ONNX graph."""

    def __init__(self, state: dict[str, np.ndarray]) -> None:
        self.state = state
        self.nodes: list[onnx.NodeProto] = []
        self.inits: dict[str, onnx.TensorProto] = {}
        self.inputs: list[onnx.ValueInfoProto] = []
        self.count = 0

    # -- names and constants -----------------------------------------------------------
    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def const(self, value: np.ndarray | np.generic | float | list[int], name: str | None = None) -> str:
        arr = np.asarray(value)
        if arr.dtype == np.float64:
            arr = arr.astype(np.float32)
        name = name or self.fresh("c")
        self.inits[name] = numpy_helper.from_array(arr, name)
        return name

    def weight(self, key: str, transpose: bool = False) -> str:
        """A model tensor as an initializer (float32), named after its state-dict key."""
        name = key + (".T" if transpose else "")
        if name not in self.inits:
            arr = self.state[key].astype(np.float32)
            self.inits[name] = numpy_helper.from_array(
                np.ascontiguousarray(arr.T if transpose else arr), name
            )
        return name

    def input(self, name: str, elem: int, shape: list[str | int]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem, shape))
        return name

    def op(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        out = self.fresh(op_type.lower())
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    # -- building blocks ---------------------------------------------------------------
    def linear(self, x: str, prefix: str) -> str:
        y = self.op("MatMul", x, self.weight(prefix + ".weight", transpose=True))
        return self.op("Add", y, self.weight(prefix + ".bias"))

    def layer_norm(self, x: str, prefix: str) -> str:
        return self.op(
            "LayerNormalization",
            x,
            self.weight(prefix + ".weight"),
            self.weight(prefix + ".bias"),
            axis=-1,
            epsilon=LN_EPS,
        )

    def gelu(self, x: str) -> str:
        """The exact GELU of ``nn.GELU()``: x / 2 * (1 + erf(x / sqrt 2))."""
        e = self.op("Erf", self.op("Mul", x, self.const(np.float32(1 / math.sqrt(2)))))
        return self.op(
            "Mul",
            self.op("Mul", x, self.const(np.float32(0.5))),
            self.op("Add", e, self.const(np.float32(1))),
        )

    def ffn(self, x: str, prefix: str) -> str:
        return self.linear(self.gelu(self.linear(x, prefix + ".0")), prefix + ".2")

    def mlp(self, x: str, prefix: str) -> str:
        """The heads' Linear -> GELU -> Dropout -> Linear(1), squeezed."""
        y = self.linear(self.gelu(self.linear(x, prefix + ".0")), prefix + ".3")
        return self.op("Squeeze", y, self.const(np.array([-1], dtype=np.int64)))

    def gather(self, table: str, index: str) -> str:
        return self.op("Gather", table, index, axis=0)

    def zeros_like_rows(self, rows: str, width: int, fill: float = 0.0) -> str:
        """A [len(rows), width] float32 tensor filled with ``fill`` (zeros by default)."""
        shape = self.op(
            "Concat", self.op("Shape", rows), self.const(np.array([width], dtype=np.int64)), axis=0
        )
        return self.op(
            "ConstantOfShape", shape, value=numpy_helper.from_array(np.array([fill], dtype=np.float32))
        )

    def segment(self, updates: str, index: str, rows: str, width: int, reduction: str) -> str:
        """Sum (``add``) or max (``max``) of the rows of ``updates`` [E, width] per ``index`` [E]
        into len(rows) rows (empty rows: 0 for add, -inf for max)."""
        base = self.zeros_like_rows(rows, width, 0.0 if reduction == "add" else -math.inf)
        idx = self.op("Unsqueeze", index, self.const(np.array([1], dtype=np.int64)))
        return self.op("ScatterND", base, idx, updates, reduction=reduction)

    def reshape(self, x: str, shape: list[int]) -> str:
        return self.op("Reshape", x, self.const(np.array(shape, dtype=np.int64)))

    def grouped_softmax(self, score: str, index: str, rows: str, width: int) -> str:
        """softmax of ``score`` [E, width] within the groups of ``index`` (as PyG's softmax)."""
        top = self.segment(score, index, rows, width, "max")
        e = self.op("Exp", self.op("Sub", score, self.gather(top, index)))
        total = self.segment(e, index, rows, width, "add")
        return self.op("Div", e, self.op("Add", self.gather(total, index), self.const(np.float32(1e-16))))


def _attention(
    b: _Builder, x: str, p: str, rows: str, src: str, dst: str, typ: str, dim: int, heads: int
) -> str:
    """RelationalAttention at the destinations ``rows`` of the edges (src -> dst, typ)."""
    d = dim // heads
    qkv = b.reshape(b.linear(x, p + ".qkv"), [-1, 3, heads, d])
    q = b.gather(b.op("Gather", qkv, b.const(np.array(0, dtype=np.int64)), axis=1), rows)
    k = b.op("Gather", qkv, b.const(np.array(1, dtype=np.int64)), axis=1)
    v = b.op("Gather", qkv, b.const(np.array(2, dtype=np.int64)), axis=1)
    rel_key = b.const(b.state[p + ".rel_key.weight"].astype(np.float32).reshape(-1, heads, d))
    rel_value = b.const(b.state[p + ".rel_value.weight"].astype(np.float32).reshape(-1, heads, d))
    keys = b.op("Add", b.gather(k, src), b.gather(rel_key, typ))  # [E, H, d]
    score = b.op(
        "ReduceSum", b.op("Mul", b.gather(q, dst), keys), b.const(np.array([-1], dtype=np.int64)), keepdims=0
    )
    score = b.op(
        "Add",
        b.op("Mul", score, b.const(np.float32(1 / math.sqrt(d)))),
        b.gather(b.weight(p + ".rel_bias.weight"), typ),
    )
    alpha = b.grouped_softmax(score, dst, rows, heads)  # [E, H]
    values = b.op("Add", b.gather(v, src), b.gather(rel_value, typ))
    weighted = b.reshape(
        b.op("Mul", values, b.op("Unsqueeze", alpha, b.const(np.array([-1], dtype=np.int64)))), [-1, dim]
    )
    return b.linear(b.segment(weighted, dst, rows, dim, "add"), p + ".out")


def _ggnn(b: _Builder, x: str, p: str, rows: str, src: str, dst: str, typ: str, dim: int) -> str:
    """GatedGraphConv at the destinations ``rows``: mean typed messages, then the GRU cell.

    W_t h = sum_b c_tb (V_b h): one product with the concatenated bases, then a weighted
    sum per edge (the basis decomposition keeps it O(E B d) instead of O(E d^2))."""
    bases = b.state[p + ".bases"].astype(np.float32)  # [B, d, e]
    nb = bases.shape[0]
    cat = b.const(np.ascontiguousarray(bases.transpose(1, 0, 2).reshape(dim, nb * dim)))
    xv = b.reshape(b.op("MatMul", x, cat), [-1, nb, dim])  # [K, B, e]
    coef = b.gather(b.weight(p + ".coefficients"), typ)  # [E, B]
    msg = b.op(
        "ReduceSum",
        b.op("Mul", b.gather(xv, src), b.op("Unsqueeze", coef, b.const(np.array([-1], dtype=np.int64)))),
        b.const(np.array([1], dtype=np.int64)),
        keepdims=0,
    )
    msg = b.op("Add", msg, b.gather(b.weight(p + ".type_bias.weight"), typ))
    total = b.segment(msg, dst, rows, dim, "add")
    count = b.segment(b.zeros_like_rows(dst, 1, 1.0), dst, rows, 1, "add")
    m = b.op("Div", total, b.op("Max", count, b.const(np.float32(1))))
    h = b.gather(x, rows)
    gi = b.op(
        "Add", b.op("MatMul", m, b.weight(p + ".gru.weight_ih", transpose=True)), b.weight(p + ".gru.bias_ih")
    )
    gh = b.op(
        "Add", b.op("MatMul", h, b.weight(p + ".gru.weight_hh", transpose=True)), b.weight(p + ".gru.bias_hh")
    )
    split = b.const(np.array([dim, dim, dim], dtype=np.int64))
    i_r, i_z, i_n = (b.fresh("gi") for _ in range(3))
    h_r, h_z, h_n = (b.fresh("gh") for _ in range(3))
    b.nodes.append(helper.make_node("Split", [gi, split], [i_r, i_z, i_n], axis=-1))
    b.nodes.append(helper.make_node("Split", [gh, split], [h_r, h_z, h_n], axis=-1))
    r = b.op("Sigmoid", b.op("Add", i_r, h_r))
    z = b.op("Sigmoid", b.op("Add", i_z, h_z))
    n = b.op("Tanh", b.op("Add", i_n, b.op("Mul", r, h_n)))
    one_minus_z = b.op("Sub", b.const(np.float32(1)), z)
    return b.op("Add", b.op("Mul", one_minus_z, n), b.op("Mul", z, h))


def _layer(b: _Builder, model: BugModel, i: int, x: str, rows: str, src: str, dst: str, typ: str) -> str:
    """Layer ``i`` of the stack at its output rows (``forward_rows`` of each layer kind)."""
    c = model.config
    p = f"layers.{i}"
    if c.kind == "baseline":
        return _ggnn(b, x, p + "", rows, src, dst, typ, c.hidden)
    own = b.gather(x, rows)
    if c.local_mp:  # GPSLayer
        x_m = b.layer_norm(
            b.op("Add", own, _ggnn(b, x, p + ".local", rows, src, dst, typ, c.hidden)), p + ".norm_local"
        )
        attn = _attention(b, x, p + ".attn", rows, src, dst, typ, c.hidden, c.heads)
        x_t = b.layer_norm(b.op("Add", own, attn), p + ".norm_attn")
        h = b.op("Add", x_m, x_t)
        return b.layer_norm(b.op("Add", h, b.ffn(h, p + ".ffn")), p + ".norm_out")
    attn = _attention(b, b.layer_norm(x, p + ".norm1"), p + ".attn", rows, src, dst, typ, c.hidden, c.heads)
    h = b.op("Add", own, attn)
    return b.op("Add", h, b.ffn(b.layer_norm(h, p + ".norm2"), p + ".ffn"))


def _heads(b: _Builder, h: str, dim: int) -> tuple[str, str, str]:
    """BugHeads on the final states ``h`` (rows = the last layer's rows)."""
    i64, f32 = TensorProto.INT64, TensorProto.FLOAT
    graphs = b.input("graphs", i64, ["B"])
    fn_pos, fn_graph = b.input("fn_pos", i64, ["F"]), b.input("fn_graph", i64, ["F"])
    cand_pos, cand_rule = b.input("cand_pos", i64, ["C"]), b.input("cand_rule", i64, ["C"])
    cand_graph = b.input("cand_graph", i64, ["C"])
    rep_cand, rep_token = b.input("rep_cand", i64, ["R"]), b.input("rep_token", i64, ["R"])
    rep_target_pos = b.input("rep_target_pos", i64, ["R"])
    rep_has_target = b.input("rep_has_target", f32, ["R"])
    p = "heads"
    h_fn = b.gather(h, fn_pos)
    total = b.segment(h_fn, fn_graph, graphs, dim, "add")
    count = b.segment(b.zeros_like_rows(fn_graph, 1, 1.0), fn_graph, graphs, 1, "add")
    mean = b.op("Div", total, b.op("Max", count, b.const(np.float32(1))))
    top = b.segment(h_fn, fn_graph, graphs, dim, "max")
    pool_score = b.linear(h_fn, p + ".pool_score")  # [F, 1]
    weight = b.grouped_softmax(pool_score, fn_graph, graphs, 1)
    attended = b.segment(b.op("Mul", weight, h_fn), fn_graph, graphs, dim, "add")
    g = b.linear(b.op("Concat", mean, top, attended, axis=-1), p + ".pool")
    no_bug = b.mlp(g, p + ".no_bug")
    h_cand = b.gather(h, cand_pos)
    g_cand = b.gather(g, cand_graph)
    loc_in = b.op(
        "Concat",
        h_cand,
        b.gather(b.weight(p + ".loc_rule.weight"), cand_rule),
        g_cand,
        b.op("Mul", h_cand, g_cand),
        axis=-1,
    )
    loc = b.mlp(loc_in, p + ".loc")
    target = b.linear(b.gather(h, rep_target_pos), p + ".rep_target")
    has = b.op("Unsqueeze", rep_has_target, b.const(np.array([-1], dtype=np.int64)))
    e = b.op(
        "Add",
        b.op(
            "Add",
            b.gather(b.weight(p + ".rep_token.weight"), rep_token),
            b.gather(b.weight(p + ".rep_rule.weight"), b.gather(cand_rule, rep_cand)),
        ),
        b.op("Mul", has, target),
    )
    h_loc, g_rep = b.gather(h_cand, rep_cand), b.gather(g_cand, rep_cand)
    rep_in = b.op("Concat", h_loc, e, b.op("Mul", h_loc, e), b.op("Mul", g_rep, e), axis=-1)
    rep = b.mlp(rep_in, p + ".rep")
    return no_bug, loc, rep


def to_onnx(model: BugModel) -> onnx.ModelProto:
    """The ONNX graph of ``model``'s inference forward pass (float32 weights)."""
    c = model.config
    state = {k: v.detach().cpu().float().numpy() for k, v in model.state_dict().items()}
    b = _Builder(state)
    i64, f32 = TensorProto.INT64, TensorProto.FLOAT
    x_type = b.input("x_type", i64, ["K"])
    x_sub = b.input("x_sub", i64, ["K", "S"])
    x = b.op(
        "Add",
        b.gather(b.weight("embed.type_emb.weight"), x_type),
        b.op(
            "ReduceSum",
            b.gather(b.weight("embed.sub_emb.weight"), x_sub),
            b.const(np.array([1], dtype=np.int64)),
            keepdims=0,
        ),
    )
    if c.rw_dim:
        x = b.op("Add", x, b.linear(b.input("rw_pe", f32, ["K", c.rw_dim]), "embed.rw_proj"))
    if c.lap_dim:
        x = b.op("Add", x, b.linear(b.input("lap_pe", f32, ["K", c.lap_dim]), "embed.lap_proj"))
    x = b.layer_norm(x, "embed.norm")
    for i in range(c.layers):
        rows = b.input(f"rows_{i}", i64, [f"K{i + 1}"])
        src = b.input(f"src_{i}", i64, [f"E{i}"])
        dst = b.input(f"dst_{i}", i64, [f"E{i}"])
        typ = b.input(f"type_{i}", i64, [f"E{i}"])
        x = _layer(b, model, i, x, rows, src, dst, typ)
    h = b.layer_norm(x, "final_norm")
    no_bug, loc, rep = _heads(b, h, c.hidden)
    outputs = []
    for name, value, dim in (("no_bug", no_bug, "B"), ("loc", loc, "C"), ("rep", rep, "R")):
        b.nodes.append(helper.make_node("Identity", [value], [name]))
        outputs.append(helper.make_tensor_value_info(name, f32, [dim]))
    graph = helper.make_graph(b.nodes, "codegraph_detector", b.inputs, outputs, list(b.inits.values()))
    proto = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="codegraph"
    )
    proto.ir_version = 9
    onnx.checker.check_model(proto, full_check=True)
    return proto


def quantize(blob: bytes) -> bytes:
    """Dynamic int8 quantization of the matrix products of a serialised model (weights int8,
    activations quantized per batch at run time)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="codegraph-quantize-") as tmp:
        src, dst = Path(tmp) / "float32.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(blob)
        quantize_dynamic(src, dst, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"])
        return dst.read_bytes()


def export_runtime(model: BugModel, checkpoint: str | Path, *, int8: bool = False) -> Path:
    """Write ``NAME.onnx`` beside checkpoint ``NAME`` and record it (sha256, dtype) in ``NAME.json``.

    The sidecar must exist (:func:`~codegraph.models.predict.save_checkpoint` writes it);
    returns the ONNX file's path.
    """
    base = model_base(checkpoint)
    sidecar = base.with_name(base.name + ".json")
    target = base.with_name(base.name + ".onnx")
    info = json.loads(sidecar.read_text(encoding="utf-8"))
    blob = to_onnx(model).SerializeToString()
    if int8:
        blob = quantize(blob)
    atomic_write_bytes(target, blob)
    info["runtime"] = runtime_entry(target.name, blob, "int8" if int8 else "float32")
    atomic_write_bytes(sidecar, (json.dumps(info, indent=1) + "\n").encode())
    return target
