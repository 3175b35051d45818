"""The `codegraph` command surface and its one exit-status wrapper."""

from __future__ import annotations

from codegraph import cli
from codegraph.command import CommandError, command


def _commands(text: str) -> list[str]:
    lines = text.split("commands:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    return [line.split()[0] for line in lines]


def test_help_lists_the_user_commands_and_train_groups_the_bench(capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["--help"]) == 0
    top = _commands(capsys.readouterr().out)
    assert top == ["scan", "fix", "graph", "lsp", "rules", "candidates", "train"]
    assert cli.main(["train", "--help"]) == 0
    assert _commands(capsys.readouterr().out) == [
        "run",
        "corpus",
        "dataset",
        "eval",
        "export",
        "mine",
        "realfixes",
        "mutations",
        "threshold",
    ]
    assert cli.main([]) == 2 and "commands:" in capsys.readouterr().out


def test_research_commands_live_under_train_only(capsys) -> None:  # type: ignore[no-untyped-def]
    for name in ("corpus", "dataset", "eval", "threshold"):
        assert cli.main([name]) == 2
        err = capsys.readouterr().err
        assert f"codegraph: error: unknown command {name!r} (did you mean `codegraph train {name}`?)" in err
    assert cli.main(["realbugs"]) == 2
    assert "codegraph: error: unknown command 'realbugs'" in capsys.readouterr().err
    assert cli.main(["train", "realbugs"]) == 2
    err = capsys.readouterr().err
    assert "codegraph: error: unknown command 'realbugs'" in err and "usage: codegraph train COMMAND" in err
    assert cli.main(["train", "corpus", "--help"]) == 0
    assert "usage: codegraph train corpus" in capsys.readouterr().out


def test_one_wrapper_decides_every_exit_status(capsys) -> None:  # type: ignore[no-untyped-def]
    @command("codegraph demo")
    def run(argv: list[str]) -> int:
        what = argv[0]
        if what == "bad":
            raise CommandError("no such thing")
        if what == "crash":
            raise RuntimeError("boom")
        if what == "interrupt":
            raise KeyboardInterrupt
        if what == "usage":
            raise SystemExit(2)
        return 1

    assert run(["findings"]) == 1
    assert run(["bad"]) == 2 and capsys.readouterr().err == "codegraph demo: error: no such thing\n"
    assert run(["crash"]) == 2
    err = capsys.readouterr().err
    assert err == "codegraph demo: internal error: RuntimeError: boom (--debug for details)\n"
    assert run(["crash", "--debug"]) == 2 and "Traceback" in capsys.readouterr().err
    assert run(["interrupt"]) == 130
    assert run(["usage"]) == 2
