#!/usr/bin/env bash
# The seed skill's VERIFY, as its prompt runs it: `curl -sf <url>` for each endpoint in turn, then one
# `docker exec <container> uv pip show <pkg> | grep Version` per package, comparing each version.
#
# usage: seed-verify.sh CONTAINER pkg=ver... -- health-url...
set -uo pipefail

container=$1
shift
pins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    pins+=("$1")
    shift
done
shift # --

failed=0
for url in "$@"; do
    curl -sf "$url" >/dev/null || failed=1
done
for pin in "${pins[@]}"; do
    name=${pin%%=*} expected=${pin#*=}
    actual=$(docker exec "$container" uv pip show "$name" | grep Version) || { failed=1; continue; }
    [ "${actual#Version: }" = "$expected" ] || failed=1
done
exit "$failed"
