"""The local target: the development environment on this machine's Docker engine.

Modules, from pure to effectful: ``images`` (which images may be pulled), ``commands``
(the compose invocations for the backend's dependencies, as data), ``machine`` (this
machine as the one host of the Compose hosts' blue-green), ``target`` (the Target
contract; lock and ledger as files under the state directory) and ``session``
(``down()``).
"""
