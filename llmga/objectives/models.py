"""Trained property models as objectives: ``llmga train-model`` and ``--objective model:DIR``.

A model folder holds a scikit-learn random forest trained on Morgan count
fingerprints (radius 2, 2048 bits) and RDKit's 43 fast 2D descriptors
(``rdMolDescriptors.Properties``), the training set's Morgan bit
fingerprints (for the applicability domain), and ``model_card.json`` (data
hash, task, scaffold-split cross-validated metrics, versions, and a check
set of molecules with their predictions). Loading a folder written by
another scikit-learn version re-predicts the check set: the model is used
only if the numbers agree, so a version change can never give different
predictions silently.

The objective can optimise the prediction (``mode=mean``), an optimistic
bound (``mode=ucb``: mean + ``kappa`` x the spread over the trees; for a
minimised objective mean − kappa x spread), the spread itself
(``mode=uncertainty``), or the applicability domain (``mode=domain``: the
largest Tanimoto similarity to a training molecule).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import platform
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rdkit import Chem, DataStructs
from rdkit.Chem import rdMolDescriptors

from llmga.chem import morgan, morgan_generator, to_mol
from llmga.config import _opt
from llmga.errors import LLMGAError, ObjectiveError
from llmga.objectives._base import Objective, check_direction

__all__ = ["MODES", "ModelObjective", "ModelReport", "TrainModelSettings", "featurize", "train_model"]

MODES = ("mean", "ucb", "uncertainty", "domain")
_CARD = "model_card.json"
_MODEL = "model.joblib"
_TRAIN_FPS = "train_fingerprints.npy"
_FP_BITS = 2048  # the width of llmga.chem.morgan_generator
_CHECKS = 20  # molecules whose predictions the card stores, to verify a model after loading


@functools.cache
def _properties() -> rdMolDescriptors.Properties:
    return rdMolDescriptors.Properties()


def descriptor_names() -> list[str]:
    """Names of the feature columns: Morgan count bits, then the RDKit 2D descriptors."""
    return [f"morgan_{i}" for i in range(_FP_BITS)] + list(_properties().GetPropertyNames())


def featurize(smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Features [n, 2048 + 43] (float32) of ``smiles`` and a mask of the molecules that parse."""
    n_desc = len(_properties().GetPropertyNames())
    out = np.zeros((len(smiles), _FP_BITS + n_desc), dtype=np.float32)
    ok = np.zeros(len(smiles), dtype=bool)
    for i, s in enumerate(smiles):
        mol = to_mol(s)
        if mol is None:
            continue
        out[i, :_FP_BITS] = morgan_generator().GetCountFingerprintAsNumPy(mol)
        desc = np.asarray(list(_properties().ComputeProperties(mol)), dtype=np.float64)
        out[i, _FP_BITS:] = np.clip(np.nan_to_num(desc, nan=0.0, posinf=0.0, neginf=0.0), -1e6, 1e6)
        ok[i] = True
    return out, ok


def _bit_fps(smiles: Sequence[str]) -> list[DataStructs.ExplicitBitVect]:
    return [fp for s in smiles if (fp := morgan(s)) is not None]


def scaffold_folds(smiles: Sequence[str], k: int) -> np.ndarray:
    """A fold (0..k-1) per molecule such that molecules sharing a Bemis-Murcko scaffold share a fold.

    Scaffold groups, largest first, each go to the fold with the fewest
    molecules so far (ties: the lowest fold): deterministic, and balanced.
    """
    from rdkit.Chem.Scaffolds import MurckoScaffold  # imported here: the CLI reads this module at start-up

    groups: dict[str, list[int]] = {}
    for i, s in enumerate(smiles):
        mol = to_mol(s)
        scaffold = MurckoScaffold.MurckoScaffoldSmiles(mol=mol) if mol is not None else ""  # type: ignore[no-untyped-call]
        groups.setdefault(scaffold or f"acyclic:{s}", []).append(i)
    folds = np.zeros(len(smiles), dtype=np.int64)
    sizes = [0] * k
    for members in sorted(groups.values(), key=lambda m: (-len(m), m[0])):
        fold = int(np.argmin(sizes))
        folds[members] = fold
        sizes[fold] += len(members)
    return folds


@dataclass(frozen=True, kw_only=True)
class TrainModelSettings:
    """What ``llmga train-model`` does (flags map one to one); saved in the model card."""

    data: str = _opt("", "CSV file with a SMILES column and a target column")
    out: str = _opt("", "model folder to write (model.joblib, train_fingerprints.npy, model_card.json)")
    smiles_col: str = _opt("smiles", "column holding the SMILES")
    target_col: str = _opt("target", "column holding the value to predict (rows without a number are skipped)")
    task: str = _opt(
        "regression", "regression, or classification (0/1 targets)", choices=("regression", "classification")
    )
    folds: int = _opt(5, "cross-validation folds (molecules sharing a Bemis-Murcko scaffold share a fold)")
    trees: int = _opt(300, "trees in the random forest")
    seed: int = _opt(0, "random seed of the forest")
    workers: int = _opt(0, "processes for training (0: one per available core)")

    def check(self) -> None:
        if not self.out:
            raise LLMGAError("train-model needs --out DIR (where to write the model)")
        if self.task not in ("regression", "classification"):
            raise LLMGAError(f"--task {self.task!r}: choose regression or classification")
        if self.folds < 2:
            raise LLMGAError(f"--folds {self.folds}: cross-validation needs at least 2 folds")
        if self.trees < 1:
            raise LLMGAError(f"--trees {self.trees}: give a positive number of trees")


@dataclass
class ModelReport:
    out: Path
    molecules: int
    skipped: int
    metrics: dict[str, float]


def _read_table(settings: TrainModelSettings) -> tuple[list[str], np.ndarray, int]:
    """SMILES and targets of the rows that have both; how many rows were skipped."""
    import pandas as pd

    path = Path(settings.data)
    if not path.is_file():
        raise LLMGAError(f"training data {settings.data!r} does not exist; give a CSV file")
    frame = pd.read_csv(path)
    for col, flag in ((settings.smiles_col, "--smiles-col"), (settings.target_col, "--target-col")):
        if col not in frame.columns:
            columns = ", ".join(map(str, frame.columns))
            raise LLMGAError(f"{path} has no column {col!r} ({flag}); its columns are: {columns}")
    target = pd.to_numeric(frame[settings.target_col], errors="coerce")
    smiles = frame[settings.smiles_col].astype(str)
    keep = target.notna() & smiles.map(lambda s: to_mol(s) is not None)
    values = target[keep].to_numpy(dtype=float)
    if settings.task == "classification":
        labels = set(np.unique(values).tolist())
        if not labels <= {0.0, 1.0}:
            raise LLMGAError(
                f"--task classification needs 0/1 targets in {settings.target_col!r}; found {sorted(labels)[:5]}"
            )
    return [str(s) for s in smiles[keep]], values, int((~keep).sum())


def _estimator(settings: TrainModelSettings, workers: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    cls = RandomForestRegressor if settings.task == "regression" else RandomForestClassifier
    return cls(n_estimators=settings.trees, random_state=settings.seed, n_jobs=workers, min_samples_leaf=1)


def _metrics(task: str, truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, mean_absolute_error, r2_score, roc_auc_score

    if task == "regression":
        return {
            "rmse": float(np.sqrt(np.mean((truth - pred) ** 2))),
            "mae": float(mean_absolute_error(truth, pred)),
            "r2": float(r2_score(truth, pred)),
        }
    out = {"accuracy": float(accuracy_score(truth, pred >= 0.5))}
    out["roc_auc"] = float(roc_auc_score(truth, pred)) if len(set(truth.tolist())) == 2 else math.nan
    return out


def _predict(model: Any, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean prediction (P(class 1) for a classifier) and the spread over the trees."""
    if hasattr(model, "predict_proba"):
        col = list(model.classes_).index(1.0) if 1.0 in model.classes_ else None
        if col is None:
            zeros = np.zeros(len(features))
            return zeros, zeros
        per_tree = np.stack([t.predict_proba(features)[:, col] for t in model.estimators_])
    else:
        per_tree = np.stack([t.predict(features) for t in model.estimators_])
    return per_tree.mean(axis=0), per_tree.std(axis=0)


def train_model(settings: TrainModelSettings, *, command: str = "") -> ModelReport:
    """Train a property model as ``settings`` say, with scaffold-split cross-validation; write its folder."""
    import joblib
    import sklearn

    from llmga.executors import available_cores

    settings.check()
    smiles, target, skipped = _read_table(settings)
    if len(smiles) < 2 * settings.folds:
        raise LLMGAError(
            f"{settings.data}: {len(smiles)} usable rows ({skipped} skipped); give at least {2 * settings.folds} "
            f"for {settings.folds}-fold cross-validation (or lower --folds)"
        )
    workers = settings.workers or available_cores()
    features, _ = featurize(smiles)
    folds = scaffold_folds(smiles, settings.folds)
    oof = np.zeros(len(smiles))
    for fold in range(settings.folds):
        test = folds == fold
        if not test.any() or test.all():
            continue
        model = _estimator(settings, workers).fit(features[~test], target[~test])
        oof[test] = _predict(model, features[test])[0]
    metrics = _metrics(settings.task, target, oof)
    clock = time.perf_counter()
    model = _estimator(settings, workers).fit(features, target)
    fit_s = time.perf_counter() - clock
    out = Path(settings.out)
    out.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, out / _MODEL)
    fps = _bit_fps(smiles)
    packed = np.stack([np.frombuffer(DataStructs.BitVectToBinaryText(f), dtype=np.uint8) for f in fps])
    np.save(out / _TRAIN_FPS, packed)
    checks = smiles[:_CHECKS]
    mean, spread = _predict(model, featurize(checks)[0])
    digest = hashlib.sha256()
    for s, t in zip(smiles, target, strict=True):
        digest.update(f"{s},{t!r}\n".encode())
    card = {
        "model": f"random forest {settings.task} ({settings.trees} trees) of {settings.target_col!r}",
        "command": command,
        "settings": dataclasses.asdict(settings),
        "task": settings.task,
        "target": settings.target_col,
        "features": "Morgan count fingerprint (radius 2, 2048 bits) + RDKit rdMolDescriptors.Properties (43)",
        "data": {
            "file": settings.data,
            "molecules": len(smiles),
            "skipped_rows": skipped,
            "sha256": digest.hexdigest(),
        },
        "cv": {"split": "Bemis-Murcko scaffold groups", "folds": settings.folds, "metrics": metrics},
        "target_stats": {name: float(getattr(target, name)()) for name in ("mean", "std", "min", "max")},
        "fit_seconds": round(fit_s, 3),
        "check_set": [
            {"smiles": s, "mean": float(m), "spread": float(u)} for s, m, u in zip(checks, mean, spread, strict=True)
        ],
        "versions": {
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "rdkit": Chem.rdBase.rdkitVersion,
            "python": platform.python_version(),
        },
        "files": {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in (_MODEL, _TRAIN_FPS)},
    }
    (out / _CARD).write_text(json.dumps(card, indent=1) + "\n")
    return ModelReport(out, len(smiles), skipped, metrics)


@dataclass
class _Loaded:
    model: Any
    train_fps: list[DataStructs.ExplicitBitVect]
    card: dict[str, Any]


def load_model(path: str | Path) -> _Loaded:
    """Load and verify a model folder (see the module docstring); clear errors for anything else."""
    folder = Path(path)
    card_path = folder / _CARD
    if not card_path.is_file() or not (folder / _MODEL).is_file():
        raise ObjectiveError(
            f"{folder} is not a model folder (no {_CARD} and {_MODEL}); make one with "
            "`llmga train-model DATA.csv --smiles-col COL --target-col COL --out DIR`"
        )
    card = json.loads(card_path.read_text())
    for name, expected in card.get("files", {}).items():
        actual = hashlib.sha256((folder / name).read_bytes()).hexdigest() if (folder / name).is_file() else "missing"
        if actual != expected:
            raise ObjectiveError(f"{folder / name} does not match its model card (altered or truncated); retrain it")
    import warnings

    import joblib
    import sklearn

    saved = card.get("versions", {}).get("scikit-learn")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # sklearn warns on version changes: the check set below decides
            model = joblib.load(folder / _MODEL)
    except Exception as exc:
        raise ObjectiveError(
            f"{folder}: the model was saved by scikit-learn {saved} and cannot be loaded by {sklearn.__version__} "
            f"({type(exc).__name__}: {exc}); retrain it with `llmga train-model` or install scikit-learn=={saved}"
        ) from exc
    checks = card.get("check_set", [])
    if checks:
        mean, spread = _predict(model, featurize([c["smiles"] for c in checks])[0])
        want = np.array([[c["mean"], c["spread"]] for c in checks])
        if not np.allclose(np.column_stack([mean, spread]), want, rtol=1e-6, atol=1e-9):
            raise ObjectiveError(
                f"{folder}: this model predicts its check molecules differently from when it was saved "
                f"(scikit-learn {saved} then, {sklearn.__version__} now); retrain it with `llmga train-model` "
                f"or install scikit-learn=={saved}"
            )
    packed = np.load(folder / _TRAIN_FPS)
    fps = [DataStructs.CreateFromBinaryText(row.tobytes()) for row in packed]
    return _Loaded(model, fps, card)


class ModelObjective(Objective):
    """The prediction of a model folder written by ``llmga train-model`` (see the module docstring)."""

    def __init__(self, path: str, mode: str = "mean", kappa: float = 1.0, direction: str = "maximize") -> None:
        if mode not in MODES:
            raise ObjectiveError(f"model mode {mode!r} is not valid; choose one of {', '.join(MODES)}")
        self.path = str(path)
        self.mode = mode
        self.kappa = float(kappa)
        self._loaded: _Loaded | None = load_model(path)  # fail at once on a bad folder
        card = self._loaded.card
        self.name = f"model:{Path(self.path).name}" + (f"?mode={mode}" if mode != "mean" else "")
        self.direction = check_direction(direction)
        what = {
            "mean": f"predicted {card.get('target')}",
            "ucb": f"predicted {card.get('target')} {'+' if direction == 'maximize' else '-'} {self.kappa:g} x spread",
            "uncertainty": f"spread over the trees of the predicted {card.get('target')}",
            "domain": "largest Tanimoto similarity to the model's training molecules",
        }[mode]
        metrics = card.get("cv", {}).get("metrics", {})
        shown = ", ".join(f"{k} {v:.3f}" for k, v in metrics.items())
        self.description = f"{what} ({card.get('model')}; scaffold-split CV {shown})"

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_loaded"] = None  # workers load the folder themselves (verified again)
        return state

    @property
    def loaded(self) -> _Loaded:
        if self._loaded is None:
            self._loaded = load_model(self.path)
        return self._loaded

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        out = np.full(len(smiles), np.nan)
        features, ok = featurize(smiles)
        if not ok.any():
            return out
        if self.mode == "domain":
            train = self.loaded.train_fps
            for i in np.flatnonzero(ok):
                fp = morgan(smiles[int(i)])  # parses: featurize said so
                out[i] = max(DataStructs.BulkTanimotoSimilarity(fp, train), default=0.0) if fp is not None else np.nan
            return out
        mean, spread = _predict(self.loaded.model, features[ok])
        if self.mode == "mean":
            values = mean
        elif self.mode == "uncertainty":
            values = spread
        else:
            sign = 1.0 if self.direction == "maximize" else -1.0
            values = mean + sign * self.kappa * spread
        out[ok] = values
        return out

    def card(self) -> dict[str, Any]:
        return super().card() | {"path": self.path, "mode": self.mode, "kappa": self.kappa}


def model_from_spec(text: str) -> ModelObjective:
    """``model:DIR`` or ``model:DIR?mode=ucb&kappa=1&direction=minimize`` as a :class:`ModelObjective`."""
    body = text.strip()[len("model:") :]
    path, _, query = body.partition("?")
    kwargs: dict[str, Any] = {}
    for part in filter(None, query.split("&")):
        key, sep, value = part.partition("=")
        if not sep or key not in ("mode", "kappa", "direction"):
            raise ObjectiveError(f"objective {text!r}: {part!r} is not understood; use mode=, kappa= or direction=")
        kwargs[key] = value
    if "kappa" in kwargs:
        try:
            kwargs["kappa"] = float(kwargs["kappa"])
        except ValueError:
            raise ObjectiveError(f"objective {text!r}: kappa={kwargs['kappa']!r} is not a number") from None
    if not path:
        raise ObjectiveError(f"objective {text!r} names no model folder; write model:path/to/folder")
    return ModelObjective(path, **kwargs)
