"""The 23 PMO tasks (Gao et al. 2022) as offline objectives.

20 are GuacaMol goal-directed benchmarks (Brown et al. 2019) written from the
paper's definitions (:mod:`._guacamol`), three are trained classifiers
converted to a portable form (:mod:`._models`), and ``qed`` is the built-in.
"""

from __future__ import annotations

from llmga.objectives.pmo._guacamol import GUACAMOL_TASKS
from llmga.objectives.pmo._models import MODEL_TASKS, ModelFileError

PMO_TASKS: tuple[str, ...] = (
    "albuterol_similarity",
    "amlodipine_mpo",
    "celecoxib_rediscovery",
    "deco_hop",
    "drd2",
    "fexofenadine_mpo",
    "gsk3b",
    "isomers_c7h8n2o2",
    "isomers_c9h10n2o2pf2cl",
    "jnk3",
    "median1",
    "median2",
    "mestranol_similarity",
    "osimertinib_mpo",
    "perindopril_mpo",
    "qed",
    "ranolazine_mpo",
    "scaffold_hop",
    "sitagliptin_mpo",
    "thiothixene_rediscovery",
    "troglitazone_rediscovery",
    "valsartan_smarts",
    "zaleplon_mpo",
)

__all__ = ["GUACAMOL_TASKS", "MODEL_TASKS", "PMO_TASKS", "ModelFileError"]
