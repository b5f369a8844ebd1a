"""One registry of objectives by name, and the one place where a user's
objective spec (name, ``name(k=v)``, ``file.py:fn``, ``module:fn``, callable or
:class:`Objective`) is turned into an :class:`Objective`.

Installed packages add objectives through the entry-point group
``llmga.objectives``: each entry point's name is the objective's name, and it
points at an :class:`Objective` instance (e.g. a function decorated with
:func:`llmga.objective`), an :class:`Objective` subclass (its keyword
arguments become ``name(key=value)`` arguments) or a plain function of one
SMILES. They are found the first time the registry is listed or a name is not
a built-in one, and imported only when used (or listed).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import importlib
import importlib.metadata
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmga.errors import ObjectiveError
from llmga.executors import send_by_value
from llmga.objectives._base import FunctionObjective, Objective, check_direction
from llmga.objectives.pmo import GUACAMOL_TASKS, MODEL_TASKS
from llmga.objectives.rdkit import DESCRIPTORS, SimilarityObjective, descriptor_objective

__all__ = [
    "ENTRY_POINT_GROUP",
    "REGISTRY",
    "Entry",
    "available",
    "file_objectives",
    "get_objective",
    "parse_spec",
    "register",
]
# The name prefix of the modules that objective files (FILE.py:fn) are imported as (marked with
# llmga.executors.send_by_value: executors that send work to other machines pickle them by value).
USER_MODULE_PREFIX = "llmga_user_objective_"

ENTRY_POINT_GROUP = "llmga.objectives"


@dataclass(frozen=True)
class Entry:
    """A registered objective: how to build it, and what to tell users about it."""

    factory: Callable[..., Objective]
    description: str
    direction: str = "maximize"
    source: str = "built-in"
    tags: tuple[str, ...] = ()


REGISTRY: dict[str, Entry] = {
    name: Entry(
        factory=(lambda n=name: descriptor_objective(n)),
        description=desc,
        direction=direction,
        tags=("rdkit",),
    )
    for name, (_, direction, desc) in DESCRIPTORS.items()
}
REGISTRY["qed"] = dataclasses.replace(REGISTRY["qed"], tags=("rdkit", "pmo"))
REGISTRY.update(
    (name, Entry(factory=factory, description=description, source="PMO", tags=("pmo",)))
    for name, (factory, description) in {**GUACAMOL_TASKS, **MODEL_TASKS}.items()
)


def _model(path: str, mode: str = "mean", kappa: float = 1.0, direction: str = "maximize") -> Objective:
    from llmga.objectives.models import ModelObjective  # scikit-learn: only for model objectives

    return ModelObjective(path, mode=mode, kappa=kappa, direction=direction)


REGISTRY["model"] = Entry(
    factory=_model,
    description="a property model trained by llmga train-model: model(path=DIR, mode=mean|ucb|uncertainty|domain, "
    "kappa=1), or model:DIR?mode=ucb&kappa=1",
)


def _exec(
    command: str, timeout: float = 600.0, workers: int = 1, chunk: int | None = None, direction: str = "maximize"
) -> Objective:
    from llmga.objectives.external import ExternalObjective

    return ExternalObjective(command, timeout=timeout, workers=workers, chunk=chunk, direction=direction)


REGISTRY["exec"] = Entry(
    factory=_exec,
    description="an external program scoring CSV id,smiles into id,score: exec:COMMAND, or "
    "exec(command='./dock.sh', timeout=600, workers=1, chunk=N, direction=minimize)",
)
REGISTRY["similarity"] = Entry(
    factory=SimilarityObjective,
    description="Tanimoto similarity (Morgan r=2, 2048 bits) to a target: similarity(target=SMILES)",
    tags=("rdkit",),
)


def register(
    name: str,
    factory: Callable[..., Objective],
    *,
    description: str,
    direction: str = "maximize",
    source: str = "plug-in",
    tags: tuple[str, ...] = (),
) -> None:
    """Add an objective to the registry under ``name`` (replacing any before it)."""
    if not re.fullmatch(r"[A-Za-z_][\w\-]*", name):
        raise ObjectiveError(f"objective name {name!r} is not valid: use letters, digits, _ and -")
    REGISTRY[name] = Entry(factory, description, check_direction(direction), source, tags)


_PLUGINS_FOUND = False


def _plugin_factory(ep: importlib.metadata.EntryPoint) -> Callable[..., Objective]:
    """A factory that imports the entry point's target on first use and makes an Objective of it."""

    where = f"entry point {ep.name!r} ({ep.value})"

    def load() -> object:
        try:
            return ep.load()
        except Exception as exc:  # a broken plug-in must not break the other objectives
            raise ObjectiveError(f"plug-in objective {where} failed to import: {type(exc).__name__}: {exc}") from exc

    def make(**kwargs: Any) -> Objective:
        target = load()
        if isinstance(target, type) and issubclass(target, Objective):
            return target(**kwargs)
        if kwargs:
            raise ObjectiveError(f"objective {ep.name!r} ({where}) takes no arguments; got {sorted(kwargs)}")
        obj = _from_attribute(target, where)
        if isinstance(obj, FunctionObjective) and obj.name == getattr(target, "__name__", None):
            obj.name = ep.name
        return obj

    return make


def _find_plugins() -> None:
    """Register the objectives of installed packages (entry-point group ``llmga.objectives``), once."""
    global _PLUGINS_FOUND
    if _PLUGINS_FOUND:
        return
    _PLUGINS_FOUND = True
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in REGISTRY and REGISTRY[ep.name].source != "plug-in":
            continue  # built-in names win: a package cannot silently replace qed
        dist = getattr(ep, "dist", None)
        package = f"{dist.name} {dist.version}" if dist is not None else ep.value
        REGISTRY[ep.name] = Entry(
            factory=_plugin_factory(ep),
            description=f"from {package} ({ep.value})",
            source=f"plug-in: {package}",
            tags=("plug-in",),
        )


def available(*, describe: bool = False) -> dict[str, Entry]:
    """All registered objectives by name, sorted, installed plug-ins included.

    With ``describe`` each plug-in is imported so that its own description
    and direction are shown (one that fails to import says why instead).
    """
    _find_plugins()
    if describe:
        for name, entry in list(REGISTRY.items()):
            if "plug-in" not in entry.tags or entry.description.startswith("(failed"):
                continue
            try:
                obj = _build(name, entry, {})
                REGISTRY[name] = dataclasses.replace(
                    entry, description=obj.description or entry.description, direction=obj.direction
                )
            except ObjectiveError as exc:
                if "needs argument" not in str(exc):
                    REGISTRY[name] = dataclasses.replace(entry, description=f"(failed to load) {exc}")
    return dict(sorted(REGISTRY.items()))


def file_objectives(path: str | Path) -> dict[str, Entry]:
    """The objectives a Python file defines: :class:`Objective` instances and public functions of its own."""
    module, module_name = _import_file(str(path))
    found: dict[str, Entry] = {}
    for attr, value in vars(module).items():
        if attr.startswith("_"):
            continue
        if isinstance(value, Objective):
            obj = value
        elif inspect.isfunction(value) and value.__module__ == module_name:
            obj = FunctionObjective(value, name=attr)
        else:
            continue
        found[f"{path}:{attr}"] = Entry(
            factory=(lambda o=obj: o), description=obj.description, direction=obj.direction, source="file"
        )
    return found


_NAME_SPEC = re.compile(r"^\s*([A-Za-z_][\w\-]*)\s*(?:\((.*)\))?\s*$", re.S)


def _parse_value(text: str) -> Any:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _split_args(text: str) -> list[str]:
    """Split on commas outside parentheses/brackets/quotes (SMILES contain brackets)."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p for p in (s.strip() for s in parts) if p]


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """Split ``"name(key=value, ...)"`` into the name and keyword arguments."""
    match = _NAME_SPEC.match(spec)
    if not match:
        raise ObjectiveError(
            f"objective {spec!r} is not understood: use a registered name such as 'logp', "
            "'name(key=value)', 'path/to/file.py:function' or 'package.module:function'"
        )
    name, arg_text = match.group(1), match.group(2)
    kwargs: dict[str, Any] = {}
    for part in _split_args(arg_text or ""):
        key, sep, value = part.partition("=")
        if not sep or not key.strip().isidentifier():
            raise ObjectiveError(
                f"argument {part!r} of objective {spec!r} is not key=value; write e.g. {name}(target=CCO)"
            )
        kwargs[key.strip()] = _parse_value(value)
    return name, kwargs


def _suggest(name: str) -> str:
    close = difflib.get_close_matches(name, list(REGISTRY), n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    return hint + "run `llmga objectives` to list them all"


def _build(name: str, entry: Entry, kwargs: dict[str, Any]) -> Objective:
    params = inspect.signature(entry.factory).parameters
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    valid = [p for p, v in params.items() if v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY) and p != "n"]
    unknown = [k for k in kwargs if k not in valid] if not accepts_any else []
    if unknown:
        takes = f"takes {', '.join(valid)}" if valid else "takes no arguments"
        raise ObjectiveError(f"objective {name!r} {takes}; got unknown argument {unknown[0]!r}")
    missing = [
        p
        for p, v in params.items()
        if v.default is v.empty and v.kind in (v.POSITIONAL_OR_KEYWORD, v.KEYWORD_ONLY) and p not in kwargs and p != "n"
    ]
    if missing:
        raise ObjectiveError(f"objective {name!r} needs argument {missing[0]!r}: write {name}({missing[0]}=...)")
    return entry.factory(**kwargs)


def _from_attribute(obj: object, where: str) -> Objective:
    if isinstance(obj, Objective):
        return obj
    if isinstance(obj, type) and issubclass(obj, Objective):
        return obj()
    if callable(obj):
        return FunctionObjective(obj, name=getattr(obj, "__name__", where))
    raise ObjectiveError(
        f"{where} is a {type(obj).__name__}, not a function or Objective; point at a function "
        "f(smiles: str) -> float or an llmga.Objective"
    )


def _load_file(path_text: str, attr: str) -> Objective:
    module, module_name = _import_file(path_text)
    if not hasattr(module, attr):
        names = [
            n
            for n, v in vars(module).items()
            if callable(v) and not n.startswith("_") and getattr(v, "__module__", None) == module_name
        ]
        raise ObjectiveError(
            f"objective file {path_text!r} has no function {attr!r}; "
            f"it defines: {', '.join(names) or 'nothing callable'}"
        )
    return _from_attribute(getattr(module, attr), f"{path_text}:{attr}")


def _import_file(path_text: str) -> tuple[Any, str]:
    """Import a user's Python file as a module of its own; the module and its name."""
    path = Path(path_text).expanduser()
    if not path.is_file():
        raise ObjectiveError(f"objective file {path_text!r} does not exist; check the path (relative to {Path.cwd()})")
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]
    module_name = f"{USER_MODULE_PREFIX}{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ObjectiveError(f"objective file {path_text!r} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    send_by_value(module_name)  # no other machine can import it: Dask workers get its functions by value
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[module_name]
        raise ObjectiveError(f"importing objective file {path_text!r} failed: {type(exc).__name__}: {exc}") from exc
    return module, module_name


def _load_module(module_path: str, attr: str) -> Objective:
    try:
        module = importlib.import_module(module_path)
    except ImportError as exc:
        raise ObjectiveError(
            f"cannot import module {module_path!r} for objective {module_path}:{attr} ({exc}); "
            "install the package or give a file path such as path/to/file.py:function"
        ) from exc
    if not hasattr(module, attr):
        raise ObjectiveError(f"module {module_path!r} has no attribute {attr!r}")
    return _from_attribute(getattr(module, attr), f"{module_path}:{attr}")


def get_objective(spec: str | Objective | Callable[..., object], *, direction: str | None = None) -> Objective:
    """Turn anything a user may pass as an objective into an :class:`Objective`.

    * an :class:`Objective` instance is used as it is;
    * a plain callable is treated as a per-molecule function ``f(smiles) -> float``;
    * ``"logp"`` or ``"similarity(target=CCO)"`` looks up the registry;
    * ``"path/to/file.py:fn"`` or ``"package.module:fn"`` loads a plug-in.

    ``direction`` (``"maximize"``/``"minimize"``) overrides the objective's own.
    """
    if isinstance(spec, Objective):
        obj = spec
    elif callable(spec):
        obj = _from_attribute(spec, getattr(spec, "__name__", "objective"))
    elif isinstance(spec, str):
        obj = _from_string(spec)
    else:
        raise ObjectiveError(
            f"objective {spec!r} ({type(spec).__name__}) is not usable: give a registered name, "
            "a 'file.py:function' string, a callable or an llmga.Objective"
        )
    if direction is not None and direction != obj.direction:
        obj = copy.copy(obj)
        obj.direction = check_direction(direction)
    return obj


def _from_string(spec: str) -> Objective:
    text = spec.strip()
    if not text:
        raise ObjectiveError("objective is empty: give a registered name such as 'logp'; " + _suggest(""))
    if text.startswith("model:"):
        from llmga.objectives.models import model_from_spec

        return model_from_spec(text)
    if text.startswith("composite:"):
        from llmga.objectives.composite import composite_from_spec

        return composite_from_spec(text)
    if text.startswith("exec:"):
        from llmga.objectives.external import external_from_spec

        return external_from_spec(text)
    plugin = re.fullmatch(r"(.+?):([A-Za-z_]\w*)", text)
    if plugin and not _NAME_SPEC.match(text):
        target, attr = plugin.groups()
        if target.endswith(".py") or "/" in target or "\\" in target:
            return _load_file(target, attr)
        return _load_module(target, attr)
    name, kwargs = parse_spec(text)
    if name not in REGISTRY:
        _find_plugins()
    if name not in REGISTRY:
        raise ObjectiveError(f"unknown objective {name!r}; " + _suggest(name))
    return _build(name, REGISTRY[name], kwargs)
