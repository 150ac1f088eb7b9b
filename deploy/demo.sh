#!/usr/bin/env bash
# Starts Chancery on loopback for a look around: headquarters and three
# demo missions, each an agent with its own database, enrolled with HQ and
# syncing every minute. Everything lives in .run/; delete it to start over.
# Used by `make run`; stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

# Overridable for tests: where the binaries are, where the data goes, and
# the ports (HQ on HQ_PORT, the missions on AGENT_PORT, +1, +2, and they
# meet each other as peers on RELAY_PORT, +1, +2).
BIN=${CHANCERY_BIN:-bin}
RUN=${CHANCERY_RUN:-.run}
HQ_PORT=${HQ_PORT:-8090}
AGENT_PORT=${AGENT_PORT:-8081}
RELAY_PORT=${RELAY_PORT:-7946}
mkdir -p "$RUN"
# The demo missions share a network, and a gossip key.
test -s "$RUN/relay-key" || (head -c 32 /dev/urandom | base64 >"$RUN/relay-key")
RELAY_KEY=$(cat "$RUN/relay-key")
# 600 random bytes hold about 145 letters and digits; every command in the
# pipe reads to the end, so none dies of a closed pipe under pipefail.
test -s "$RUN/admin-password" || (head -c 600 /dev/urandom | LC_ALL=C tr -dc 'A-Za-z0-9' | cut -c1-20 >"$RUN/admin-password")
PASSWORD=$(cat "$RUN/admin-password")

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

# wait_for LOG: waits until a program has printed the line that says where
# it listens.
wait_for() {
  for _ in $(seq 1 100); do
    grep -q 'http://' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "It did not start; see $1:" >&2
  cat "$1" >&2
  exit 1
}

CHANCERY_HQ_ADMIN_PASSWORD="$PASSWORD" "$BIN/chancery-hq" serve --addr "127.0.0.1:$HQ_PORT" --data "$RUN/hq" >"$RUN/hq.log" 2>&1 &
pids+=($!)
wait_for "$RUN/hq.log"
HQ="http://127.0.0.1:$HQ_PORT"

# code name city country region lat lon port
missions=(
  "FR-PAR|Embassy in Paris|Paris|France|Europe|48.8566|2.3522|$AGENT_PORT"
  "KE-NBO|Embassy in Nairobi|Nairobi|Kenya|Africa|-1.2921|36.8219|$((AGENT_PORT + 1))"
  "SG-SIN|Embassy in Singapore|Singapore|Singapore|Asia and Pacific|1.3521|103.8198|$((AGENT_PORT + 2))"
)
urls=()
i=0
seed=""
for m in "${missions[@]}"; do
  IFS='|' read -r code name city country region lat lon port <<<"$m"
  data="$RUN/$code"
  if [ ! -s "$data/enrolled" ]; then
    "$BIN/chancery-hq" mission add --data "$RUN/hq" --demo --code "$code" --name "$name" \
      --city "$city" --country "$country" --region "$region" --lat "$lat" --lon "$lon" >/dev/null 2>&1 || true
    enroll=$("$BIN/chancery-hq" mission code --data "$RUN/hq" --code "$code" | grep -o '[A-Z2-7]\{4\}-[A-Z2-7]\{4\}-[A-Z2-7]\{4\}-[A-Z2-7]\{4\}')
    CHANCERY_AGENT_ADMIN_PASSWORD="$PASSWORD" "$BIN/chancery-agent" demo --data "$data" --seed "$code" >/dev/null
    "$BIN/chancery-agent" enroll --data "$data" --hq "$HQ" --code "$enroll" --mission "$code" >/dev/null
    echo yes >"$data/enrolled"
  fi
  relay="127.0.0.1:$((RELAY_PORT + i))"
  CHANCERY_AGENT_ADMIN_PASSWORD="$PASSWORD" "$BIN/chancery-agent" serve --addr "127.0.0.1:$port" --data "$data" \
    --mission-name "$name (demo data)" --sync-schedule "@every 1m" \
    --relay-bind "$relay" --relay-key "$RELAY_KEY" ${seed:+--relay-seeds "$seed"} >"$RUN/$code.log" 2>&1 &
  seed=${seed:-$relay}
  i=$((i + 1))
  pids+=($!)
  wait_for "$RUN/$code.log"
  "$BIN/chancery-agent" sync --data "$data" >/dev/null 2>&1 || true
  urls+=("  $name (demo):  http://127.0.0.1:$port/")
done

# Fill the map: demo missions in capitals around the world, with a year of
# sign-offs. Codes already registered (the three above) are left alone.
if [ ! -s "$RUN/hq/demo-filled" ]; then
  "$BIN/chancery-hq" demo --data "$RUN/hq" --missions 60 >/dev/null
  echo yes >"$RUN/hq/demo-filled"
fi

cat <<MSG

Chancery is running on this machine only (loopback).

  Headquarters:            $HQ/   (the readiness map: about 60 missions, all demo data)
$(printf '%s\n' "${urls[@]}")

Log in to any of them as:  admin / $PASSWORD
(the password is kept in $RUN/admin-password; logs are in $RUN/*.log)

The missions sync with HQ every minute. Answer an item at a mission, press
"Sync now" on its Sync page, and see it at HQ. The three missions share a
network: their Peers pages show each other, and what they carry for each
other when one cannot reach HQ. Ctrl-C stops everything.
MSG
wait
