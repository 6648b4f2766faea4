#!/usr/bin/env bash
# Sandbox stand-in for omni_home docs/tools/pull-all.sh (contract: CONTRACTS.md, SYNC).
# Usage: pull-all.sh [repo...]   (default: the ten OmniNode repos)
set -u
. '@SANDBOX_ROOT@/lib/standin-lib.sh'
standin_record pull-all "$@"
standin_fault pull-all

OMNI_HOME="${OMNI_HOME:-@OMNI_HOME@}"
# Never let git discover a repository above OMNI_HOME for a plain directory.
export GIT_CEILING_DIRECTORIES="$OMNI_HOME"

if [ $# -eq 0 ]; then
    set -- omniclaude omnibase_core omnibase_infra omnibase_spi omnidash \
        omniintelligence omnimemory omninode_infra omniweb onex_change_control
fi

ok=0
failed=0
report_failure() {
    # $1 repo, $2 reason, $3 captured git output
    # The real script's layout: status first, padded, then the repo; git's output indented below.
    echo "  FAILED   $1 ($2)"
    if [ -n "$3" ]; then
        printf '%s\n' "$3" | sed "s/^/           /"
    fi
    failed=$((failed + 1))
}

for repo in "$@"; do
    dir="$OMNI_HOME/$repo"
    if [ ! -d "$dir" ]; then
        echo "  MISSING  $repo"
        failed=$((failed + 1))
        continue
    fi
    is_bare=$(git -C "$dir" rev-parse --is-bare-repository 2>/dev/null || true)
    if [ "$is_bare" = "true" ]; then
        before=$(git -C "$dir" rev-parse -q --verify refs/heads/main 2>/dev/null || true)
        if ! out=$(git -C "$dir" fetch -q origin main:main 2>&1); then
            report_failure "$repo" "fetch origin main:main" "$out"
            continue
        fi
        after=$(git -C "$dir" rev-parse -q --verify refs/heads/main 2>/dev/null || true)
    elif [ "$is_bare" = "false" ]; then
        branch=$(git -C "$dir" symbolic-ref --short -q HEAD 2>/dev/null || true)
        if [ "$branch" != "main" ]; then
            echo "  SKIPPED  $repo (on branch: ${branch:-detached HEAD})"
            continue
        fi
        before=$(git -C "$dir" rev-parse -q --verify HEAD 2>/dev/null || true)
        if ! out=$(git -C "$dir" pull -q --ff-only 2>&1); then
            report_failure "$repo" "pull --ff-only" "$out"
            continue
        fi
        after=$(git -C "$dir" rev-parse -q --verify HEAD 2>/dev/null || true)
    else
        report_failure "$repo" "not a git repository" ""
        continue
    fi
    if [ "$before" = "$after" ]; then
        echo "  OK       $repo (already up to date)"
    else
        echo "  UPDATED  $repo"
    fi
    ok=$((ok + 1))
done

echo ""
echo "$ok repo(s) up to date. $failed failed."
[ "$failed" -eq 0 ] || exit 1
exit 0
