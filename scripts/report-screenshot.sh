#!/usr/bin/env bash
# Renders an HTML report of datawarden (`datawarden report --format html`, or the inventory's
# `inventory export --format html`) in headless Chromium and writes a PNG screenshot, to check the
# page as a browser shows it. The page is self-contained: Chromium runs with networking off.
#
#   scripts/report-screenshot.sh report.html [report.png] [WIDTHxHEIGHT]
#
# Needs Debian's chromium (`apt-get install -y chromium`); a CJK font (e.g. fonts-wqy-microhei)
# for the Chinese text of the demo promises.
set -euo pipefail
html=${1:?usage: report-screenshot.sh REPORT.html [OUT.png] [WIDTHxHEIGHT]}
png=${2:-${html%.html}.png}
size=${3:-1400x1800}
html=$(realpath "$html")
png=$(realpath -m "$png")
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
if [ -z "$browser" ]; then
  echo "report-screenshot.sh: no chromium found: apt-get install -y chromium" >&2
  exit 2
fi
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
  --no-first-run --user-data-dir="$profile" --hide-scrollbars \
  --window-size="${size/x/,}" --screenshot="$png" "file://$html" 2>/dev/null
[ -s "$png" ] || { echo "report-screenshot.sh: no screenshot written" >&2; exit 1; }
echo "$png"
