"""The cross-file index on tests/fixtures/project_pkg: modules, imports, calls across files."""

from __future__ import annotations

from pathlib import Path

import pytest

from codegraph.project import CrossEdge, Definition, Project, module_name, module_name_for
from codegraph.schema import CodeGraph, EdgeKind

FIXTURE = Path(__file__).parent / "fixtures" / "project_pkg"


@pytest.fixture(scope="module")
def project() -> Project:
    return Project(FIXTURE)


def rel(path: str) -> str:
    return Path(path).resolve().relative_to(FIXTURE.resolve()).as_posix()


def label(g: CodeGraph, n: int) -> str:
    if g.type[n] in ("function_definition", "class_definition"):
        name = g.child_by_field(n, "name")
        assert name is not None
        return f"{'def' if g.type[n] == 'function_definition' else 'class'} {g.text[name]}"
    return g.node_source(n)


def cross(project: Project, file: str) -> list[tuple[str, str, str, str]]:
    """(kind, source text, target file, target label) of the cross-file edges of one file."""
    g = project.graph(FIXTURE / file)
    assert g is not None
    out = []
    for e in project.cross_file_calls(FIXTURE / file):
        dst = project.graph(e.dst_path)
        assert dst is not None
        out.append((e.kind.name, label(g, e.src_node), rel(e.dst_path), label(dst, e.dst_node)))
    return out


def test_module_table(project: Project):
    modules = {m: rel(p) for m, p in project.modules.items()}
    assert modules == {
        "app": "app/__init__.py",
        "app.impl": "app/impl.py",
        "app.models": "app/models.py",
        "app.util": "app/util.py",
        "app.sub": "app/sub/__init__.py",
        "app.sub.deep": "app/sub/deep.py",
        "main": "main.py",
        "run": "scripts/run.py",
        "scripts.run": "scripts/run.py",  # the namespace directory's name relative to the root
        "srcpkg": "src/srcpkg/__init__.py",  # src/ layout
        "srcpkg.tool": "src/srcpkg/tool.py",
    }
    assert project.module_of(FIXTURE / "app" / "sub" / "deep.py") == "app.sub.deep"
    assert project.is_module("app.sub") and not project.is_module("app.nothing")
    assert project.errors == {}


def test_import_files(project: Project):
    """The files an import names, as calls resolve them (the result cache's keys use this too)."""
    deep = FIXTURE / "app" / "sub" / "deep.py"

    def files(path: Path, module: str, level: int = 0, names: tuple[str, ...] = ()) -> tuple[list[str], bool]:
        found, resolved = project.import_files(path, module, level, names)
        return [rel(f) for f in found], resolved

    assert files(deep, "", 2, ("impl", "nothing")) == (["app/__init__.py", "app/impl.py"], True)
    assert files(deep, "util", 2) == (["app/util.py"], True)
    assert files(FIXTURE / "main.py", "srcpkg.tool") == (["src/srcpkg/tool.py"], True)
    assert files(FIXTURE / "main.py", "numpy") == ([], False)
    assert files(FIXTURE / "main.py", "", 1, ("app",)) == ([], False)  # above the top-level package
    assert project.module_of_file(deep) == ("app.sub.deep", False)
    assert project.module_of_file(FIXTURE / "app" / "new.py") == ("app.new", False)  # not indexed


def test_imports_per_module(project: Project):
    recs = [(r.name, r.module, r.attr, r.level) for r in project.imports(FIXTURE / "main.py")]
    assert recs == [
        ("app", "app.impl", "", 0),
        ("u", "app.util", "", 0),
        ("srcpkg", "srcpkg.tool", "", 0),
        ("PublicModel", "app", "PublicModel", 0),
        ("func", "app", "func", 0),
        ("Worker", "app.impl", "Worker", 0),
        ("d", "app.sub", "deep", 0),
    ]
    recs = [(r.name, r.module, r.attr, r.level) for r in project.imports(FIXTURE / "app" / "sub" / "deep.py")]
    assert recs == [
        ("util", "app", "util", 2),
        ("f2", "app.impl", "func", 2),
        ("Base", "app.models", "Base", 2),
        ("Plain", "app.models", "Plain", 2),
    ]


def test_import_forms_aliases_and_init_reexports(project: Project):
    assert cross(project, "main.py") == [
        # import app.impl; app.impl.func(1)
        ("CALLS", "app.impl.func(1)", "app/impl.py", "def func"),
        ("FORMAL_ARG_NAME", "1", "app/impl.py", "a"),
        # import app.util as u
        ("CALLS", "u.helper(2, 3)", "app/util.py", "def helper"),
        ("FORMAL_ARG_NAME", "2", "app/util.py", "x"),
        ("FORMAL_ARG_NAME", "3", "app/util.py", "rest"),
        # from app import func  (app/__init__.py: from .impl import func)
        ("CALLS", "func(3, 4)", "app/impl.py", "def func"),
        ("FORMAL_ARG_NAME", "3", "app/impl.py", "a"),
        ("FORMAL_ARG_NAME", "4", "app/impl.py", "b"),
        # from app import PublicModel  (re-exported under an alias) -> Model.__init__
        ("CALLS", "PublicModel(5)", "app/models.py", "def __init__"),
        ("FORMAL_ARG_NAME", "5", "app/models.py", "value"),
        # from app.impl import Worker -> __init__, keyword-only parameter
        ("CALLS", 'Worker("w", retries=1)', "app/impl.py", "def __init__"),
        ("FORMAL_ARG_NAME", '"w"', "app/impl.py", "name"),
        ("FORMAL_ARG_NAME", "retries=1", "app/impl.py", "retries"),
        # from app.sub import deep as d  (a submodule, not a name of app/sub/__init__.py)
        ("CALLS", "d.use()", "app/sub/deep.py", "def use"),
        # import srcpkg.tool  (src/ layout)
        ("CALLS", "srcpkg.tool.tool(6)", "src/srcpkg/tool.py", "def tool"),
        ("FORMAL_ARG_NAME", "6", "src/srcpkg/tool.py", "x"),
    ]


def test_relative_imports_two_levels_up_and_inherited_methods(project: Project):
    assert cross(project, "app/sub/deep.py") == [
        # class Derived(Base) with Base from ..models: self.greet() is inherited across files
        ("CALLS", 'self.greet("x")', "app/models.py", "def greet"),
        ("FORMAL_ARG_NAME", '"x"', "app/models.py", "who"),
        # from ..impl import func as f2
        ("CALLS", "f2(1, b=3)", "app/impl.py", "def func"),
        ("FORMAL_ARG_NAME", "1", "app/impl.py", "a"),
        ("FORMAL_ARG_NAME", "b=3", "app/impl.py", "b"),
        # from .. import util
        ("CALLS", "util.helper(1, 2, k=3)", "app/util.py", "def helper"),
        ("FORMAL_ARG_NAME", "1", "app/util.py", "x"),
        ("FORMAL_ARG_NAME", "2", "app/util.py", "rest"),
        ("FORMAL_ARG_NAME", "k=3", "app/util.py", "opts"),
        # a class without __init__
        ("CALLS", "Plain()", "app/models.py", "class Plain"),
    ]


def test_star_import_and_method_on_a_new_instance(project: Project):
    assert cross(project, "scripts/run.py") == [
        ("CALLS", 'shout("hi")', "app/util.py", "def shout"),
        ("FORMAL_ARG_NAME", '"hi"', "app/util.py", "text"),
        ("CALLS", 'Model(value=1).save("p", overwrite=True)', "app/models.py", "def save"),
        ("FORMAL_ARG_NAME", '"p"', "app/models.py", "path"),
        ("FORMAL_ARG_NAME", "overwrite=True", "app/models.py", "overwrite"),
        ("CALLS", "Model(value=1)", "app/models.py", "def __init__"),
        ("FORMAL_ARG_NAME", "value=1", "app/models.py", "value"),
    ]


def test_local_calls_are_not_cross_file(project: Project):
    assert project.cross_file_calls(FIXTURE / "app" / "impl.py") == []
    g = project.graph(FIXTURE / "app" / "impl.py")
    assert g is not None and len(g.edges_of(EdgeKind.CALLS)) == 1  # local_caller -> func


def test_definition_of(project: Project):
    path = FIXTURE / "app" / "sub" / "deep.py"
    g = project.graph(path)
    assert g is not None
    by_text = {g.node_source(i): i for i, t in enumerate(g.type) if t == "call"}
    found = project.definition_of(path, by_text["f2(1, b=3)"])
    assert isinstance(found, Definition)
    impl = project.graph(found.path)
    assert impl is not None and rel(found.path) == "app/impl.py" and label(impl, found.node) == "def func"
    local = project.definition_of(path, by_text["Derived().go()"])
    assert local is not None and rel(local.path) == "app/sub/deep.py" and label(g, local.node) == "def go"
    cls = project.definition_of(path, by_text["Derived()"])
    assert cls is not None and label(g, cls.node) == "class Derived"
    assert project.definition_of(path, by_text["Derived()"]) == Definition(local.path, cls.node)


def test_update_file_changes_edges_and_keeps_unchanged_graphs():
    project = Project(FIXTURE)
    main, impl = FIXTURE / "main.py", FIXTURE / "app" / "impl.py"
    g_before = project.graph(main)
    project.update_file(main, main.read_bytes())  # same content: the graph is kept
    assert project.graph(main) is g_before

    project.update_file(impl, "def func(first, second, third):\n    pass\n\nclass Worker:\n    pass\n")
    edges = cross(project, "main.py")
    assert ("FORMAL_ARG_NAME", "4", "app/impl.py", "second") in edges
    assert ("CALLS", 'Worker("w", retries=1)', "app/impl.py", "class Worker") in edges

    new = FIXTURE / "app" / "extra.py"  # not on disk: the editor's unsaved buffer
    project.update_file(new, "from .util import shout\n\ndef loud(t):\n    return shout(t)\n")
    assert project.module_of(new) == "app.extra"
    assert [e[:2] for e in cross(project, "app/extra.py")] == [
        ("CALLS", "shout(t)"),
        ("FORMAL_ARG_NAME", "t"),
    ]

    project.remove_file(FIXTURE / "app" / "util.py")
    assert cross(project, "app/extra.py") == []
    assert not any(e[2] == "app/util.py" for e in cross(project, "main.py"))
    project.remove_file(FIXTURE / "no" / "such.py")  # forgetting an unknown file is fine


def test_files_that_are_not_text_are_errors_not_exceptions(tmp_path: Path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "blob.py").write_bytes(b"\x00\x01binary")
    (pkg / "latin.py").write_bytes(b"x = '\xe9'\n")
    (pkg / "user.py").write_text("from .blob import f\nfrom . import latin\nf(1)\nlatin.g(2)\n")
    project = Project(tmp_path, eager=True)
    errors = {Path(p).name: msg for p, msg in project.errors.items()}
    assert set(errors) == {"blob.py", "latin.py"}
    assert "binary" in errors["blob.py"] and "UTF-8" in errors["latin.py"]
    assert project.graph(pkg / "blob.py") is None
    assert project.cross_file_calls(pkg / "blob.py") == []
    assert project.cross_file_calls(pkg / "user.py") == []


def test_project_from_a_list_of_files():
    files = [FIXTURE / "app" / "__init__.py", FIXTURE / "app" / "impl.py", FIXTURE / "main.py"]
    project = Project.from_files(files)
    assert set(project.modules) == {"app", "app.impl", "main"}
    kinds = {(e.kind, rel(e.dst_path)) for e in project.cross_file_calls(FIXTURE / "main.py")}
    assert kinds == {(EdgeKind.CALLS, "app/impl.py"), (EdgeKind.FORMAL_ARG_NAME, "app/impl.py")}
    assert all(
        isinstance(e, CrossEdge) and e.src_path.endswith("main.py")
        for e in project.cross_file_calls(files[2])
    )
    with pytest.raises(KeyError):
        project.graph(FIXTURE / "app" / "util.py")


def test_module_names_follow_packages_on_disk():
    assert module_name_for(FIXTURE / "app" / "sub" / "deep.py") == "app.sub.deep"
    assert module_name(FIXTURE / "app" / "__init__.py") == ("app", True)
    assert module_name_for(FIXTURE / "src" / "srcpkg" / "tool.py") == "srcpkg.tool"
    assert module_name_for(FIXTURE / "main.py") == "main"


def test_package_given_as_root_keeps_its_name():
    project = Project(FIXTURE / "app")
    assert project.module_of(FIXTURE / "app" / "impl.py") == "app.impl"
    assert project.path_of("impl") is not None  # the root-relative name is an alias


def test_cyclic_reexports_terminate(tmp_path: Path):
    (tmp_path / "a.py").write_text("from b import f\nfrom b import *\n")
    (tmp_path / "b.py").write_text("from a import f\nfrom a import *\n")
    (tmp_path / "c.py").write_text("import a\nfrom b import f\na.f()\nf()\ng()\n")
    project = Project(tmp_path)
    assert project.cross_file_calls(tmp_path / "c.py") == []


def test_graphs_kept_are_bounded_and_dropped_ones_come_back_identical():
    full = Project(FIXTURE, max_graph_nodes=None)
    small = Project(FIXTURE, max_graph_nodes=1)  # one graph at a time
    files = sorted(f for f in FIXTURE.rglob("*.py"))
    assert len(files) > 3
    expected = {f: cross(full, str(f.relative_to(FIXTURE))) for f in files}
    for f in files:  # every file's cross-file edges need the graphs of the files it calls into
        assert cross(small, str(f.relative_to(FIXTURE))) == expected[f]
    assert sum(e.graph is not None for e in small._entries.values()) == 1
    assert small.graphs_built > len(files)  # dropped graphs were built again
    first = files[0]
    g_full, g_small = full.graph(first), small.graph(first)
    assert g_full is not None and g_small is not None
    assert (g_small.type, g_small.text, g_small.src, g_small.dst, g_small.edge_kind) == (
        g_full.type,
        g_full.text,
        g_full.src,
        g_full.dst,
        g_full.edge_kind,
    )
    # a file given by its content (an editor's unsaved text) is rebuilt from that content
    small.update_file(first, b"def only():\n    return 1\n")
    for f in files[1:]:
        small.graph(f)
    rebuilt = small.graph(first)
    assert rebuilt is not None and "only" in rebuilt.text
