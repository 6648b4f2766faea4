#!/usr/bin/env bash
# Sandbox stand-in for today's omnibase_infra scripts/deploy-runtime.sh (CONTRACTS.md, "Today's
# omnibase_infra"): the operator env file sourced over the environment (exit 64 when missing or
# unreadable), compose-required variables, lanes from OMNIBASE_INFRA_COMPOSE_PROJECT, its own health
# check (failing the deploy and restoring the --force backup) and the READBACK_EXPECTED_VERSIONS read-back.
# No Docker: "build" is where faults fire, "up" records the Dockerfile's pins in <sandbox>/deployed.json.
set -euo pipefail
. '@SANDBOX_ROOT@/lib/standin-lib.sh'
standin_record deploy "$@"

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
# What the operator's environment says wins over the files for these two, as in the real script.
OPERATOR_HEALTH_URL="${HEALTH_CHECK_URL:-}"
ENV_FILE="${OMNIBASE_OPERATOR_ENV_FILE:-$HOME/.omnibase/.env}"
if [[ ! -e "$ENV_FILE" ]]; then
    echo "[deploy-runtime] ERROR: OPERATOR_ENV_MISSING -- operator env file not found:" >&2
    echo "  $ENV_FILE" >&2
    echo "  Provision it, or set OMNIBASE_OPERATOR_ENV_FILE to a readable env file." >&2
    exit 64
fi
if [[ ! -r "$ENV_FILE" ]]; then
    echo "[deploy-runtime] ERROR: OPERATOR_ENV_UNREADABLE -- operator env file exists but cannot be read:" >&2
    echo "  $ENV_FILE" >&2
    exit 64
fi
printf '%s\n' "$ENV_FILE" >>"$STANDIN_ROOT/invocations/deploy-env-file"
set -a
# shellcheck source=/dev/null
. "$REPO_ROOT/docker/runtime-policy.env"
# shellcheck source=/dev/null
. "$ENV_FILE"
set +a
if [[ -n "$OPERATOR_HEALTH_URL" ]]; then export HEALTH_CHECK_URL="$OPERATOR_HEALTH_URL"; else unset HEALTH_CHECK_URL; fi

DEPLOY_ROOT="$HOME/.omnibase/infra"
LOCK_DIR="$DEPLOY_ROOT/.deploy.lock"
HEALTH_URL="${HEALTH_CHECK_URL:-http://${INFRA_HOST:?INFRA_HOST required}:8085/health}"
# Test knobs: the real script polls 15 x 4 s.
HEALTH_RETRIES="${DEPLOY_STANDIN_HEALTH_RETRIES:-15}"
HEALTH_INTERVAL="${DEPLOY_STANDIN_HEALTH_INTERVAL:-4}"

EXECUTE=false
RESTART=false
FORCE=false
PROD=false
[[ "${ONEX_DEPLOY_LANE:-}" == prod ]] && PROD=true
for arg in "$@"; do
    case "$arg" in
        --execute) EXECUTE=true ;;
        --restart) RESTART=true ;;
        --force) FORCE=true ;;
        --prod) PROD=true ;;
        *)
            err "Unknown option: $arg"
            exit 1
            ;;
    esac
done
if [[ "$RESTART" == true && "$EXECUTE" != true ]]; then
    err "--restart requires --execute"
    exit 1
fi

PROJECT="${OMNIBASE_INFRA_COMPOSE_PROJECT:-omnibase-infra}"
LANE="${PROJECT#omnibase-infra}"
LANE="${LANE#-}"
case "$LANE" in
    "") RUNTIME_CONTAINER=omninode-runtime OVERLAY="" ;;
    stability-test | prod | judge) RUNTIME_CONTAINER="omninode-$LANE-runtime" OVERLAY="docker-compose.$LANE.yml" ;;
    *)
        err "Unknown lane '$LANE' derived from compose project '$PROJECT'."
        exit 1
        ;;
esac

VERSION=$(awk '
    /^\[/ { in_project = ($0 ~ /^\[project\][[:space:]]*$/); next }
    in_project && /^[[:space:]]*version[[:space:]]*=/ {
        sub(/^[^=]*=[[:space:]]*/, ""); gsub(/["'\''[:space:]]/, ""); print; exit
    }' "$REPO_ROOT/pyproject.toml")
DEPLOY_DIR="$DEPLOY_ROOT/deployed/$VERSION"
if [[ "$EXECUTE" != true ]]; then
    log "Dry run: would deploy $VERSION to $DEPLOY_DIR (project $PROJECT)"
    exit 0
fi
# The prod promotion-lineage guard (the real script runs scripts/check_prod_promotion_lineage.py
# --repo <tree>): (a) clean tree, untracked files included; (b) HEAD ancestor-of/equal-to origin/main.
guard_prod_promotion_lineage() {
    [[ "$PROD" == true ]] || return 0
    if [[ -n "$(git -C "$REPO_ROOT" status --porcelain --untracked-files=all)" ]]; then
        echo "[prod-lineage] FAIL (dirty_tree): prod build rejected: working tree in $REPO_ROOT has uncommitted or untracked changes; the baked revision would not match the image contents. Commit or stash, then rebuild from a clean clone." >&2
        err "Prod promotion-lineage guard FAILED. Refusing to build prod."
        exit 1
    fi
    if ! git -C "$REPO_ROOT" merge-base --is-ancestor HEAD origin/main 2>/dev/null; then
        echo "[prod-lineage] FAIL (not_promoted): prod build rejected: HEAD $(git -C "$REPO_ROOT" rev-parse HEAD) in $REPO_ROOT is not an ancestor-of/equal-to origin/main" >&2
        err "Prod promotion-lineage guard FAILED. Refusing to build prod."
        exit 1
    fi
    log "Prod promotion-lineage guard passed: source clean + promoted."
}
guard_prod_promotion_lineage

LOCK_HELD=false
BACKUP_DIR=""
COMPLETE=false
cleanup() {
    rc=$?
    if [[ -n "$BACKUP_DIR" && -d "$BACKUP_DIR" ]]; then
        if [[ "$COMPLETE" == true ]]; then
            rm -rf "$BACKUP_DIR"
        else
            warn "Restoring previous deployment from backup: $BACKUP_DIR"
            rm -rf "$DEPLOY_DIR"
            mv "$BACKUP_DIR" "$DEPLOY_DIR"
        fi
    elif [[ "$COMPLETE" != true ]]; then
        rm -rf "$DEPLOY_DIR"
    fi
    [[ "$LOCK_HELD" == true ]] && rm -rf "$LOCK_DIR"
    log "Cleanup complete (exit $rc)"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

mkdir -p "$DEPLOY_ROOT/deployed"
if ! mkdir "$LOCK_DIR" 2>/dev/null; then
    other=$(cat "$LOCK_DIR/pid" 2>/dev/null || true)
    if [[ -n "$other" ]] && kill -0 "$other" 2>/dev/null; then
        err "Another deployment is running (pid $other, lock $LOCK_DIR)"
        exit 2
    fi
    rm -rf "$LOCK_DIR"
    mkdir "$LOCK_DIR"
fi
echo $$ >"$LOCK_DIR/pid"
LOCK_HELD=true

log "Version: $VERSION  project: $PROJECT"
if [[ -d "$DEPLOY_DIR" ]]; then
    if [[ "$FORCE" != true ]]; then
        err "Deployment directory already exists: $DEPLOY_DIR (use --force)"
        exit 1
    fi
    rm -rf "$DEPLOY_DIR.bak"
    mv "$DEPLOY_DIR" "$DEPLOY_DIR.bak"
    BACKUP_DIR="$DEPLOY_DIR.bak"
    log "Backed up existing deployment to: $BACKUP_DIR"
fi
mkdir -p "$DEPLOY_DIR/docker"
cp "$REPO_ROOT/pyproject.toml" "$DEPLOY_DIR/"
cp "$REPO_ROOT"/docker/*.yml "$REPO_ROOT/docker/Dockerfile.runtime" "$DEPLOY_DIR/docker/"
git -C "$REPO_ROOT" rev-parse HEAD >"$DEPLOY_DIR/DEPLOYED_SHA"

COMPOSE_FILES=("$DEPLOY_DIR/docker/docker-compose.infra.yml")
[[ -n "$OVERLAY" ]] && COMPOSE_FILES+=("$DEPLOY_DIR/docker/$OVERLAY")
log "  > docker compose -p $PROJECT ${COMPOSE_FILES[*]/#/-f } --profile runtime build"
if ! python3 "$STANDIN_ROOT/lib/standin_lib.py" compose-check "${COMPOSE_FILES[@]}"; then
    err "docker compose build failed (compose configuration invalid)"
    exit 1
fi
standin_fault deploy
log "docker compose build: SUCCESS"

if [[ "$RESTART" == true ]]; then
    python3 "$STANDIN_ROOT/lib/standin_lib.py" record-deployed "$REPO_ROOT/docker/Dockerfile.runtime" "$RUNTIME_CONTAINER"
    # The image's org.opencontainers.image.revision (VCS_REF: the 12-character HEAD), for docker inspect.
    git -C "$REPO_ROOT" rev-parse --short=12 HEAD >"$STANDIN_ROOT/deployed-revision"
    log "Restarted runtime services (project $PROJECT)"
    log "Checking health endpoint ($HEALTH_URL)..."
    healthy=false
    for ((attempt = 1; attempt <= HEALTH_RETRIES; attempt++)); do
        if curl -sf --connect-timeout 2 --max-time 5 "$HEALTH_URL" >/dev/null 2>&1; then
            healthy=true
            break
        fi
        log "  Attempt $attempt/$HEALTH_RETRIES -- waiting ${HEALTH_INTERVAL}s..."
        sleep "$HEALTH_INTERVAL"
    done
    if [[ "$healthy" != true ]]; then
        err "Health check FAILED after $HEALTH_RETRIES attempts."
        err "Service is not responding at $HEALTH_URL"
        err "Check container logs: docker logs $RUNTIME_CONTAINER"
        exit 1
    fi
    log "Health check passed."
    if [[ -n "${READBACK_EXPECTED_VERSIONS:-}" ]]; then
        printf '%s\n' "$READBACK_EXPECTED_VERSIONS" >>"$STANDIN_ROOT/invocations/deploy-readback"
        if ! python3 "$STANDIN_ROOT/lib/standin_lib.py" readback "$READBACK_EXPECTED_VERSIONS"; then
            err "Deploy readback FAILED: the running container is not what was requested"
            exit 1
        fi
    fi
fi
COMPLETE=true
log "DONE"
