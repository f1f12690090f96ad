"""dbt's own rules for the project, and one owner per mart invariant, on the real manifest.

The manifest comes from a real ``dbt parse`` of ``dbt_project/`` (no warehouse needed). The rules
are those of dbt Labs' dbt-project-evaluator (its defaults), which cannot be installed here
(dbt packages come from dbt Hub, not PyPI):

* every model has a tested primary key: ``unique`` plus ``not_null`` (test or contract
  constraint) on one column, or the project's ``unique_combination`` test (a unique, non-null
  combination of columns; ``tests/generic/unique_combination.sql``);
* no model has 7 or more direct parents (``too_many_joins_threshold``);
* every source has a freshness rule, or says why not in ``meta.freshness_exempt_because``;
* no model is a root (a model without a ``ref`` or ``source``);
* no upstream concept is rejoined: A → B → C and A → C where B has no other child.

And (docs/quality.md, "Who checks the marts"): no invariant of a mart is declared both as a dbt
test and as a GX check in :mod:`quality.specs`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from quality.catalogue import parsed_project_manifest
from quality.specs import MART_SPECS

pytestmark = pytest.mark.slow

#: dbt-project-evaluator's default ``too_many_joins_threshold``: a model with this many direct
#: parents is flagged.
TOO_MANY_JOINS = 7
#: The project's generic test for a grain of several columns.
COMBINATION_TEST = "unique_combination"


@pytest.fixture(scope="module")
def manifest() -> dict:
    """The manifest of a real ``dbt parse`` of the project (what lineage uses before a build)."""
    return parsed_project_manifest()


def _models(manifest: dict) -> dict[str, dict]:
    return {uid: n for uid, n in manifest["nodes"].items() if n["resource_type"] == "model"}


def _tests_on(manifest: dict, uid: str) -> list[dict]:
    return [n for n in manifest["nodes"].values()
            if n["resource_type"] == "test" and n.get("attached_node") == uid]


def _not_null_columns(manifest: dict, uid: str) -> set[str]:
    model = manifest["nodes"][uid]
    constrained = {name for name, column in model["columns"].items()
                   if any(c["type"] == "not_null" for c in column.get("constraints", []))}
    tested = {t["column_name"] for t in _tests_on(manifest, uid)
              if (t.get("test_metadata") or {}).get("name") == "not_null"}
    return constrained | tested


def _dag_parents(manifest: dict, uid: str) -> set[str]:
    """Direct parents that are models, seeds, snapshots or sources (not tests or exposures)."""
    return {p for p in manifest["parent_map"][uid] if p.split(".")[0] in ("model", "seed", "snapshot", "source")}


def _dag_children(manifest: dict, uid: str) -> set[str]:
    return {c for c in manifest["child_map"].get(uid, ()) if c.split(".")[0] in ("model", "seed", "snapshot")}


# ---------------------------------------------------------------- dbt-project-evaluator's rules


def primary_key(manifest: dict, uid: str) -> tuple[str, ...] | None:
    """The model's tested primary key, or None."""
    not_null = _not_null_columns(manifest, uid)
    for test in _tests_on(manifest, uid):
        metadata = test.get("test_metadata") or {}
        if metadata.get("name") == "unique" and test["column_name"] in not_null:
            return (test["column_name"],)
        if metadata.get("name") == COMBINATION_TEST:
            return tuple(metadata["kwargs"]["columns"])
    return None


def test_every_model_has_a_tested_primary_key(manifest):
    missing = sorted(n["name"] for uid, n in _models(manifest).items() if primary_key(manifest, uid) is None)
    assert missing == [], f"models without a primary-key test: {missing}"


def test_no_model_has_too_many_joins(manifest):
    wide = {n["name"]: len(_dag_parents(manifest, uid)) for uid, n in _models(manifest).items()
            if len(_dag_parents(manifest, uid)) >= TOO_MANY_JOINS}
    assert wide == {}, f"models with {TOO_MANY_JOINS} or more direct parents: {wide}"


def test_every_source_has_freshness_or_says_why_not(manifest):
    def rule(source: dict) -> bool:
        freshness = source.get("freshness") or {}
        return any((freshness.get(k) or {}).get("count") for k in ("warn_after", "error_after"))

    silent = sorted(f"{s['source_name']}.{s['name']}" for s in manifest["sources"].values()
                    if not rule(s) and not (s.get("meta") or {}).get("freshness_exempt_because", "").strip())
    assert silent == [], f"sources without freshness or a reason in meta.freshness_exempt_because: {silent}"


def test_no_root_models(manifest):
    roots = sorted(n["name"] for uid, n in _models(manifest).items() if not _dag_parents(manifest, uid))
    assert roots == [], f"models that read no ref or source: {roots}"


def test_no_model_rejoins_an_upstream_concept(manifest):
    rejoined = []
    for a in [*manifest["nodes"], *manifest["sources"]]:
        children = _dag_children(manifest, a)
        for b in children:
            only = _dag_children(manifest, b)
            if len(only) == 1 and (c := next(iter(only))) in children:
                rejoined.append(f"{a} -> {b} -> {c}, and {a} -> {c}")
    assert rejoined == []


# ---------------------------------------------------------------- one owner per mart invariant


@dataclass(frozen=True)
class Invariant:
    """What a check asserts, independent of the tool: a family and the columns it is about."""

    family: str  # grain, not_null, values, range, expression, schema, row_count
    columns: frozenset[str] = frozenset()


#: dbt generic tests and GX check kinds, by family.
DBT_FAMILIES = {"unique": "grain", COMBINATION_TEST: "grain", "not_null": "not_null",
                "accepted_values": "values", "relationships": "values", "expression_is_true": "expression",
                "is_share": "range"}
GX_FAMILIES = {"unique": "grain", "not_null": "not_null", "in_set": "values", "between": "range",
               "a_ge_b": "expression", "rows": "expression", "schema_equals": "schema",
               "schema_contains": "schema", "row_count_at_least": "row_count"}
#: Families each tool owns on the marts (docs/quality.md): dbt what the model promises by
#: construction, GX the checks of the values in the mart's rows. "values" (allowed values of a
#: column) may be either, per column: a reference to a seed or model in dbt, a list in GX.
OWNED_BY_DBT = {"grain", "not_null", "schema"}
OWNED_BY_GX = {"range", "expression", "row_count", "missing_share"}


def dbt_invariants(manifest: dict, uid: str) -> set[Invariant]:
    model = manifest["nodes"][uid]
    found = {Invariant("not_null", frozenset({c})) for c in _not_null_columns(manifest, uid)}
    if model["config"].get("contract", {}).get("enforced"):
        found.add(Invariant("schema"))
    for test in _tests_on(manifest, uid):
        metadata = test.get("test_metadata")
        if not metadata:
            continue  # a singular test: logic across models, which GX on one table cannot check
        family = DBT_FAMILIES.get(metadata["name"], metadata["name"])
        columns = metadata["kwargs"].get("columns") or [test.get("column_name")]
        found.add(Invariant(family, frozenset(c for c in columns if c)))
    return found


def gx_invariants(spec) -> set[Invariant]:
    found = set()
    for check in spec.checks:
        family = GX_FAMILIES[check.kind]
        if check.kind == "not_null" and check.threshold > 0:
            family = "missing_share"  # a measurement (at most N % missing), not "never null"
        args = check.args
        columns = args.get("columns") if check.kind == "unique" else [args.get("column")]
        found.add(Invariant(family, frozenset(c for c in columns or () if c)))
    return found


def _mart_uids(manifest: dict) -> dict[str, str]:
    return {f"{n['schema']}.{n['alias']}": uid for uid, n in _models(manifest).items()}


def test_every_gx_mart_spec_is_a_dbt_mart(manifest):
    assert {s.name for s in MART_SPECS} <= set(_mart_uids(manifest))


@pytest.mark.parametrize("spec", MART_SPECS, ids=lambda s: s.name)
def test_no_mart_invariant_is_declared_in_dbt_and_in_gx(manifest, spec):
    dbt_side = dbt_invariants(manifest, _mart_uids(manifest)[spec.name])
    gx_side = gx_invariants(spec)
    both = {(i.family, tuple(sorted(i.columns))) for i in dbt_side & gx_side}
    # GX measuring the missing values of a column dbt declares not null would only ever see 0 %
    both |= {("not_null", tuple(sorted(i.columns))) for i in gx_side
             if i.family == "missing_share" and Invariant("not_null", i.columns) in dbt_side}
    assert both == set(), f"{spec.name}: checked by dbt and by GX: {sorted(both)}"
    misplaced_in_dbt = {i.family for i in dbt_side} & OWNED_BY_GX
    misplaced_in_gx = {i.family for i in gx_side} & OWNED_BY_DBT
    assert misplaced_in_dbt == set(), f"{spec.name}: move these dbt tests to quality/specs.py: {misplaced_in_dbt}"
    assert misplaced_in_gx == set(), f"{spec.name}: move these GX checks to the model's YAML: {misplaced_in_gx}"

