#!/usr/bin/env bash
# Baseline of overhead_ratio: the external commands a `redeploy` run executes, phase by phase, in one bash
# process with nothing around them (no Temporal, no state, no logs). Work an activity does in-process
# (reading the env file, rewriting pins, HTTP health checks, the summary) is done here with bash builtins,
# sed and one curl. Prints `PHASE <name> <ms>` per phase on stderr.
#
# usage: baseline-redeploy.sh OMNI_HOME WORKTREE_ROOT TICKET ENV_FILE DEPLOY_ROOT CONTAINER \
#                             pkg=ver... -- health-url...
set -euo pipefail

omni_home=$1 worktree_root=$2 ticket=$3 env_file=$4 deploy_root=$5 container=$6
shift 6
pins=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    pins+=("$1")
    shift
done
shift # --
urls=("$@")

infra="$omni_home/omnibase_infra"
wt="$worktree_root/$ticket/omnibase_infra"
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
phase_t0=$(now_ms)
phase_done() {
    local t
    t=$(now_ms)
    echo "PHASE $1 $((t - phase_t0))" >&2
    phase_t0=$t
}

# SYNC
(cd "$omni_home" && bash "$omni_home/docs/tools/pull-all.sh") >/dev/null
phase_done SYNC

# ENV_CHECK (the activity reads the env file in-process)
set -a
# shellcheck disable=SC1090
. "$env_file"
set +a
for v in POSTGRES_PASSWORD KAFKA_BOOTSTRAP_SERVERS INFISICAL_CLIENT_ID INFISICAL_CLIENT_SECRET INFISICAL_PROJECT_ID; do
    [ -n "${!v:-}" ] || { echo "$v not set" >&2; exit 1; }
done
phase_done ENV_CHECK

# WORKTREE: the same git commands as the activity, in the same order
git -C "$infra" worktree prune
git -C "$infra" pull --ff-only >/dev/null
git -C "$infra" rev-parse --verify --quiet "refs/heads/$ticket" >/dev/null || true
git -C "$infra" rev-parse --verify --quiet refs/heads/main >/dev/null
mkdir -p "$worktree_root/$ticket"
git -C "$infra" worktree add -q "$wt" -b "$ticket" main
phase_done WORKTREE

# PIN_UPDATE (built in: the activity rewrites the Dockerfile in-process; sed is the shell equivalent)
for pin in "${pins[@]}"; do
    name=${pin%%=*} version=${pin#*=}
    sed -i -E "s/^([[:space:]]*)\"?${name}[=<>!~][^\"[:space:]\\\\]*\"?/\\1\"${name}==${version}\"/" \
        "$wt/docker/Dockerfile.runtime"
done
phase_done PIN_UPDATE

# DEPLOY: --force when the deployment directory of this infra version exists, as the activity decides
infra_version=$(sed -n -E 's/^version[[:space:]]*=[[:space:]]*"([^"]+)".*/\1/p' "$wt/pyproject.toml" | head -n 1)
force=()
[ -d "$deploy_root/$infra_version" ] && force=(--force)
(cd "$wt" && ./scripts/deploy-runtime.sh --execute --restart "${force[@]}") >/dev/null
phase_done DEPLOY

# INFISICAL
(cd "$wt" && uv run python scripts/seed-infisical.py --contracts-dir src/omnibase_infra/nodes --execute) >/dev/null
phase_done INFISICAL

# VERIFY: every endpoint, then one `docker exec … uv pip show` for all packages
curl -fsS "${urls[@]}" >/dev/null
names=()
for pin in "${pins[@]}"; do names+=("${pin%%=*}"); done
shown=$(cd "$omni_home" && docker exec "$container" uv pip show "${names[@]}")
for pin in "${pins[@]}"; do
    grep -q "^Version: ${pin#*=}\$" <<<"$shown" || { echo "version mismatch: $pin" >&2; exit 1; }
done
phase_done VERIFY

# NOTIFY: the tier probe the activity runs, then the summary on stdout
python3 -c 'import omniclaude.nodes.node_git_effect.models' 2>/dev/null || true
echo "[redeploy] $ticket complete"
phase_done NOTIFY
