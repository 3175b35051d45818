"""The runtime model (ONNX + onnxruntime): the torch model's probabilities, checked files, no torch."""

from __future__ import annotations

import hashlib
import json
import random
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from codegraph.context import units_for_file
from codegraph.graph import build_file_graph
from codegraph.models.detector import ModelConfig, build_model
from codegraph.models.export import export_runtime
from codegraph.models.predict import Predictor, load_checkpoint, save_checkpoint
from codegraph.models.runtime import ModelError, layer_plan, load_runtime
from codegraph.models.tensorize import batch_arrays
from codegraph.scope_analysis import analyze_scopes

sys.path.insert(0, str(Path(__file__).parent))
from toy_units import far_task_unit, toy_unit, toy_vocab

ROOT = Path(__file__).resolve().parents[2]
TINY = {"hidden": 16, "layers": 3, "heads": 2, "ffn_mult": 2, "rw_k": 4, "lap_k": 3}
KINDS = {
    "transformer": {},
    "gps": {"local_mp": True, "name_edges": True},
    "baseline": {"kind": "baseline"},
    "no-encodings": {"rw_pe": False, "lap_pe": False, "shortcuts": False},
}


def toy_units() -> list:  # type: ignore[type-arg]
    empty = toy_unit()
    empty.candidates = []
    return [
        toy_unit(),
        empty,
        toy_unit(swapped=True),
        toy_unit(bug=1, fix=0),
        far_task_unit(random.Random(0)),
    ]


def saved(tmp_path: Path, **overrides: object) -> tuple[torch.nn.Module, Path]:
    vocab = toy_vocab()
    torch.manual_seed(0)
    config = ModelConfig(**{**TINY, **overrides}).with_vocab(vocab)  # type: ignore[arg-type]
    model = build_model(config).eval()
    save_checkpoint(
        tmp_path / "det", model, vocab, name="toy", temperature=(1.5, 0.8), half=False, runtime=False
    )
    return model, tmp_path / "det"


def max_difference(a: list, b: list) -> float:  # type: ignore[type-arg]
    """The largest difference of any probability between two lists of predictions."""
    assert len(a) == len(b)
    worst = 0.0
    for x, y in zip(a, b):
        assert (x.function, len(x.loc_probs)) == (y.function, len(y.loc_probs))
        worst = max(worst, abs(x.p_no_bug - y.p_no_bug))
        for p, q in zip(x.loc_probs, y.loc_probs, strict=True):
            worst = max(worst, abs(p - q))
        for ps, qs in zip(x.rep_probs, y.rep_probs, strict=True):
            worst = max(worst, *(abs(p - q) for p, q in zip(ps, qs, strict=True)))
    return worst


@pytest.mark.parametrize("overrides", KINDS.values(), ids=KINDS.keys())
def test_float32_runtime_equals_the_torch_model(tmp_path: Path, overrides: dict) -> None:  # type: ignore[type-arg]
    model, base = saved(tmp_path, **overrides)
    export_runtime(model, base)
    runtime = load_runtime(base)
    torch_side = Predictor(*load_checkpoint(base))
    units = toy_units()
    got, want = runtime.predict(units), torch_side.predict(units)
    assert max_difference(got, want) <= 1e-4
    assert got[1].p_no_bug == 1.0 and not got[1].loc_probs  # no candidates: no model call
    # a bug somewhere else changes the scores (the runtime reads its input)
    assert abs(got[0].p_no_bug - got[2].p_no_bug) > 1e-6
    info = json.loads(base.with_suffix(".json").read_text())
    assert info["runtime"]["file"] == "det.onnx" and info["runtime"]["dtype"] == "float32"
    assert runtime.sha256 == hashlib.sha256(base.with_suffix(".onnx").read_bytes()).hexdigest()


def example_units() -> list:  # type: ignore[type-arg]
    units = []
    for path in sorted((ROOT / "examples").rglob("*.py")):
        g = build_file_graph(path.read_bytes(), str(path))
        units += [u for u in units_for_file(g, analyze_scopes(g)) if u.candidates]
    assert len(units) >= 10
    return units


def test_the_shipped_runtime_model_is_the_int8_export_of_the_shipped_checkpoint(tmp_path: Path) -> None:
    """The shipped runtime file is what `codegraph train export models/weights/detector --int8`
    writes (the card's rule admitted int8: joint and no-bug accuracy moved by at most 0.5 points);
    the float32 export of the same weights equals the torch model, and int8 stays close to it."""
    weights = ROOT / "models" / "weights"
    info = json.loads((weights / "detector.json").read_text())
    assert info["runtime"]["dtype"] == "int8"
    base = tmp_path / "detector"
    for suffix in (".json", ".safetensors"):
        (tmp_path / f"detector{suffix}").write_bytes((weights / f"detector{suffix}").read_bytes())
    model = load_checkpoint(base)[0]
    export_runtime(model, base, int8=True)
    assert (tmp_path / "detector.onnx").read_bytes() == (weights / "detector.onnx").read_bytes()
    shipped = load_runtime()
    assert info["runtime"]["sha256"] == shipped.sha256
    units = example_units()
    torch_side = Predictor(*load_checkpoint()).predict(units)
    export_runtime(model, base)
    assert max_difference(load_runtime(base).predict(units), torch_side) <= 1e-4
    int8 = shipped.predict(units)
    assert max_difference(int8, torch_side) < 0.05
    same = sum(a.best()[:2] == b.best()[:2] for a, b in zip(int8, torch_side, strict=True))  # type: ignore[index]
    assert same >= 0.9 * len(units)


def test_layer_plan_computes_only_what_the_heads_read(tmp_path: Path) -> None:
    model, base = saved(tmp_path)
    runtime = load_runtime(export_runtime(model, base))
    batch = batch_arrays([runtime.arrays(u) for u in (toy_unit(), far_task_unit(random.Random(1)))])
    plan = layer_plan(batch, 3)
    sizes = [plan["x_type"].size] + [plan[f"rows_{i}"].size for i in range(3)]
    assert sizes == sorted(sizes, reverse=True)  # each layer computes at most its input's rows
    last = plan["rows_2"].size
    for key in ("fn_pos", "cand_pos", "rep_target_pos"):
        assert plan[key].min() >= 0 and plan[key].max() < last
    for i in range(3):
        assert plan[f"src_{i}"].size == plan[f"dst_{i}"].size == plan[f"type_{i}"].size
        assert plan[f"dst_{i}"].max() < plan[f"rows_{i}"].size


def test_int8_runtime_stays_close(tmp_path: Path) -> None:
    model, base = saved(tmp_path, local_mp=True)
    export_runtime(model, base)
    full = load_runtime(base).predict(toy_units())
    export_runtime(model, base, int8=True)
    small = load_runtime(base)
    assert json.loads(base.with_suffix(".json").read_text())["runtime"]["dtype"] == "int8"
    assert 0 < max_difference(small.predict(toy_units()), full) < 0.05


def test_bad_runtime_files_are_one_line_errors(tmp_path: Path) -> None:
    model, base = saved(tmp_path)
    with pytest.raises(ModelError, match=r"records no runtime model.*codegraph train export"):
        load_runtime(base)
    onnx_path = export_runtime(model, base)
    good = onnx_path.read_bytes()
    onnx_path.write_bytes(good[:-10])
    with pytest.raises(ModelError, match=r"does not match the sha256.*corrupt or was modified"):
        load_runtime(base)
    # garbage whose sha256 was written into the sidecar: onnxruntime refuses it
    garbage = b"\x08\x07not a model" * 10
    onnx_path.write_bytes(garbage)
    sidecar = base.with_suffix(".json")
    info = json.loads(sidecar.read_text())
    info["runtime"]["sha256"] = hashlib.sha256(garbage).hexdigest()
    sidecar.write_text(json.dumps(info))
    with pytest.raises(ModelError, match="cannot load the runtime model") as exc:
        load_runtime(base)
    assert "\n" not in str(exc.value)
    onnx_path.unlink()
    with pytest.raises(ModelError, match=r"model checkpoint file not found: .*det\.onnx"):
        load_runtime(base)
    info["runtime"]["version"] = 99
    sidecar.write_text(json.dumps(info))
    with pytest.raises(ModelError, match="version 99 is not supported"):
        load_runtime(base)


def test_scan_with_a_tampered_runtime_model_exits_2(tmp_path: Path) -> None:
    model, base = saved(tmp_path)
    export_runtime(model, base).write_bytes(b"tampered")
    (tmp_path / "a.py").write_text("def f(a, b):\n    return a - b\n")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "codegraph.cli",
            "scan",
            str(tmp_path / "a.py"),
            "--model",
            str(base),
            "--no-cache",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "corrupt or was modified" in proc.stderr


def test_scan_and_lsp_never_import_torch() -> None:
    """A scan with torch and torch_geometric made unimportable still finds the bug."""
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['torch_geometric'] = None\n"
        "from codegraph.cli import main\n"
        "import codegraph.lsp.server\n"
        "args = ['scan', 'examples/', '--min-confidence', '0', '--no-cache', '--format', 'json']\n"
        "raise SystemExit(main(args))"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert len(out["findings"]) >= 10 and not out["errors"]
    assert out["model"]["sha256"] == load_runtime().sha256


def test_arrays_need_no_torch() -> None:
    code = (
        "import sys; sys.modules['torch'] = None; sys.modules['torch_geometric'] = None\n"
        "sys.path.insert(0, sys.argv[1])\n"
        "from toy_units import toy_unit, toy_vocab\n"
        "from codegraph.models.encodings import build_transform\n"
        "from codegraph.models.tensorize import batch_arrays, tensorize\n"
        "tf = build_transform(rw_k=4, lap_k=3, name_edges=True)\n"
        "b = batch_arrays([tf(tensorize(toy_unit(), toy_vocab())) for _ in range(2)])\n"
        "print(b.num_nodes, b.rw_pe.dtype, b.edge_index.shape[1])"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(Path(__file__).parent)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    n, dtype, edges = proc.stdout.split()
    assert int(n) > 0 and dtype == "float32" and int(edges) > 0
