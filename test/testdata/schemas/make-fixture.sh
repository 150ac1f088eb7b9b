#!/usr/bin/env bash
# make-fixture.sh COMMIT: builds both programs as they were at COMMIT, has
# them make the databases a mission and HQ would have after some use (an
# enrolled mission with demo data, synced; HQ with demo missions too),
# and keeps them here as NNN-COMMIT/ (NNN: the commit's place in main's
# history), compacted and gzipped, with the row
# count of every table. TestUpgradeFromEveryRelease opens each with the
# programs as they are now. Run from the repository: make schema-fixture
# adds the current commit's.
set -euo pipefail
commit=$(git rev-parse --short=12 "${1:?usage: make-fixture.sh COMMIT}")
here=$(cd "$(dirname "$0")" && pwd)
out="$here/$(printf '%03d' "$(git rev-list --count "$commit" --)")-$commit" # in the order of main's history
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; git worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

git worktree add --detach "$work/src" "$commit" >/dev/null 2>&1
(cd "$work/src" && CGO_ENABLED=0 go build -o "$work/chancery-agent" ./agent/cmd/chancery-agent && CGO_ENABLED=0 go build -o "$work/chancery-hq" ./hq/cmd/chancery-hq)
agent="$work/chancery-agent"; hq="$work/chancery-hq"
mkdir -p "$work/hq" "$work/agent"
port=$((20000 + RANDOM % 20000))
"$hq" serve --data "$work/hq" --addr "127.0.0.1:$port" >"$work/hq.log" 2>&1 &
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
"$hq" mission add --data "$work/hq" --code FR-PAR --name "Embassy in Paris" --country France --city Paris >/dev/null
code=$("$hq" mission code --data "$work/hq" --code FR-PAR | grep -oE '[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}' | head -1)
"$agent" enroll --data "$work/agent" --hq "http://127.0.0.1:$port" --code "$code" --mission FR-PAR >/dev/null
"$agent" demo --data "$work/agent" --seed fixture >/dev/null
"$agent" sync --data "$work/agent" >/dev/null
"$hq" demo --data "$work/hq" --missions 4 --snapshots 3 >/dev/null
kill -TERM %1; wait %1 || true

rm -rf "$out"; mkdir -p "$out"
for p in agent hq; do
	db="$work/$p/$p.db"
	sqlite3 "$db" "VACUUM INTO '$out/$p.db'"
	for t in $(sqlite3 "$out/$p.db" "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"); do
		echo "$t $(sqlite3 "$out/$p.db" "SELECT count(*) FROM \"$t\"")"
	done >"$out/$p.rows"
	gzip -9n "$out/$p.db"
	for k in "$work/$p"/*.key; do [ -e "$k" ] && cp "$k" "$out/$p-$(basename "$k")"; done
done
echo "$commit $(git log -1 --format='%cs %s' "$commit" | cut -c1-100)" >"$out/COMMIT"
du -sh "$out"
