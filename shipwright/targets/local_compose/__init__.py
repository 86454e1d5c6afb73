"""The local target: the development environment on this machine's Docker engine.

Modules, from pure to effectful: ``images`` (which images may be pulled), ``commands``
(the compose invocations and the per-release override, as data), ``target`` (the Target
contract; lock and ledger as files under the state directory) and ``session``
(``down()``).
"""
