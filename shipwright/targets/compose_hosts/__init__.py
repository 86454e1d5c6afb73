"""Compose hosts: plain Docker hosts over SSH, blue-green per host behind its own nginx.

Modules, from pure to effectful: ``variables`` (its settings), ``commands`` and
``nginx`` (shell strings), ``config``, ``plan``, ``shell`` (one remote shell per host
for the whole run), ``hosts`` (connections and read-only state), ``switcher`` (one
host), ``rollout`` (batches, gate, undo), ``storage`` (lock and ledger files on the
hosts) and ``target`` (the Target contract).
"""
