"""The mutation fit: real injections found from the fixed side, a fit that makes them likely, its sampling."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from rich.console import Console

from codegraph.models.training import mutations as m
from codegraph.models.training.dataset import BuildParams, build_dataset
from tests.models.training.test_dataset import LAYOUT, make_corpus
from tests.models.training.test_realfixes import record, unexpressible_record


def test_the_real_injection_is_found_in_the_fixed_function() -> None:
    ex = m.real_injection(record())  # fixed: width * height; buggy: width * width
    assert ex is not None and ex.rule == "CG001"
    _, _, rule, original, replacement = ex.pairs[ex.truth]
    assert (rule, original, replacement) == ("CG001", "height", "width")
    # every pair is an injection a uniform build could draw: nothing outside the sites
    assert len({(p[0], p[1]) for p in ex.pairs}) == len(ex.pairs)


def test_a_comparison_fix_gives_its_operator_pair() -> None:
    src = "def f(a, b):\n    return a <= b\n"
    rec = record(
        rule="CG004", path="cmp.py", line=2, source=src,
        buggy_line="    return a <= b", fixed_line="    return a < b",
        bug={"line": 2, "column": 14, "end_line": 2, "end_column": 16, "text": "<="},
        fix={"line": 2, "column": 14, "end_line": 2, "end_column": 16, "replacement": "<"},
    )  # fmt: skip
    ex = m.real_injection(rec)
    assert ex is not None
    assert ex.pairs[ex.truth][2:] == ("CG004", "<", "<=")
    assert m.pair_counts([ex]) == {"CG004|<|<=": 1}


def test_an_injection_outside_the_sites_is_none() -> None:
    assert m.real_injection(unexpressible_record()) is None


def _examples() -> list[m.Example]:
    ex = m.real_injection(record())
    assert ex is not None
    return [ex] * 5


def test_the_fit_makes_the_real_injections_likelier_than_uniform_injection() -> None:
    data = _examples()
    fitted = m.fit(data, steps=200)
    assert m.log_likelihood(data, fitted.weights, fitted.counts) > m.uniform_log_likelihood(data) + 0.1
    p = fitted.probabilities(data[0].pairs)
    assert abs(p.sum() - 1) < 1e-9
    assert p[data[0].truth] > m.uniform_probabilities(data[0].pairs)[data[0].truth]


def test_uniform_probabilities_are_a_rule_then_a_candidate_then_a_repair() -> None:
    pairs = [
        (0, 0, "CG001", "a", "b"),
        (0, 1, "CG001", "a", "c"),
        (1, 0, "CG001", "b", "a"),
        (2, 0, "CG004", "<", "<="),
    ]
    assert m.uniform_probabilities(pairs).tolist() == [0.125, 0.125, 0.25, 0.5]


def test_choose_is_seeded_and_follows_the_weights() -> None:
    weights = np.zeros(len(m.FEATURES))
    weights[m.FEATURES.index("rule:CG001")] = 6.0
    fit = m.MutationFit(weights, {}, {})
    from codegraph.graph import build_file_graph
    from codegraph.models.training.mining import fixed_source
    from codegraph.models.training.realfixes import function_units
    from codegraph.models.training.rewrites import injection_sites
    from codegraph.scope_analysis import scopes_of

    g = build_file_graph(fixed_source(record()).encode(), "geo.py")
    func = g.functions[0]
    (unit,) = function_units(g, [func], 1500)
    sites = injection_sites(unit, func, g, scopes_of(g))
    picks = [fit.choose(random.Random(s), sites, g.source) for s in range(400)]
    assert picks[:20] == [fit.choose(random.Random(s), sites, g.source) for s in range(20)]
    rules = Counter(sites[ci].rule for ci, _ in picks if ci is not None)
    assert rules["CG001"] > 0.9 * len(picks)
    assert fit.choose(random.Random(0), [], g.source) is None


def test_a_fit_file_round_trips_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    fitted = m.fit(_examples(), steps=20)
    path = tmp_path / "mutations.json"
    fitted.save(path)
    back = m.load_fit(path)
    assert np.allclose(back.weights, fitted.weights, atol=1e-6) and back.counts == fitted.counts
    data: dict[str, Any] = json.loads(path.read_text())
    data["features"] = data["features"][:-1]
    path.write_text(json.dumps(data))
    with pytest.raises(m.MutationError, match="features"):
        m.load_fit(path)
    path.write_text("{not json")
    with pytest.raises(m.MutationError, match="cannot read"):
        m.load_fit(path)


def test_a_build_draws_its_bugs_from_the_fit(tmp_path: Path) -> None:
    corpus = make_corpus(tmp_path / "corpus", LAYOUT)
    weights = np.zeros(len(m.FEATURES))
    weights[m.FEATURES.index("rule:CG006")] = 8.0  # nearly every injected bug a literal where one exists
    path = tmp_path / "fit.json"
    m.MutationFit(weights, {}, {}).save(path)
    fast = BuildParams(shard_samples=10, chunk_lines=40, encodings=False, no_bug_ratio=0.0)
    quiet = Console(file=io.StringIO())
    uniform = build_dataset(corpus, tmp_path / "u", fast, jobs=1, splits=["train"], console=quiet)
    fitted_params = BuildParams(**{**fast.__dict__, "mutations": str(path), "mutations_sha256": "x"})
    fitted = build_dataset(corpus, tmp_path / "f", fitted_params, jobs=1, splits=["train"], console=quiet)
    u, f = uniform["splits"]["train"]["rules"], fitted["splits"]["train"]["rules"]
    assert f.get("CG006", 0) > u.get("CG006", 0)
    assert fitted["key"] != uniform["key"]
