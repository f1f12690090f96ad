"""What the dbt catalogue says about a dataset: documentation completeness and lineage.

Read from ``dbt_project/target/manifest.json`` when dbt has compiled the project, otherwise from
the project's YAML files (documentation) and a static map (lineage, :data:`STATIC_DOWNSTREAM`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kernel.config import DBT_PROJECT_DIR, Settings

def manifest_path(settings: Settings) -> Path:
    """Where ``helsedata build`` leaves dbt's manifest for this platform instance."""
    return settings.dbt_target / "manifest.json"


#: Lineage when there is no dbt manifest: dataset → datasets built from it (transitively closed
#: by :func:`downstream`). Mirrors dbt_project/models and the seed indicator_inputs.
STATIC_DOWNSTREAM: dict[str, tuple[str, ...]] = {
    "raw.kpr_kontakter": ("marts.mart_indicator_values",),
    "raw.kpr_tjenester": ("marts.mart_indicator_values",),
    "raw.vft_mottakere": ("marts.mart_indicator_values",),
    "raw.registry_reporting": ("marts.mart_registry_reporting_coverage", "marts.mart_indicator_values"),
    "marts.mart_indicator_values": ("marts.mart_indicator_status",),
    "marts.mart_registry_reporting_coverage": (),
    "marts.mart_indicator_status": (),
}


@dataclass(frozen=True)
class Documentation:
    described: int  # the table's description counts as one item, each column as one
    total: int
    source: str  # "manifest", "yaml" or "none"

    @property
    def completeness(self) -> float:
        return self.described / self.total if self.total else 0.0


def _relation(node: dict) -> str | None:
    schema = node.get("schema")
    name = node.get("identifier") or node.get("alias") or node.get("name")
    return f"{schema}.{name}" if schema and name else None


@cache
def _manifest(path: Path, mtime: float) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def load_manifest(path: Path) -> dict | None:
    """The dbt manifest, or None when dbt has not compiled the project."""
    if not path.exists():
        return None
    return _manifest(path, path.stat().st_mtime)


def _manifest_nodes(manifest: dict) -> dict[str, dict]:
    nodes = {**manifest.get("nodes", {}), **manifest.get("sources", {})}
    return {uid: n for uid, n in nodes.items() if n.get("resource_type") in ("model", "source", "seed", "snapshot")}


def _yaml_entries(project_dir: Path) -> dict[str, dict]:
    """dataset → {"description": ..., "columns": {name: description}} from the project's YAML."""
    import yaml

    entries: dict[str, dict] = {}
    for path in sorted((project_dir / "models").rglob("*.yml")):
        try:
            doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            continue
        for source in doc.get("sources") or []:
            schema = source.get("schema") or source.get("name")
            for table in source.get("tables") or []:
                entries[f"{schema}.{table.get('identifier') or table['name']}"] = _entry(table)
        for model in doc.get("models") or []:
            folder = path.parent.name  # schema = folder name (dbt_project.yml sets +schema per folder)
            entries[f"{folder}.{model['name']}"] = _entry(model)
    return entries


def _entry(node: dict) -> dict:
    columns = node.get("columns") or []
    if isinstance(columns, dict):
        columns = list(columns.values())
    return {"description": node.get("description") or "",
            "columns": {c["name"]: c.get("description") or "" for c in columns if "name" in c}}


def documentation(dataset: str, actual_columns: Iterable[str], manifest: dict | None = None,
                  project_dir: Path = DBT_PROJECT_DIR) -> Documentation:
    """How much of ``dataset`` (its description and each of ``actual_columns``) is documented.

    Columns in the warehouse but not in the catalogue count as undocumented.
    """
    actual = list(actual_columns)
    entry, origin = None, "none"
    if manifest is not None:
        for node in _manifest_nodes(manifest).values():
            if _relation(node) == dataset:
                entry, origin = _entry(node), "manifest"
                break
    if entry is None:
        entry = _yaml_entries(project_dir).get(dataset)
        origin = "yaml" if entry is not None else "none"
    if entry is None:
        return Documentation(0, 1 + len(actual), origin)
    columns = actual or list(entry["columns"])
    described = int(bool(entry["description"].strip())) + sum(
        1 for c in columns if entry["columns"].get(c, "").strip())
    return Documentation(described, 1 + len(columns), origin)


def downstream(dataset: str, manifest: dict | None = None) -> list[str]:
    """Every dataset built (directly or not) from ``dataset``: from dbt lineage, else the static map."""
    children: dict[str, set[str]] = {}
    if manifest is not None and manifest.get("child_map"):
        nodes = _manifest_nodes(manifest)
        for uid, kids in manifest["child_map"].items():
            if uid in nodes and (rel := _relation(nodes[uid])):
                children.setdefault(rel, set()).update(
                    r for k in kids if k in nodes and (r := _relation(nodes[k])))
    else:
        children = {k: set(v) for k, v in STATIC_DOWNSTREAM.items()}
    seen: list[str] = []
    stack = sorted(children.get(dataset, ()))
    while stack:
        item = stack.pop(0)
        if item not in seen and item != dataset:
            seen.append(item)
            stack.extend(sorted(children.get(item, ())))
    return seen


def upstream_raw(dataset: str, candidates: Iterable[str], manifest: dict | None = None) -> list[str]:
    """The raw datasets among ``candidates`` that ``dataset`` is built from."""
    return [c for c in candidates if c.startswith("raw.") and dataset in downstream(c, manifest)]
