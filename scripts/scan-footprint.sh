#!/usr/bin/env bash
# Sample-scan cost on PostgreSQL, measured on the real binary: wall time and peak memory (GNU time's
# "Maximum resident set size") of `datawarden scan` for
#   big      one table of 10,000,000 rows (6 columns, analyzed)
#   small    the same shape with 10,000 rows
#   wide     200 tables of 20 columns (500 rows each)
# Each scan runs RUNS times (default 5) into a fresh inventory; the script prints every run and the
# median. The database `dw_scan_footprint` is built once and reused (REBUILD=1 rebuilds it; the
# 10M-row table takes about a minute to load).
#
#   cargo build --release && scripts/scan-footprint.sh target/release/datawarden
set -euo pipefail
bin=${1:?usage: scan-footprint.sh path/to/datawarden}
bin=$(realpath "$bin")
runs=${RUNS:-5}
db=dw_scan_footprint
psql=(psql -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 -q)

if [ "${REBUILD:-0}" = 1 ]; then "${psql[@]}" -c "DROP DATABASE IF EXISTS $db"; fi
if ! "${psql[@]}" -tAc "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1; then
  echo "building $db ..." >&2
  "${psql[@]}" -c "CREATE DATABASE $db"
  "${psql[@]}" -d "$db" <<'SQL'
CREATE SCHEMA big; CREATE SCHEMA small; CREATE SCHEMA wide;
CREATE TABLE big.members (id bigint PRIMARY KEY, mobile bigint, email text, name text,
  created_at timestamptz, note text);
INSERT INTO big.members SELECT i, 13800000000 + i, 'user' || i || '@example.com', 'member ' || i,
  now() - i * interval '1 minute', 'order ' || i FROM generate_series(1, 10000000) i;
CREATE TABLE small.members (LIKE big.members INCLUDING ALL);
INSERT INTO small.members SELECT * FROM big.members WHERE id <= 10000;
DO $$
BEGIN
  FOR t IN 1..200 LOOP
    EXECUTE format('CREATE TABLE wide.t%s (id int PRIMARY KEY, %s)', t,
      (SELECT string_agg(format('c%s text', c), ', ') FROM generate_series(1, 19) c));
    EXECUTE format('INSERT INTO wide.t%s SELECT i, %s FROM generate_series(1, 500) i', t,
      (SELECT string_agg(CASE WHEN c = 1 THEN '(13800000000 + i)::text' ELSE format('''v%s-'' || i', c) END, ', ')
       FROM generate_series(1, 19) c));
  END LOOP;
END $$;
VACUUM ANALYZE;
SQL
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for scope in big small wide; do
  cat >"$work/$scope.toml" <<EOF
[inventory]
url = "sqlite://$work/inventory-$scope.db"
[[sources]]
name = "$scope"
url = "postgres://postgres@127.0.0.1:5432/$db"
include_schemas = ["$scope"]
EOF
  times=()
  for i in $(seq 1 "$runs"); do
    rm -f "$work/inventory-$scope.db"*
    /usr/bin/time -f '%e %M' -o "$work/time" "$bin" scan --config "$work/$scope.toml" >/dev/null 2>&1
    read -r secs kb <"$work/time"
    echo "$scope run $i: ${secs}s, peak RSS $((kb / 1024)) MiB"
    times+=("$secs")
  done
  median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
  echo "$scope median: ${median}s"
done
