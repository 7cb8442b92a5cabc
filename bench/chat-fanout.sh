#!/usr/bin/env bash
# Chat fan-out benchmark: stagecast (gateway WebSockets + chat service + NATS) against
# nats-server's own WebSocket listener as the peer, same load, same machine, interleaved
# A/B rounds; prints each round and the medians with the ratio.
#
#   bench/chat-fanout.sh [connections] [senders] [rate msg/s] [seconds] [rounds]
#
# Defaults are a short smoke run. Everything runs on 127.0.0.1 with private ports and a
# temporary directory; release builds. BIN_DIR=<dir> runs binaries copied there instead of
# building (A/B of two builds of ours). PREFILL=<n> sends n messages to the room before the
# receivers connect, so their hello carries history (idle memory of a room that has talked).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/infra.sh

CONNS=${1:-200}; SENDERS=${2:-2}; RATE=${3:-100}; SECONDS_=${4:-5}; ROUNDS=${5:-3}

ensure_system_packages
BIN_DIR=${BIN_DIR:-}
if [ -z "$BIN_DIR" ]; then
  cargo build --release --bins -p stagecast-gateway -p stagecast-auth -p stagecast-events -p stagecast-chat-moderation -p stagecast-bench >&2
  BIN_DIR=./target/release
fi

dir=$(mktemp -d -t stagecast-bench.XXXXXX); chmod 755 "$dir"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  stop_postgres "$dir/pg"; stop_redis "$dir/redis"; stop_nats "$dir/nats"
  rm -rf "$dir"
}
trap cleanup EXIT

pg=$(free_port 35432); rd=$(free_port 36379); nt=$(free_port 34222); peer=$(free_port 34280)
PG_EXTRA_OPTS="-c fsync=off -c synchronous_commit=off" start_postgres "$dir/pg" "$pg"
as_pg_user psql -h 127.0.0.1 -p "$pg" -U postgres -qc "CREATE DATABASE stagecast"
start_redis "$dir/redis" "$rd"
start_nats "$dir/nats" "$nt"

export DATABASE_URL="postgres://postgres@127.0.0.1:$pg/stagecast" NATS_URL="nats://127.0.0.1:$nt" REDIS_URL="redis://127.0.0.1:$rd"
export AUTH_SIGNING_KEY=$(head -c32 /dev/urandom | base64) RUST_LOG=warn
a=$(free_port 35051); e=$(free_port 35052); c=$(free_port 35053); g=$(free_port 38080)
export AUTH_GRPC_ADDR=127.0.0.1:$a EVENTS_GRPC_ADDR=127.0.0.1:$e CHAT_GRPC_ADDR=127.0.0.1:$c GATEWAY_ADDR=127.0.0.1:$g
export AUTH_GRPC_URL=http://127.0.0.1:$a EVENTS_GRPC_URL=http://127.0.0.1:$e CHAT_GRPC_URL=http://127.0.0.1:$c
export SIGNUP_LIMIT_PER_HOUR=100000 LOGIN_LIMIT_PER_MINUTE=100000
for s in auth events chat-moderation gateway; do
  "$BIN_DIR/stagecast-$s" >"$dir/$s.log" 2>&1 &
  pids+=($!)
  eval "pid_${s//-/_}=$!"
done
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$g/readyz" >/dev/null 2>&1 && break; sleep 0.1; done

# The peer: nats-server with its WebSocket listener, no JetStream, nothing else.
cat >"$dir/peer.conf" <<CONF
listen: 127.0.0.1:$(free_port 34223)
websocket { listen: "127.0.0.1:$peer", no_tls: true }
CONF
"$(nats_bin)" -c "$dir/peer.conf" >"$dir/peer.log" 2>&1 &
peer_pid=$!; pids+=($peer_pid)
wait_for_port "$peer" nats-websocket

# Our system under test is every process a chat message passes through.
ours_pids="$pid_gateway,$pid_chat_moderation,$(cat "$dir/nats/nats.pid")"
gen="$BIN_DIR/chat_fanout"
results=()
for round in $(seq 1 "$ROUNDS"); do
  r1=$($gen --target stagecast --prefill "${PREFILL:-0}" --url "http://127.0.0.1:$g" --connections "$CONNS" --senders "$SENDERS" --rate "$RATE" --seconds "$SECONDS_" --pids "$ours_pids")
  echo "round $round $r1"; results+=("$r1")
  r2=$($gen --target nats --url "ws://127.0.0.1:$peer" --connections "$CONNS" --senders "$SENDERS" --rate "$RATE" --seconds "$SECONDS_" --pids "$peer_pid")
  echo "round $round $r2"; results+=("$r2")
done

printf '%s\n' "${results[@]}" | awk '
  function field(line, name,   i, n, kv) { n = split(line, kv, " "); for (i = 1; i <= n; i++) if (index(kv[i], name "=") == 1) return substr(kv[i], length(name) + 2); return "" }
  function median(arr, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (arr[j] < arr[i]) { t = arr[i]; arr[i] = arr[j]; arr[j] = t } return (n % 2) ? arr[(n + 1) / 2] : (arr[n / 2] + arr[n / 2 + 1]) / 2 }
  { t = field($0, "target"); k = ++n[t]; eff[t, k] = field($0, "delivered_per_cpu_s") + 0; p99[t, k] = field($0, "p99_ms") + 0; p50[t, k] = field($0, "p50_ms") + 0; rss[t, k] = field($0, "rss_per_idle_conn_kb") + 0; loss[t, k] = field($0, "loss") + 0 }
  END {
    for (t in n) { for (k = 1; k <= n[t]; k++) { a[k] = eff[t, k]; b[k] = p99[t, k]; c[k] = p50[t, k]; d[k] = rss[t, k]; l[k] = loss[t, k] }
      me[t] = median(a, n[t]); mp99[t] = median(b, n[t]); mp50[t] = median(c, n[t]); mr[t] = median(d, n[t]); ml[t] = median(l, n[t])
      printf "median %-9s delivered/cpu-s=%.0f p50_ms=%.2f p99_ms=%.2f rss_per_idle_conn_kb=%.1f loss=%.4f\n", t, me[t], mp50[t], mp99[t], mr[t], ml[t] }
    if (me["nats"] > 0) printf "ratio stagecast/nats-server delivered per CPU-second: %.2f (target >= 0.8)\n", me["stagecast"] / me["nats"]
  }'
