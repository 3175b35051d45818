"""Dataset build over a tiny fixture corpus: deterministic, split by package, resumable, loadable."""

from __future__ import annotations

import hashlib
import io
import json
import textwrap
from pathlib import Path

import pytest
import torch
from rich.console import Console

from codegraph.models.tensors import collate, load_shard
from codegraph.models.training.corpus import CorpusEntry
from codegraph.models.training.dataset import (
    NO_BUG,
    BuildParams,
    DatasetError,
    build_dataset,
    dataset_stats,
    main,
    print_stats,
    split_packages,
)
from codegraph.rules import RULE_CODES

MODULE = '''
"""Module {i} of {package}."""
from {package}.util import combine

LIMIT = {i}


def measure(items, factor, start=0):
    total = start
    for index, item in enumerate(items):
        if item > LIMIT and not index % 2:
            total += item * factor
        elif item < 0 or factor == 1:
            total -= 1
    return combine(total, factor)


class Box{i}:
    def __init__(self, width, height):
        self.width = width
        self.height = height

    def area(self):
        return self.width * self.height - {k}

    def fits(self, other):
        return other.width >= self.width and other.height >= self.height
'''

UTIL = """
def combine(value, weight, bias=0):
    result = value * weight + bias
    return result if result >= 0 else -result


def spread(values, lo, hi):
    out = [v for v in values if lo <= v <= hi]
    return out, len(out) > 2
"""


def make_corpus(root: Path, layout: dict[str, tuple[str, int]]) -> Path:
    """A corpus folder (files + corpus.json) with ``layout``: package -> (split, modules)."""
    files = []
    for package, (split, modules) in layout.items():
        texts = {f"{package}/__init__.py": "", f"{package}/util.py": UTIL}
        for i in range(modules):
            texts[f"{package}/mod{i}.py"] = MODULE.format(i=i, k=i % 3, package=package)
        for rel, text in texts.items():
            path = root / "files" / package / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            data = textwrap.dedent(text).encode()
            path.write_bytes(data)
            files.append(
                {"package": package, "version": "1.0", "split": split, "relpath": f"{package}/{rel}",
                 "sha256": hashlib.sha256(data).hexdigest(), "lines": data.count(b"\n")}
            )  # fmt: skip
    (root / "corpus.json").write_text(json.dumps({"version": 1, "files": files}))
    return root


LAYOUT = {"alpha": ("train", 5), "beta": ("train", 3), "gamma": ("valid", 2), "delta": ("test", 2)}
FAST = BuildParams(shard_samples=10, chunk_lines=40, encodings=False)


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return make_corpus(tmp_path / "corpus", LAYOUT)


def shard_contents(out: Path, split: str) -> list[list[dict[str, object]]]:
    shards = []
    for path in sorted((out / split).glob("shard-*.pt")):
        shards.append([{k: v.tolist() if isinstance(v, torch.Tensor) else v for k, v in d.items()}
                       for d in load_shard(path)])  # fmt: skip
    return shards


def quiet() -> Console:
    return Console(file=io.StringIO())


def test_build_is_deterministic_and_split_by_package(tmp_path: Path, corpus: Path) -> None:
    first = build_dataset(corpus, tmp_path / "a", FAST, jobs=1, console=quiet())
    second = build_dataset(corpus, tmp_path / "b", FAST, jobs=1, console=quiet())
    assert first["key"] == second["key"]
    assert (tmp_path / "a" / "vocab.json").read_bytes() == (tmp_path / "b" / "vocab.json").read_bytes()
    for split in ("train", "valid", "test"):
        a, b = shard_contents(tmp_path / "a", split), shard_contents(tmp_path / "b", split)
        assert a == b and a
        assert first["splits"][split]["rules"] == second["splits"][split]["rules"]
    packages = {split: set(s["packages"]) for split, s in first["splits"].items()}
    assert packages == {"train": {"alpha", "beta"}, "valid": {"gamma"}, "test": {"delta"}}
    train = first["splits"]["train"]
    assert len(train["shards"]) >= 3  # 10 samples per shard
    assert train["samples"] == train["functions"] - train["rejected"]
    rules = train["rules"]
    assert rules[NO_BUG] > 0 and sum(v for k, v in rules.items() if k != NO_BUG) > 0
    # a different seed draws different bugs
    other = build_dataset(
        corpus, tmp_path / "c", BuildParams(**{**FAST.__dict__, "seed": 1}), jobs=1, console=quiet()
    )
    assert shard_contents(tmp_path / "c", "train") != shard_contents(tmp_path / "a", "train")
    assert other["key"] != first["key"]


def test_another_seed_with_the_first_builds_vocabulary(tmp_path: Path, corpus: Path) -> None:
    """`--vocab`: a test split of another injection seed that models of the first build read."""
    first = build_dataset(corpus, tmp_path / "a", FAST, jobs=1, console=quiet(), splits=["train"])
    seed1 = BuildParams(**{**FAST.__dict__, "seed": 1})
    other = build_dataset(
        corpus, tmp_path / "b", seed1, jobs=1, console=quiet(), splits=["test"], vocab_from=tmp_path / "a"
    )
    assert other["vocab_fingerprint"] == first["vocab_fingerprint"] and other["splits"]["test"]["samples"] > 0
    # a directory that already holds another vocabulary is refused, and left as it was
    (tmp_path / "c").mkdir()
    stranger = json.loads((tmp_path / "a" / "vocab.json").read_text())
    stranger["subtokens"].append("zzz_extra")
    (tmp_path / "c" / "vocab.json").write_text(json.dumps(stranger))
    with pytest.raises(DatasetError, match="another vocabulary"):
        build_dataset(corpus, tmp_path / "c", seed1, jobs=1, console=quiet(), vocab_from=tmp_path / "a")
    assert json.loads((tmp_path / "c" / "vocab.json").read_text()) == stranger
    with pytest.raises(DatasetError, match="cannot read the vocabulary"):
        build_dataset(corpus, tmp_path / "d", seed1, jobs=1, console=quiet(), vocab_from=tmp_path / "nowhere")


def test_a_package_in_two_splits_is_refused() -> None:
    def entry(package: str, split: str, rel: str) -> CorpusEntry:
        return CorpusEntry(package, "1", split, f"{package}/{rel}", "0" * 64, 3)

    with pytest.raises(DatasetError, match="in splits"):
        split_packages([entry("alpha", "train", "a.py"), entry("alpha", "test", "b.py")])
    grouped = split_packages(
        [entry("b", "train", "z.py"), entry("b", "train", "a.py"), entry("c", "test", "x.py")]
    )
    assert [e.relpath for e in grouped["train"]["b"]] == ["b/a.py", "b/z.py"]


def test_resume_rebuilds_only_a_deleted_shard(tmp_path: Path, corpus: Path) -> None:
    out = tmp_path / "out"
    build_dataset(corpus, out, FAST, jobs=1, console=quiet(), splits=["train"])
    before = shard_contents(out, "train")
    shards = sorted((out / "train").glob("shard-*.pt"))
    mtimes = {p.name: p.stat().st_mtime_ns for p in shards}
    shards[1].unlink()
    manifest = build_dataset(corpus, out, FAST, jobs=1, console=quiet(), splits=["train"])
    assert shard_contents(out, "train") == before
    for p in sorted((out / "train").glob("shard-*.pt")):
        assert (p.stat().st_mtime_ns == mtimes[p.name]) == (p.name != shards[1].name)
    assert manifest["splits"]["train"]["samples"] == sum(len(s) for s in before)
    # a changed parameter makes every shard stale
    build_dataset(corpus, out, BuildParams(**{**FAST.__dict__, "no_bug_ratio": 0.2}), jobs=1, console=quiet(),
                  splits=["train"])  # fmt: skip
    assert all(p.stat().st_mtime_ns != mtimes.get(p.name) for p in (out / "train").glob("shard-*.pt"))


def test_cap_on_functions_per_split(tmp_path: Path, corpus: Path) -> None:
    params = BuildParams(**{**FAST.__dict__, "max_functions_per_split": 17})
    manifest = build_dataset(corpus, tmp_path / "out", params, jobs=1, console=quiet(), splits=["train"])
    assert manifest["splits"]["train"]["samples"] == 17
    assert sum(len(s) for s in shard_contents(tmp_path / "out", "train")) == 17


def test_shards_with_encodings_load_and_batch(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", {"alpha": ("train", 1), "gamma": ("valid", 1)})
    params = BuildParams(shard_samples=1000, rw_k=4, lap_k=2)
    manifest = build_dataset(corpus, tmp_path / "out", params, jobs=1, console=quiet(), splits=["valid"])
    shard = tmp_path / "out" / manifest["splits"]["valid"]["shards"][0]
    data = load_shard(shard)
    sidecar = json.loads(shard.with_suffix(".json").read_text())
    assert len(data) == sidecar["count"] == manifest["splits"]["valid"]["samples"] > 0
    for d, rule in zip(data, sidecar["rules"]):
        assert d.rw_pe.shape[1] == 4 and d.lap_pe.shape[1] == 2
        if rule == NO_BUG:
            assert int(d.y_loc) == -1 and int(d.rule_id) == -1
        else:
            assert RULE_CODES[int(d.rule_id)] == rule and int(d.cand_rule[int(d.y_loc)]) == int(d.rule_id)
            assert int(d.rep_cand[int(d.y_rep)]) == int(d.y_loc)
    batch = collate(data)
    assert batch.num_graphs == len(data)
    assert int((batch.y_loc >= 0).sum()) == sum(r != NO_BUG for r in sidecar["rules"])


def test_stats_and_command_line(tmp_path: Path, corpus: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out"
    args = ["build", "--corpus", str(corpus), "--out", str(out), "--jobs", "1", "--no-encodings",
            "--shard-samples", "10", "--chunk-lines", "40"]  # fmt: skip
    assert main(args) == 0
    stats = dataset_stats(out)
    train = stats["splits"]["train"]
    assert sum(train["rules"].values()) == train["samples"] > 0
    assert train["nodes"]["p50"] > 0 and train["edges"]["p100"] >= train["edges"]["p50"]
    assert train["seconds_per_1000_functions"] > 0
    console = Console(file=io.StringIO(), width=120)
    print_stats(stats, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "CG001" in text and "p50" in text and "1,000 functions" in text
    capsys.readouterr()
    assert main(["stats", "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["splits"]["valid"]["samples"] > 0
    assert main(["stats", "--out", str(tmp_path / "missing")]) == 2


@pytest.mark.slow
def test_worker_processes_build_the_same_shards(tmp_path: Path, corpus: Path) -> None:
    build_dataset(corpus, tmp_path / "one", FAST, jobs=1, console=quiet(), splits=["train"])
    build_dataset(corpus, tmp_path / "two", FAST, jobs=2, console=quiet(), splits=["train"])
    assert shard_contents(tmp_path / "one", "train") == shard_contents(tmp_path / "two", "train")
