"""``acmerun plan`` and ``acmerun apply PLAN``: a change reviewed, then applied exactly.

``plan`` runs the runbook in check mode and writes a plan file (``document.py``,
``plan.schema.json``) naming each selected host's device state (``state.py``) and
the steps that would change it; ``apply`` checks that the runbook, the options and
the plan's age still match (``check.py``, exit 8 when not), then runs the runbook
on the plan's hosts only, each host first re-reading its device's state
(``runbook/guard.py``): a device changed since the plan is not touched.
"""
