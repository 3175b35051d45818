"""tree-sitter Tree -> CodeGraph holding the graph nodes (no edges yet).

One iterative TreeCursor walk in preorder; no recursion, so 500-deep nesting is fine.
Punctuation, keywords and comments are dropped; operator tokens are kept as leaves.
"""

from __future__ import annotations

from tree_sitter import Tree

from codegraph.schema import OPERATOR_TOKENS, SKIPPED_TYPES, CodeGraph, FunctionInfo, NodeKind

#: longest token text kept in the graph (long strings are cut)
MAX_TOKEN_TEXT = 48


def graph_nodes(tree: Tree, source: bytes, path: str = "<string>", module: str = "") -> CodeGraph:
    """Create the graph nodes of ``tree``; children, fields and ranges included."""
    g = CodeGraph(path=path, module=module, source=source, has_error=tree.root_node.has_error)
    kind, typ, text, parent, fld, children = g.kind, g.type, g.text, g.parent, g.field_name, g.children
    sb, eb, sp, ep, send = g.start_byte, g.end_byte, g.start_point, g.end_point, g.subtree_end
    cursor = tree.walk()
    # stack of graph-node ids whose subtree is open, aligned with the cursor depth
    open_nodes: list[int] = []
    open_depth: list[int] = []
    depth = 0
    token_kind, syntax_kind = NodeKind.TOKEN, NodeKind.SYNTAX
    while True:
        node = cursor.node
        assert node is not None
        ntype = node.type
        named = node.is_named
        descend = True
        if named:
            keep = ntype not in SKIPPED_TYPES and not node.is_missing
            leaf = node.child_count == 0 or ntype == "string_content"
        else:
            keep = ntype in OPERATOR_TOKENS
            leaf = True
        if not keep:
            descend = False if not named else ntype not in SKIPPED_TYPES
        if keep:
            while open_depth and open_depth[-1] >= depth:
                send[open_nodes.pop()] = len(typ)
                open_depth.pop()
            idx = len(typ)
            par = open_nodes[-1] if open_nodes else -1
            typ.append(ntype)
            s, e = node.start_byte, node.end_byte
            sb.append(s)
            eb.append(e)
            sp.append(node.start_point)
            ep.append(node.end_point)
            parent.append(par)
            fld.append(cursor.field_name)
            children.append([])
            send.append(idx + 1)
            if par >= 0:
                children[par].append(idx)
            if leaf:
                kind.append(token_kind)
                raw = source[s : min(e, s + MAX_TOKEN_TEXT * 4)].decode("utf-8", "replace")
                text.append(raw[:MAX_TOKEN_TEXT])
                descend = False
            else:
                kind.append(syntax_kind)
                text.append("")
            open_nodes.append(idx)
            open_depth.append(depth)
        if descend and cursor.goto_first_child():
            depth += 1
            continue
        while not cursor.goto_next_sibling():
            if not cursor.goto_parent():
                while open_nodes:
                    send[open_nodes.pop()] = len(typ)
                _collect_functions(g)
                return g
            depth -= 1
        # moving to a sibling: close nodes opened at this depth or deeper
        while open_depth and open_depth[-1] >= depth:
            send[open_nodes.pop()] = len(typ)
            open_depth.pop()


def _collect_functions(g: CodeGraph) -> None:
    """Record every function_definition with its qualified name (module.Class.func)."""
    prefix = g.module
    for i, t in enumerate(g.type):
        if t != "function_definition":
            continue
        name_node = g.child_by_field(i, "name")
        if name_node is None:
            continue
        parts = [g.text[name_node]]
        class_node = None
        p = g.parent[i]
        while p >= 0:
            pt = g.type[p]
            if pt in ("function_definition", "class_definition"):
                n = g.child_by_field(p, "name")
                parts.append(g.text[n] if n is not None else "?")
                if pt == "class_definition" and class_node is None and _direct_method(g, i, p):
                    class_node = p
            p = g.parent[p]
        qual = ".".join(reversed(parts))
        g.functions.append(FunctionInfo(f"{prefix}.{qual}" if prefix else qual, i, name_node, class_node))


def _direct_method(g: CodeGraph, func: int, cls: int) -> bool:
    """True when ``func`` is defined directly in the body of class ``cls`` (decorators allowed)."""
    p = g.parent[func]
    while p != cls:
        if g.type[p] not in ("block", "decorated_definition"):
            return False
        p = g.parent[p]
    return True
