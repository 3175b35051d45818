"""Editor latency: time from didChange to publishDiagnostics after a one-line edit.

Starts the real server (`python -m codegraph lsp`) in a subprocess, opens a 2,000-line
file, then makes one-line edits inside function bodies (the common case while typing)
and, for comparison, edits that change a signature (a full re-analysis of the file).
The debounce delay is set to 0 through initializationOptions, so the figures are the
analysis and the protocol only. Target: p95 <= 70 ms for a body edit on 2 cores.

    python benchmarks/lsp_bench.py [--edits 40] [--model PATH] [--lines 2000]

Without ``--model`` the shipped model is used, or, when there is none yet, a tiny random
one made by tests/lsp/make_tiny_model.py (it says so in the table's title).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from rich.console import Console
from rich.table import Table

HERE = Path(__file__).resolve().parent
TARGET_P95_MS = 70.0

#: one function of the benchmark file (8 lines with the blank lines); ``{i}`` numbers it
FUNCTION = """def step_{i}(items, limit, scale):
    total = 0
    for item in items[: limit + {k}]:
        if item > limit and item % 2 == 0:
            total += item * scale
    return total - {k}

"""


def benchmark_source(lines: int) -> str:
    """About ``lines`` lines of Python: a module header, a class, and many small functions."""
    head = '"""A module to edit."""\n\nimport math\n\nLIMIT = 10\n\n\nclass Meter:\n'
    head += "    def __init__(self, unit):\n        self.unit = unit\n\n"
    head += "    def read(self, value):\n        return math.floor(value / self.unit)\n\n\n"
    out = [head]
    i = 0
    while sum(s.count("\n") for s in out) + 7 <= lines:
        out.append(FUNCTION.format(i=i, k=i % 5))
        i += 1
    return "".join(out)


def find_model(given: str | None, workdir: Path) -> tuple[str, str]:
    """(checkpoint path, description): the given one, the shipped one, or a tiny random one."""
    if given:  # the server runs in another directory: an absolute path
        return str(Path(given).resolve()), Path(given).name
    try:
        from codegraph.models.predict import DEFAULT_CHECKPOINT

        if DEFAULT_CHECKPOINT.is_file():
            return str(DEFAULT_CHECKPOINT), "shipped model"
    except ImportError:
        pass
    sys.path.insert(0, str(HERE.parent / "tests" / "lsp"))
    from make_tiny_model import make_tiny_model

    return str(make_tiny_model(workdir / "tiny")), "tiny random model (no shipped model yet)"


class Timer:
    """Records when publishDiagnostics arrives for each document version (and server errors)."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.event = asyncio.Event()
        self.error: str | None = None

    def failed(self, params: types.ShowMessageParams) -> None:
        if params.type == types.MessageType.Error:
            self.error = params.message
            self.event.set()

    def published(self, params: types.PublishDiagnosticsParams) -> None:
        if params.version is not None:
            self.arrived[params.version] = time.perf_counter()
            self.event.set()

    async def wait(self, version: int, timeout: float = 120.0) -> float:
        deadline = time.perf_counter() + timeout
        while version not in self.arrived:
            if self.error:
                raise RuntimeError(f"the server reported: {self.error}")
            self.event.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(f"no diagnostics for version {version}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.event.wait(), remaining)
        return self.arrived[version]


def one_line_edit(text: str, function: int, signature: bool) -> tuple[types.Range, str, str]:
    """Change one line of function ``function``: a literal in its body, or its parameter list."""
    lines = text.split("\n")
    start = lines.index(next(ln for ln in lines if ln.startswith(f"def step_{function}(")))
    row = start if signature else start + 5  # `    return total - K`
    old = lines[row]
    new = (
        old.replace("scale)", "scale, extra=None)") if signature else old[:-1] + str((int(old[-1]) + 1) % 10)
    )
    if signature and "extra=None" in old:
        new = old.replace(", extra=None", "")
    lines[row] = new
    rng = types.Range(types.Position(row, 0), types.Position(row, len(old)))
    return rng, new, "\n".join(lines)


async def measure(model: str, lines: int, edits: int) -> tuple[dict[str, list[float]], float, int]:
    workdir = Path(tempfile.mkdtemp(prefix="codegraph-lsp-bench-"))
    path = workdir / "module.py"
    text = benchmark_source(lines)
    path.write_text(text, encoding="utf-8")
    uri = path.as_uri()
    timer = Timer()
    client = LanguageClient("lsp-bench", "1")

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def published(params: types.PublishDiagnosticsParams) -> None:
        timer.published(params)

    @client.feature(types.WINDOW_SHOW_MESSAGE)
    def show_message(params: types.ShowMessageParams) -> None:
        timer.failed(params)

    # the server's log goes to a file: nobody reads the stderr pipe, and a full pipe would stall it
    log = workdir / "server.log"
    await client.start_io(sys.executable, "-m", "codegraph", "lsp", "--log-file", str(log))
    try:
        await client.initialize_async(
            types.InitializeParams(
                capabilities=types.ClientCapabilities(),
                root_uri=workdir.as_uri(),
                initialization_options={"codegraph": {"model": model, "minConfidence": 0, "debounce": 0}},
            )
        )
        client.initialized(types.InitializedParams())
        t0 = time.perf_counter()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
        )
        cold = await timer.wait(1) - t0
        results: dict[str, list[float]] = {"body edit": [], "signature edit (full analysis)": []}
        version = 1
        count = text.count("def step_")
        for n in range(edits):
            for kind, signature in (("body edit", False), ("signature edit (full analysis)", True)):
                if signature and n % 4:  # full analyses are slow: a quarter as many
                    continue
                version += 1
                rng, new_line, text = one_line_edit(text, (n * 37) % count, signature)
                start = time.perf_counter()
                client.text_document_did_change(
                    types.DidChangeTextDocumentParams(
                        types.VersionedTextDocumentIdentifier(version=version, uri=uri),
                        [types.TextDocumentContentChangePartial(range=rng, text=new_line)],
                    )
                )
                results[kind].append(1000 * (await timer.wait(version) - start))
        await client.shutdown_async(None)
        client.exit(None)
        if client._server is not None:
            await asyncio.wait_for(client._server.wait(), 10)
    finally:
        if client._server is not None and client._server.returncode is None:
            client._server.kill()  # after an error: stop() would wait for a server that never exits
        await client.stop()
    return results, cold, text.count("\n")


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edits", type=int, default=40, help="one-line body edits to time (default 40)")
    parser.add_argument("--lines", type=int, default=2000, help="size of the edited file (default 2000)")
    parser.add_argument("--model", help="checkpoint (default: the shipped model, else a tiny random one)")
    args = parser.parse_args(argv)
    model, described = find_model(args.model, Path(tempfile.mkdtemp(prefix="codegraph-model-")))
    results, cold, nlines = asyncio.run(measure(model, args.lines, args.edits))

    table = Table(title=f"didChange -> publishDiagnostics, {nlines:,}-line file, debounce 0 ({described})")
    for col in ("edit", "n", "p50 ms", "p95 ms", "max ms", "target"):
        table.add_column(col, justify="left" if col in ("edit", "target") else "right")
    for kind, values in results.items():
        p95 = percentile(values, 95)
        verdict = ""
        if kind == "body edit":
            verdict = f"p95 <= {TARGET_P95_MS:.0f} ms: " + ("met" if p95 <= TARGET_P95_MS else "MISSED")
        table.add_row(
            kind,
            str(len(values)),
            f"{statistics.median(values):.0f}",
            f"{p95:.0f}",
            f"{max(values):.0f}",
            verdict,
        )
    table.add_row("open (cold: model load + every function)", "1", f"{1000 * cold:.0f}", "", "", "")
    console = Console()
    console.print(table)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    console.print(f"cores: {os.cpu_count()}, load average at the end: {load:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
