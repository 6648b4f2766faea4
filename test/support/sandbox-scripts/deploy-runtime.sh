#!/usr/bin/env bash
# Sandbox stand-in for omnibase_infra scripts/deploy-runtime.sh (contract: CONTRACTS.md, DEPLOY).
# No Docker here: "build" is a no-op (where faults fire) and "up" records the
# Dockerfile's pins in <sandbox>/deployed.json, which the docker stand-in and
# the health servers report.
set -u
. '@SANDBOX_ROOT@/lib/standin-lib.sh'
standin_record deploy "$@"

SCRIPT_NAME=$(basename "$0")
SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
DEPLOY_ROOT="$HOME/.omnibase/infra"
LOCK_DIR="$DEPLOY_ROOT/deploy.lock"
RUNTIME_SERVICES="omninode-runtime intelligence-api omninode-contract-resolver"

EXECUTE=false
RESTART=false
FORCE=false
for arg in "$@"; do
    case "$arg" in
        --execute) EXECUTE=true ;;
        --restart) RESTART=true ;;
        --force) FORCE=true ;;
        --help | -h)
            echo "usage: $SCRIPT_NAME [--execute] [--restart] [--force]"
            exit 0
            ;;
        *)
            err "Unknown option: $arg"
            err "Run '$SCRIPT_NAME --help' for usage."
            exit 2
            ;;
    esac
done
if [ "$RESTART" = true ] && [ "$EXECUTE" != true ]; then
    err "--restart requires --execute"
    exit 2
fi

VERSION=$(awk '
    /^\[/ { in_project = ($0 ~ /^\[project\][[:space:]]*$/); next }
    in_project && /^[[:space:]]*version[[:space:]]*=/ {
        sub(/^[^=]*=[[:space:]]*/, ""); gsub(/["'\''[:space:]]/, ""); print; exit
    }' "$REPO_ROOT/pyproject.toml" 2>/dev/null)
if [ -z "$VERSION" ]; then
    err "Could not read [project] version from $REPO_ROOT/pyproject.toml"
    exit 1
fi
DEPLOY_DIR="$DEPLOY_ROOT/deployed/$VERSION"
COMPOSE="docker compose -p omnibase-infra -f $DEPLOY_DIR/docker/docker-compose.infra.yml --profile runtime"

if [ "$EXECUTE" != true ]; then
    log "=== Deployment Preview (dry run) ==="
    log "Source repository:   $REPO_ROOT"
    log "Version:             $VERSION"
    log "Deploy target:       $DEPLOY_DIR"
    log "Force overwrite:     $FORCE"
    if [ -d "$DEPLOY_DIR" ] && [ "$FORCE" != true ]; then
        log "NOTE: deploy target exists; --execute would fail without --force"
    fi
    log "Would run: $COMPOSE build"
    log "Dry run complete. Re-run with --execute to deploy."
    exit 0
fi

LOCK_HELD=false
BACKUP_DIR=""
CREATED_DIR=false
COMPLETE=false
cleanup() {
    rc=$?
    if [ -n "$BACKUP_DIR" ] && [ -d "$BACKUP_DIR" ]; then
        if [ "$COMPLETE" = true ]; then
            rm -rf "$BACKUP_DIR"
        else
            rm -rf "$DEPLOY_DIR"
            mv "$BACKUP_DIR" "$DEPLOY_DIR"
            warn "Deployment failed; restored previous deployment from $BACKUP_DIR"
        fi
    elif [ "$CREATED_DIR" = true ] && [ "$COMPLETE" != true ]; then
        # Like the real script: do not leave an orphaned half-deployed version dir.
        rm -rf "$DEPLOY_DIR"
    fi
    if [ "$LOCK_HELD" = true ]; then
        rm -rf "$LOCK_DIR"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

mkdir -p "$DEPLOY_ROOT/deployed"
if ! mkdir "$LOCK_DIR" 2>/dev/null; then
    other=$(cat "$LOCK_DIR/pid" 2>/dev/null || true)
    if [ -z "$other" ]; then
        # The holder may be between mkdir and writing its pid.
        sleep 0.2
        other=$(cat "$LOCK_DIR/pid" 2>/dev/null || true)
    fi
    if [ -n "$other" ] && kill -0 "$other" 2>/dev/null; then
        printf '[deploy] Another deployment is running (pid %s, lock %s)\n' "$other" "$LOCK_DIR" >&2
        exit 2
    fi
    warn "Taking over stale lock $LOCK_DIR (pid ${other:-unknown} not running)"
    rm -rf "$LOCK_DIR"
    if ! mkdir "$LOCK_DIR" 2>/dev/null; then
        printf '[deploy] Another deployment is running (lock %s)\n' "$LOCK_DIR" >&2
        exit 2
    fi
fi
echo $$ >"$LOCK_DIR/pid"
LOCK_HELD=true

log "Version: $VERSION"
log "Deploy target: $DEPLOY_DIR"
if [ -d "$DEPLOY_DIR" ]; then
    if [ "$FORCE" != true ]; then
        err "Deployment directory already exists: $DEPLOY_DIR (use --force)"
        exit 1
    fi
    warn "OVERWRITING existing deployment at $DEPLOY_DIR"
    rm -rf "$DEPLOY_DIR.bak"
    if ! mv "$DEPLOY_DIR" "$DEPLOY_DIR.bak"; then
        err "Failed to back up existing deployment to $DEPLOY_DIR.bak"
        exit 1
    fi
    BACKUP_DIR="$DEPLOY_DIR.bak"
    log "Backed up existing deployment to: $BACKUP_DIR"
fi

log "Syncing files to $DEPLOY_DIR"
mkdir -p "$DEPLOY_DIR/docker"
CREATED_DIR=true
cp "$REPO_ROOT/pyproject.toml" "$DEPLOY_DIR/"
cp "$REPO_ROOT/docker/Dockerfile.runtime" "$DEPLOY_DIR/docker/"
if [ -f "$REPO_ROOT/docker/docker-compose.infra.yml" ]; then
    cp "$REPO_ROOT/docker/docker-compose.infra.yml" "$DEPLOY_DIR/docker/"
fi
git -C "$REPO_ROOT" rev-parse HEAD >"$DEPLOY_DIR/DEPLOYED_SHA" 2>/dev/null || true

log "docker compose build"
log "  > $COMPOSE build"
standin_fault deploy
log "docker compose build: SUCCESS"

if [ "$RESTART" = true ]; then
    log "docker compose up"
    log "  > $COMPOSE up -d --no-deps --force-recreate $RUNTIME_SERVICES"
    if ! python3 "$STANDIN_ROOT/lib/standin_lib.py" record-deployed "$REPO_ROOT/docker/Dockerfile.runtime"; then
        err "docker compose up failed"
        exit 1
    fi
    log "Restarted runtime services: $RUNTIME_SERVICES"
else
    log "Skipping container restart (pass --restart to recreate runtime containers)"
fi

COMPLETE=true
log "DONE"
exit 0
