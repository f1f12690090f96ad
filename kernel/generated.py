"""A generated section inside a hand-written document, and the check that it is current.

The README's command list and docs/quality.md's check catalogue are read off the code, so they
cannot drift; the prose around them stays hand-written. Both sit between two HTML-comment markers
and share this one writer and ``--check``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GeneratedSection:
    """The part of ``path`` between ``begin`` and ``end``, written by ``command``."""

    path: Path
    begin: str
    end: str
    command: str

    def render(self, text: str, body: str) -> str:
        """``text`` with the section replaced by ``body``."""
        head, rest = text.split(self.begin, 1)
        _, tail = rest.split(self.end, 1)
        return f"{head}{self.begin}\n{body}{self.end}{tail}"

    def main(self, argv: list[str], body: str) -> int:
        """Rewrite the section, or with ``--check`` exit 1 when it is out of date."""
        text = self.path.read_text(encoding="utf-8")
        new = self.render(text, body)
        if "--check" in argv:
            if new != text:
                print(f"{self.path} is out of date: run {self.command}", file=sys.stderr)
                return 1
            return 0
        self.path.write_text(new, encoding="utf-8")
        return 0
