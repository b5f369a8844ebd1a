"""Graph-based crossover and mutation after Jensen (Chem. Sci. 2019, 10, 3567).

Crossover cuts each parent into two fragments — half the time across one
acyclic single bond, half the time through a ring (two adjacent ring bonds, or
the two ring bonds around a branching ring atom) — and joins a fragment of
one parent to a fragment of the other. Mutation applies one of seven
reaction-SMARTS edits: insert atom, change bond order, delete ring bond, add
ring, delete atom, change atom, append atom, with the paper's probabilities.
Every child must pass Jensen's filters: it sanitises, has more than five atoms
and fewer than a size drawn from N(size_mean, size_std) (39.15 ± 3.50 fits
ZINC, as in PMO), and has no allene in a ring, no ring larger than six and no
double bond inside a three- or four-membered ring.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from rdkit import Chem
from rdkit.Chem import rdChemReactions

from llmga.chem import canonical, quiet_rdkit, to_mol, to_smiles
from llmga.operators._base import Operator, Parent, VariationContext

__all__ = ["GraphCrossover", "GraphMutation", "MoleculeFilter", "crossover", "mutate", "ring_ok"]

_MAX_TRIES = 10
_MAX_PRODUCTS = 1000  # RDKit's RunReactants makes at most this many products (its maxProducts default)


@functools.cache
def _smarts(text: str) -> Chem.Mol:
    return Chem.MolFromSmarts(text)


@functools.cache
def _reaction(text: str) -> rdChemReactions.ChemicalReaction:
    return rdChemReactions.ReactionFromSmarts(text)


def _pick(items: Sequence[Any], rng: np.random.Generator) -> Any:
    return items[int(rng.integers(len(items)))]


def _pick_passing(items: Sequence[Chem.Mol], check: Callable[[Chem.Mol], bool], rng: np.random.Generator) -> Any:
    """A uniformly random item among those that pass ``check``, or ``None``; checks lazily.

    Checking items in a random order and keeping the first that passes picks
    each passing item with the same probability as checking them all and
    picking uniformly among the passers (the order is independent of the
    checks, including the random size caps they draw) -- at a fraction of the
    sanitisations.
    """
    for i in rng.permutation(len(items)):
        if check(items[int(i)]):
            return items[int(i)]
    return None


def ring_ok(mol: Chem.Mol) -> bool:
    """Jensen's ring check: no ring allene, no ring above six atoms, no double bond in a 3/4-ring."""
    if not mol.HasSubstructMatch(_smarts("[R]")):
        return True
    if mol.HasSubstructMatch(_smarts("[R]=[R]=[R]")):
        return False
    if max(len(r) for r in mol.GetRingInfo().AtomRings()) > 6:
        return False
    return not mol.HasSubstructMatch(_smarts("[r3,r4]=[r3,r4]"))


class MoleculeFilter:
    """Jensen's size window: sanitisable, more than 5 atoms, fewer than N(mean, std) atoms."""

    def __init__(self, size_mean: float = 39.15, size_std: float = 3.50) -> None:
        self.size_mean = size_mean
        self.size_std = size_std

    def size_allows(self, n_atoms: int, rng: np.random.Generator) -> bool:
        """Whether ``n_atoms`` heavy atoms fit the window: above 5 and below a freshly drawn cap."""
        return n_atoms > 5 and n_atoms < self.size_std * rng.standard_normal() + self.size_mean

    @staticmethod
    def sanitizes(mol: Chem.Mol) -> bool:
        """Sanitise ``mol`` in place; False when RDKit rejects it."""
        try:
            Chem.SanitizeMol(mol)
        except (ValueError, RuntimeError):
            return False
        return True

    def size_ok(self, mol: Chem.Mol, rng: np.random.Generator) -> bool:
        """Check the heavy-atom count against a random cap, then sanitise ``mol`` in place.

        Sanitising does not change the atom count, so the cheap count check
        runs first and only molecules inside the window pay for sanitisation.
        """
        return self.size_allows(mol.GetNumAtoms(), rng) and self.sanitizes(mol)

    def structure_ok(self, mol: Chem.Mol) -> bool:
        """The checks after the size window: sanitise ``mol`` in place, then its rings."""
        return self.sanitizes(mol) and ring_ok(mol)

    def __call__(self, mol: Chem.Mol, rng: np.random.Generator) -> bool:
        return self.size_allows(mol.GetNumAtoms(), rng) and self.structure_ok(mol)

    def accepts(self, smiles: str, rng: np.random.Generator) -> bool:
        """Whether the molecule ``smiles`` parses and passes the filter (children of model operators)."""
        mol = to_mol(smiles)
        return mol is not None and self(mol, rng)


# ----------------------------------------------------------------- crossover

_ACYCLIC_SINGLE = "[*]-;!@[*]"
_RING_CHAIN = "[R]@[R]@[R]@[R]"
_RING_BRANCH = "[R]@[R;!D2]@[R]"
_JOIN_ACYCLIC = "[*:1]-[1*].[1*]-[*:2]>>[*:1]-[*:2]"
_JOIN_RING_FIRST = "[*:1]~[1*].[1*]~[*:2]>>[*:1]=[*:2]"
_JOIN_RING_CLOSE = ("([*:1]~[1*].[1*]~[*:2])>>[*:1]-[*:2]", "([*:1]~[1*].[1*]~[*:2])>>[*:1]=[*:2]")


def _fragments(mol: Chem.Mol, bonds: list[int]) -> tuple[Chem.Mol, ...] | None:
    labels = [(1, 1)] * len(bonds)
    pieces = Chem.FragmentOnBonds(mol, bonds, addDummies=True, dummyLabels=labels)
    try:
        return tuple(Chem.GetMolFrags(pieces, asMols=True, sanitizeFrags=True))
    except (ValueError, RuntimeError):
        return None


# Parents recur across children and generations, so where a parent can be cut
# and the fragments of each cut are computed once per process (keyed by the
# parent's SMILES; the molecules are only read afterwards).


@functools.lru_cache(maxsize=16384)
def _sites(smiles: str, pattern: str) -> tuple[tuple[int, ...], ...]:
    prepared = _prepared(smiles)
    assert prepared is not None, "only valid parents are cut"
    return tuple(prepared[0].GetSubstructMatches(_smarts(pattern)))


@functools.lru_cache(maxsize=65536)
def _cut(smiles: str, pairs: tuple[tuple[int, int], ...]) -> tuple[Chem.Mol, ...] | None:
    prepared = _prepared(smiles)
    assert prepared is not None, "only valid parents are cut"
    mol = prepared[0]
    with quiet_rdkit():
        return _fragments(mol, [mol.GetBondBetweenAtoms(x, y).GetIdx() for x, y in pairs])


def _cut_acyclic(smiles: str, rng: np.random.Generator) -> tuple[Chem.Mol, ...] | None:
    matches = _sites(smiles, _ACYCLIC_SINGLE)
    if not matches:
        return None
    a, b = _pick(matches, rng)
    return _cut(smiles, ((a, b),))


def _cut_ring(smiles: str, rng: np.random.Generator) -> tuple[Chem.Mol, ...] | None:
    for _ in range(_MAX_TRIES):
        if rng.random() < 0.5:
            matches = _sites(smiles, _RING_CHAIN)
            if not matches:
                return None
            m = _pick(matches, rng)
            pairs = ((m[0], m[1]), (m[2], m[3]))
        else:
            matches = _sites(smiles, _RING_BRANCH)
            if not matches:
                return None
            m = _pick(matches, rng)
            pairs = ((m[0], m[1]), (m[1], m[2]))
        frags = _cut(smiles, pairs)
        if frags is None:
            return None
        if len(frags) == 2:
            return frags
    return None


def _cross_acyclic(a: str, b: str, rng: np.random.Generator, ok: MoleculeFilter) -> Chem.Mol | None:
    join = _reaction(_JOIN_ACYCLIC)
    for _ in range(_MAX_TRIES):
        fa, fb = _cut_acyclic(a, rng), _cut_acyclic(b, rng)
        if fa is None or fb is None:
            return None
        # A fragment without a cut mark (a salt's counter-ion) joins nothing: it makes no product.
        children = [products[0][0] for x in fa for y in fb if (products := join.RunReactants((x, y)))]
        child = _pick_passing(children, lambda c: ok.size_ok(c, rng), rng)
        if child is not None:
            return child
    return None


def _cross_ring(a: str, b: str, rng: np.random.Generator, ok: MoleculeFilter) -> Chem.Mol | None:
    if not (_sites(a, "[R]") or _sites(b, "[R]")):
        return None
    for _ in range(_MAX_TRIES):
        fa, fb = _cut_ring(a, rng), _cut_ring(b, rng)
        if fa is None or fb is None:
            return None
        # Join one dummy pair between the fragments, then close the second pair. As in
        # Jensen's published code (and so PMO's Graph GA), only the double-bonded first
        # join goes on to ring closure, and each closing reaction draws its own size cap.
        # The joined molecule has the fragments' atoms less the two joined dummies, so the
        # caps are drawn first and joins that no closing reaction may use are never made.
        first = _reaction(_JOIN_RING_FIRST)
        closed: list[Chem.Mol] = []
        for x in fa:
            for y in fb:
                n_atoms = x.GetNumAtoms() + y.GetNumAtoms() - 2
                gates = [ok.size_allows(n_atoms, rng) for _ in _JOIN_RING_CLOSE]
                if not any(gates):
                    continue
                products = first.RunReactants((x, y))
                if not products:
                    continue
                opened, clean = products[0][0], False
                for smarts, gate in zip(_JOIN_RING_CLOSE, gates, strict=True):
                    # A failed sanitisation is tried again for the second closure, as in
                    # Jensen's code: it leaves the molecule half-modified and may then pass.
                    clean = clean or (gate and ok.sanitizes(opened))
                    if gate and clean:
                        closed.extend(product[0] for product in _reaction(smarts).RunReactants((opened,)))
        child = _pick_passing(closed, lambda m: ok(m, rng), rng)
        if child is not None:
            return child
    return None


@functools.lru_cache(maxsize=4096)
def _prepared(smiles: str) -> tuple[Chem.Mol, str] | None:
    """Kekulised parent molecule and its canonical SMILES, parsed once per process.

    Population members are parents over many generations; the operators only
    read these molecules (cuts and reactions make new ones), so one parse serves all.
    """
    with quiet_rdkit():
        mol = to_mol(smiles)
        if mol is None:
            return None
        canon = to_smiles(mol) or smiles
        mol = Chem.Mol(mol)
        with contextlib.suppress(ValueError, RuntimeError):
            Chem.Kekulize(mol, clearAromaticFlags=True)
    return mol, canon


def _one_molecule(smiles: str | None) -> bool:
    return smiles is not None and "." not in smiles


def crossover(parent_a: str, parent_b: str, rng: np.random.Generator, ok: MoleculeFilter | None = None) -> str | None:
    """One crossover child of two parent SMILES (canonical SMILES), or ``None``.

    Acyclic and ring cuts are chosen 50/50 on each of up to ten attempts; a
    child identical to either parent, or of several fragments, is rejected.
    Never raises on a molecule: where RDKit fails on this pair there is no
    child (``None``), and the run goes on.
    """
    ok = ok or MoleculeFilter()
    pa, pb = _prepared(parent_a), _prepared(parent_b)
    if pa is None or pb is None:
        return None
    parents = (pa[1], pb[1])
    try:
        with quiet_rdkit():
            for _ in range(_MAX_TRIES):
                cross = _cross_acyclic if rng.random() <= 0.5 else _cross_ring
                child = cross(parent_a, parent_b, rng, ok)
                smiles = to_smiles(child)
                if _one_molecule(smiles) and smiles not in parents:
                    return smiles
    except (RuntimeError, ValueError, IndexError):
        return None  # RDKit could not cut or join these parents: no child for this pair
    return None


# ------------------------------------------------------------------ mutation

_ELEMENTS = ("#6", "#7", "#8", "#9", "#16", "#17", "#35")
_ELEMENT_P = (0.15, 0.15, 0.14, 0.14, 0.14, 0.14, 0.14)
_BOND_ORDER_P = (0.60, 0.35, 0.05)  # single, double, triple


def _insert_atom(mol: Chem.Mol, rng: np.random.Generator) -> str:
    order = rng.choice(3, p=_BOND_ORDER_P)
    if order == 0:
        return f"[*:1]~[*:2]>>[*:1]{_pick(('C', 'N', 'O', 'S'), rng)}[*:2]"
    if order == 1:
        return f"[*;!H0:1]~[*:2]>>[*:1]={_pick(('C', 'N'), rng)}-[*:2]"
    return "[*;!R;!H1;!H0:1]~[*:2]>>[*:1]#C-[*:2]"


def _weighted(options: tuple[tuple[str, float], ...], rng: np.random.Generator) -> str:
    return options[rng.choice(len(options), p=[p for _, p in options])][0]


_BOND_ORDER_EDITS = (
    ("[*:1]!-[*:2]>>[*:1]-[*:2]", 0.45),
    ("[*;!H0:1]-[*;!H0:2]>>[*:1]=[*:2]", 0.45),
    ("[*:1]#[*:2]>>[*:1]=[*:2]", 0.05),
    ("[*;!R;!H1;!H0:1]~[*:2]>>[*:1]#[*:2]", 0.05),
)
_ADD_RING_EDITS = (
    ("[*;!r;!H0:1]~[*;!r:2]~[*;!r;!H0:3]>>[*:1]1~[*:2]~[*:3]1", 0.05),
    ("[*;!r;!H0:1]~[*!r:2]~[*!r:3]~[*;!r;!H0:4]>>[*:1]1~[*:2]~[*:3]~[*:4]1", 0.05),
    ("[*;!r;!H0:1]~[*!r:2]~[*:3]~[*:4]~[*;!r;!H0:5]>>[*:1]1~[*:2]~[*:3]~[*:4]~[*:5]1", 0.45),
    ("[*;!r;!H0:1]~[*!r:2]~[*:3]~[*:4]~[*!r:5]~[*;!r;!H0:6]>>[*:1]1~[*:2]~[*:3]~[*:4]~[*:5]~[*:6]1", 0.45),
)
_DELETE_ATOM_EDITS = (
    ("[*:1]~[D1:2]>>[*:1]", 0.25),
    ("[*:1]~[D2:2]~[*:3]>>[*:1]-[*:3]", 0.25),
    ("[*:1]~[D3:2](~[*;!H0:3])~[*:4]>>[*:1]-[*:3]-[*:4]", 0.25),
    ("[*:1]~[D4:2](~[*;!H0:3])(~[*;!H0:4])~[*:5]>>[*:1]-[*:3]-[*:4]-[*:5]", 0.1875),
    ("[*:1]~[D4:2](~[*;!H0;!H1:3])(~[*:4])~[*:5]>>[*:1]-[*:3](-[*:4])-[*:5]", 0.0625),
)


def _change_bond_order(mol: Chem.Mol, rng: np.random.Generator) -> str:
    return _weighted(_BOND_ORDER_EDITS, rng)


def _delete_ring_bond(mol: Chem.Mol, rng: np.random.Generator) -> str:
    return "[*:1]@[*:2]>>([*:1].[*:2])"


def _add_ring(mol: Chem.Mol, rng: np.random.Generator) -> str:
    return _weighted(_ADD_RING_EDITS, rng)


def _delete_atom(mol: Chem.Mol, rng: np.random.Generator) -> str:
    return _weighted(_DELETE_ATOM_EDITS, rng)


def _change_atom(mol: Chem.Mol, rng: np.random.Generator) -> str | None:
    present = [i for i, e in enumerate(_ELEMENTS) if mol.HasSubstructMatch(_smarts(f"[{e}]"))]
    if not present:
        return None
    p = np.array([_ELEMENT_P[i] for i in present])
    old = _ELEMENTS[present[rng.choice(len(present), p=p / p.sum())]]
    others = [i for i, e in enumerate(_ELEMENTS) if e != old]
    q = np.array([_ELEMENT_P[i] for i in others])
    new = _ELEMENTS[others[rng.choice(len(others), p=q / q.sum())]]
    return f"[{old}:1]>>[{new}:1]"


def _append_atom(mol: Chem.Mol, rng: np.random.Generator) -> str:
    order = rng.choice(3, p=_BOND_ORDER_P)
    if order == 0:
        return f"[*;!H0:1]>>[*:1]-{_pick(('C', 'N', 'O', 'F', 'S', 'Cl', 'Br'), rng)}"
    if order == 1:
        return f"[*;!H0;!H1:1]>>[*:1]={_pick(('C', 'N', 'O'), rng)}"
    return f"[*;H3:1]>>[*:1]#{_pick(('C', 'N'), rng)}"


# (edit, probability) in the order of Jensen's paper.
MUTATIONS: tuple[tuple[Callable[[Chem.Mol, np.random.Generator], str | None], float], ...] = (
    (_insert_atom, 0.15),
    (_change_bond_order, 0.14),
    (_delete_ring_bond, 0.14),
    (_add_ring, 0.14),
    (_delete_atom, 0.14),
    (_change_atom, 0.14),
    (_append_atom, 0.15),
)
_MUTATION_P = np.array([p for _, p in MUTATIONS])


@functools.cache
def _atom_change(rxn: rdChemReactions.ChemicalReaction) -> int:
    """How many atoms an edit adds (or, negative, removes): its product template's atoms less its reactant
    template's. Every atom outside the match is carried over, so each product of a parent has the parent's
    atoms plus this (tests check it on ZINC molecules)."""
    return int(rxn.GetProductTemplate(0).GetNumAtoms()) - int(rxn.GetReactantTemplate(0).GetNumAtoms())


def _mutant(
    mol: Chem.Mol, rxn: rdChemReactions.ChemicalReaction, ok: MoleculeFilter, rng: np.random.Generator
) -> Chem.Mol | None:
    """A uniformly random product of ``rxn`` on ``mol`` that passes ``ok``, or ``None``: what
    ``_pick_passing(products, ok)`` picks, with the same draws, without making the products when none
    can pass the size window. (A subclass of :class:`MoleculeFilter` may check more: it takes the plain path.)

    Near Jensen's size cap most edits of a large parent fail the size draw for every product; the size
    check depends only on the product's atom count, which is the same for all products of one edit
    (:func:`_atom_change`), so the products' count (one per template match) and that atom count are all
    the draws need. The products are made once the first size draw passes.
    """
    n_atoms = mol.GetNumAtoms() + _atom_change(rxn)
    if type(ok) is not MoleculeFilter or n_atoms < ok.size_mean:
        # The cap (mean ± std) will usually let the first product through: make them at once.
        products = [p[0] for p in rxn.RunReactants((mol,))]
        return _pick_passing(products, lambda m: ok(m, rng), rng)
    count = len(mol.GetSubstructMatches(rxn.GetReactantTemplate(0), uniquify=False, maxMatches=_MAX_PRODUCTS))
    made: list[Chem.Mol] | None = None
    for i in rng.permutation(count):
        if not ok.size_allows(n_atoms, rng):
            continue
        if made is None:
            made = [p[0] for p in rxn.RunReactants((mol,))]
        product = made[int(i)]
        if ok.structure_ok(product):
            return product
    return None


def mutate(parent: str, rng: np.random.Generator, ok: MoleculeFilter | None = None) -> str | None:
    """One mutant of ``parent`` (canonical SMILES) that differs from it and is one molecule, or ``None``.

    Never raises on a molecule: where RDKit fails on this parent there is no mutant (``None``).
    """
    ok = ok or MoleculeFilter()
    prepared = _prepared(parent)
    if prepared is None:
        return None
    mol, original = prepared
    try:
        with quiet_rdkit():
            for _ in range(_MAX_TRIES):
                edit = MUTATIONS[rng.choice(len(MUTATIONS), p=_MUTATION_P)][0]
                smarts = edit(mol, rng)
                if smarts is None:
                    continue
                product = _mutant(mol, _reaction(smarts), ok, rng)
                if product is not None:
                    smiles = to_smiles(product)
                    if _one_molecule(smiles) and smiles != original:
                        return smiles
    except (RuntimeError, ValueError, IndexError):
        return None  # RDKit could not edit this parent: no mutant
    return None


# ----------------------------------------------------------------- operators


class _GraphOperator(Operator):
    """Shared settings of the graph operators: Jensen's molecule filter.

    Children are re-parsed and canonicalised where they are made (on the
    workers), so the engine need not check them again.
    """

    validated_output = True

    def __init__(self, size_mean: float = 39.15, size_std: float = 3.50) -> None:
        self.filter = MoleculeFilter(size_mean, size_std)

    def card(self) -> dict[str, Any]:
        return super().card() | {"size_mean": self.filter.size_mean, "size_std": self.filter.size_std}


class GraphCrossover(_GraphOperator):
    """Jensen's graph crossover as a batched two-parent operator (one child per pair).

    Each pair gets its own seed drawn from the run's generator, so children
    are the same whether the batch runs on one core or several.
    """

    name = "graph_crossover"
    arity = 2

    def apply(
        self, groups: Sequence[Sequence[Parent]], rng: np.random.Generator, context: VariationContext
    ) -> list[list[str | None]]:
        seeds = rng.integers(2**63, size=len(groups)).tolist()
        tasks = [(g[0].smiles, g[1].smiles, s) for g, s in zip(groups, seeds, strict=True)]
        return [[kid] for kid in context.executor.map(self.child, tasks)]

    def child(self, task: tuple[str, str, int]) -> str | None:
        """The child of one ``(parent_a, parent_b, seed)`` task."""
        a, b, seed = task
        return canonical(crossover(a, b, np.random.default_rng(seed), self.filter))


class GraphMutation(_GraphOperator):
    """Jensen's graph mutation as a batched one-parent operator (one child per parent)."""

    name = "graph_mutation"
    arity = 1

    def apply(
        self, groups: Sequence[Sequence[Parent]], rng: np.random.Generator, context: VariationContext
    ) -> list[list[str | None]]:
        seeds = rng.integers(2**63, size=len(groups)).tolist()
        tasks = [(g[0].smiles, s) for g, s in zip(groups, seeds, strict=True)]
        return [[kid] for kid in context.executor.map(self.child, tasks)]

    def child(self, task: tuple[str, int]) -> str | None:
        """The mutant of one ``(parent, seed)`` task."""
        parent, seed = task
        return canonical(mutate(parent, np.random.default_rng(seed), self.filter))
