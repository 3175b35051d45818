"""One class per finding kind. Codes and names are a stable contract."""

from __future__ import annotations


class Rule:
    """Base class: subclasses set ``code``, ``name`` and ``summary``; the docstring is the help text."""

    code: str = ""
    name: str = ""
    summary: str = ""

    @classmethod
    def help(cls) -> str:
        import inspect

        return inspect.cleandoc(cls.__doc__ or "")


class VariableMisuse(Rule):
    """## What it does
    Finds a variable used where another variable in scope was meant.

    ## Why is this bad?
    The code runs and type-checks, but computes with the wrong value.

    ## Example
    ```python
    def area(width, height):
        return width * width
    ```
    Use instead:
    ```python
    def area(width, height):
        return width * height
    ```
    """

    code = "CG001"
    name = "variable-misuse"
    summary = "a variable used where another in-scope variable was meant"


class SwappedArguments(Rule):
    """## What it does
    Finds two arguments of a call passed in the wrong order, judged against the
    callee's parameter names (which may be defined in another file).

    ## Why is this bad?
    Positional arguments of the same type swap silently.

    ## Example
    ```python
    def copy(src, dst): ...
    copy(target, source)
    ```
    Use instead:
    ```python
    copy(source, target)
    ```
    """

    code = "CG002"
    name = "swapped-arguments"
    summary = "two arguments of a call in the wrong order"


class WrongBinaryOperator(Rule):
    """## What it does
    Finds an arithmetic or bitwise operator (`+ - * / // % ** << >> & | ^ @`) that
    should be another one.

    ## Why is this bad?
    A confused operator gives wrong numbers without any error.

    ## Example
    ```python
    mean = total * count
    ```
    Use instead:
    ```python
    mean = total / count
    ```
    """

    code = "CG003"
    name = "wrong-binary-operator"
    summary = "an arithmetic or bitwise operator confused with another"


class WrongComparisonOperator(Rule):
    """## What it does
    Finds a comparison (`< <= > >= == !=`, `in`/`not in`, `is`/`is not`) that should
    be another one.

    ## Why is this bad?
    Off-by-one bounds and inverted membership tests are classic silent bugs.

    ## Example
    ```python
    while i <= len(items):
    ```
    Use instead:
    ```python
    while i < len(items):
    ```
    """

    code = "CG004"
    name = "wrong-comparison-operator"
    summary = "a comparison operator confused with another"


class WrongBooleanOperator(Rule):
    """## What it does
    Finds `and` where `or` was meant, or the reverse.

    ## Why is this bad?
    The condition holds in different cases than intended.

    ## Example
    ```python
    if x is None and y is None: raise ValueError("need x or y")
    ```
    Use instead:
    ```python
    if x is None or y is None: ...
    ```
    """

    code = "CG005"
    name = "wrong-boolean-operator"
    summary = "`and` / `or` confused"


class WrongLiteral(Rule):
    """## What it does
    Finds a small number or a `True`/`False` that should be another value.

    ## Why is this bad?
    Off-by-one indices and flipped flags change behaviour silently.

    ## Example
    ```python
    last = items[len(items) - 0]
    ```
    Use instead:
    ```python
    last = items[len(items) - 1]
    ```
    """

    code = "CG006"
    name = "wrong-literal"
    summary = "a number or True/False that should be another"


class WrongNegation(Rule):
    """## What it does
    Finds a condition that lacks a `not` it needs, or has one it should not.

    ## Why is this bad?
    The branch runs exactly when it should not.

    ## Example
    ```python
    if os.path.exists(path):
        os.makedirs(path)
    ```
    Use instead:
    ```python
    if not os.path.exists(path):
        os.makedirs(path)
    ```
    """

    code = "CG007"
    name = "wrong-negation"
    summary = "a `not` missing or extra in a condition"


class WrongAssignmentOperator(Rule):
    """## What it does
    Finds `=` where an augmented assignment (`+=`, `-=` ...) was meant, or the reverse.

    ## Why is this bad?
    An accumulator is overwritten instead of updated, or updated instead of reset.

    ## Example
    ```python
    for item in items:
        total = item.price
    ```
    Use instead:
    ```python
    for item in items:
        total += item.price
    ```
    """

    code = "CG008"
    name = "wrong-assignment-operator"
    summary = "`=` and an augmented assignment confused"


ALL_RULES: tuple[type[Rule], ...] = (
    VariableMisuse,
    SwappedArguments,
    WrongBinaryOperator,
    WrongComparisonOperator,
    WrongBooleanOperator,
    WrongLiteral,
    WrongNegation,
    WrongAssignmentOperator,
)
RULES_BY_CODE: dict[str, type[Rule]] = {r.code: r for r in ALL_RULES}
RULE_CODES: tuple[str, ...] = tuple(RULES_BY_CODE)
