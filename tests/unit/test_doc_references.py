"""Docstrings and docs point to pages in this repository, not to design notes it does not hold."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: "design §" and a number: a section of a design document that is not part of the repository.
OUTSIDE_REFERENCE = re.compile(r"design §\s*\d")


def test_no_file_cites_sections_of_a_design_document_outside_the_repository():
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    hits = []
    for name in filter(None, tracked.decode().split("\0")):
        path = REPO / name
        if path.suffix not in {".py", ".md", ".yml", ".yaml", ".sql", ".sh", ".toml"} or not path.is_file():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
            if OUTSIDE_REFERENCE.search(line):
                hits.append(f"{name}:{number}: {line.strip()}")
    assert hits == [], "cite a page under docs/ instead:\n" + "\n".join(hits)
