"""The scale of the demo data a warehouse holds, so its outputs can say so and be read honestly.

At ``--scale`` 0.01 the synthetic extracts hold 1 % of Norway's persons. A national count target
(150 000 welfare-technology recipients) compared with a 1 % count is red for a reason that has
nothing to do with the data. So ``helsedata run --demo`` records the scale here
(:func:`record_demo_scale`); ``helsedata build`` scales the count targets of the status mart by
it (dbt var ``demo_scale``), and every report page says "demodata, skala 1 %".

A warehouse without a record is real data (scale 1, nothing said). Extracts made with
``helsedata demo-data --out DIR`` and ingested by hand are not recorded: their scale is in
``DIR/manifest.json``.
"""

from __future__ import annotations

import datetime as dt

from kernel.config import Settings

#: One row per demo generation into this platform's landing folder.
DEMO_RUNS_TABLE = "ingest.demo_runs"


def record_demo_scale(settings: Settings, scale: float, seed: int) -> None:
    """Record that demo extracts of ``scale`` (0 < scale ≤ 1) were generated for this warehouse."""
    if not 0 < scale <= 1:
        raise ValueError(f"A demo scale is a share of Norway, 0 < scale ≤ 1; got {scale!r}.")
    from kernel.warehouse import writer

    with writer(settings) as con:
        con.execute(f"create table if not exists {DEMO_RUNS_TABLE} "
                    "(generated_at TIMESTAMP, scale DOUBLE, seed BIGINT)")
        con.execute(f"insert into {DEMO_RUNS_TABLE} values (?, ?, ?)",
                    [dt.datetime.now(dt.UTC).replace(tzinfo=None), scale, seed])


def demo_scale(settings: Settings) -> float | None:
    """The scale of the newest demo generation, or None when the warehouse holds no demo data."""
    if not settings.warehouse.exists():
        return None
    from kernel.warehouse import read_only

    with read_only(settings) as con:
        return demo_scale_of(con)


def demo_scale_of(con) -> float | None:
    """:func:`demo_scale` on a connection that is already open (the writer of a running step)."""
    exists = con.execute("select count(*) from information_schema.tables where table_schema = 'ingest' "
                         "and table_name = 'demo_runs'").fetchone()[0]
    if not exists:
        return None
    row = con.execute(f"select scale from {DEMO_RUNS_TABLE} order by generated_at desc, rowid desc limit 1").fetchone()
    return None if row is None else float(row[0])
