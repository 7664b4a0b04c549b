"""The checks a Checker compiles from its definitions' annotations (see schema.py).

Each annotation (a string, read with ``ast``) becomes a kind whose ``fault(value)`` is None
for a value it allows, else where and what is wrong; ``describe`` puts that in words.
Standard library only, Python >= 3.9: the engine loads this at its first request.
"""

from __future__ import annotations

import sys

from codenode.protocol.schema import TypedDict

TYPE_CHECKING = False
if TYPE_CHECKING:
    import ast
    from typing import Any, Dict, List, Optional, Tuple

    # What a kind answers for a bad value: the path to what is wrong (field names, keys,
    # indices), what was expected there, and what was found (None: it is missing).
    Fault = Tuple[Tuple[Any, ...], str, Optional[str]]


def tag_of(definition: type, tag: str) -> Any:
    """The one value a definition's tag field takes (its Literal)."""
    annotation = definition.__fields__[tag][0]  # type: ignore[attr-defined]
    node = _parse(annotation)
    values = _literal_values(node, definition)
    if values is None or len(values) != 1:
        raise TypeError("%s: %r must be a Literal of one value" % (definition.__name__, tag))
    return values[0]


def literal_values(definition: type, field: str) -> Tuple[Any, ...]:
    """The values a field declared ``Literal[...]`` (perhaps NotRequired, Optional) takes."""
    node = _parse(definition.__fields__[field][0])  # type: ignore[attr-defined]
    values = _literal_values(node, definition)
    if values is None:
        raise TypeError("%s.%s is not a Literal" % (definition.__name__, field))
    return values


def describe(tag: Any, fault: Fault) -> str:
    """A fault in words, naming the message by its tag."""
    path, expected, found = fault
    where = _path(path)
    if found is None:
        return "%s needs %s (%s)" % (tag, where, expected)
    return "%s: %s must be %s, not %s" % (tag, where, expected, found)


def json_type(value: Any) -> str:
    """What a decoded JSON value is, in words."""
    if value is None:
        return "null"
    if value is True or value is False:
        return "a boolean"
    return _JSON_TYPES.get(type(value), type(value).__name__)


_JSON_TYPES = {
    str: "a string",
    int: "an integer",
    float: "a number",
    list: "a list",
    dict: "an object",
}


def _path(path: Tuple[Any, ...]) -> str:
    """'cursor', 'error.ename', 'data["text/html"]', 'matches[3]'."""
    text = str(path[0]) if path else "the message"
    for step in path[1:]:
        if isinstance(step, int):
            text += "[%d]" % step
        elif str(step).isidentifier():
            text += "." + str(step)
        else:
            text += '["%s"]' % step
    return "'%s'" % text


# -- compiling annotations into checks ----------------------------------------------------


class _Kind:
    """A compiled annotation: ``ok(value)`` says at once whether it allows value (the path
    of every message), ``fault(value)`` what is wrong (None if nothing).

    Values are JSON's, decoded: their types are exactly str, int, float, bool, None, list
    and dict, and are compared so (``type(value) is str``: faster than isinstance).
    """

    expected = "something else"

    def ok(self, value: Any) -> bool:
        return self.fault(value) is None

    def fault(self, value: Any) -> Optional[Fault]:
        raise NotImplementedError

    def same_type(self, value: Any) -> bool:
        """Whether value is of this kind's JSON type (so a fault is about what it holds)."""
        return False


class _Simple(_Kind):
    def __init__(self, types: Tuple[type, ...], expected: str) -> None:
        self.types, self.expected = frozenset(types), expected

    def ok(self, value: Any) -> bool:
        return type(value) in self.types

    def fault(self, value: Any) -> Optional[Fault]:
        return None if type(value) in self.types else ((), self.expected, json_type(value))

    def same_type(self, value: Any) -> bool:
        return False


class _Anything(_Kind):
    expected = "anything"

    def ok(self, value: Any) -> bool:
        return True

    def fault(self, value: Any) -> Optional[Fault]:
        return None

    def same_type(self, value: Any) -> bool:
        return True


class _Literal(_Kind):
    def __init__(self, values: Tuple[Any, ...]) -> None:
        # True == 1 in Python: a literal matches a value of its own type only.
        self.allowed = {(type(v), v) for v in values}
        self.types = {type(v) for v in values}
        self.shown = [repr(v) for v in values]
        many = len(self.shown) > 2
        self.expected = "one of " + ", ".join(self.shown) if many else _either(self.shown)

    def same_type(self, value: Any) -> bool:
        return type(value) in self.types

    def ok(self, value: Any) -> bool:
        try:
            return (type(value), value) in self.allowed
        except TypeError:  # unhashable: a list, an object
            return False

    def fault(self, value: Any) -> Optional[Fault]:
        if self.ok(value):
            return None
        shown = repr(value) if isinstance(value, (str, int, float)) else ""
        return ((), self.expected, shown if 0 < len(shown) < 40 else json_type(value))


class _Union(_Kind):
    def __init__(self, options: List[_Kind]) -> None:
        self.options: List[_Kind] = []
        for option in options:
            self.options += option.options if isinstance(option, _Union) else [option]
        names: List[str] = []
        for option in self.options:
            for name in option.shown if isinstance(option, _Literal) else [option.expected]:
                if name not in names:
                    names.append(name)
        self.expected = _either(names)
        # A union of simple types (str | int | None) is one set lookup.
        simple = [option for option in self.options if isinstance(option, _Simple)]
        self.types = frozenset(t for option in simple for t in option.types)
        self.others = [option.ok for option in self.options if not isinstance(option, _Simple)]

    def ok(self, value: Any) -> bool:
        return type(value) in self.types or any(ok(value) for ok in self.others)

    def fault(self, value: Any) -> Optional[Fault]:
        faults = []
        for option in self.options:
            fault = option.fault(value)
            if fault is None:
                return None
            if option.same_type(value):
                faults.append(fault)
        if faults:
            # Of the right type but wrong inside (an object missing a field, a string that is
            # not one of a Literal's): that says more than the list of types. The deepest.
            return max(faults, key=lambda fault: len(fault[0]))
        return ((), self.expected, json_type(value))

    def same_type(self, value: Any) -> bool:
        return any(option.same_type(value) for option in self.options)


class _List(_Kind):
    expected = "a list"

    def __init__(self, item: _Kind) -> None:
        self.item = item

    def ok(self, value: Any) -> bool:
        if type(value) is not list:
            return False
        item_ok = self.item.ok
        return all(item_ok(element) for element in value)

    def same_type(self, value: Any) -> bool:
        return type(value) is list

    def fault(self, value: Any) -> Optional[Fault]:
        if type(value) is not list:
            return ((), self.expected, json_type(value))
        for index, element in enumerate(value):
            fault = self.item.fault(element)
            if fault is not None:
                return ((index, *fault[0]), fault[1], fault[2])
        return None


class _Dict(_Kind):
    expected = "an object"

    def __init__(self, item: _Kind) -> None:
        self.item = None if isinstance(item, _Anything) else item

    def ok(self, value: Any) -> bool:
        if type(value) is not dict:
            return False
        if self.item is None:
            return True
        item_ok = self.item.ok
        return all(item_ok(element) for element in value.values())

    def same_type(self, value: Any) -> bool:
        return type(value) is dict

    def fault(self, value: Any) -> Optional[Fault]:
        if type(value) is not dict:
            return ((), self.expected, json_type(value))
        if self.item is not None:
            for key, element in value.items():
                fault = self.item.fault(element)
                if fault is not None:
                    return ((key, *fault[0]), fault[1], fault[2])
        return None


class Object(_Kind):
    """A definition: a JSON object with its fields, each (name, required, kind)."""

    expected = "an object"

    def __init__(self, definition: type) -> None:
        self.fields: List[Tuple[str, bool, _Kind]] = []
        for name, (annotation, total) in definition.__fields__.items():  # type: ignore[attr-defined]
            kind, not_required = _compile(annotation, definition)
            self.fields.append((name, total and not not_required, kind))
        self._oks = [(name, required, kind.ok) for name, required, kind in self.fields]

    def ok(self, value: Any) -> bool:
        if type(value) is not dict:
            return False
        for name, required, ok in self._oks:
            if name in value:
                if not ok(value[name]):
                    return False
            elif required:
                return False
        return True

    def same_type(self, value: Any) -> bool:
        return type(value) is dict

    def fault(self, value: Any) -> Optional[Fault]:
        if type(value) is not dict:
            return ((), self.expected, json_type(value))
        for name, required, kind in self.fields:
            if name in value:
                fault = kind.fault(value[name])
                if fault is not None:
                    return ((name, *fault[0]), fault[1], fault[2])
            elif required:
                return ((name,), kind.expected, None)
        return None


def _either(names: List[str]) -> str:
    return ", ".join(names[:-1]) + " or " + names[-1] if len(names) > 1 else names[0]


_PARSED: Dict[str, ast.expr] = {}


def _parse(annotation: str) -> ast.expr:
    import ast

    node = _PARSED.get(annotation)
    if node is None:
        node = _PARSED[annotation] = ast.parse(annotation, mode="eval").body
    return node


def _compile(annotation: str, definition: type) -> Tuple[_Kind, bool]:
    """The kind of a field's annotation, and whether it is NotRequired."""
    node = _parse(annotation)
    outer = _name_of(node, "subscript")
    if outer in ("NotRequired", "Required"):
        return _kind(_argument(node), definition), outer == "NotRequired"
    return _kind(node, definition), False


def _kind(node: ast.expr, definition: type) -> _Kind:
    import ast

    if isinstance(node, ast.Constant) and node.value is None:
        return _Simple((type(None),), "null")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _Union([_kind(node.left, definition), _kind(node.right, definition)])
    if isinstance(node, ast.Subscript):
        outer = _name_of(node, "subscript")
        arguments = _arguments(node)
        if outer == "Literal":
            return _Literal(tuple(_constant(a) for a in arguments))
        if outer == "Optional":
            return _Union([_kind(arguments[0], definition), _Simple((type(None),), "null")])
        if outer == "Union":
            return _Union([_kind(a, definition) for a in arguments])
        if outer in ("List", "list"):
            return _List(_kind(arguments[0], definition))
        if outer in ("Dict", "dict"):
            return _Dict(_kind(arguments[1], definition))
        raise TypeError("%s: cannot check %s[...]" % (definition.__name__, outer))
    name = _name_of(node, "name")
    if name in _SIMPLE:
        return _Simple(*_SIMPLE[name])
    if name in ("Any", "object"):
        return _Anything()
    found = _resolve(node, definition)
    if isinstance(found, type) and issubclass(found, TypedDict):
        return Object(found)
    if isinstance(found, str):  # an alias: ``RequestId: TypeAlias = "Union[str, int]"``
        return _kind(_parse(found), definition)
    raise TypeError("%s: cannot check %r" % (definition.__name__, name))


_SIMPLE: Dict[str, Tuple[Tuple[type, ...], str]] = {
    "str": ((str,), "a string"),
    "int": ((int,), "an integer"),
    "float": ((int, float), "a number"),
    "bool": ((bool,), "a boolean"),
    "None": ((type(None),), "null"),
    "dict": ((dict,), "an object"),
    "list": ((list,), "a list"),
}


# -- reading ast nodes ----------------------------------------------------------------------


def _name_of(node: ast.expr, what: str) -> Optional[str]:
    """The last part of a name (``typing.Optional`` -> "Optional"), of a subscript's base if
    what is "subscript"."""
    import ast

    if what == "subscript":
        if not isinstance(node, ast.Subscript):
            return None
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _arguments(node: ast.Subscript) -> List[ast.expr]:
    import ast

    inner: Any = node.slice
    return list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]


def _argument(node: ast.expr) -> ast.expr:
    import ast

    assert isinstance(node, ast.Subscript)
    return _arguments(node)[0]


def _constant(node: ast.expr) -> Any:
    import ast

    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):  # Literal[-1]
        return -_constant(node.operand)
    raise TypeError("Literal values must be constants, not %s" % ast.dump(node))


def _literal_values(node: ast.expr, definition: type) -> Optional[Tuple[Any, ...]]:
    """The values of a Literal, looking through NotRequired, Required, Optional, aliases."""
    import ast

    alias = _resolve(node, definition) if _name_of(node, "name") else None
    if isinstance(alias, str):
        return _literal_values(_parse(alias), definition)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):  # Shade | None
        values: List[Any] = []
        for side in (node.left, node.right):
            found = () if _is_none(side) else _literal_values(side, definition)
            if found is None:
                return None
            values += found
        return tuple(values)
    outer = _name_of(node, "subscript")
    if outer in ("NotRequired", "Required", "Optional"):
        return _literal_values(_argument(node), definition)
    if outer == "Literal":
        return tuple(_constant(a) for a in _arguments(node))  # type: ignore[arg-type]
    return None


def _is_none(node: ast.expr) -> bool:
    import ast

    return isinstance(node, ast.Constant) and node.value is None


def _resolve(node: ast.expr, definition: type) -> Any:
    """What a name in an annotation names, in the module that defines the definition."""
    import ast

    parts: List[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.insert(0, node.id)
    found: Any = vars(sys.modules[definition.__module__])
    for index, part in enumerate(parts):
        found = found.get(part) if index == 0 else getattr(found, part, None)
        if found is None:
            return None
    return found
