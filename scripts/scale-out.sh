#!/usr/bin/env bash
# mrs-assist past one machine, on one machine: every process of a scale-out deployment,
# all on 127.0.0.1 —
#   a Chroma server (`chroma run`), a PostgreSQL cluster (initdb in the state folder, run as the
#   `postgres` user when started as root), the index built once into the Chroma server
#   (`mrs-assist index`, the one builder), and N uvicorn workers sharing both, API keys required.
# Prints the URLs and keys, then serves until Ctrl-C; everything it started stops on exit.
#
# Usage: scripts/scale-out.sh [--workers N] [--port P] [--chroma-port P] [--pg-port P]
#                             [--dir DIR] [--keep] [--timeout S] [--load N [--concurrency C]]
#   --dir DIR   state folder (Chroma data, PostgreSQL cluster, keys, logs); default a new
#               /tmp/mrs-scale-out.XXXXXX, deleted on exit unless --keep
#   --load N    instead of serving: run the bounded mixed load (N requests, `python -m
#               tests/support/load.py`), check the records and the audit chain, print the
#               figures and exit with the load's status (0: no error, nothing lost)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$ROOT/.venv}
PY=$VENV/bin/python
CHROMA_BIN=$VENV/bin/chroma
MRS=$VENV/bin/mrs-assist

WORKERS=2 API_PORT=8000 CHROMA_PORT=8001 PG_PORT=5433 DIR="" KEEP=0 LOAD=0 CONCURRENCY=8 TIMEOUT=5
while [ $# -gt 0 ]; do
  case "$1" in
    --workers) WORKERS=$2; shift 2 ;;
    --port) API_PORT=$2; shift 2 ;;
    --chroma-port) CHROMA_PORT=$2; shift 2 ;;
    --pg-port) PG_PORT=$2; shift 2 ;;
    --dir) DIR=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --timeout) TIMEOUT=$2; shift 2 ;;
    --load) LOAD=$2; shift 2 ;;
    --concurrency) CONCURRENCY=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "scale-out: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

for exe in "$PY" "$CHROMA_BIN" "$MRS"; do
  [ -x "$exe" ] || { echo "scale-out: $exe not found; run 'make install' (or set VENV)" >&2; exit 1; }
done
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] || { echo "scale-out: PostgreSQL server binaries missing; run scripts/ensure-system-deps.sh postgres as root" >&2; exit 1; }

if [ -z "$DIR" ]; then DIR=$(mktemp -d /tmp/mrs-scale-out.XXXXXX); CREATED=1; else mkdir -p "$DIR"; CREATED=0; fi
DIR=$(cd "$DIR" && pwd)
chmod 755 "$DIR"  # the postgres user must reach its cluster folder
mkdir -p "$DIR/logs" "$DIR/data"
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres >/dev/null 2>&1 || useradd --system --no-create-home postgres
  as_pg=(runuser -u postgres --)
fi

API_PID="" CHROMA_PID=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  echo "scale-out: stopping everything it started" >&2
  if [ -n "$API_PID" ] && kill -0 "$API_PID" 2>/dev/null; then
    kill -TERM "$API_PID" 2>/dev/null || true          # uvicorn's master stops its workers
    for _ in $(seq 1 40); do kill -0 "$API_PID" 2>/dev/null || break; sleep 0.25; done
    kill -KILL "$API_PID" 2>/dev/null || true
  fi
  if [ -n "$CHROMA_PID" ]; then kill -TERM "$CHROMA_PID" 2>/dev/null || true; wait "$CHROMA_PID" 2>/dev/null || true; fi
  if [ -f "$DIR/pg/data/postmaster.pid" ]; then
    "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ "$KEEP" -eq 0 ] && [ "$CREATED" -eq 1 ]; then rm -rf "$DIR"; else echo "scale-out: state kept in $DIR" >&2; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_http() {  # URL SECONDS WHAT
  "$PY" - "$1" "$2" "$3" <<'EOF'
import sys, time, httpx
url, limit, what = sys.argv[1], float(sys.argv[2]), sys.argv[3]
deadline = time.monotonic() + limit
while True:
    try:
        if httpx.get(url, timeout=2).status_code == 200:
            break
    except httpx.HTTPError:
        pass
    if time.monotonic() > deadline:
        sys.exit(f"scale-out: {what} did not answer {url} within {limit:g} s")
    time.sleep(0.2)
EOF
}

# 1. PostgreSQL: the shared records database (durable defaults: fsync and synchronous_commit on).
mkdir -p "$DIR/pg"
[ ${#as_pg[@]} -gt 0 ] && chown postgres "$DIR/pg"
if [ ! -f "$DIR/pg/data/PG_VERSION" ]; then
  "${as_pg[@]}" "$PGBIN/initdb" -D "$DIR/pg/data" -U postgres -A trust -E UTF8 --locale=C >"$DIR/logs/initdb.log"
fi
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w -t 60 \
  -o "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1" start >/dev/null
"$PGBIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='mrs_assist'" \
  | grep -q 1 || "$PGBIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres mrs_assist
DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:$PG_PORT/mrs_assist"

# 2. Chroma: the shared vector store.
ANONYMIZED_TELEMETRY=False "$CHROMA_BIN" run --path "$DIR/chroma" --host 127.0.0.1 --port "$CHROMA_PORT" \
  >"$DIR/logs/chroma.log" 2>&1 &
CHROMA_PID=$!
CHROMA_URL="http://127.0.0.1:$CHROMA_PORT"
wait_http "$CHROMA_URL/api/v2/heartbeat" 60 "chroma run"

# 3. API keys: the file holds sha256 digests only; the keys are printed once, below.
read -r REVIEWER_KEY PHYSICIAN_KEY < <("$PY" - "$DIR/api-keys.yaml" <<'EOF'
import sys, yaml
from mrs_assist.auth import generate_api_key
(r, rd), (p, pd) = generate_api_key(), generate_api_key()
with open(sys.argv[1], "w") as fh:
    yaml.safe_dump({rd: {"user": "nurse-reviewer", "role": "reviewer"}, pd: {"user": "dr-physician", "role": "physician"}}, fh)
print(r, p)
EOF
)
chmod 600 "$DIR/api-keys.yaml"

# Every process of the deployment reads the same settings.
export MRS_ASSIST_CHROMA_URL=$CHROMA_URL
export MRS_ASSIST_DATABASE_URL=$DATABASE_URL
export MRS_ASSIST_AUTH=on
export MRS_ASSIST_API_KEYS_FILE=$DIR/api-keys.yaml
export MRS_ASSIST_DATA_DIR=$DIR/data   # the builder's manifest and write lock (local to it)
export MRS_ASSIST_BACKEND_TIMEOUT_SECONDS=$TIMEOUT
export MRS_ASSIST_RATE_LIMIT_PER_MINUTE=${MRS_ASSIST_RATE_LIMIT_PER_MINUTE:-6000}  # per key, per worker
export TOKENIZERS_PARALLELISM=false

# 4. The index, built once into the Chroma server (only one process builds at a time).
echo "scale-out: building the index into $CHROMA_URL ..." >&2
"$MRS" index

# 5. N stateless API workers sharing Chroma and PostgreSQL (migrations run once, under a lock).
"$PY" -m uvicorn mrs_assist.api.asgi:app --host 127.0.0.1 --port "$API_PORT" --workers "$WORKERS" \
  --log-level warning >"$DIR/logs/api.log" 2>&1 &
API_PID=$!
API_URL="http://127.0.0.1:$API_PORT"
wait_http "$API_URL/healthz" 120 "the API"
wait_http "$API_URL/readyz" 60 "the API's readiness"

cat <<EOF
mrs-assist scale-out is up ($WORKERS workers; state in $DIR)
  API, workbench   $API_URL/         (OpenAPI docs: $API_URL/docs)
  liveness         $API_URL/healthz
  readiness        $API_URL/readyz
  Chroma server    $CHROMA_URL
  PostgreSQL       $DATABASE_URL
  reviewer key     $REVIEWER_KEY
  physician key    $PHYSICIAN_KEY
  try: curl -s -H 'X-API-Key: $REVIEWER_KEY' -H 'Content-Type: application/json' \\
         -d '{"question": "Does NIA cover MRS for glioma grading?"}' $API_URL/v1/ask
EOF

if [ "$LOAD" -gt 0 ]; then
  "$PY" "$ROOT/tests/support/load.py" --url "$API_URL" --requests "$LOAD" --concurrency "$CONCURRENCY" \
    --api-key "$REVIEWER_KEY" --database-url "$DATABASE_URL"
  exit $?
fi
echo "Ctrl-C stops everything." >&2
wait "$API_PID"
