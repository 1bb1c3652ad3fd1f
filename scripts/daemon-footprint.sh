#!/bin/sh
# Measures the daemon's memory (VmRSS over time, VmHWM) and CPU time (utime+stime from
# /proc/PID/stat) in two phases:
#   busy: per-second enforcement and a scan every 5 s of a SQLite table (20000 rows) for
#         BUSY_SECS (default 180)
#   idle: a daily schedule (nothing fires) for IDLE_SECS (default 60)
# Usage: scripts/daemon-footprint.sh [path/to/datawarden]   (default target/debug/datawarden)
set -eu
BIN=$(realpath "${1:-target/debug/datawarden}")
BUSY_SECS=${BUSY_SECS:-180}
IDLE_SECS=${IDLE_SECS:-60}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
TCK=$(getconf CLK_TCK)

sqlite_table() {
    python3 - "$1" <<'PY'
import sqlite3, sys, datetime
c = sqlite3.connect(sys.argv[1])
c.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, who TEXT)")
old = (datetime.datetime.utcnow() - datetime.timedelta(days=400)).strftime("%Y-%m-%d %H:%M:%S")
c.executemany("INSERT INTO events VALUES (?, ?, ?)", [(i, old, "u%d@example.com" % i) for i in range(1, 20001)])
c.commit()
PY
}

config() { # policy-schedule scan-schedule
    cat > "$DIR/dw.toml" <<TOML
[inventory]
url = "sqlite://$DIR/inventory.db"

[[sources]]
name = "lite"
url = "sqlite://$DIR/src.db"
schedule = "$2"

[[policies]]
name = "purge"
description = "Events are deleted 30 days after they happen."
source = "lite"
table = "events"
timestamp_column = "created_at"
retain = "30d"
action = "delete"
batch_size = 50
schedule = "$1"
TOML
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
kb() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status"; }

measure() { # name policy-schedule seconds scan-schedule
    config "$2" "$4"
    "$BIN" --log-format json run --config "$DIR/dw.toml" 2> "$DIR/$1.log" &
    PID=$!
    sleep 2
    T0=$(cpu_ticks $PID)
    RSS_MIN=999999999; RSS_MAX=0; RSS_FIRST=$(kb $PID VmRSS)
    START=$(date +%s); END=$(( START + $3 )); TREND=""
    while [ "$(date +%s)" -lt "$END" ]; do
        R=$(kb $PID VmRSS)
        [ $(( ($(date +%s) - START) % 60 )) -lt 5 ] && TREND="$TREND ${R}"
        [ "$R" -lt "$RSS_MIN" ] && RSS_MIN=$R
        [ "$R" -gt "$RSS_MAX" ] && RSS_MAX=$R
        sleep 5
    done
    T1=$(cpu_ticks $PID)
    RSS_LAST=$(kb $PID VmRSS)
    HWM=$(kb $PID VmHWM)
    kill -TERM $PID; wait $PID || true
    RUNS=$(grep -c '"message":"job finished"' "$DIR/$1.log" || true)
    echo "$1: ${3}s policy='$2' scan='$4' runs=$RUNS cpu=$(( (T1 - T0) * 1000 / TCK ))ms" \
         "VmRSS first/min/max/last=${RSS_FIRST}/${RSS_MIN}/${RSS_MAX}/${RSS_LAST} kB VmHWM=${HWM} kB" \
         "VmRSS per minute:${TREND} kB"
}

sqlite_table "$DIR/src.db"
measure busy "* * * * * *" "$BUSY_SECS" "*/5 * * * * *"
measure idle "0 3 * * *" "$IDLE_SECS" "0 4 * * *"
