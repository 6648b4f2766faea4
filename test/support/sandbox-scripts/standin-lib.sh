# Shared helpers for the sandbox's bash stand-ins. Sourced by absolute path;
# @SANDBOX_ROOT@ is replaced when the sandbox is created.
STANDIN_ROOT='@SANDBOX_ROOT@'

# Append this invocation's argv as one JSON line to <root>/invocations/<name>.
standin_record() {
    _sr_name=$1
    shift
    mkdir -p "$STANDIN_ROOT/invocations"
    python3 -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" >>"$STANDIN_ROOT/invocations/$_sr_name"
}

# Apply <root>/faults/<name>.json if present: sleep (in a child the script
# waits on), print env values, print message, exit with exitCode.
standin_fault() {
    _sf_file="$STANDIN_ROOT/faults/$1.json"
    [ -f "$_sf_file" ] || return 0
    eval "$(python3 "$STANDIN_ROOT/lib/standin_lib.py" fault-vars "$_sf_file")"
    if [ -n "$FAULT_SLEEP" ]; then
        sleep "$FAULT_SLEEP" &
        wait $!
    fi
    for _sf_var in $FAULT_PRINTENV; do
        _sf_val=$(printenv "$_sf_var" || true)
        printf '%s=%s\n' "$_sf_var" "$_sf_val"
        printf '%s=%s\n' "$_sf_var" "$_sf_val" >&2
    done
    if [ -n "$FAULT_MESSAGE" ]; then
        printf '%s\n' "$FAULT_MESSAGE" >&2
    fi
    if [ -n "$FAULT_EXIT" ]; then
        exit "$FAULT_EXIT"
    fi
    return 0
}

# deploy-runtime.sh's output lines (both stand-ins): `[deploy] …`, warnings and errors on stderr.
log() { printf '[deploy] %s\n' "$*"; }
warn() { printf '[deploy] WARNING: %s\n' "$*" >&2; }
err() { printf '[deploy] ERROR: %s\n' "$*" >&2; }
