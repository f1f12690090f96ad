"""The researcher portal: authenticated pages and a JSON API over the analysis room (``helsedata serve``).

The portal adds *who*: accounts, roles, sessions and API tokens (:mod:`portal.accounts`), and
asks "may this user?" in one place (:mod:`portal.permissions`). Every decision about *what the
room allows* (budgets, permits, self-review, expiry) is made by :mod:`privacy.room`, called with
the authenticated username — the same functions ``helsedata room`` calls. Modules:

* :mod:`portal.accounts` — users, argon2 password hashes, lockout, sessions, API tokens;
* :mod:`portal.permissions` — role → allowed actions, permit holders;
* :mod:`portal.records` — read-only views of applications, permits and the audit log, and the
  portal's own tables (EHDS Art. 67 application details, released query results);
* :mod:`portal.formats` — Norwegian number and date formats;
* :mod:`portal.web` — the FastAPI application (pages and ``/api/v1``).
"""
