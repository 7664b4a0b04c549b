"""Tab completion: what may replace the word left of the cursor in a cell.

``complete(namespace, text, cursor)`` answers ``{'matches', 'cursor_start', 'cursor_end'}``: each
match replaces ``text[cursor_start:cursor_end]`` (``cursor_end`` is the cursor). A match is

- for a name or an attribute, the identifier (``os.path.jo`` -> ``join``, replacing ``jo``);
- for a module after ``import`` / ``from``, the whole dotted name (``import os.pa`` ->
  ``os.path``, replacing ``os.pa``); after ``from m import``, the name;
- for a key of a dict, a whole string literal in the quote typed (``d['a`` -> ``'alpha'``,
  replacing ``'a``). No closing bracket: the user may be about to write ``d['alpha'][0]``.

Private names (a leading underscore) are offered only when the typed word starts with one.

Nothing is called to find matches. The plain path reads namespaces and class dictionaries and
walks dotted chains with ``inspect.getattr_static``: properties, ``__getattr__`` and other
descriptors never run. jedi, when importable, adds inference (``'abc'.up``); it is asked with its
unsafe executions off, so that it evaluates no property, and not at all when an object named in
the cell runs Python code on attribute lookup (jedi probes objects with ``hasattr``).
"""

from __future__ import annotations

import builtins
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, List, Tuple

    Context = Tuple[str, int, List[str], str]  # kind, start, chain, word: see _analyse

_MISSING: Any = object()
_IDENT = r"[^\W\d]\w*"
_CHAIN = rf"{_IDENT}(?:\.{_IDENT})*"


def complete(
    namespace: dict[str, Any],
    text: str,
    cursor: int | None = None,
    use_jedi: bool | None = None,
) -> dict[str, Any]:
    """Complete the word that ends at ``cursor`` (default: the end of ``text``).

    Only ``text[:cursor]`` is read. ``use_jedi``: None or True use jedi when it can be imported
    (the plain path answers when it cannot, or when jedi finds nothing); False never does.
    """
    cursor = len(text) if cursor is None else max(0, min(cursor, len(text)))
    try:
        start, matches = _complete(namespace, text[:cursor], use_jedi is not False)
    except Exception:
        # A completion request must never break the engine: an odd object just gets no matches.
        start, matches = cursor, []
    return {"matches": sorted(set(matches)), "cursor_start": start, "cursor_end": cursor}


def _complete(namespace: dict[str, Any], prefix: str, use_jedi: bool) -> tuple[int, list[str]]:
    context = kind, start, chain, word = _analyse(prefix)
    if kind == "comment":
        return start, []
    imported = _imported_names(prefix) if kind in ("key", "attr", "name") else {}
    if imported:  # `import os; os.pa` completes before the cell has run
        namespace = {**namespace, **imported}
    keys = _dict_keys(namespace, chain, word) if kind == "key" else None
    if keys is not None:
        return start, keys  # exact, where jedi's literals are not always valid Python
    found = None
    if use_jedi:
        found = _jedi_matches(namespace, prefix, start if kind == "module" else None)
        if found and kind == "key":  # in `x['`, jedi also offers file names: keep literals
            found = found[0], [match for match in found[1] if match[:1] in "'\""]
    if found is None or not found[1]:
        found = start, _plain_matches(namespace, context)
    if kind == "name" and chain and not word and found[0] == len(prefix):
        # Right after `d[`: the names of an expression, or a key of d, may follow.
        keys = _dict_keys(namespace, chain, "'")
        if keys is not None:
            return found[0], [m for m in found[1] if m[:1] not in "'\""] + keys
    return found


def _is_shown(name: str, word: str) -> bool:
    return name.startswith(word) and (word.startswith("_") or not name.startswith("_"))


def _analyse(prefix: str) -> Context:
    """Say where the end of prefix is: (kind, start, chain, word); matches replace prefix[start:].

    kind: comment; string; key (chain: the dict, word: the literal so far); module (word: the
    dotted name); from (chain: the module); attr (chain: the object); name (chain: the object
    subscripted just before, if any); none.
    """
    import re

    cursor = len(prefix)
    state, opened = _scan(prefix)
    if state != "code":
        subscript = re.search(rf"({_CHAIN})\s*\[\s*$", prefix[:opened])
        literal = prefix[opened:]
        if state == "string" and subscript and literal[:3] not in ("'''", '"""'):
            return "key", opened, subscript.group(1).split("."), literal
        return state, cursor, [], ""
    line = prefix[prefix.rfind("\n") + 1 :]
    statement = line[line.rfind(";") + 1 :]
    found = re.match(r"\s*(?:import\s+(?:.*,)?\s*|from\s+)([\w.]*)$", statement)
    if found and not found.group(1).startswith("."):  # relative: the cell is in no package
        return "module", cursor - len(found.group(1)), [], found.group(1)
    found = re.match(r"\s*from\s+(\w[\w.]*)\s+import\s+(?:.*[,(])?\s*(\w*)$", statement)
    if found:
        return "from", cursor - len(found.group(2)), found.group(1).split("."), found.group(2)
    if re.match(r"\s*(?:import|from)\s", statement):  # `import os as o`: a new name
        return "none", cursor, [], ""
    found = re.search(rf"((?:{_IDENT}\.)*)({_IDENT})?$", line)
    assert found is not None  # the pattern matches the empty string at the end
    chain, word = found.group(1), found.group(2) or ""
    before = line[: found.start()][-1:]
    if before == "." or before.isalnum():
        return "none", cursor, [], ""  # `f().x`, `1.x`: knowing f() means running it
    if chain:
        return "attr", cursor - len(word), chain[:-1].split("."), word
    subscript = re.search(rf"({_CHAIN})\s*\[\s*$", line[: found.start()])
    return "name", cursor - len(word), subscript.group(1).split(".") if subscript else [], word


def _scan(code: str) -> tuple[str, int]:
    """Whether the end of code is in code, a comment or a string, and where that began."""
    i, end = 0, len(code)
    while i < end:
        if code[i] == "#":
            newline = code.find("\n", i)
            if newline < 0:
                return "comment", i
            i = newline
        elif code[i] in "'\"":
            quote = code[i : i + 3] if code[i : i + 3] in ("'''", '"""') else code[i]
            opened, i = i, i + len(quote)
            while not code.startswith(quote, i):
                if i >= end:
                    return "string", opened
                if len(quote) == 1 and code[i] == "\n":
                    break  # an unterminated one-line string ends with its line
                i += 2 if code[i] == "\\" else 1
            i += len(quote) - 1
        i += 1
    return "code", end


# -- the plain path -------------------------------------------------------------------------


def _plain_matches(namespace: dict[str, Any], context: Context) -> list[str]:
    """Matches found by reading namespaces, class dictionaries and the module path only."""
    kind, _, chain, word = context
    if kind == "module":
        last = word.rpartition(".")[2]
        names = [name for name in _module_names(word) if name.startswith(word)]
        return [name for name in names if _is_shown(name.rpartition(".")[2], last)]
    if kind == "from":
        names = _from_import_names(".".join(chain))
    elif kind == "attr":
        target = _resolve(namespace, chain)
        names = [] if target is _MISSING else _attribute_names(target)
    elif kind == "name":
        import keyword

        names = [*keyword.kwlist, *list(namespace), *list(_builtin_names(namespace))]
    else:
        names = []
    return [name for name in names if type(name) is str and _is_shown(name, word)]


def _imported_names(prefix: str) -> dict[str, Any]:
    """The names that import statements in prefix bind, to modules that are imported already."""
    import re

    names = {}
    for statement in re.split(r"[\n;]", prefix):
        found = re.match(r"\s*(?:from\s+(\w[\w.]*)\s+)?import\s+([\w.\s,]+)$", statement)
        source, items = found.groups() if found else ("", "")
        for item in items.split(",") if items else ():
            words = item.split()
            if len(words) not in (1, 3):
                continue
            if source:  # from package import name: a submodule or a global of package
                module = sys.modules.get(source, _MISSING)
                value = sys.modules.get(source + "." + words[0], _MISSING)
                if value is _MISSING and module is not _MISSING:
                    value = _static_attribute(module, words[0])
            else:  # `import a.b` binds a; `import a.b as c` binds c to a.b
                words[0] = words[0] if len(words) == 3 else words[0].split(".")[0]
                value = sys.modules.get(words[0], _MISSING)
            if value is not _MISSING:
                names[words[-1]] = value
    return names


def _dict_keys(namespace: dict[str, Any], chain: list[str], typed: str) -> list[str] | None:
    """The str keys of the dict chain names, as literals that start with typed; None: no dict."""
    target = _resolve(namespace, chain)
    if target is _MISSING or dict not in _mro(type(target)):
        return None
    quote, literals = typed[0], []
    for key in list(dict.keys(target)):  # not target.keys(): a subclass may override it
        if type(key) is str:
            literal = repr(key)
            if literal[0] != quote:  # repr chose the other quote: ours may be inside, bare
                literal = quote + literal[1:-1].replace(quote, "\\" + quote) + quote
            if literal.startswith(typed):
                literals.append(literal)
    return literals


def _module_names(dotted: str) -> list[str]:
    """Modules beside the one dotted names: top-level ones, or the children of its package."""
    import pkgutil

    package = dotted.rpartition(".")[0]
    if package:
        return [package + "." + name for name in _submodules(package)]
    names = set(sys.builtin_module_names)
    names.update(module.name for module in pkgutil.iter_modules())
    # Modules that other finders (editable installs, zip apps) imported are seen only here.
    names.update(name for name in list(sys.modules) if "." not in name)
    return [name for name in names if name.isidentifier()]


def _submodules(package: str) -> list[str]:
    """The modules in package (or registered under it, like os.path); imports only its parents."""
    import importlib.util
    import inspect
    import pkgutil

    names = {
        name[len(package) + 1 :] for name in list(sys.modules) if name.startswith(package + ".")
    }
    module = sys.modules.get(package)
    path = None if module is None else inspect.getattr_static(module, "__path__", None)
    if path is None:
        try:
            spec = importlib.util.find_spec(package)
        except (Exception, SystemExit):  # a parent package may fail, even exit, on import
            spec = None
        path = None if spec is None else spec.submodule_search_locations
    names.update(info.name for info in pkgutil.iter_modules(list(path or ())))
    return [name for name in names if name.isidentifier()]


def _from_import_names(module_name: str) -> list[str]:
    """What `from module_name import ...` may name: its submodules and its global names."""
    import importlib

    names = _submodules(module_name)
    try:
        # The cell is about to import it anyway; its global names are known no other way.
        names += _attribute_names(importlib.import_module(module_name))
    except (Exception, SystemExit):
        pass
    return names


# -- objects, looked at without running their code -----------------------------------------


def _mro(cls: type) -> tuple[type, ...]:
    # Read through type's own descriptor: a metaclass may redefine __mro__ as a property.
    mro: tuple[type, ...] = type.__dict__["__mro__"].__get__(cls)
    return mro


def _class_dict(cls: type) -> Any:
    return type.__dict__["__dict__"].__get__(cls)


def _instance_dict(obj: Any) -> dict[str, Any]:
    """obj's own __dict__ if it is the one Python provides; else {} (it may be a property)."""
    import types

    for cls in _mro(type(obj)):
        slot = _class_dict(cls).get("__dict__", _MISSING)
        if type(slot) in (types.GetSetDescriptorType, types.MemberDescriptorType):
            try:
                found = slot.__get__(obj, type(obj))
            except Exception:
                return {}
            return found if type(found) is dict else {}
        if slot is not _MISSING:
            return {}
    return {}


def _attribute_names(obj: Any) -> list[str]:
    """The names dir(obj) would list, read from dictionaries rather than asked of obj.__dir__."""
    import types

    names = list(_instance_dict(obj))
    if not issubclass(type(obj), types.ModuleType):
        for cls in _mro(obj if issubclass(type(obj), type) else type(obj)):
            names += list(_class_dict(cls))
    return names


def _builtin_names(namespace: dict[str, Any]) -> dict[str, Any]:
    """The builtins that code run in namespace sees: a module, or a dict (in exec'd modules)."""
    found = namespace.get("__builtins__", builtins)
    return found if type(found) is dict else _instance_dict(found)


def _resolve(namespace: dict[str, Any], chain: list[str]) -> Any:
    """The object a dotted chain names, found without running code; _MISSING if unknown."""
    found = list(_walk(namespace, chain))
    return found[-1] if len(found) == len(chain) else _MISSING


def _walk(namespace: dict[str, Any], chain: list[str]) -> Iterable[Any]:
    """Yield the objects along a dotted chain, up to one that cannot be looked up safely."""
    obj = namespace.get(chain[0], _MISSING)
    if obj is _MISSING:
        obj = _builtin_names(namespace).get(chain[0], _MISSING)
    for name in chain[1:]:
        if obj is _MISSING:
            return
        yield obj
        obj = _static_attribute(obj, name)
    if obj is not _MISSING:
        yield obj


def _static_attribute(obj: Any, name: str) -> Any:
    """getattr(obj, name) if that runs no Python code; else _MISSING."""
    import inspect
    import types

    if name == "__class__":
        return type(obj)
    try:
        found = inspect.getattr_static(obj, name)
    except AttributeError:
        return _MISSING
    kind = type(found)
    if issubclass(type(obj), types.ModuleType):
        return found  # a module's globals are not descriptors to invoke
    if kind in (staticmethod, classmethod):
        return found.__func__  # a function has the attributes of the method it would become
    if kind in (types.GetSetDescriptorType, types.MemberDescriptorType):
        if found.__objclass__ not in _mro(type(obj)):
            return found  # obj is the class that holds the slot
        try:
            return found.__get__(obj, type(obj))  # written in C: slots, builtin attributes
        except Exception:
            return _MISSING
    routines = (types.FunctionType, types.MethodDescriptorType, types.WrapperDescriptorType)
    if kind in routines or not any("__get__" in _class_dict(cls) for cls in _mro(kind)):
        return found  # a routine has the attributes of the method it would become
    return _MISSING  # property, cached_property, ...: their value exists only once they run


def _runs_code_on_lookup(obj: Any) -> bool:
    """Whether looking attributes up on obj may run Python code: __getattr__ and the like."""
    import types

    if issubclass(type(obj), types.ModuleType) and "__getattr__" in _instance_dict(obj):
        return True  # PEP 562
    wrapper, getset = types.WrapperDescriptorType, types.GetSetDescriptorType
    # jedi reads __class__ too, which mocks make a property.
    hooks = {"__getattr__": wrapper, "__getattribute__": wrapper, "__class__": getset}
    for hook, harmless in hooks.items():
        entries = (_class_dict(cls).get(hook, _MISSING) for cls in _mro(type(obj)))
        entry = next((entry for entry in entries if entry is not _MISSING), _MISSING)
        if entry is not _MISSING and type(entry) is not harmless:
            return True
    return False


# -- jedi -----------------------------------------------------------------------------------


def _jedi_matches(
    namespace: dict[str, Any], prefix: str, module_start: int | None
) -> tuple[int, list[str]] | None:
    """Ask jedi; None if it is missing, fails, or might run code of the user's objects."""
    import re

    try:
        import jedi  # type: ignore[import-untyped, import-not-found, unused-ignore]
    except ImportError:
        return None
    for chain in set(re.findall(_CHAIN, prefix)):
        # jedi's hasattr (in inspect.unwrap) runs __getattr__, unsafe executions off or not.
        if any(_runs_code_on_lookup(obj) for obj in _walk(namespace, chain.split("."))):
            return None
    cursor = len(prefix)
    saved = jedi.settings.allow_unsafe_interpreter_executions
    try:
        # Read by the constructor only. Off, jedi evaluates no property and no __getitem__.
        jedi.settings.allow_unsafe_interpreter_executions = False
        try:
            script = jedi.Interpreter(prefix, [namespace])
        finally:
            jedi.settings.allow_unsafe_interpreter_executions = saved
        line, column = prefix.count("\n") + 1, cursor - prefix.rfind("\n") - 1
        found = [
            (cursor - completion.get_completion_prefix_length(), completion.name)
            for completion in script.complete(line, column)
        ]
    except Exception:
        return None
    # jedi also offers case-insensitive matches, private names, and modules named like
    # `6ec57f84__mypyc` that no import statement can name: the contract offers none of them.
    found = [
        (begin, name)
        for begin, name in found
        if _is_shown(name, prefix[begin:]) and (module_start is None or name.isidentifier())
    ]
    if not found:
        return cursor, []
    # jedi completes the last part of `import os.pa`; the contract replaces the dotted name.
    start = module_start if module_start is not None else min(begin for begin, _ in found)
    return start, [prefix[start:begin] + name for begin, name in found]
