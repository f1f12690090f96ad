"""The kernel: the facts every part of Helsedata shares, and nothing else.

Settings, errors, the warehouse and its schemas, code lists and reference seeds, the kommune
calendar and the source contract. Every package may import the kernel; the kernel imports no
package of the project (checked by import-linter, see ``pyproject.toml`` and docs/architecture.md).
"""
