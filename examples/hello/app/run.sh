#!/bin/sh
# Serves the app directory (index.html) over HTTP on $PORT (default 8080).
set -eu
root="$(cd "$(dirname "$0")/.." && pwd)"
port="${PORT:-8080}"
if command -v python3 >/dev/null 2>&1; then
  exec python3 -m http.server "$port" --directory "$root"
fi
if command -v busybox >/dev/null 2>&1; then
  exec busybox httpd -f -p "$port" -h "$root"
fi
echo "run.sh: need python3 or busybox to serve $root" >&2
cat "$root/index.html"
