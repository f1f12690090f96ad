"""Presenting the published tables: the report pages and the Superset REST client.

* :mod:`dashboards.report` — ``render_report(settings, values, status, definitions, ...)`` writes
  ``$HELSEDATA_HOME/reports/indicators.html`` (the strategy's status per goal, then every
  indicator with charts) and ``reports/registre/<register>.html`` (one page per registry), from
  the ``public.*`` rows only; :mod:`dashboards.indicators` and :mod:`dashboards.registries` compute
  what the pages show, :mod:`dashboards.charts` draws the charts (Altair → SVG), and
  :mod:`kernel.formats` holds the Norwegian number and date formats.
* :mod:`dashboards.superset` — ``refresh_superset(config, settings, tables)`` ensures the database,
  datasets, charts and dashboard in Superset; used only when ``HELSEDATA_SUPERSET_URL`` is set.

Both are called by :func:`helsedata.publish.publish`, the step behind ``helsedata publish``.
"""
