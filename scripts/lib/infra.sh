# shellcheck shell=bash
# Private infrastructure for stagecast: Postgres, Redis, NATS (JetStream) and an S3-compatible
# store, each started from Debian's packages under a data directory of ours on ports of ours, so
# nothing collides with servers a developer already runs. Sourced by scripts/up and scripts/test.

log() { printf '\033[1m[stagecast]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# Lets the SFU have the 4 MiB UDP buffers it asks for (docs/operations.md, "The SFU's socket
# buffers"): Linux's default maximum drops handshakes when hundreds join at once. Raised for this
# boot only; where it cannot be (a container without the right), the SFU warns and runs anyway.
ensure_socket_buffers() {
  local want=4194304 key now
  for key in rmem_max wmem_max; do
    now=$(cat "/proc/sys/net/core/$key" 2>/dev/null || echo "$want")
    if [ "$now" -lt "$want" ]; then
      if echo "$want" | as_root tee "/proc/sys/net/core/$key" >/dev/null 2>&1; then
        log "raised net.core.$key from $now to $want for the SFU's sockets"
      else
        log "cannot raise net.core.$key ($now): the SFU will warn of smaller socket buffers (see docs/operations.md)"
      fi
    fi
  done
}

# Installs whatever is missing among the system packages the platform needs.
ensure_system_packages() {
  local missing=()
  command -v curl >/dev/null || missing+=(curl ca-certificates)
  command -v cc >/dev/null || missing+=(build-essential)
  command -v pkg-config >/dev/null || missing+=(pkg-config)
  pg_bin >/dev/null 2>&1 || missing+=(postgresql)
  command -v redis-server >/dev/null || missing+=(redis-server)
  command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ] || missing+=(nats-server)
  # The egress worker: GStreamer to build against (gstreamer-rs) and the plugins its pipeline
  # uses (compositor, x264, AAC, VP8/H.264/Opus decoders, text overlays, rtmp2), ffprobe for its
  # tests, and nginx with its RTMP and stream modules (RTMPS through a TLS proxy; openssl makes the
  # test CA): the tests' stand-in for YouTube's and Twitch's ingest.
  local p
  for p in libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
    gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-x fonts-dejavu-core ffmpeg \
    nginx libnginx-mod-rtmp libnginx-mod-stream openssl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing system packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    # Do not let the package start its own cluster-wide servers on the default ports.
    as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
  if ! command -v cargo >/dev/null; then
    if [ -x "$HOME/.cargo/bin/cargo" ]; then
      export PATH="$HOME/.cargo/bin:$PATH"
    else
      log "installing the Rust toolchain (rustup)"
      curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal >/dev/null
      export PATH="$HOME/.cargo/bin:$PATH"
    fi
  fi
}

pg_bin() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$d" ] && [ -x "$d/initdb" ] || return 1
  echo "$d"
}

nats_bin() { command -v nats-server || echo /usr/sbin/nats-server; }

# Runs a command as the user that owns Postgres data (initdb refuses to run as root).
as_pg_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# Prints a free TCP port at or above $1.
free_port() {
  local p=$1
  while ! port_free "$p"; do p=$((p + 1)); done
  echo "$p"
}

wait_for_port() { # port name [seconds]
  local i
  for ((i = 0; i < ${3:-30} * 10; i++)); do
    port_free "$1" || return 0
    sleep 0.1
  done
  die "$2 did not start listening on port $1"
}

# start_postgres DIR PORT: initialises DIR once, then starts a server on 127.0.0.1:PORT.
start_postgres() {
  local dir=$1 port=$2 bin
  bin=$(pg_bin) || die "postgresql is not installed"
  mkdir -p "$dir"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; chmod 700 "$dir"; fi
  if [ ! -f "$dir/PG_VERSION" ]; then
    as_pg_user "$bin/initdb" -A trust -U postgres --no-sync -E UTF8 -D "$dir" >/dev/null
  fi
  as_pg_user "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 30 \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=400 ${PG_EXTRA_OPTS:-}" start >/dev/null \
    || { tail -n 20 "$dir/server.log" >&2; die "postgres did not start"; }
}

stop_postgres() { local bin; bin=$(pg_bin) && [ -f "$1/postmaster.pid" ] && as_pg_user "$bin/pg_ctl" -D "$1" -m fast -w stop >/dev/null 2>&1 || true; }

start_redis() { # DIR PORT
  mkdir -p "$1"
  redis-server --port "$2" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --pidfile "$1/redis.pid" --dir "$1" --logfile "$1/redis.log" >/dev/null
  wait_for_port "$2" redis
}

stop_redis() { [ -f "$1/redis.pid" ] && kill "$(cat "$1/redis.pid")" 2>/dev/null || true; }

start_nats() { # DIR PORT
  mkdir -p "$1"
  "$(nats_bin)" -a 127.0.0.1 -p "$2" -js -sd "$1" -P "$1/nats.pid" -l "$1/nats.log" &
  wait_for_port "$2" nats
}

stop_nats() { [ -f "$1/nats.pid" ] && kill "$(cat "$1/nats.pid")" 2>/dev/null || true; }

S3S_FS_VERSION=0.14.1
ensure_s3s_fs() {
  command -v s3s-fs >/dev/null && return 0
  [ -x "$HOME/.cargo/bin/s3s-fs" ] && return 0
  log "installing s3s-fs $S3S_FS_VERSION, the local S3-compatible store (first run only, a few minutes)"
  cargo install "s3s-fs@$S3S_FS_VERSION" --locked --features binary >/dev/null
}

start_s3() { # DIR PORT ACCESS_KEY SECRET_KEY
  mkdir -p "$1/data"
  local bin; bin=$(command -v s3s-fs || echo "$HOME/.cargo/bin/s3s-fs")
  "$bin" --access-key "$3" --secret-key "$4" --host 127.0.0.1 --port "$2" "$1/data" >"$1/s3.log" 2>&1 &
  echo $! >"$1/s3.pid"
  wait_for_port "$2" s3s-fs
}

stop_s3() { [ -f "$1/s3.pid" ] && kill "$(cat "$1/s3.pid")" 2>/dev/null || true; }

# Node.js 20.19+ for the web client. Debian/Ubuntu ship older ones; then a current Node is
# installed from the npm registry (package "node", which carries the binary) under .tools/.
ensure_node() {
  command -v npm >/dev/null || {
    log "installing nodejs and npm"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
  }
  local root; root=$(pwd)
  if [ -x "$root/.tools/node/node_modules/node/bin/node" ]; then
    export PATH="$root/.tools/node/node_modules/node/bin:$PATH"
  fi
  if ! node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' 2>/dev/null; then
    log "installing Node.js 22 into .tools/node (the system one is too old for the web client)"
    npm install --silent --prefix "$root/.tools/node" node@22 >/dev/null
    export PATH="$root/.tools/node/node_modules/node/bin:$PATH"
  fi
}

# Builds the web client into web/dist (installing its packages the first time).
build_web() {
  ensure_node
  ( cd web
    [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
    npm run --silent build >/dev/null )
}

ensure_chromium() {
  [ -x /usr/bin/chromium ] && return 0
  log "installing chromium (headless browser for the web tests)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
}

# schemathesis (PyPI), the contract test's request generator (tests/e2e/tests/contract.rs), in a
# virtualenv of its own; prints nothing, sets STAGECAST_SCHEMATHESIS.
SCHEMATHESIS_VERSION=4.32.5
ensure_schemathesis() {
  local venv="${XDG_CACHE_HOME:-$HOME/.cache}/stagecast/schemathesis-$SCHEMATHESIS_VERSION"
  if [ ! -x "$venv/bin/schemathesis" ]; then
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
      log "installing python3-venv (for the contract test's schemathesis)"
      as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
      as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    fi
    log "installing schemathesis $SCHEMATHESIS_VERSION (PyPI) for the contract test"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q "schemathesis==$SCHEMATHESIS_VERSION" >/dev/null
  fi
  export STAGECAST_SCHEMATHESIS="$venv/bin/schemathesis"
}

# What the WHIP publisher test (tests/e2e/tests/whip_gstreamer.rs) needs: GStreamer's webrtcbin
# (libnice, DTLS, VP8, Opus) driven from Debian's python3-gi, iproute2 for its private network
# namespace, and openssl for its DTLS certificate.
ensure_media_test_packages() {
  local p missing=()
  for p in gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad \
    gstreamer1.0-nice python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0 gir1.2-gst-plugins-bad-1.0 \
    iproute2 openssl; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing packages for the GStreamer WHIP test: ${missing[*]}"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}
