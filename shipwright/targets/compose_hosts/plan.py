"""The plan of a deploy or rollback: the exact commands per host, in order.

Why: built from the same command builders the rollout runs, so ``--dry-run`` shows
what would really be sent -- without connecting when the hosts' state is unknown
(then the idle slot is shown as "blue or green").
"""

from __future__ import annotations

from shipwright.domain import Plan, Release
from shipwright.targets.compose_hosts import commands as cmd
from shipwright.targets.compose_hosts import nginx
from shipwright.targets.compose_hosts.config import ComposeConfig
from shipwright.targets.compose_hosts.rollout import batches
from shipwright.targets.compose_hosts.switcher import LOOPBACK


def host_steps(
    layout: cmd.Layout, release: Release, config: ComposeConfig, serving: str | None
) -> list[str]:
    """The commands one host gets; ``serving`` is its serving slot (None: unknown/none)."""
    new = cmd.other_slot(serving)
    port = cmd.slot_port(new, config.port)
    ready = f"http://{LOOPBACK}:{port}{config.ready_path}"
    steps = [
        f"{cmd.prepare(layout)} && {cmd.pull(release.image, config.pull_registry)}"
        if config.pull_images
        else cmd.prepare(layout),
        f"upload the app environment (PORT={port}) to {layout.env_file(new)} (mode 0600)",
        cmd.run_container(layout, release, new, config.drain_seconds, config.pull_registry),
        cmd.wait_ready(layout, new, ready, config.ready_timeout),
        nginx.switch_and_gate(
            layout,
            new,
            LOOPBACK,
            port,
            config.proxy_port,
            list(config.health_paths),
            keep_warm=config.keep_warm,
            bind=config.proxy_bind,
        ),
    ]
    if serving and config.keep_warm:
        steps.append(
            f"keep {serving} running out of traffic for {config.keep_warm}s (a rollback is "
            "then the switch alone); the next run after that stops it"
        )
    elif serving:
        steps.append(
            f"after the last batch: {cmd.stop_container(layout, serving, config.drain_seconds)}"
        )
    return steps


def build_plan(
    release: Release,
    config: ComposeConfig,
    layouts: dict[str, cmd.Layout],
    serving: dict[str, str | None],
    action: str = "deploy",
) -> Plan:
    plan = Plan(target="compose", release=release)
    names = [h.name for h in config.hosts]
    groups = batches(names, config.batch_size)
    plan.steps.append(
        f"{action} {release.version} ({cmd.by_digest(release.image)}) to {len(names)} host(s) "
        f"in {len(groups)} batch(es) of {config.batch_size}; every host pulls before any switches"
    )
    for number, group in enumerate(groups, 1):
        plan.steps.append(
            f"batch {number}: {', '.join(group)} (health gate through nginx after it)"
        )
        for name in group:
            slot = serving.get(name)
            if slot is None:
                plan.steps.append(f"[{name}] idle slot: blue, or green if blue serves")
            for step in host_steps(layouts[name], release, config, slot):
                plan.steps.append(f"[{name}] {step}")
    if action == "rollback":
        plan.steps.append(
            "where the idle slot already holds the release: no pull and no new container "
            "(running: switch only; stopped: docker start, then ready and switch)"
        )
    plan.steps.append(
        "on any failure or Ctrl-C: switch every switched host back, remove new containers"
    )
    return plan
