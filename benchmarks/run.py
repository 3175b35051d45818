"""Run every benchmark and print its table: `make bench`.

Each benchmark is a script in this folder with a ``main(argv) -> int``; the ones
whose subsystem is missing report that and the others still run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

HERE = Path(__file__).parent
#: in the order they print
BENCHMARKS = [
    "graph_bench",
    "inference_bench",
    "cold_bench",
    "scan_bench",
    "filesize_bench",
    "scaling_bench",
    "lsp_bench",
    "quantize_bench",
]


def load(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        path = HERE / f"{name}.py"
        if not path.exists():
            print(f"{name}: not present")
            continue
        print(f"\n== {name} ==", flush=True)
        rc = load(name).main([])
        if rc:
            failed.append(name)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
