#!/usr/bin/env bash
# Throughput of a Go service doing one database call per request (dist/src/test/go/datademo): untraced, traced by the
# full agent, and with the same probes attached but nothing consuming the ring buffer (the kernel floor), in one run,
# for database/sql over lib/pq, pgx's native API and go-redis, against a PostgreSQL and a Redis started here on
# loopback. Then the uprobe hits per request, counted by the kernel (kernel.bpf_stats_enabled, switched on for that
# count only and restored).
# Usage: dist/bench/db-throughput.sh [seconds-per-run]   (needs root, wrk, postgresql, redis-server, a built
# distribution, a Go >= 1.24 at $GOSCOPE_GO_MODULES or /usr/local/go)
set -euo pipefail
cd "$(dirname "$0")/../.."
DUR=${1:-10}
HOME_DIR=$PWD/dist/target/goscope
GOROOT_MODULES=${GOSCOPE_GO_MODULES:-/usr/local/go}
command -v wrk >/dev/null || { echo "db-throughput.sh: wrk missing (apt-get install wrk)" >&2; exit 1; }
[ -x "$HOME_DIR/bin/goscope" ] || { echo "db-throughput.sh: build first (make build)" >&2; exit 1; }
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
WORK=$(mktemp -d /tmp/goscope-dbbench.XXXXXX)
chmod 755 "$WORK"
cleanup() {
  [ -n "${APID:-}" ] && kill "$APID" 2>/dev/null
  [ -n "${SPID:-}" ] && kill "$SPID" 2>/dev/null
  [ -n "${RPID:-}" ] && kill "$RPID" 2>/dev/null
  [ -d "$WORK/pg/data" ] && runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m immediate stop >/dev/null 2>&1
  [ -n "${STATS_BEFORE:-}" ] && sysctl -q kernel.bpf_stats_enabled="$STATS_BEFORE"
  rm -rf "$WORK"
}
trap cleanup EXIT

# The service, built like the e2e tests build it.
(cd dist/src/test/go/datademo && GOROOT=$GOROOT_MODULES GOTOOLCHAIN=local GOFLAGS=-mod=readonly CGO_ENABLED=1 \
  "$GOROOT_MODULES/bin/go" build -o "$WORK/datademo" .)

# PostgreSQL and Redis on loopback, as their system users.
PGPORT=$((20000 + RANDOM % 10000)); RPORT=$((30000 + RANDOM % 10000)); PORT=$((40000 + RANDOM % 10000))
mkdir -p "$WORK/pg" "$WORK/redis" && chown postgres:postgres "$WORK/pg" && chown redis:redis "$WORK/redis"
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg/data" -A trust -U postgres --no-sync >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg/data" -w -l "$WORK/pg/log" \
  -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off" start >/dev/null
runuser -u postgres -- "$PGBIN/psql" -q -h 127.0.0.1 -p $PGPORT -U postgres -c "CREATE DATABASE goscope"
runuser -u redis -- redis-server --port $RPORT --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK/redis" \
  >"$WORK/redis/log" 2>&1 &
RPID=$!
"$WORK/datademo" -addr 127.0.0.1:$PORT -pg "host=127.0.0.1 port=$PGPORT user=postgres dbname=goscope sslmode=disable" \
  -redis 127.0.0.1:$RPORT >"$WORK/server.log" 2>&1 &
SPID=$!
for _ in $(seq 1 100); do grep -q listening "$WORK/server.log" && break; sleep 0.1; done

rps() { wrk -t1 -c8 -d${DUR}s "http://127.0.0.1:$PORT$1" | awk '/Requests\/sec/ {print $2}'; }
agent() { # $1 = drain interval, $2 = plugins disabled (optional)
  env GO_APPS=datademo OTEL_TRACES_EXPORTER=none OTEL_METRICS_EXPORTER=none GOSCOPE_DRAIN_INTERVAL=$1 \
    GOSCOPE_PLUGINS_DISABLED=${2:-} "$HOME_DIR/bin/goscope" agent >"$WORK/agent-$1.log" 2>&1 &
  APID=$!
  for _ in $(seq 1 600); do grep -q "process instrumented pid=$SPID" "$WORK/agent-$1.log" && return 0; sleep 0.1; done
  echo "agent did not attach; log:" >&2; cat "$WORK/agent-$1.log" >&2; exit 1
}
stop_agent() { kill -TERM $APID; wait $APID || true; APID=; }
calc() { awk "BEGIN { print $1 }"; }

PATHS="/sql/postgres/one /pgx/one /redis/one"
declare -A base traced floor httponly base2
for p in $PATHS; do wrk -t1 -c8 -d2s "http://127.0.0.1:$PORT$p" >/dev/null; base[$p]=$(rps $p); done
warm() { for p in $PATHS; do wrk -t1 -c8 -d2s "http://127.0.0.1:$PORT$p" >/dev/null; done; }
agent 10ms; warm; for p in $PATHS; do traced[$p]=$(rps $p); done; stop_agent
agent 1h; warm; for p in $PATHS; do floor[$p]=$(rps $p); done; stop_agent
# the same floor without the data-layer probe sets: what their two hits per call cost on top of net/http's
agent 1h databasesql,pgx,redis; warm; for p in $PATHS; do httponly[$p]=$(rps $p); done; stop_agent
for p in $PATHS; do base2[$p]=$(rps $p); done

printf '%-20s %10s %22s %22s %22s %9s\n' handler untraced "net/http probes only" "probes, no consumer" \
  "traced (agent)" "vs floor"
for p in $PATHS; do
  avg=$(calc "(${base[$p]} + ${base2[$p]}) / 2")
  printf '%-20s %10.0f %14.0f (%.2f) %14.0f (%.2f) %14.0f (%.2f) %9.2f\n' "$p" "$avg" "${httponly[$p]}" \
    "$(calc "${httponly[$p]} / $avg")" "${floor[$p]}" "$(calc "${floor[$p]} / $avg")" "${traced[$p]}" \
    "$(calc "${traced[$p]} / $avg")" "$(calc "${traced[$p]} / ${floor[$p]}")"
done

# Uprobe hits per request: each program's run count over N requests of one kind.
N=2000
STATS_BEFORE=$(sysctl -n kernel.bpf_stats_enabled)
PROGS_BEFORE=$(bpftool prog show -j | python3 -c 'import json, sys; print(" ".join(str(p["id"]) for p in json.load(sys.stdin)))')
agent 10ms
sysctl -q kernel.bpf_stats_enabled=1
# Run counts of this agent's programs only: the ones loaded after it started (other agents may run on the machine).
count() { bpftool prog show -j | python3 -c '
import json, sys, collections
before = set(int(i) for i in sys.argv[1].split())
c = collections.Counter()
for p in json.load(sys.stdin):
    n = p.get("name", "")
    if p["id"] not in before and n.startswith(("dbsql_", "pgx_", "redis_", "nethttp_", "gs_newproc1", "gs_goexit1")):
        c[n] += p.get("run_cnt", 0)
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))' "$PROGS_BEFORE"; }
echo
echo "uprobe hits per request ($N requests each; this agent's programs, summed by name):"
for p in $PATHS; do
  before=$(count)
  # one curl, one kept-alive connection, exactly N requests
  curl -s $(for _ in $(seq 1 $N); do printf 'http://127.0.0.1:%s%s ' $PORT $p; done) >/dev/null
  after=$(count)
  python3 - "$before" "$after" "$N" "$p" <<'PY'
import sys
b = dict(kv.split("=") for kv in sys.argv[1].split()) if sys.argv[1] else {}
a = dict(kv.split("=") for kv in sys.argv[2].split()) if sys.argv[2] else {}
n = int(sys.argv[3])
d = {k: int(a[k]) - int(b.get(k, 0)) for k in a if int(a[k]) - int(b.get(k, 0)) > 0}
print("  %-20s %.2f hits/request: %s" % (sys.argv[4], sum(d.values()) / n,
      ", ".join("%s %.2f" % (k, v / n) for k, v in sorted(d.items()))))
PY
done
sysctl -q kernel.bpf_stats_enabled="$STATS_BEFORE"; STATS_BEFORE=
stop_agent
