"""PMO's three model oracles, ``drd2``, ``gsk3b`` and ``jnk3``, evaluated with numpy.

PMO (Gao et al. 2022) takes them from TDC, which distributes scikit-learn
pickles: an RBF-kernel SVM for the dopamine D2 receptor (Olivecrona et al.
2017) and random forests for GSK3β and JNK3 (Jin et al. 2020).
``scripts/convert_pmo_models.py`` turned those pickles into plain arrays
(``llmga/data/pmo/*.npz``, checksummed in ``manifest.json``; provenance in
``PROVENANCE.md``); this module reproduces their ``predict_proba(X)[:, 1]``
without scikit-learn, fed exactly the fingerprints TDC feeds them:

* ``drd2``: Morgan fingerprint of radius 3 with feature invariants (FCFP6),
  as counts, folded to 2,048 entries by adding up the counts of environment
  ids equal modulo 2,048 (TDC's ``fingerprints_from_mol``).
* ``gsk3b`` and ``jnk3``: Morgan bit vector of radius 2 (ECFP4), 2,048 bits.

The SVM is evaluated as libsvm (inside scikit-learn) does it: RBF kernel
``exp(-gamma * |x - sv|^2)``, decision value summed over the support vectors
in order, Platt's sigmoid clipped to [1e-7, 1 - 1e-7], then libsvm's
iterative pairwise-coupling solver (which scikit-learn runs even for two
classes). The forests average each tree's leaf class fraction, tree by tree.
Predictions agree with the originals to about 1e-15 (see the tests).
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import threading
from collections.abc import Callable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
from rdkit import Chem
from rdkit.Chem import rdFingerprintGenerator

from llmga.chem import to_mol
from llmga.errors import ObjectiveError
from llmga.objectives._base import Objective

__all__ = [
    "MODEL_TASKS",
    "ModelFileError",
    "ModelObjective",
    "ecfp4_bits",
    "fcfp6_counts",
    "load_model",
]

FloatArray = npt.NDArray[np.float64]
FP_SIZE = 2048
BATCH = 1024  # molecules featurised and scored at a time (bounds memory to ~100 MB)
_FIX = "reinstall llmga or rerun scripts/convert_pmo_models.py"


class ModelFileError(ObjectiveError):
    """A shipped model file is missing, altered or unreadable."""


# --------------------------------------------------------------------------- featurisation


@functools.cache
def _generators() -> tuple[Any, Any]:
    fcfp6 = rdFingerprintGenerator.GetMorganGenerator(
        radius=3,
        fpSize=FP_SIZE,
        atomInvariantsGenerator=rdFingerprintGenerator.GetMorganFeatureAtomInvGen(),
    )
    ecfp4 = rdFingerprintGenerator.GetMorganGenerator(radius=2, fpSize=FP_SIZE)
    return fcfp6, ecfp4


def fcfp6_counts(mols: Sequence[Chem.Mol]) -> npt.NDArray[np.float32]:
    """DRD2 input: FCFP6 counts folded to 2,048 (count of id *i* added to entry *i* mod 2048)."""
    gen = _generators()[0]
    out = np.empty((len(mols), FP_SIZE), dtype=np.float32)
    for i, mol in enumerate(mols):
        out[i] = gen.GetCountFingerprintAsNumPy(mol)
    return out


def ecfp4_bits(mols: Sequence[Chem.Mol]) -> npt.NDArray[np.uint8]:
    """GSK3β and JNK3 input: ECFP4 (Morgan radius 2) bit vector of 2,048 bits, as 0/1."""
    gen = _generators()[1]
    out = np.empty((len(mols), FP_SIZE), dtype=np.uint8)
    for i, mol in enumerate(mols):
        out[i] = gen.GetFingerprintAsNumPy(mol)
    return out


# --------------------------------------------------------------------------- models


class _Model(Protocol):
    def score(self, mols: Sequence[Chem.Mol]) -> FloatArray: ...


def _scalar(arrays: dict[str, np.ndarray], key: str) -> float:
    values = np.asarray(arrays[key], dtype=np.float64).reshape(-1)
    if values.size != 1:
        raise ValueError(f"{key} holds {values.size} values, not 1")
    return float(values[0])


def _pairwise_coupling(r01: FloatArray) -> FloatArray:
    """libsvm's ``multiclass_probability`` for two classes: P(class 1) from r01 = P(0 over 1).

    Wu, Lin and Weng's method 2, iterated exactly as libsvm does it, one
    sample per element, each stopping on its own. scikit-learn's libsvm runs
    it for two classes too; it stops once its residual is below 0.005/k, up
    to 0.005 away from the exact answer ``1 - r01`` (near 0.5), so it must be
    replayed, not shortcut.
    """
    r10 = 1.0 - r01
    q00 = r10 * r10
    q11 = r01 * r01
    q01 = -r10 * r01
    p0 = np.full_like(r01, 0.5)
    p1 = np.full_like(r01, 0.5)
    active = np.ones(r01.shape, dtype=bool)
    eps = 0.005 / 2  # libsvm: 0.005 / k
    for _ in range(100):  # libsvm: max(100, k) iterations
        qp0 = q00 * p0 + q01 * p1
        qp1 = q01 * p0 + q11 * p1
        pqp = p0 * qp0 + p1 * qp1
        error = np.maximum(np.abs(qp0 - pqp), np.abs(qp1 - pqp))
        active &= ~(error < eps)
        if not active.any():
            break
        # t = 0
        diff = (pqp - qp0) / q00
        n0 = p0 + diff
        pqp = (pqp + diff * (diff * q00 + 2 * qp0)) / (1 + diff) / (1 + diff)
        qp0 = (qp0 + diff * q00) / (1 + diff)
        qp1 = (qp1 + diff * q01) / (1 + diff)
        n0 = n0 / (1 + diff)
        n1 = p1 / (1 + diff)
        # t = 1 (pqp and qp are recomputed before they are read again, so not updated here)
        diff = (pqp - qp1) / q11
        n1 = n1 + diff
        n0 = n0 / (1 + diff)
        n1 = n1 / (1 + diff)
        p0 = np.where(active, n0, p0)
        p1 = np.where(active, n1, p1)
    return p1


class RBFSVM:
    """A two-class libsvm C-SVC with RBF kernel and Platt probabilities."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        sv = np.asarray(arrays["support_vectors"])
        if sv.ndim != 2 or sv.shape[1] != FP_SIZE or sv.dtype.kind not in "iu" or sv.min() < 0:
            raise ValueError(f"support_vectors has shape {sv.shape} and dtype {sv.dtype}")
        self.coef = np.asarray(arrays["dual_coef"], dtype=np.float64).reshape(-1)
        if self.coef.shape != (sv.shape[0],) or list(np.asarray(arrays["classes"])) != [0, 1]:
            raise ValueError("dual_coef or classes do not match the support vectors")
        self.sv_t = np.ascontiguousarray(sv.T, dtype=np.float32)  # (features, support vectors)
        sv64 = sv.astype(np.float64)
        self.sv_sq = (sv64 * sv64).sum(axis=1)
        self.sv_max = float(sv.max())
        self.rho = -_scalar(arrays, "intercept")
        self.prob_a = _scalar(arrays, "prob_a")
        self.prob_b = _scalar(arrays, "prob_b")
        self.gamma = _scalar(arrays, "gamma")

    def _squared_distances(self, x: npt.NDArray[np.float32]) -> FloatArray:
        """|x - sv|^2 for every row and support vector, exactly (integer counts)."""
        x64 = x.astype(np.float64)
        dot = np.empty((x.shape[0], self.sv_t.shape[1]), dtype=np.float64)
        # A float32 product is exact while every partial sum is an integer below
        # 2**24; a row's dot products are at most its count total times sv_max.
        exact32 = x64.sum(axis=1) * self.sv_max < 2.0**24
        if exact32.any():
            dot[exact32] = x[exact32] @ self.sv_t
        if not exact32.all():
            dot[~exact32] = x64[~exact32] @ self.sv_t.astype(np.float64)
        return (x64 * x64).sum(axis=1)[:, None] + self.sv_sq[None, :] - 2.0 * dot

    def decision(self, x: npt.NDArray[np.float32]) -> FloatArray:
        """libsvm's decision value: sum of coef * kernel, in support-vector order, minus rho."""
        kernel = np.exp(-self.gamma * self._squared_distances(x))
        return np.cumsum(kernel * self.coef, axis=1)[:, -1] - self.rho

    def predict_proba(self, x: npt.NDArray[np.float32]) -> FloatArray:
        """Probability of class 1, as scikit-learn's ``SVC.predict_proba(x)[:, 1]``."""
        f = self.decision(x) * self.prob_a + self.prob_b
        e = np.exp(-np.abs(f))
        sigmoid = np.where(f >= 0, e / (1.0 + e), 1.0 / (1.0 + e))  # P(class 0), Platt
        r01 = np.minimum(np.maximum(sigmoid, 1e-7), 1 - 1e-7)
        return _pairwise_coupling(r01)

    def score(self, mols: Sequence[Chem.Mol]) -> FloatArray:
        return self.predict_proba(fcfp6_counts(mols))


class BitForest:
    """A two-class random forest over 0/1 features, all trees walked at once."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        counts = np.asarray(arrays["node_count"], dtype=np.intp)
        left = np.asarray(arrays["children_left"], dtype=np.intp)
        right = np.asarray(arrays["children_right"], dtype=np.intp)
        feature = np.asarray(arrays["feature"], dtype=np.intp)
        threshold = np.asarray(arrays["threshold"], dtype=np.float64)
        value = np.asarray(arrays["value"], dtype=np.float64)
        n = int(counts.sum())
        if any(len(a) != n for a in (left, right, feature, threshold, value)) or value.shape != (n, 2):
            raise ValueError("node arrays do not match node_count")
        if list(np.asarray(arrays["classes"])) != [0, 1] or int(_scalar(arrays, "n_features")) != FP_SIZE:
            raise ValueError("the forest is not a 0/1 classifier over 2,048 features")
        self.n_trees = len(counts)
        self.roots = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
        base = np.repeat(self.roots, counts)
        self.is_leaf = left < 0
        split = ~self.is_leaf
        if np.any((feature[split] < 0) | (feature[split] >= FP_SIZE)):
            raise ValueError("a split uses a feature outside the fingerprint")
        # On 0/1 inputs "x <= t" with 0 <= t < 1 means "x == 0": go left when the bit is clear.
        if np.any((threshold[split] < 0.0) | (threshold[split] >= 1.0)):
            raise ValueError("a split threshold is outside [0, 1)")
        own = np.arange(n, dtype=np.intp)
        self.left = np.where(split, left + base, own)
        self.right = np.where(split, right + base, own)
        self.feature = np.where(split, feature, 0)
        # scikit-learn < 1.4 kept class counts in the leaves and divided by their sum.
        total = value[:, 0] + value[:, 1]
        total[total == 0.0] = 1.0
        self.leaf_p1 = value[:, 1] / total

    def leaves(self, bits: npt.NDArray[np.uint8]) -> npt.NDArray[np.intp]:
        """The leaf each sample reaches in each tree, shape (samples, trees)."""
        n_samples = bits.shape[0]
        flat = np.ascontiguousarray(bits).reshape(-1)
        node = np.tile(self.roots, n_samples)
        row = np.repeat(np.arange(n_samples, dtype=np.intp) * FP_SIZE, self.n_trees)
        pair = np.arange(node.size, dtype=np.intp)
        leaf = np.empty(node.size, dtype=np.intp)
        while node.size:
            done = self.is_leaf[node]
            if done.any():
                leaf[pair[done]] = node[done]
                walking = ~done
                node, row, pair = node[walking], row[walking], pair[walking]
            set_bit = flat[row + self.feature[node]] != 0
            node = np.where(set_bit, self.right[node], self.left[node])
        return leaf.reshape(n_samples, self.n_trees)

    def predict_proba(self, bits: npt.NDArray[np.uint8]) -> FloatArray:
        """Probability of class 1, as scikit-learn's ``predict_proba(bits)[:, 1]``."""
        p = self.leaf_p1[self.leaves(bits)]
        total = np.zeros(bits.shape[0], dtype=np.float64)
        for t in range(self.n_trees):  # tree by tree, as scikit-learn accumulates them
            total += p[:, t]
        return total / self.n_trees

    def score(self, mols: Sequence[Chem.Mol]) -> FloatArray:
        return self.predict_proba(ecfp4_bits(mols))


_KINDS: dict[str, Callable[[dict[str, np.ndarray]], _Model]] = {
    "drd2": RBFSVM,
    "gsk3b": BitForest,
    "jnk3": BitForest,
}


# --------------------------------------------------------------------------- files


def data_dir() -> Traversable:
    """The shipped folder of model files, ``llmga/data/pmo``."""
    return resources.files("llmga.data").joinpath("pmo")


def read_verified(name: str, folder: Traversable | Path | None = None) -> bytes:
    """The bytes of model file ``name``, checked against ``manifest.json``'s SHA-256."""
    folder = data_dir() if folder is None else folder
    try:
        manifest = json.loads(folder.joinpath("manifest.json").read_text(encoding="utf-8"))
        expected = str(manifest["files"][name]["sha256"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ModelFileError(
            f"model manifest {folder}/manifest.json is missing/altered (no checksum for {name}: "
            f"{type(exc).__name__}: {exc}): {_FIX}"
        ) from exc
    try:
        data = folder.joinpath(name).read_bytes()
    except OSError as exc:
        raise ModelFileError(f"model file {name} is missing from {folder}: {_FIX}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != expected:
        raise ModelFileError(
            f"model file {name} in {folder} is altered (SHA-256 {digest}, manifest says {expected}): {_FIX}"
        )
    return data


def _build(task: str, folder: Traversable | Path | None) -> _Model:
    if task not in _KINDS:
        raise ObjectiveError(f"unknown PMO model {task!r}; choose one of {', '.join(_KINDS)}")
    name = f"{task}.npz"
    data = read_verified(name, folder)
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        return _KINDS[task](arrays)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"model file {name} is unreadable ({exc}): {_FIX}") from exc


_CACHE: dict[str, _Model] = {}
_LOCK = threading.Lock()


def load_model(task: str, folder: Traversable | Path | None = None) -> _Model:
    """The model of ``task`` (``drd2``, ``gsk3b`` or ``jnk3``), verified and loaded.

    The shipped models (``folder=None``) load once per process and are shared.
    """
    if folder is not None:
        return _build(task, folder)
    with _LOCK:
        if task not in _CACHE:
            _CACHE[task] = _build(task, None)
        return _CACHE[task]


# --------------------------------------------------------------------------- objectives


class ModelObjective(Objective):
    """One of PMO's model oracles as an objective: a probability of activity, 0 to 1.

    The model loads on the first call. SMILES that RDKit cannot parse score NaN.
    """

    direction = "maximize"

    def __init__(self, task: str, description: str, *, folder: Traversable | Path | None = None) -> None:
        if task not in _KINDS:
            raise ObjectiveError(f"unknown PMO model {task!r}; choose one of {', '.join(_KINDS)}")
        self.name = task
        self.description = description
        self.folder = folder
        self._model: _Model | None = None

    def prompt_card(self, hide_names: bool = False) -> str:
        return _CARDS[self.name]

    def __getstate__(self) -> dict[str, Any]:
        # Workers load the model from their own per-process cache; never ship the arrays.
        return {**self.__dict__, "_model": None}

    def model(self) -> _Model:
        if self._model is None:
            self._model = load_model(self.name, self.folder)
        return self._model

    def __call__(self, smiles: Sequence[str]) -> np.ndarray:
        out = np.full(len(smiles), np.nan)
        ok: list[int] = []
        mols: list[Chem.Mol] = []
        for i, smi in enumerate(smiles):
            mol = to_mol(smi)
            if mol is not None:
                ok.append(i)
                mols.append(mol)
        if not mols:
            return out
        model = self.model()
        for start in range(0, len(mols), BATCH):
            out[ok[start : start + BATCH]] = model.score(mols[start : start + BATCH])
        return out


_DESCRIPTIONS = {
    "drd2": (
        "Probability of being active at the dopamine D2 receptor (DRD2), from an SVM classifier "
        "trained on ExCAPE-DB (Olivecrona 2017)"
    ),
    "gsk3b": (
        "Probability of inhibiting glycogen synthase kinase-3 beta (GSK3β), from a random-forest "
        "classifier trained on ExCAPE-DB (Jin 2020)"
    ),
    "jnk3": (
        "Probability of inhibiting c-Jun N-terminal kinase 3 (JNK3), from a random-forest "
        "classifier trained on ExCAPE-DB (Jin 2020)"
    ),
}


_CARDS = {
    "drd2": (
        "The score is a classifier's probability (0 to 1) that the molecule is active at the dopamine D2 "
        "receptor; it is an RBF-kernel SVM on FCFP6 count fingerprints (feature Morgan radius 3, folded to "
        "2048), trained on ExCAPE-DB actives and inactives. Most random drug-like molecules score near 0; "
        "known D2 ligands (aryl piperazines and piperidines with a basic amine, e.g. haloperidol-, "
        "aripiprazole- or risperidone-like scaffolds) score high."
    ),
    "gsk3b": (
        "The score is a random forest's probability (0 to 1) that the molecule inhibits the kinase GSK3-beta; "
        "the forest uses ECFP4 bit fingerprints (Morgan radius 2, 2048 bits) and was trained on ExCAPE-DB. "
        "ATP-competitive kinase-inhibitor motifs (hinge-binding heteroaromatics such as aminopyrimidines, "
        "maleimides, indirubins, paullones) score high; most random molecules score near 0."
    ),
    "jnk3": (
        "The score is a random forest's probability (0 to 1) that the molecule inhibits the kinase JNK3; "
        "the forest uses ECFP4 bit fingerprints (Morgan radius 2, 2048 bits) and was trained on ExCAPE-DB. "
        "Kinase hinge binders (aminopyrimidines, aminopyrazoles, indazoles, anilino-heteroaromatics) score "
        "high; most random molecules score near 0."
    ),
}


def _factory(task: str) -> Callable[[], Objective]:
    def make() -> Objective:
        return ModelObjective(task, _DESCRIPTIONS[task])

    make.__name__ = task
    make.__doc__ = _DESCRIPTIONS[task]
    return make


MODEL_TASKS: dict[str, tuple[Callable[[], Objective], str]] = {
    task: (_factory(task), description) for task, description in _DESCRIPTIONS.items()
}
