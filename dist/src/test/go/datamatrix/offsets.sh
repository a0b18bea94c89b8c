#!/usr/bin/env bash
# Regenerates the pgx and go-redis offset tables: builds main.go against each release pair (module proxy), then merges
# the fields of each build into plugins/probe-{pgx,redis}/src/main/resources/offsets/*.yaml with OffsetTableGenerator.
# Usage: dist/src/test/go/datamatrix/offsets.sh [pgx@redis ...]   (after `make build`; Go 1.24+ at $GO or /usr/local/go)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../../../.." && pwd)
GO=${GO:-/usr/local/go/bin/go}
pairs=${*:-"v5.7.6@v9.17.3 v5.8.0@v9.18.0 v5.9.2@v9.19.0 v5.10.0@v9.20.1 v5.11.0@v9.21.0 v5.12.0@v9.22.0 v5.12.0@v9.23.0"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/main.go" "$work/"
bins=()
for pair in $pairs; do
  pgx=${pair%@*}; redis=${pair#*@}
  (cd "$work" && rm -f go.mod go.sum && printf 'module goscope.test/datamatrix\n\ngo 1.24\n' > go.mod \
    && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$GO" get "github.com/jackc/pgx/v5@$pgx" "github.com/redis/go-redis/v9@$redis" \
    && GOTOOLCHAIN=local GOFLAGS=-mod=mod "$GO" mod tidy \
    && GOTOOLCHAIN=local CGO_ENABLED=0 "$GO" build -o "$work/datamatrix-pgx$pgx-redis$redis" .)
  bins+=("$work/datamatrix-pgx$pgx-redis$redis")
done
cp="$root/platform/target/classes:$(ls "$root"/dist/target/goscope/lib/*.jar | tr '\n' ':')"
gen() { java -cp "$cp" io.goscope.platform.gobinary.OffsetTableGenerator "$@"; }
printf '%s\n' github.com/jackc/pgx/v5:github.com/jackc/pgx/v5.{Conn.config,ConnConfig.Config,Batch.QueuedQueries,QueuedQuery.SQL} \
  github.com/jackc/pgx/v5:github.com/jackc/pgx/v5/pgconn.Config.{Host,Port,Database} > "$work/pgx.txt"
printf '%s\n' github.com/redis/go-redis/v9:github.com/redis/go-redis/v9.{baseClient.opt,Options.Addr,Options.DB,baseCmd.args} \
  > "$work/redis.txt"
gen --out "$root/plugins/probe-pgx/src/main/resources/offsets/pgx-offsets.yaml" --merge --fields-file "$work/pgx.txt" "${bins[@]}"
gen --out "$root/plugins/probe-redis/src/main/resources/offsets/redis-offsets.yaml" --merge --fields-file "$work/redis.txt" "${bins[@]}"
