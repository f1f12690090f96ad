"""What the dbt catalogue says about a dataset: documentation completeness, lineage, freshness.

Read from dbt's manifest, which ``helsedata build`` leaves in ``$HELSEDATA_HOME/dbt/target/``
(:func:`manifest_path`). Lineage always comes from a manifest: without a build, the project is
parsed (``dbt parse``) to get one, so there is no hand-kept copy of the DAG. Documentation falls
back to the project's YAML files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from kernel.config import DBT_PROJECT_DIR, Settings

#: The YAML that declares the raw sources and their freshness rule.
SOURCES_YAML = DBT_PROJECT_DIR / "models" / "staging" / "__sources.yml"


def manifest_path(settings: Settings) -> Path:
    """Where ``helsedata build`` leaves dbt's manifest for this platform instance."""
    return settings.dbt_target / "manifest.json"


def raw_freshness_warn_days(sources_yaml: Path = SOURCES_YAML) -> int:
    """Days after which a raw load is late: the ``warn_after`` of the ``raw`` source's freshness.

    Written once, in dbt's source YAML; the quality labels use the same limit for timeliness.

    >>> raw_freshness_warn_days()
    35
    """
    import yaml

    doc = yaml.safe_load(sources_yaml.read_text(encoding="utf-8"))
    raw = next(s for s in doc["sources"] if s["name"] == "raw")
    warn_after = raw["config"]["freshness"]["warn_after"]
    if warn_after.get("period") != "day":
        raise ValueError(f"{sources_yaml}: the raw freshness warn_after must be in days, not {warn_after}")
    return int(warn_after["count"])


@cache
def parsed_project_manifest(project_dir: Path = DBT_PROJECT_DIR) -> dict:
    """dbt's manifest of the project as it is on disk (``dbt parse`` into a temporary folder).

    For lineage before any build; a parse takes seconds and touches no warehouse.
    """
    import tempfile

    from dbt.cli.main import dbtRunner

    from kernel.errors import PipelineFailure

    with tempfile.TemporaryDirectory(prefix="helsedata-dbt-parse-") as tmp:
        outcome = dbtRunner().invoke(["parse", "--quiet", "--project-dir", str(project_dir),
                                      "--profiles-dir", str(project_dir), "--target-path", tmp,
                                      "--log-path", tmp])
        if not outcome.success:
            raise PipelineFailure(f"dbt klarte ikke å lese {project_dir}: {outcome.exception}")
        return json.loads((Path(tmp) / "manifest.json").read_text(encoding="utf-8"))


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
    """Every dataset built (directly or not) from ``dataset``, by dbt's lineage.

    ``manifest`` is the one the last build left; without it the project is parsed.
    """
    if manifest is None:
        manifest = parsed_project_manifest()
    nodes = _manifest_nodes(manifest)
    children: dict[str, set[str]] = {}
    for uid, kids in manifest.get("child_map", {}).items():
        if uid in nodes and (rel := _relation(nodes[uid])):
            children.setdefault(rel, set()).update(
                r for k in kids if k in nodes and (r := _relation(nodes[k])))
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
