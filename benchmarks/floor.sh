#!/usr/bin/env bash
# The raw-shell floor of benchmarks/compose_deploy.py: the tool's blue-green steps done by
# hand -- plain ssh, sh, docker, nginx and curl; one ssh per host per phase; every host
# pulls first, then batches of hosts at once, each host starting the idle colour,
# waiting until it is ready, switching its own nginx and checking health through it.
# It runs its own app ("swfloor", own nginx port and slot ports) beside the tool's on
# the same hosts, so the two never touch each other's state.
#
#   FLOOR_HOSTS="10.0.0.10 10.0.0.11" SSH_USER=root SSH_KEY=key IMAGE=repo@sha256:… \
#   VERSION=v2 BATCH=1 PROXY_PORT=8090 BASE_PORT=3010 floor.sh deploy|warm|cold|stop
#
#   deploy  pull everywhere, then per batch: start the idle colour, ready, switch, health
#   warm    per batch: the idle colour runs VERSION already: ready, switch, health
#   cold    per batch: the idle colour holds VERSION, stopped: docker start, ready, switch
#   stop    stop the colour out of traffic (what the tool does once keep-warm is over)
set -euo pipefail
action=${1:?deploy, warm, cold or stop}
: "${FLOOR_HOSTS:?}" "${SSH_USER:?}" "${SSH_KEY:?}" "${VERSION:?}" "${BATCH:=1}"
: "${IMAGE:=}" "${PROXY_PORT:=8090}" "${BASE_PORT:=3010}" "${READY_TIMEOUT:=60}"
ssh_opts=(-i "$SSH_KEY" -o BatchMode=yes -o StrictHostKeyChecking=no
  -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ConnectTimeout=5)

# What every remote script starts with: its folder, which colour serves, which is idle.
prelude=$(printf 'VERSION=%q IMAGE=%q PROXY=%q BASE=%q READY=%q; ' \
  "$VERSION" "$IMAGE" "$PROXY_PORT" "$BASE_PORT" "$READY_TIMEOUT")
prelude+='set -e; D="${SHIPWRIGHT_HOST_ROOT:-/tmp}/swfloor"; mkdir -p "$D/nginx/logs" "$D/nginx/tmp"
active=$(cat "$D/active" 2>/dev/null || true)
if [ "$active" = blue ]; then new=green; port=$((BASE + 1)); else new=blue; port=$BASE; fi
'
pull='docker pull -q "$IMAGE" >/dev/null
'
start_new='umask 077
printf "PORT=%s\nHOST=127.0.0.1\nAPP_VERSION=%s\n" "$port" "$VERSION" > "$D/$new.env"
docker rm -f "swfloor-$new" >/dev/null 2>&1 || true
docker run -d --name "swfloor-$new" --network host --env-file "$D/$new.env" \
  --restart unless-stopped "$IMAGE" >/dev/null
'
start_cold='docker start "swfloor-$new" >/dev/null
'
ready='i=0; until curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/readyz"; do
  i=$((i + 1)); [ $i -lt $((READY * 10)) ] || { echo "not ready" >&2; exit 2; }; sleep 0.1; done
'
switch='[ -f "$D/nginx/nginx.conf" ] || cat > "$D/nginx/nginx.conf" <<EOF
worker_processes 1; pid $D/nginx/nginx.pid; error_log $D/nginx/logs/error.log warn;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $D/nginx/tmp/body; proxy_temp_path $D/nginx/tmp/proxy;
  fastcgi_temp_path $D/nginx/tmp/fcgi; uwsgi_temp_path $D/nginx/tmp/uwsgi; scgi_temp_path $D/nginx/tmp/scgi;
  include $D/nginx/upstream.conf;
  server { listen $PROXY; location / { proxy_pass http://app; proxy_http_version 1.1;
    proxy_set_header Connection ""; proxy_next_upstream error timeout; } } }
EOF
printf "upstream app { server 127.0.0.1:%s; }\n" "$port" > "$D/nginx/upstream.tmp"
mv -f "$D/nginx/upstream.tmp" "$D/nginx/upstream.conf"
nginx -t -q -c "$D/nginx/nginx.conf" -p "$D/nginx/"
if [ -f "$D/nginx/nginx.pid" ] && kill -0 "$(cat "$D/nginx/nginx.pid")" 2>/dev/null; then
  nginx -c "$D/nginx/nginx.conf" -p "$D/nginx/" -s reload
else nginx -c "$D/nginx/nginx.conf" -p "$D/nginx/"; fi
i=0; until curl -s --max-time 1 "http://127.0.0.1:$PROXY/version" | grep -q "\"version\":\"$VERSION\""; do
  i=$((i + 1)); [ $i -lt 100 ] || { echo "nginx did not switch" >&2; exit 5; }; sleep 0.05; done
echo "$new" > "$D/active"
for p in /health /livez /readyz; do curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$PROXY$p"; done
'
stop='[ -z "$active" ] || docker stop -t 5 "swfloor-$new" >/dev/null 2>&1 || true
'

# Run one script on the given hosts at once; fail if any host failed.
on_hosts() {
  local script=$1; shift
  local pids=() failed=0
  for host in "$@"; do
    ssh "${ssh_opts[@]}" "$SSH_USER@$host" "$prelude$script" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
  return $failed
}

# The same script, batch by batch.
in_batches() {
  local script=$1
  read -ra hosts <<<"$FLOOR_HOSTS"
  for ((i = 0; i < ${#hosts[@]}; i += BATCH)); do
    on_hosts "$script" "${hosts[@]:i:BATCH}"
  done
}

read -ra all <<<"$FLOOR_HOSTS"
case $action in
  deploy) on_hosts "$pull" "${all[@]}"; in_batches "$start_new$ready$switch" ;;
  warm) in_batches "$ready$switch" ;;
  cold) in_batches "$start_cold$ready$switch" ;;
  stop) on_hosts "$stop" "${all[@]}" ;;
  *) echo "unknown action: $action" >&2; exit 2 ;;
esac
