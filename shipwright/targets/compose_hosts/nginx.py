"""The host's own nginx, as shell commands: its config, the switch between the colours,
waiting for its old workers, and stopping the colour out of traffic once its keep-warm
time is over.

Why apart from ``commands``: the switch is where zero downtime is won or lost -- an
atomic upstream file, ``nginx -t``, a graceful reload, the new generation answering --
and the colour nginx left must not stop before nginx's old workers are done with it.
"""

from __future__ import annotations

import secrets

from shipwright.targets.compose_hosts.commands import (
    SLOTS,
    Layout,
    health,
    other_slot,
    path,
    prepare,
    q,
    write_file,
)

#: nginx answers the generation of its loaded upstream file here (switch waits for it).
GENERATION_PATH = "/__shipwright/generation"


def nginx_conf(layout: Layout, listen: int, bind: str = "") -> str:
    """The host's own nginx: the upstream (the serving slot) and a generation marker
    come from one included file, so a switch is one atomic file move. ``bind``: one
    address to listen on (this machine's loopback for the local default), else all."""
    tmp = f"{layout.nginx}/tmp"
    return f"""\
worker_processes 1;
pid {layout.nginx}/nginx.pid;
error_log {layout.nginx}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  include {layout.upstream};
  server {{
    listen {f"{bind}:{listen}" if bind else listen};
    location = {GENERATION_PATH} {{
      access_log off;
      default_type text/plain;
      return 200 "$shipwright_generation";
    }}
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_next_upstream error timeout;
    }}
  }}
}}
"""


def write_nginx_conf(layout: Layout, listen: int, bind: str = "") -> str:
    return write_file(layout.nginx_conf, nginx_conf(layout, listen, bind))


def upstream(address: str, port: int, generation: str) -> str:
    return (
        f"upstream app {{ server {address}:{port}; }}\n"
        f'map $host $shipwright_generation {{ default "{generation}"; }}\n'
    )


#: Printed by :func:`switch` right before nginx reloads, and once the new upstream answers.
SWITCHING, SWITCHED = "@switching", "@switched"


def switch(
    layout: Layout,
    slot: str,
    address: str,
    port: int,
    listen: int,
    generation: str | None = None,
    keep_warm: int = 0,
    bind: str = "",
) -> str:
    """Point nginx at ``slot``: new upstream file (temp + mv), ``nginx -t``, reload -- or
    start nginx when it is not running -- then poll until the new ``generation`` answers
    and the old workers have exited: from then on every connection reaches a new worker
    (checks right after a fast switch-back must not meet the colour it left), and the
    old slot only finished requests already in flight. The colour it leaves is marked
    warm for ``keep_warm`` seconds (it keeps running; :func:`stop_cold` stops it once
    that has passed)."""
    generation = generation or f"{slot}-{secrets.token_hex(4)}"
    nginx = f"nginx -c {path(layout.nginx_conf)} -p {path(layout.nginx + '/')}"
    pid = path(f"{layout.nginx}/nginx.pid")
    up, prev = path(layout.upstream), path(layout.upstream + ".prev")
    marker = q(f"http://{bind or '127.0.0.1'}:{listen}{GENERATION_PATH}")
    fetch = (
        f"{{ if command -v curl >/dev/null; then curl -s --max-time 1 {marker}; "
        f"else wget -q -O - -T 1 {marker}; fi; }} 2>/dev/null"
    )
    warm, tmp = path(layout.warm), path(layout.warm + ".tmp")
    left = other_slot(slot)
    mark_warm = (
        f"printf '%s %s\\n' {left} \"$(( $(date +%s) + {int(keep_warm)} ))\" > {tmp} "
        f"&& mv -f {tmp} {warm}"
        if keep_warm > 0
        else f"rm -f {warm}"
    )
    return "; ".join(
        [
            "set -e",
            prepare(layout),
            write_nginx_conf(layout, listen, bind),
            f"[ -f {up} ] && cp -f {up} {prev} || true",
            write_file(layout.upstream, upstream(address, port, generation)),
            f"if ! {nginx} -t -q; then [ -f {prev} ] && mv -f {prev} {up}; exit 4; fi",
            adopt_orphan(layout),
            f"echo {SWITCHING}",
            f'if [ -f {pid} ] && kill -0 "$(cat {pid})" 2>/dev/null; '
            f"then {nginx} -s reload; else {nginx}; fi",
            f'i=0; until [ "$({fetch} || true)" = {q(generation)} ]; do i=$((i+1)); '
            f"[ $i -lt 100 ] || {{ echo 'nginx did not load the new upstream'; exit 5; }}; "
            "sleep 0.05; done",
            settled(layout),  # an old worker may still accept new connections until it exits
            write_file(layout.active, slot + "\n"),
            mark_warm,
            f"echo {SWITCHED}",
        ]
    )


def switch_and_gate(
    layout: Layout, slot: str, address: str, port: int, listen: int, paths: list[str], **kw
) -> str:
    """The switch, then the health paths through the host's nginx: what users reach now."""
    through = kw.get("bind") or "127.0.0.1"
    return f"{switch(layout, slot, address, port, listen, **kw)}; {health(listen, paths, through)}"


def master_pid(layout: Layout) -> str:
    """A shell snippet printing the pid of this layout's nginx master: from its pid file,
    or -- when that is gone (the state directory removed, or the project cloned again into
    the same folder, while nginx ran) -- found by the config path on the master's title."""
    pid, conf = path(f"{layout.nginx}/nginx.pid"), path(layout.nginx_conf)
    return (
        f'{{ if [ -f {pid} ] && kill -0 "$(cat {pid})" 2>/dev/null; then cat {pid}; '
        "else for d in /proc/[0-9]*; do "
        "t=$(tr '\\000' ' ' < \"$d/cmdline\" 2>/dev/null) || continue; "
        f'case "$t" in "nginx: master process "*" -c "{conf}" "*) '
        'echo "${d#/proc/}"; break;; esac; done; fi; }'
    )


def adopt_orphan(layout: Layout) -> str:
    """Write back the pid of an nginx of this layout that lost its pid file, so the
    switch reloads it rather than start a second one that cannot bind the port."""
    pid = path(f"{layout.nginx}/nginx.pid")
    return f'm=$({master_pid(layout)}); if [ -n "$m" ]; then echo "$m" > {pid}; fi'


def settled(layout: Layout, timeout: float = 10) -> str:
    """Wait (up to ``timeout`` s) until nginx's old workers have exited: they still proxy
    the requests they had when it reloaded, to the colour it left, which must not stop
    (or go) before them."""
    pid = path(f"{layout.nginx}/nginx.pid")
    count = '$( { pgrep -P "$m" 2>/dev/null || ps -o pid= --ppid "$m" 2>/dev/null; } | wc -l)'
    return (
        f"m=$(cat {pid} 2>/dev/null); i=0; "
        f'while [ -n "$m" ] && [ "{count}" -gt 1 ] && [ $i -lt {int(timeout / 0.05)} ]; '
        "do sleep 0.05; i=$((i+1)); done"
    )


def stop_cold(layout: Layout, timeout: int) -> str:
    """Stop the colour out of traffic once its keep-warm time has passed (or when it is
    not marked warm at all); prints ``stopped <slot>`` when it stopped one."""
    active, warm = path(layout.active), path(layout.warm)
    names = " ".join(f"{s}) name={q(layout.container(s))};;" for s in SLOTS)
    return (
        f'active=$(cat {active} 2>/dev/null); [ -n "$active" ] && {{ '
        f"read -r wslot wuntil 2>/dev/null < {warm} || true; idle={SLOTS[0]}; "
        f'[ "$active" = {SLOTS[0]} ] && idle={SLOTS[1]}; '
        f'case "$idle" in {names} esac; '
        f'if [ "$wslot" != "$idle" ] || [ "$(date +%s)" -ge "${{wuntil:-0}}" ]; then '
        f'if [ "$(docker inspect -f {{{{.State.Running}}}} "$name" 2>/dev/null)" = true ]; then '
        f"{settled(layout)}; "
        f'docker stop -t {int(timeout)} "$name" >/dev/null 2>&1 && echo "stopped $idle"; '
        "fi; fi; }; true"
    )
