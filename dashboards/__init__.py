"""Presenting the published tables: the HTML indicator report and the Superset REST client.

* :mod:`dashboards.report` — ``render_report(settings, values, status, definitions, ...)`` writes
  ``$HELSEDATA_HOME/reports/indicators.html`` from the ``public.*`` rows only.
* :mod:`dashboards.superset` — ``refresh_superset(config, settings, tables)`` ensures the database,
  datasets, charts and dashboard in Superset; used only when ``HELSEDATA_SUPERSET_URL`` is set.

Both are called by :func:`helsedata.publish.publish`, the step behind ``helsedata publish``.
"""
