#!/usr/bin/env bash
# Media token minting against LiveKit's Node server SDK in the same run: bench/src/bin/token_mint.rs
# with bench/livekit-mint.mjs as the peer (installed here under bench/node_modules on first use).
#
#   bench/token-mint.sh [tokens per round] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/infra.sh

command -v node >/dev/null || die "node is needed for the peer (scripts/test installs it)"
if [ ! -d bench/node_modules/livekit-server-sdk ]; then
  log "installing livekit-server-sdk 2.19.2 (npm), the peer"
  npm install --prefix bench --no-save --no-package-lock --silent livekit-server-sdk@2.19.2 >/dev/null
fi
cargo build --release -p stagecast-bench --bin token_mint >&2
LIVEKIT_MINT=$PWD/bench/livekit-mint.mjs "${CARGO_TARGET_DIR:-target}/release/token_mint" "${1:-20000}" "${2:-5}"
