"""The local target: the development environment on this machine's Docker engine.

Modules, from pure to effectful: ``images`` (which images may be pulled), ``commands``
(the compose invocations and the per-release override, as data), ``stores`` (lock and
ledger files under ``.shipwright/local/``), ``target`` (the Target protocol) and
``session`` (``opened()`` with lock and ledger; ``down()``).
"""

from shipwright.targets.local_compose.target import LocalComposeTarget

__all__ = ["LocalComposeTarget"]
