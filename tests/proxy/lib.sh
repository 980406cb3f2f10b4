# shellcheck shell=bash
# Shared by tests/proxy/renewal, h2c and ws-drain (sourced; they run inside tests/sandbox).
# Sets up $work (TMPDIR and LOCALCA_HOME under it), a CA, PASS/FAIL counting and cleanup of the
# processes started, and start_proxy. Clients trust the root by file ($ROOT), not the system store.
set -uo pipefail
source "$here/../lib/skip.sh"
source "$here/../clients/lib.sh"
[[ "${LOCALCA_SANDBOX:-}" == 1 ]] || { echo "run me through tests/sandbox" >&2; exit 2; }
BIN=$LOCALCA_BIN
work=$(mktemp -d "$SANDBOX_ROOT/proxy.XXXXXX")
export TMPDIR=$work LOCALCA_HOME=$work/ca LOCALCA_KEY_STORAGE=file
init_clean_env
failures=0
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done' EXIT
ok() { echo "PASS $1"; }
bad() { echo "FAIL $1: ${2:-}"; failures=$((failures + 1)); }
check() { local name=$1; shift; if "$@"; then ok "$name"; else bad "$name"; fi; }
finish() { echo "$(basename "$0"): $failures failed"; [[ $failures == 0 ]]; exit $?; }
now() { date +%s.%N; }
"$BIN" ca create >/dev/null 2>&1 || { echo "ca create failed"; exit 1; }
ROOT=$LOCALCA_HOME/root.pem
mkdir -p "$work/empty"
# curl trusting only the local root.
curlr() { "${CLEAN_ENV[@]}" curl -sS --max-time 20 --cacert "$ROOT" --capath "$work/empty" "$@"; }

# start_proxy LOGFILE ARGS...: starts the proxy on a free port; sets PX (pid) and PORT.
start_proxy() {
    local log=$1; shift
    "$BIN" proxy --listen 127.0.0.1:0 "$@" 2>"$log" & PX=$!
    pids+=("$PX")
    PORT=
    for _ in $(seq 100); do
        PORT=$(sed -n 's/^localca proxy listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$log")
        [[ -n $PORT ]] && break
        sleep 0.1
    done
    [[ -n $PORT ]] || { echo "proxy did not start:"; cat "$log"; exit 1; }
}

# wait_file FILE: waits up to 5 s for FILE to be non-empty.
wait_file() { for _ in $(seq 50); do [[ -s $1 ]] && return 0; sleep 0.1; done; return 1; }
