#!/bin/sh
# Once the frontend is up: the `default` namespace (the real server, unlike the dev server, creates
# none) and the search attributes the redeploy workflow upserts, which must match SEARCH_ATTRIBUTES
# in src/io/dev-server.ts (test/compose/compose.test.ts checks). Idempotent: "already exists" is
# success. Run by compose's temporal-setup job and by the cluster tests, from this one file.
# Environment: the Temporal CLI's own TEMPORAL_ADDRESS and TEMPORAL_TLS_* variables (mTLS),
# TEMPORAL_CLI (temporal), TEMPORAL_RETENTION (168h).
set -eu
cli=${TEMPORAL_CLI:-temporal}
# A namespace takes a few seconds to reach every frontend's cache: retry rather than fail.
retry() {
  n=0
  until "$@"; do
    n=$((n + 1))
    [ "$n" -lt 30 ] || return 1
    sleep 2
  done
}
namespace() {
  "$cli" operator namespace describe --namespace default >/dev/null 2>&1 ||
    "$cli" operator namespace create --namespace default --retention "${TEMPORAL_RETENTION:-168h}"
}
register() {
  out=$("$cli" operator search-attribute create --namespace default --name RedeployPhase --type Keyword 2>&1) &&
    return 0
  case "$out" in *'already exists'*) return 0 ;; esac
  echo "$out" >&2
  return 1
}
retry namespace
retry register
# An existing RedeployPhase of another type also reports "already exists": check the type.
"$cli" operator search-attribute list --namespace default | grep -w RedeployPhase | grep -qw Keyword ||
  {
    echo 'RedeployPhase exists but is not a Keyword attribute' >&2
    exit 1
  }
echo 'namespace default ready; RedeployPhase (Keyword) registered'
