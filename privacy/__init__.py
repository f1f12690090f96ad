"""Privacy: the secure analysis room (DP releases under permits) and disclosure control.

Public entry points (import the module you need; nothing heavy is imported here):

* :mod:`privacy.room` — ``apply``, ``review``, ``revoke``, ``query``, ``budget``, ``datasets``,
  ``export_applications`` (see ``docs/analysis-room.md``);
* :mod:`privacy.release` — ``request``, ``review``, ``releases``, ``download``: exact tables
  released after disclosure control and two reviewers' approval;
* :mod:`privacy.audit` — ``record(settings, actor, action, details)``, ``verify(settings)``,
  ``current_head(settings)``: the keyed, hash-chained audit log shared by the whole platform;
* :mod:`privacy.publication` — disclosure control of the published indicator tables
  (``protect_indicator_values``, ``protect_status``), decided jointly over every linked table
  by :mod:`privacy.linked` on the single-count rules of :mod:`privacy.disclosure`
  (see ``docs/publishing.md``).
"""
