"""Privacy: the secure analysis room (DP releases under permits) and disclosure control.

Public entry points (import the module you need; nothing heavy is imported here):

* :mod:`privacy.room` — ``apply``, ``review``, ``revoke``, ``query``, ``budget``, ``datasets``,
  ``export_applications`` (see ``docs/analysis-room.md``);
* :mod:`privacy.audit` — ``append(conn, actor, action, details)``, ``record(settings, ...)``,
  ``verify(settings)``: the hash-chained audit log shared by the whole platform;
* :mod:`privacy.publication` — disclosure control of the published indicator tables
  (``protect_indicator_values``, ``protect_status``), decided jointly over every linked table
  by :mod:`privacy.linked` on the single-count rules of :mod:`privacy.disclosure`
  (see ``docs/publishing.md``).
"""
