"""The shipped model's scan of examples/ at --min-confidence 0, held finding by finding.

Every analysed function reports its most likely candidate, so a change of the
candidates, the units, the tensors or the model shows here. Regenerate after a
deliberate change with::

    codegraph scan examples/ --min-confidence 0 --format json --no-cache \
      | python -c "import json,sys; json.dump(json.load(sys.stdin)['findings'], sys.stdout, indent=1)" \
      > tests/fixtures/examples_scan/findings.json
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from codegraph.scan import main

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = Path(__file__).parent / "fixtures" / "examples_scan" / "findings.json"


def test_examples_scan_is_unchanged(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(ROOT)
    code = main(["examples/", "--min-confidence", "0", "--format", "json", "--no-cache", "--jobs", "1"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1
    assert out["findings"] == json.loads(GOLDEN.read_text(encoding="utf-8"))
