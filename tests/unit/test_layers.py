"""The DAGs are a leaf: no module of the project imports them (import-linter cannot see dags/,
which is a folder Airflow reads, not a package)."""

import ast
from pathlib import Path

from kernel.config import PROJECT_ROOT

PACKAGES = ("kernel", "helsedata", "ingestion", "quality", "privacy", "dashboards", "synthetic", "healthdcat", "portal")
DAG_MODULES = {path.stem for path in (PROJECT_ROOT / "dags").glob("*.py")}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_no_package_imports_a_dag():
    offenders = [
        f"{path.relative_to(PROJECT_ROOT)} imports {name}"
        for package in PACKAGES for path in sorted((PROJECT_ROOT / package).rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] in DAG_MODULES | {"dags"}
    ]
    assert DAG_MODULES, "dags/ holds the DAG files"
    assert offenders == []
