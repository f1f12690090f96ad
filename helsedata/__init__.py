"""Helsedata: secondary use of Norwegian health data, from extract files to published indicators.

The ``helsedata`` package is the command line and the glue between the single-purpose packages
(``ingestion``, ``quality``, ``privacy``, ``dashboards``, ``synthetic``) and the dbt project.
"""

__version__ = "0.1.0"
