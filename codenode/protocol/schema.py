"""Checks generated from the message definitions: what is wrong with a message, in words.

Every message of every wire is defined once, as a TypedDict (``engine.py``, ``backend.py``,
``browser.py``), with a ``Literal`` tag (``op`` for requests, ``type`` for the rest)::

    class Complete(_Request):
        \"\"\"Completions of text at cursor (parent -> engine), answered by a reply.\"\"\"

        op: Literal["complete"]
        text: str
        cursor: NotRequired[Optional[int]]

and ``Checker((Evaluate, Complete, ...), tag="op").problem(message)`` says what is wrong with
a decoded message, or None: "complete: 'cursor' must be an integer, not a string". There is no
other table of fields: a definition changed is a check changed.

Standard library only, and Python 3.9: the engine checks its requests with this. The engine
never imports ``typing`` (3 to 6 ms and a few hundred KB per engine, pinned by
tests/engine/test_imports.py), so the definitions are TypedDicts to mypy only: at run time
their base is this module's ``TypedDict``, a plain class, and their annotations stay strings
(``from __future__ import annotations``) that a Checker parses with ``ast`` when it is first
used (checks.py). Understood in annotations: str, int, float, bool, None, Any, object,
Literal[...], Optional[X], Union[X, ...], X | Y, List[X], Dict[str, X], NotRequired[X], and other
definitions (nested objects), by name or as module.Name, and aliases written as strings
(``CellKind: TypeAlias = 'Literal["code", "markdown"]'``), which mypy reads as aliases too.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Dict, FrozenSet, Iterable, Optional, Tuple

    from codenode.protocol.checks import Object


class TypedDict:
    """A message definition's base at run time: typing.TypedDict's stand-in (see above).

    A subclass records its fields, its bases' included, in ``__fields__``: name ->
    (annotation text, required). Calling one makes a plain dict, as a TypedDict does.
    """

    __fields__: Dict[str, Tuple[str, bool]] = {}

    def __init_subclass__(cls, total: bool = True, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields = dict(cls.__fields__)
        # Not inspect.get_annotations: inspect costs an engine milliseconds to import.
        own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063
        for name, annotation in own.items():
            if not isinstance(annotation, str):
                raise TypeError(
                    "%s: definitions are written under `from __future__ import annotations`"
                    % cls.__qualname__
                )
            fields[name] = (annotation, total)
        cls.__fields__ = fields

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        return dict(*args, **kwargs)


class Checker:
    """Checks messages against a union of definitions told apart by their tag field.

    ``closed``: fields that no definition names are refused (a bus that forwards what it
    checked must not forward anything else). Compiled on first use.
    """

    def __init__(self, definitions: Iterable[type], tag: str, closed: bool = False) -> None:
        self.definitions = tuple(definitions)
        self.tag = tag
        self.closed = closed
        self._compiled: Optional[Dict[Any, Tuple[Object, FrozenSet[str]]]] = None

    @property
    def tags(self) -> Tuple[Any, ...]:
        """The tag values, one per definition, in the order given."""
        from codenode.protocol.checks import literal_values

        return tuple(literal_values(d, self.tag)[0] for d in self.definitions)

    def compile(self) -> Dict[Any, Tuple[Object, FrozenSet[str]]]:
        """The definitions as checks, by tag (done once, on first use: a process that never
        checks a message never imports ast)."""
        if self._compiled is None:
            from codenode.protocol.checks import Object, tag_of

            self._compiled = {
                tag_of(d, self.tag): (Object(d), frozenset(d.__fields__))  # type: ignore[attr-defined]
                for d in self.definitions
            }
        return self._compiled

    def problem(self, message: Any) -> Optional[str]:
        """What is wrong with a decoded message, or None if it is one of the definitions."""
        compiled = self._compiled or self.compile()
        if not isinstance(message, dict):
            return "a message must be a JSON object"
        tag = message.get(self.tag)
        try:
            kind, names = compiled[tag]
        except (KeyError, TypeError):  # TypeError: an unhashable tag, a list say
            return "unknown %s %r: expected one of %s" % (
                self.tag,
                tag,
                ", ".join(sorted(str(known) for known in compiled)),
            )
        if not kind.ok(message):
            fault = kind.fault(message)
            if fault is not None:
                from codenode.protocol.checks import describe

                return describe(tag, fault)
        if self.closed and not names.issuperset(message):
            return "%s: unexpected fields %s" % (tag, sorted(set(message) - names))
        return None


def literal_values(definition: type, field: str) -> Tuple[Any, ...]:
    """The values a field declared ``Literal[...]`` (perhaps NotRequired, Optional) takes."""
    from codenode.protocol import checks

    return checks.literal_values(definition, field)
