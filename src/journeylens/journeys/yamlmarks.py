"""Where things are in a YAML text: map a validation error's location to a line and column.

The definition is parsed twice: once to plain data (validated by pydantic) and once to a node
tree whose nodes carry marks (line, column). A pydantic error location such as
``("touchpoints", 3, "stage")`` is walked down the node tree to the deepest node that exists.

>>> tree = compose("a:\\n  b: [1, 2]\\n")
>>> locate(tree, ("a", "b", 1))
(2, 10)
>>> locate(tree, ("a", "missing"))   # the nearest existing node: the mapping under "a"
(2, 3)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Loc = Sequence[str | int]


@dataclass(frozen=True)
class Issue:
    """One problem in a YAML document: 1-based line and column, a path and a message."""

    line: int
    column: int
    path: str
    message: str

    def to_dict(self) -> dict[str, object]:
        return {"line": self.line, "column": self.column, "path": self.path, "message": self.message}

    def render(self, source: str) -> str:
        where = f" ({self.path})" if self.path else ""
        return f"{source}:{self.line}:{self.column}{where}: {self.message}"


def compose(text: str) -> Node | None:
    """The YAML node tree (raises ``yaml.YAMLError`` on a syntax error)."""
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _child(node: Node, key: str | int, *, key_node: bool = False) -> Node | None:
    if isinstance(node, MappingNode):
        for k, v in node.value:
            if isinstance(k, ScalarNode) and k.value == str(key):
                return k if key_node else v
    elif isinstance(node, SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
        return node.value[key]
    return None


def find_node(root: Node | None, loc: Loc, *, key_node: bool = False) -> Node | None:
    """The deepest node along ``loc``; elements that name no child (pydantic's union or
    validator tags) are skipped. With ``key_node`` the last step returns the key, not the value."""
    node = root
    if node is None:
        return None
    for i, part in enumerate(loc):
        last = i == len(loc) - 1
        child = _child(node, part, key_node=key_node and last)
        if child is not None:
            node = child
    return node


def locate(root: Node | None, loc: Loc, *, key_node: bool = False) -> tuple[int, int]:
    """1-based ``(line, column)`` of the node at ``loc`` (``(1, 1)`` for an empty document)."""
    node = find_node(root, loc, key_node=key_node)
    if node is None:
        return 1, 1
    return node.start_mark.line + 1, node.start_mark.column + 1


def format_path(loc: Loc) -> str:
    """``("touchpoints", 3, "stage")`` → ``touchpoints[3].stage``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def duplicate_keys(root: Node | None, path: tuple[str | int, ...] = ()) -> Iterator[Issue]:
    """Keys that appear twice in one mapping (YAML loaders silently keep the last one)."""
    if isinstance(root, MappingNode):
        seen: set[str] = set()
        for key, value in root.value:
            name = key.value if isinstance(key, ScalarNode) else str(key)
            if name in seen:
                yield Issue(key.start_mark.line + 1, key.start_mark.column + 1, format_path((*path, name)),
                            f"duplicate key {name!r}; each key may appear once in a mapping")
            seen.add(name)
            yield from duplicate_keys(value, (*path, name))
    elif isinstance(root, SequenceNode):
        for i, item in enumerate(root.value):
            yield from duplicate_keys(item, (*path, i))


def syntax_issue(exc: yaml.YAMLError) -> Issue:
    """An :class:`Issue` for a YAML syntax error, at the parser's mark when it has one."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    if mark is None:
        return Issue(1, 1, "", message)
    return Issue(mark.line + 1, mark.column + 1, "", message)


def read_document(text: str) -> tuple[Node | None, Any, list[Issue]]:
    """The node tree, the plain data and the problems found so far (a syntax error, duplicate keys).

    On a syntax error the tree and data are ``None`` and the one issue says where.
    """
    try:
        root = compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, None, [syntax_issue(exc)]
    return root, data, list(duplicate_keys(root))


def problems(what: str, source: str, issues: list[Issue]) -> tuple[str, dict[str, Any]]:
    """The message and details of an error listing every issue, sorted by line."""
    issues = sorted(issues, key=lambda i: (i.line, i.column))
    lines = "\n".join("  " + issue.render(source) for issue in issues)
    return (f"{what} {source} has {len(issues)} problem(s):\n{lines}",
            {"source": source, "errors": [i.to_dict() for i in issues]})
