#!/usr/bin/env bash
# Sandbox stand-in for today's omnibase_infra scripts/pull-all.sh (CONTRACTS.md, "Today's omnibase_infra"):
# fetches main and dev, fast-forwards both and leaves each clone on dev. Bare clones are refused, a dirty
# clone FAILS, a missing one only warns.
set -u
. '@SANDBOX_ROOT@/lib/standin-lib.sh'
standin_record pull-all "$@"
standin_fault pull-all

OMNI_HOME="${OMNI_HOME:-@OMNI_HOME@}"
export GIT_CEILING_DIRECTORIES="$OMNI_HOME"
if [ $# -eq 0 ]; then
    set -- omniclaude omnibase_compat omnibase_core omnibase_infra omnibase_spi omnidash omnidash-v2 \
        omnigemini omniintelligence omnimarket omnimemory omninode_infra omniweb onex_change_control
fi

corrupt=""
for repo in "$@"; do
    [ "$(git -C "$OMNI_HOME/$repo" rev-parse --is-bare-repository 2>/dev/null)" = true ] && corrupt="$corrupt $repo"
done
if [ -n "$corrupt" ]; then
    echo "ERROR: Bare repo corruption detected in omni_home!"
    for repo in $corrupt; do echo "  CORRUPT  $repo"; done
    exit 1
fi

ff() { # dir branch: switch to the branch (tracking origin's) and fast-forward it
    if git -C "$1" show-ref --verify --quiet "refs/heads/$2"; then
        git -C "$1" switch -q "$2" && git -C "$1" merge -q --ff-only "origin/$2"
    else
        git -C "$1" switch -q --track -c "$2" "origin/$2"
    fi
}

ok=0
failed=0
absent=0
for repo in "$@"; do
    dir="$OMNI_HOME/$repo"
    if [ ! -d "$dir" ]; then
        echo "  MISSING  $repo"
        absent=$((absent + 1))
        continue
    fi
    branch=$(git -C "$dir" symbolic-ref --short -q HEAD 2>/dev/null || true)
    if [ "$branch" != main ] && [ "$branch" != dev ]; then
        echo "  SKIPPED  $repo (on branch: ${branch:-detached HEAD})"
        continue
    fi
    if [ -n "$(git -C "$dir" status --porcelain 2>/dev/null)" ]; then
        echo "  FAILED   $repo (dirty worktree; refusing to switch branches)"
        failed=$((failed + 1))
        continue
    fi
    if ! out=$(git -C "$dir" fetch -q --prune origin main dev 2>&1); then
        echo "  FAILED   $repo (fetch main/dev)"
        printf '%s\n' "$out" | sed 's/^/           /'
        failed=$((failed + 1))
        continue
    fi
    if ! out=$(ff "$dir" main 2>&1 && ff "$dir" dev 2>&1); then
        echo "  FAILED   $repo (fast-forward)"
        printf '%s\n' "$out" | sed 's/^/           /'
        failed=$((failed + 1))
        continue
    fi
    echo "  OK       $repo (main, dev up to date; left on dev)"
    ok=$((ok + 1))
done

echo ""
echo "$ok repo(s) up to date. $failed failed. $absent absent (skipped)."
[ "$failed" -eq 0 ] || exit 1
exit 0
