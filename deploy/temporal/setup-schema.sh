#!/bin/sh
# Creates Temporal's two databases and applies its schema migrations with temporal-sql-tool.
# Idempotent: every step is a no-op when already done, so it runs again harmlessly on every
# `docker compose up` and upgrades the schema after a version bump. Run by compose's temporal-schema
# job (admin-tools image) and by the cluster tests, from this one file.
# Environment: TEMPORAL_DB_HOST (127.0.0.1), TEMPORAL_DB_PORT (5432), TEMPORAL_DB_USER (temporal),
# SQL_PASSWORD (read by temporal-sql-tool itself: the password stays off the command line),
# TEMPORAL_SQL_TOOL (temporal-sql-tool), TEMPORAL_SCHEMA_DIR (the admin-tools image's
# /etc/temporal/schema/postgresql/v12; from source: <go.temporal.io/server module>/schema/postgresql/v12).
set -eu
tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
schema=${TEMPORAL_SCHEMA_DIR:-/etc/temporal/schema/postgresql/v12}
sql() {
  "$tool" --plugin postgres12 --ep "${TEMPORAL_DB_HOST:-127.0.0.1}" -p "${TEMPORAL_DB_PORT:-5432}" \
    -u "${TEMPORAL_DB_USER:-temporal}" "$@"
}
sql --db temporal create
sql --db temporal_visibility create
sql --db temporal setup-schema -v 0.0
sql --db temporal update-schema -d "$schema/temporal/versioned"
sql --db temporal_visibility setup-schema -v 0.0
sql --db temporal_visibility update-schema -d "$schema/visibility/versioned"
echo 'temporal and temporal_visibility schemas up to date'
