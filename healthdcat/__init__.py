"""The dataset catalogue in HealthDCAT-AP (EHDS Art. 77): entries, the DCAT graph, SHACL validation.

* :func:`healthdcat.entries.collect` — one entry per dataset one can apply for or read, with facts
  from the warehouse (rounded counts, temporal coverage, typical ages, the newest quality label);
* :func:`healthdcat.dcat.build_graph` — the rdflib graph (DCAT-AP 3.0.0 + HealthDCAT-AP Release 5);
* :func:`healthdcat.validate.validate` — pyshacl against the shapes in ``healthdcat/shapes/``.

``helsedata catalogue export`` (:mod:`healthdcat.export`) puts them together; docs/catalogue.md.
"""
