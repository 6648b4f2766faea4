#!/usr/bin/env bash
# Sandbox stand-in for the (not yet existing) omnibase_infra scripts/sync-omnibase-env.sh.
set -u
. '@SANDBOX_ROOT@/lib/standin-lib.sh'
standin_record sync-omnibase-env "$@"
standin_fault sync-omnibase-env
echo "[sync-omnibase-env] Synced $HOME/.omnibase/.env to Infisical"
exit 0
