#!/usr/bin/env bash
# SFU forwarding against Janus 1.1.2 (Debian's `janus` package, streaming plugin) in the same
# run: bench/src/bin/sfu_forward.rs with a Janus round before each of its SFU and null-forwarder
# rounds, same shape, same str0m viewers, CPU per forwarded packet.
#
#   bench/sfu-vs-janus.sh [audio|video] [publishers] [subscribers] [seconds] [rounds]
#
# Janus's ICE (libnice) does not use loopback addresses, so everything runs in a private network
# namespace with a veth interface (10.99.0.1) as the only non-loopback address; our SFU and the
# null forwarder stay on 127.0.0.1 there, as in the plain run. Needs root (or unprivileged user
# namespaces) for `unshare`, and installs janus if it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/infra.sh

SHAPE=${1:-audio}
PUBS=${2:-$([ "$SHAPE" = video ] && echo 1 || echo 10)}
SUBS=${3:-20}; SECS=${4:-5}; ROUNDS=${5:-3}

command -v janus >/dev/null || {
  log "installing janus (Debian), the peer"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends janus >/dev/null
}
cargo build --release -p stagecast-bench --bin sfu_forward >&2

dir=$(mktemp -d -t stagecast-janus.XXXXXX)
trap 'rm -rf "$dir"' EXIT
lib=$(dirname "$(dpkg -L janus | grep -m1 '/janus/plugins/libjanus_streaming.so$')")/..
IP=10.99.0.1; RTP_PORT=5000; HTTP_PORT=8088

# Only the streaming plugin and the HTTP transport; no event handlers or loggers.
disable_all() { (cd "$lib/$1" && ls *.so | grep -v "$2" | paste -sd, -); }
cat >"$dir/janus.jcfg" <<CONF
general: {
  configs_folder = "$dir"
  plugins_folder = "$lib/plugins"
  transports_folder = "$lib/transports"
  events_folder = "$lib/events"
  loggers_folder = "$lib/loggers"
  debug_level = 2
}
plugins: { disable = "$(disable_all plugins libjanus_streaming.so)" }
transports: { disable = "$(disable_all transports libjanus_http.so)" }
events: { broadcast = false disable = "$(disable_all events NONE)" }
loggers: { disable = "$(disable_all loggers NONE)" }
media: { rtp_port_range = "20000-40000" }
nat: { ice_enforce_list = "$IP" }
CONF
cat >"$dir/janus.transport.http.jcfg" <<CONF
general: { json = "compact" base_path = "/janus" http = true port = $HTTP_PORT ip = "$IP" https = false }
admin: { admin_http = false }
CONF
{
  echo 'general: { }'
  echo 'bench: {'
  echo '  type = "rtp"'
  echo '  id = 1'
  echo '  description = "stagecast bench"'
  echo '  media = ('
  for i in $(seq 0 $((PUBS - 1))); do
    sep=$([ "$i" -lt $((PUBS - 1)) ] && echo , || true)
    if [ "$SHAPE" = video ]; then
      echo "    { type = \"video\" mid = \"v$i\" port = $((RTP_PORT + 2 * i)) pt = 96 codec = \"vp8\" }$sep"
    else
      echo "    { type = \"audio\" mid = \"a$i\" port = $((RTP_PORT + 2 * i)) pt = 111 codec = \"opus\" }$sep"
    fi
  done
  echo '  )'
  echo '}'
} >"$dir/janus.plugin.streaming.jcfg"

# One process tree in the namespace: the interface, Janus, then the benchmark (which finds Janus
# by the pid it is given). Loops are bounded by the benchmark's own rounds.
as_root unshare --net --fork bash -c '
  set -euo pipefail
  ip link set lo up
  ip link add d0 type veth peer name d1
  ip addr add '"$IP"'/24 dev d0
  ip link set d0 up
  ip link set d1 up
  janus -C "'"$dir"'/janus.jcfg" -F "'"$dir"'" >"'"$dir"'/janus.log" 2>&1 &
  jpid=$!
  for _ in $(seq 1 100); do
    curl -fsS "http://'"$IP:$HTTP_PORT"'/janus/info" >/dev/null 2>&1 && break
    sleep 0.1
  done
  curl -fsS "http://'"$IP:$HTTP_PORT"'/janus/info" >/dev/null || { tail -20 "'"$dir"'/janus.log" >&2; exit 1; }
  JANUS_URL="http://'"$IP:$HTTP_PORT"'/janus" JANUS_RTP="'"$IP:$RTP_PORT"'" JANUS_PID=$jpid \
    ./target/release/sfu_forward '"$SHAPE $PUBS $SUBS $SECS $ROUNDS"' || { tail -20 "'"$dir"'/janus.log" >&2; kill $jpid; exit 1; }
  kill $jpid; wait $jpid 2>/dev/null || true
'
