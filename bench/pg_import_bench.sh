#!/usr/bin/env bash
# PostgreSQL import figures (issue 12): CLI import into an empty database, the same file again
# (every row an update), then an HTTP upload into an empty database through `serve` with one
# import worker, polled until the job ends. Prints times, RSS and the job's phases.
#
#   bench/pg_import_bench.sh BINARY CSV PG_ENV WORKDIR
#
# PG_ENV: the env file of `scripts/pg_test_cluster start DIR` (DIR/env). The database it names
# is wiped (its tables dropped) before each load. WORKDIR: a scratch CONTACTS_DATA_DIR.
set -euo pipefail
BIN=$(realpath "$1"); CSV=$2; PG_ENV=$3; WORK=$4
URL=$(sed -n 's/^CONTACTS_TEST_DATABASE_URL=//p' "$PG_ENV")
export CONTACTS_DATABASE_URL=$URL CONTACTS_DATA_DIR=$WORK
PORT=$(echo "$URL" | sed 's/.*:\([0-9]*\)\/.*/\1/')
P=(psql -h 127.0.0.1 -p "$PORT" -U contacts contacts -X -q -At)
wipe() {
  "${P[@]}" -c "DROP TABLE IF EXISTS contacts, store_meta, users, import_jobs, schema_migrations CASCADE"
  rm -rf "$WORK"; "$BIN" migrate >/dev/null
}
db_size() { "${P[@]}" -c "SELECT pg_size_pretty(pg_database_size(current_database()))"; }

echo "== CLI import, empty database"
wipe
/usr/bin/time -f "wall %e s, max RSS %M KB" "$BIN" import "$CSV" 2>&1 | grep -v '^\s*$' | tail -4
echo "database $(db_size)"
echo "== CLI import of the same file (every row an update)"
/usr/bin/time -f "wall %e s, max RSS %M KB" "$BIN" import "$CSV" 2>&1 | tail -3
echo "database $(db_size)"

echo "== HTTP upload, empty database"
wipe
HTTP_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
printf 'bench-password-1\n' | "$BIN" create-admin --username bench >/dev/null
CONTACTS_PORT=$HTTP_PORT CONTACTS_IMPORT_WORKERS=1 "$BIN" serve >"$WORK.serve.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
BASE=http://127.0.0.1:$HTTP_PORT
for _ in $(seq 1 300); do curl -fs "$BASE/readyz" >/dev/null && break; sleep 0.2; done
TOKEN=$(curl -fs -H 'Content-Type: application/json' \
  -d '{"username":"bench","password":"bench-password-1"}' "$BASE/api/auth/token/" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["access"])')
T0=$(date +%s.%N)
JOB=$(curl -fs -H "Authorization: Bearer $TOKEN" -F "file=@$CSV" "$BASE/api/contacts/import/" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["job_id"])')
T1=$(date +%s.%N)
while :; do
  STATUS=$(curl -fs -H "Authorization: Bearer $TOKEN" "$BASE/api/contacts/import/$JOB/" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])')
  [ "$STATUS" = completed ] || [ "$STATUS" = failed ] && break
  sleep 0.1
done
T2=$(date +%s.%N)
python3 -c "print('upload %.1f s; upload start -> $STATUS %.1f s' % ($T1 - $T0, $T2 - $T0))"
grep -h '"import job' "$WORK.serve.log" | tail -1
grep VmHWM "/proc/$SERVER/status"
