"""Compose hosts: plain Docker hosts over SSH, blue-green per host behind its own nginx.

Modules, from pure to effectful: ``commands`` (shell strings), ``config``, ``plan``,
``hosts`` (connections and read-only state), ``switcher`` (one host), ``rollout``
(batches, gate, undo), ``storage`` (lock and ledger files on the hosts), ``target``
(the Target protocol) and ``shipwright.flow.compose`` (lock -> deploy -> record).
"""

from shipwright.targets.compose_hosts.config import ComposeConfig, HostAddress
from shipwright.targets.compose_hosts.target import ComposeHostsTarget

__all__ = ["ComposeConfig", "ComposeHostsTarget", "HostAddress"]
