"""The objective contract and adapters from plain Python functions."""

from __future__ import annotations

import importlib
import math
import numbers
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

import numpy as np
from rdkit import Chem

from llmga.chem import to_mol
from llmga.errors import ObjectiveError

__all__ = [
    "Direction",
    "FunctionObjective",
    "MolObjective",
    "Objective",
    "check_scores",
    "check_values",
    "objective",
    "value_spec",
]

Direction = Literal["maximize", "minimize"]
DIRECTIONS: tuple[Direction, ...] = ("maximize", "minimize")


def check_direction(direction: str) -> Direction:
    """Return ``direction`` if it is ``maximize`` or ``minimize``, else raise."""
    if direction not in DIRECTIONS:
        raise ObjectiveError(f"direction {direction!r} is not valid: use 'maximize' or 'minimize'")
    return "maximize" if direction == "maximize" else "minimize"


class Objective(ABC):
    """A batched scoring function over molecules.

    Contract:

    * ``objective(smiles)`` takes a sequence of SMILES strings (canonical when
      called by the engine) and returns a 1-D float ``numpy.ndarray`` of the
      same length. Entry *i* is the score of ``smiles[i]``, or ``NaN`` where
      that molecule cannot be scored. It must not raise because one molecule
      is odd; raising aborts the run (after saving everything computed).
    * ``name`` is a short identifier, ``direction`` says whether larger
      (``"maximize"``) or smaller (``"minimize"``) scores are better, and
      ``description`` is one line of plain English that a chemist — or a
      language model writing a prompt — can act on.
    * An objective may give several values per molecule (a Pareto run): it
      declares one direction per value in :attr:`directions` and a name per
      value in :attr:`value_names` (distinct; they head the values' columns
      in the run's tables), as properties or class attributes, and returns a
      float array of shape ``(n, k)`` for ``n`` SMILES and ``k`` directions,
      ``NaN`` where a value cannot be computed (see :func:`check_values`).
      With ``k = 1`` (the default: ``directions == (direction,)``) it returns
      a 1-D array as above (an ``(n, 1)`` array is accepted too). With
      ``k > 1`` the engine keeps every value, chooses survivors by NSGA-II on
      all of them, and scores each molecule by its first value (``NaN`` when
      any value is missing, so such a molecule never survives);
      ``directions[0]``, not ``direction``, is then that score's direction.
    * Objectives know nothing of operators, language models or the engine.
    * With ``parallel = True`` (the default) the engine may score chunks of a
      batch in worker processes and concatenate the results, so the
      objective must be picklable and give each molecule the same score
      whatever batch it is in. Set ``parallel = False`` for objectives that
      must stay in the main process (a GPU model, a network client, an
      external program with its own workers).

    Subclass and implement :meth:`__call__`, or wrap a per-molecule function
    with :class:`FunctionObjective` (or the :func:`objective` decorator).
    """

    name: str = "objective"
    direction: Direction = "maximize"
    description: str = ""
    parallel: bool = True

    @abstractmethod
    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        """Score a batch of SMILES; NaN where a molecule cannot be scored."""

    @property
    def directions(self) -> tuple[Direction, ...]:
        """One direction per value this objective gives each molecule (``(direction,)`` unless overridden)."""
        return (self.direction,)

    @property
    def value_names(self) -> tuple[str, ...]:
        """One name per value (``(name,)`` for one value; ``name_1``, ``name_2``, ... unless overridden)."""
        k = len(self.directions)
        return (self.name,) if k == 1 else tuple(f"{self.name}_{i + 1}" for i in range(k))

    @property
    def params(self) -> dict[str, Any]:
        """Arguments that define this objective (saved with each run)."""
        return {}

    def prompt_card(self, hide_names: bool = False) -> str:
        """What this objective rewards in detail, for prompts (empty when there is nothing beyond the description).

        With ``hide_names`` the card must not name a drug or target, only show structures.
        """
        return ""

    def card(self) -> dict[str, Any]:
        """A JSON-serialisable description of this objective."""
        return {
            "name": self.name,
            "direction": self.directions[0],
            "description": self.description,
            "params": self.params,
            "class": f"{type(self).__module__}.{type(self).__qualname__}",
        }

    def better(self, a: float, b: float) -> bool:
        """True when score ``a`` is strictly better than ``b`` in this direction."""
        return a > b if self.directions[0] == "maximize" else a < b

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} ({', '.join(self.directions)})>"


def _as_float(value: object, smiles: str, name: str) -> float:
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            arr = np.asarray(value, dtype=float)
        except (TypeError, ValueError):
            arr = None
        if arr is None or arr.shape != () or isinstance(value, (bool, str, bytes)):
            batch = arr is not None and arr.ndim >= 1 and not isinstance(value, (str, bytes))
            hint = (
                "; to score a whole batch at once, decorate it with @llmga.objective(batched=True)" if batch else ""
            )
            raise ObjectiveError(
                f"objective {name!r} returned {value!r} ({type(value).__name__}) for "
                f"{smiles!r}; it must return a number (or None/NaN when it cannot score){hint}"
            )
        return float(arr)
    return float(value)


def _attribute(module_name: str, qualname: str) -> Any:
    """The object named ``qualname`` (dotted) in module ``module_name``, importing it if need be."""
    target: Any = sys.modules.get(module_name) or importlib.import_module(module_name)
    for part in qualname.split("."):
        target = getattr(target, part)
    return target


def _function_at(module_name: str, qualname: str) -> Callable[..., object]:
    """The function at ``module:qualname``: the attribute itself, or the function an adapter there wraps
    (``@llmga.objective`` replaces the module's function by its adapter)."""
    found = _attribute(module_name, qualname)
    fn: Callable[..., object] = found.fn if isinstance(found, _FunctionAdapter) else found
    return fn


def _rebuild_adapter(
    cls: type[_FunctionAdapter], module_name: str, qualname: str, state: dict[str, Any]
) -> _FunctionAdapter:
    adapter = cls.__new__(cls)
    adapter.__dict__.update(state)
    adapter.fn = _function_at(module_name, qualname)
    return adapter


def _pickled_by_value(module_name: str) -> bool:
    """Whether cloudpickle (already imported) was told to send ``module_name``'s functions by value."""
    cloudpickle = sys.modules.get("cloudpickle")
    return cloudpickle is not None and module_name in cloudpickle.list_registry_pickle_by_value()


class _FunctionAdapter(Objective):
    """Shared set-up of the adapters: name and description default to the function's.

    Pickling (to worker processes) refers to the function by its module and
    name, and finds it again whether the module holds the function itself or,
    after ``@llmga.objective``, the adapter that wraps it; where that cannot
    work (a lambda, a local function) or cloudpickle sends the module by
    value (Dask), the adapter pickles as usual.
    """

    def __init__(
        self,
        fn: Callable[..., object],
        *,
        name: str | None = None,
        direction: str = "maximize",
        description: str | None = None,
    ) -> None:
        self.fn = fn
        self.name = str(name or getattr(fn, "__name__", "objective"))
        self.direction = check_direction(direction)
        doc = (getattr(fn, "__doc__", None) or "").strip()
        self.description = description or (doc.splitlines()[0] if doc else self.name)

    def __copy__(self) -> _FunctionAdapter:
        new = type(self).__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def __reduce_ex__(self, protocol: Any) -> Any:
        module_name = getattr(self.fn, "__module__", None)
        qualname = getattr(self.fn, "__qualname__", None)
        if isinstance(module_name, str) and isinstance(qualname, str) and "<" not in qualname:
            try:
                found = _function_at(module_name, qualname)
            except (ImportError, AttributeError):
                found = None
            if found is self.fn and not _pickled_by_value(module_name):
                state = {k: v for k, v in self.__dict__.items() if k != "fn"}
                return (_rebuild_adapter, (type(self), module_name, qualname, state))
        return super().__reduce_ex__(protocol)

    def prompt_card(self, hide_names: bool = False) -> str:
        """The function's docstring below its first line (a custom objective's own card)."""
        doc = (getattr(self.fn, "__doc__", None) or "").strip()
        return "\n".join(doc.splitlines()[1:]).strip()


class FunctionObjective(_FunctionAdapter):
    """Adapter: a per-molecule function ``f(smiles: str) -> float`` as a batched objective.

    ``None`` and ``NaN`` returns become NaN. An exception raised by ``f`` is
    re-raised as :class:`~llmga.errors.ObjectiveError` naming the molecule.
    """

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        out = np.empty(len(smiles), dtype=float)
        for i, smi in enumerate(smiles):
            try:
                value = self.fn(smi)
            except Exception as exc:
                raise ObjectiveError(
                    f"objective {self.name!r} raised {type(exc).__name__}: {exc} "
                    f"on molecule {smi!r}; make it return None or NaN for molecules "
                    "it cannot score"
                ) from exc
            out[i] = _as_float(value, smi, self.name)
        return out


class BatchFunctionObjective(_FunctionAdapter):
    """Adapter: a batched function ``f(list_of_smiles) -> array-like`` as an objective."""

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        return check_scores(self.fn(list(smiles)), smiles, self.name)


class MolObjective(Objective):
    """A per-molecule function of an RDKit ``Mol``; SMILES are parsed once here.

    Molecules that do not parse, or on which ``fn`` raises, score NaN: these
    are RDKit descriptors, where a failure means "cannot score".
    """

    def __init__(
        self,
        fn: Callable[[Chem.Mol], float],
        *,
        name: str,
        direction: str = "maximize",
        description: str,
        card: str = "",
    ) -> None:
        self.fn = fn
        self.name = name
        self.direction = check_direction(direction)
        self.description = description
        self.card_text = card

    def prompt_card(self, hide_names: bool = False) -> str:
        return self.card_text

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        out = np.full(len(smiles), np.nan)
        for i, smi in enumerate(smiles):
            mol = to_mol(smi)
            if mol is None:
                continue
            try:
                out[i] = float(self.fn(mol))
            except (ValueError, RuntimeError, ZeroDivisionError):
                continue
        return out


def check_scores(values: object, smiles: Sequence[str], name: str) -> np.ndarray:
    """Validate what an objective returned for ``smiles``; return float64 scores.

    Raises :class:`~llmga.errors.ObjectiveError` on a wrong length or on
    values that are not numbers. ``None`` entries become NaN; infinities are
    kept out (they would break every statistic) and become NaN too.
    """
    if values is None:
        raise ObjectiveError(
            f"objective {name!r} returned None for a batch of {len(smiles)} molecules; "
            "a batched objective must return one number per SMILES (NaN where it cannot score)"
        )
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        arr = values.astype(float, copy=False)
    else:
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ObjectiveError(
                f"objective {name!r} returned {values!r} for a batch of {len(smiles)} molecules; "
                "it must return a sequence or array with one number per SMILES"
            )
        seq = list(values)
        if len(seq) != len(smiles):
            raise ObjectiveError(
                f"objective {name!r} returned {len(seq)} values for {len(smiles)} molecules; "
                "it must return exactly one number per SMILES (NaN where it cannot score)"
            )
        arr = np.array([_as_float(v, s, name) for v, s in zip(seq, smiles, strict=True)])
    if arr.ndim != 1 or len(arr) != len(smiles):
        raise ObjectiveError(
            f"objective {name!r} returned an array of shape {arr.shape} for {len(smiles)} "
            f"molecules; it must return a 1-D array of length {len(smiles)}"
        )
    arr = np.array(arr, dtype=float)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def _cell(value: object, smiles: str, name: str) -> float:
    """One value of a molecule's row: a real number, or None/NaN (NaN)."""
    if value is None:
        return math.nan
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    raise ObjectiveError(
        f"objective {name!r} returned {value!r} ({type(value).__name__}) for {smiles!r}; "
        "each value must be a number (or None/NaN where it cannot be computed)"
    )


def check_values(values: object, smiles: Sequence[str], name: str, width: int) -> np.ndarray:
    """Validate what an objective with ``width`` values per molecule returned for ``smiles``.

    Returns a float64 array of shape ``(len(smiles), width)``, NaN where a
    value is missing (``None``, NaN or an infinity). ``values`` may be an
    array of that shape or a sequence of rows (``width = 1``: also a 1-D
    array or sequence, validated by :func:`check_scores`). Raises
    :class:`~llmga.errors.ObjectiveError` naming the objective, the shape it
    returned and the shape wanted.
    """
    n = len(smiles)
    if width == 1:
        if isinstance(values, np.ndarray) and values.ndim == 2 and values.shape[1] == 1:
            values = values[:, 0]
        return check_scores(values, smiles, name).reshape(n, 1)
    want = (
        f"it declares {width} directions, so it must return an array of shape ({n}, {width}) "
        "(NaN where a value cannot be computed)"
    )
    if values is None:
        raise ObjectiveError(f"objective {name!r} returned None for a batch of {n} molecules; {want}")
    if not isinstance(values, np.ndarray) and hasattr(values, "__array__") and not isinstance(values, (str, bytes)):
        values = np.asarray(values)  # a DataFrame, a tensor: iterating over it would not give its rows
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiu":
        arr = values.astype(float, copy=False)
    else:
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise ObjectiveError(f"objective {name!r} returned {values!r} for a batch of {n} molecules; {want}")
        rows = list(values)
        if len(rows) != n:
            raise ObjectiveError(f"objective {name!r} returned {len(rows)} rows for {n} molecules; {want}")
        arr = np.empty((n, width))
        for i, (row, smi) in enumerate(zip(rows, smiles, strict=True)):
            if isinstance(row, (str, bytes)) or not isinstance(row, Iterable):
                raise ObjectiveError(
                    f"objective {name!r} returned {row!r} for {smi!r}; it declares {width} directions, "
                    f"so it must give {width} values per molecule (a row of shape ({width},))"
                )
            cells = list(row)
            if len(cells) != width:
                raise ObjectiveError(
                    f"objective {name!r} returned {len(cells)} values for {smi!r}; it declares {width} "
                    f"directions, so it must give {width} values per molecule (NaN where one cannot be computed)"
                )
            arr[i] = [_cell(v, smi, name) for v in cells]
    if arr.shape != (n, width):
        raise ObjectiveError(f"objective {name!r} returned an array of shape {arr.shape} for {n} molecules; {want}")
    arr = np.array(arr, dtype=float)
    arr[~np.isfinite(arr)] = np.nan
    return arr


def value_spec(objective: Objective) -> tuple[tuple[Direction, ...], tuple[str, ...]]:
    """The checked ``directions`` and ``value_names`` of ``objective`` (one valid direction and one distinct,
    non-empty name per value); :class:`~llmga.errors.ObjectiveError` says what is wrong."""
    name = objective.name
    try:
        declared = tuple(objective.directions)
        names = tuple(objective.value_names)
    except TypeError as exc:
        raise ObjectiveError(
            f"objective {name!r}: directions and value_names must be tuples of strings ({exc})"
        ) from exc
    if not declared:
        raise ObjectiveError(f"objective {name!r} declares no directions; give one per value, e.g. ('maximize',)")
    bad = [d for d in declared if d not in DIRECTIONS]
    if bad:
        raise ObjectiveError(
            f"objective {name!r}: direction {bad[0]!r} is not valid: declare 'maximize' or 'minimize' for each value"
        )
    directions = tuple(check_direction(d) for d in declared)
    if len(names) != len(directions) or not all(isinstance(v, str) and v for v in names):
        raise ObjectiveError(
            f"objective {name!r} names {len(names)} values ({', '.join(map(str, names))}) for its "
            f"{len(directions)} directions ({', '.join(directions)}); give value_names one non-empty name per direction"
        )
    if len(set(names)) != len(names):
        raise ObjectiveError(
            f"objective {name!r} names a value twice ({', '.join(names)}); give each value its own name"
        )
    return directions, names


def objective(
    fn: Callable[..., object] | None = None,
    *,
    name: str | None = None,
    direction: str = "maximize",
    description: str | None = None,
    batched: bool = False,
) -> Any:
    """Decorator turning a function into an :class:`Objective`.

    ``@objective`` on ``def f(smiles: str) -> float`` gives a per-molecule
    objective; ``@objective(batched=True)`` on ``def f(smiles: list[str])``
    gives a batched one. ``direction`` and ``description`` set what the engine
    and prompts see (the description defaults to the docstring's first line).
    """

    def wrap(f: Callable[..., object]) -> Objective:
        cls = BatchFunctionObjective if batched else FunctionObjective
        return cls(f, name=name, direction=direction, description=description)

    return wrap(fn) if fn is not None else wrap
