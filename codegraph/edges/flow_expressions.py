"""Control flow inside expressions: evaluation order, and the blocks that ``and`` / ``or``,
``a if c else b`` and comprehensions split a statement into (see :mod:`codegraph.edges.controlflow`)."""

from __future__ import annotations

from collections.abc import Callable

from codegraph.edges.flow_blocks import (
    _COMPREHENSIONS,
    _OP_ELSE,
    _OP_EMIT,
    _OP_JOIN,
    _OP_JOIN2,
    _OP_LOOP,
    _OP_LOOP_END,
    _OP_SPLIT,
    _OP_THEN,
    _OP_TO_HEAD,
    QUIET,
    READ,
    WRITE,
    BlockBuilder,
)


class ExpressionBuilder(BlockBuilder):
    """Appends the events of expressions to the current block, splitting it where they branch."""

    def expr(self, root: int) -> None:
        """Append the events of subtree ``root`` in evaluation order, splitting blocks where it branches."""
        sh = self.sh
        end = sh.send[root]
        spec_before, occ_before = sh.spec_before, sh.occ_before
        j = spec_before[root]
        nspec = spec_before[end] - j
        if not nspec:
            k0, k1 = occ_before[root], occ_before[end]
            if k0 < k1:
                self.fg.events[self.cur].extend(sh.codes[k0:k1])
            return
        x = sh.specials[j]
        if nspec == 1 and sh.types[x] == "assignment":
            # the common case: one plain ``target = value`` -- value first, then targets
            kids = sh.children[x]
            left, right = kids[0], kids[-1]
            fields = sh.fields
            if fields[left] == "left" and fields[right] == "right":
                codes = sh.codes
                k0, kx, kr = occ_before[root], occ_before[x], occ_before[right]
                ke, k1 = occ_before[sh.send[x]], occ_before[end]
                ev = self.fg.events[self.cur]
                if kx > k0:
                    ev.extend(codes[k0:kx])
                ev.extend(codes[kr:ke])
                ev.extend(codes[kx:kr])
                if k1 > ke:
                    ev.extend(codes[ke:k1])
                self.fg.assigns.append((kx, kr, kr, ke))
                return
        self.expr_slow(root)

    def expr_slow(self, root: int) -> None:
        """:meth:`expr` for subtrees with branches or bindings: an explicit stack of graph nodes
        to visit and of control operations (tuples) that split and join blocks."""
        sh = self.sh
        children, send = sh.children, sh.send
        specials, codes, spec_before, occ_before = sh.specials, sh.codes, sh.spec_before, sh.occ_before
        events = self.fg.events
        marks: list = []
        stack: list = [root]
        while stack:
            x = stack.pop()
            if x.__class__ is not int:
                self.control(x, marks)
                continue
            end = send[x]
            j = spec_before[x]
            if spec_before[end] == j:  # nothing special below: its events in source order
                k0, k1 = occ_before[x], occ_before[end]
                if k0 < k1:
                    events[self.cur].extend(codes[k0:k1])
            elif specials[j] != x:
                stack.extend(reversed(children[x]))
            else:
                self.special(x, stack)

    def special(self, x: int, stack: list) -> None:
        """Push the evaluation of the special syntax node ``x`` (a binding or a branch) onto ``stack``."""
        t = self.sh.types[x]
        kids = self.sh.children[x]
        push = _SPECIAL_PUSH.get(t)
        if push is not None:
            push(self, x, kids, stack)
        elif t == "conditional_expression" and len(kids) == 3:
            a, c, b = kids
            stack += [(_OP_JOIN2,), b, (_OP_ELSE,), a, (_OP_THEN,), c]
        elif t == "boolean_operator" and len(kids) == 3:
            self.push_boolean(kids, stack)
        elif t in _COMPREHENSIONS:
            self.comprehension(x, stack)
        else:
            stack.extend(reversed(kids))

    def push_assignment(self, x: int, kids: list[int], stack: list) -> None:
        """``left: type = right``: the value, then the targets (the annotation first)."""
        fields = self.sh.fields
        left = right = typ = -1
        for c in kids:
            f = fields[c]
            if f == "left":
                left = c
            elif f == "right":
                right = c
            elif f == "type":
                typ = c
        if typ >= 0:
            stack.append(typ)
        if left >= 0 and right >= 0:  # a bare annotation ``x: int`` binds nothing
            stack.append(left)
        if right >= 0:
            stack.append(right)
            if left >= 0:
                self.assign(left, right)

    def push_augmented(self, x: int, kids: list[int], stack: list) -> None:
        """``left op= right``: the target is read, the value evaluated, then the target written."""
        sh = self.sh
        fields = sh.fields
        left = kids[0] if kids and fields[kids[0]] == "left" else -1
        right = kids[-1] if kids and fields[kids[-1]] == "right" else -1
        k = sh.occ_before[left] if left >= 0 else -1
        if k >= 0 and (k >= len(sh.occ_nodes) or sh.occ_nodes[k] != left):
            k = -1
        if k >= 0:
            stack.append((_OP_EMIT, (k << 3) | WRITE | QUIET))
            if right >= 0:
                stack.append(right)
            stack.append((_OP_EMIT, (k << 3) | READ))
        else:
            if right >= 0:
                stack.append(right)
            if left >= 0:
                stack.append(left)
        if left >= 0 and right >= 0:
            self.assign(left, right)

    def push_walrus(self, x: int, kids: list[int], stack: list) -> None:
        """``name := value``: the value, then the name."""
        fields = self.sh.fields
        name = value = -1
        for c in kids:
            if fields[c] == "name":
                name = c
            elif fields[c] == "value":
                value = c
        if name >= 0:
            stack.append(name)
        if value >= 0:
            stack.append(value)
            if name >= 0:
                self.assign(name, value)

    def push_boolean(self, kids: list[int], stack: list) -> None:
        """``a and b and c`` is one chain: each operand may end it."""
        types, children = self.sh.types, self.sh.children
        op_type = types[kids[1]]
        operands = [kids[2]]
        left = kids[0]
        while types[left] == "boolean_operator" and len(children[left]) == 3:
            lk = children[left]
            if types[lk[1]] != op_type:
                break
            operands.append(lk[2])
            left = lk[0]
        stack.append((_OP_JOIN, len(operands)))
        for o in operands:
            stack.append(o)
            stack.append((_OP_SPLIT,))
        stack.append(left)

    def push_lambda(self, x: int, kids: list[int], stack: list) -> None:
        """A lambda: only its parameters' defaults run here."""
        params = self.field(x, "parameters")
        if params >= 0:
            for q in reversed(self.sh.children[params]):
                for r in reversed(self.sh.children[q]):
                    if self.sh.fields[r] == "value":
                        stack.append(r)

    def push_nested_definition(self, x: int, kids: list[int], stack: list) -> None:
        """A ``def`` / ``class`` inside an ERROR syntax node: what runs in this unit, unordered."""
        sh = self.sh
        owner = self.scope
        scopes = sh.info.occ_scopes
        k0, k1 = sh.occ_before[x], sh.occ_before[sh.send[x]]
        self.fg.events[self.cur].extend(sh.codes[k] for k in range(k0, k1) if scopes[k].flow_owner is owner)

    def control(self, x: tuple, marks: list) -> None:
        """Run one control operation of :meth:`expr_slow` (``marks``: the blocks it splits and joins)."""
        op = x[0]
        if op == _OP_EMIT:
            self.fg.events[self.cur].append(x[1])
        elif op in (_OP_THEN, _OP_SPLIT):
            marks.append(self.cur)
            self.start(self.anchor, [self.cur])
        elif op == _OP_ELSE:
            split = marks.pop()
            marks.append(self.cur)
            self.start(self.anchor, [split])
        elif op == _OP_JOIN2:
            other = marks.pop()
            self.start(self.anchor, [other, self.cur])
        elif op == _OP_JOIN:
            ends = marks[-x[1] :]
            del marks[-x[1] :]
            ends.append(self.cur)
            self.start(self.anchor, ends)
        elif op == _OP_LOOP:
            head = self.new(self.anchor)
            self.link([self.cur], head)
            after = self.new(self.anchor)
            self.link([head], after)
            marks.append((head, after))
            self.start(self.anchor, [head])
        elif op == _OP_TO_HEAD:  # a filter failed or an inner iterator ran out
            self.link([self.cur], marks[-1][0])
            self.start(self.anchor, [self.cur])
        else:  # _OP_LOOP_END
            head, after = marks.pop()
            self.link([self.cur], head)
            self.cur = after

    def comprehension(self, x: int, stack: list) -> None:
        """Push a comprehension: first iterable, then a loop over targets, conditions and body."""
        sh = self.sh
        types, fields, children = sh.types, sh.fields, sh.children
        body = -1
        todo: list = []  # in evaluation order
        first = True
        for c in children[x]:
            t = types[c]
            if fields[c] == "body":
                body = c
            elif t == "for_in_clause":
                left = right = -1
                for r in children[c]:
                    if fields[r] == "left":
                        left = r
                    elif fields[r] == "right":
                        right = r
                if first:
                    if right >= 0:
                        todo.append(right)
                    todo.append((_OP_LOOP,))
                    first = False
                else:
                    if right >= 0:
                        todo.append(right)
                    todo.append((_OP_TO_HEAD,))
                if left >= 0:
                    todo.append(left)
                    if right >= 0:
                        self.assign(left, right)
            elif t == "if_clause":
                todo.extend(children[c])
                todo.append((_OP_TO_HEAD,))
            else:
                todo.append(c)
        if first:  # no for clause (broken syntax): plain evaluation order
            todo.insert(0, (_OP_LOOP,))
        if body >= 0:
            todo.append(body)
        todo.append((_OP_LOOP_END,))
        stack.extend(reversed(todo))


#: special syntax types -> the method that pushes their evaluation (see ExpressionBuilder.special)
_SPECIAL_PUSH: dict[str, Callable[[ExpressionBuilder, int, list[int], list], None]] = {
    "assignment": ExpressionBuilder.push_assignment,
    "augmented_assignment": ExpressionBuilder.push_augmented,
    "named_expression": ExpressionBuilder.push_walrus,
    "lambda": ExpressionBuilder.push_lambda,
    "function_definition": ExpressionBuilder.push_nested_definition,
    "class_definition": ExpressionBuilder.push_nested_definition,
}
