# shellcheck shell=bash
# Test-only tools from npm and PyPI, installed once per target dir with their ordinary clients and
# reused: `source tests/lib/tools.sh`, then
#   dir=$(npm_tool NAME SPEC...)   e.g. npm_tool deno deno@2      -> DIR/node_modules/.bin/deno
#   dir=$(pip_tool NAME SPEC...)   e.g. pip_tool httpx httpx      -> PYTHONPATH=DIR
# Tools live in $LOCALCA_TOOLS_DIR (the Rust runners pass target/tmp/test-tools), never in /tmp or
# on the host's own paths. A lock serialises installs, so two test runs at once share one copy.
# On failure (no network, no npm) the function prints the reason on stderr and returns 1.

_tool_install() { # KIND NAME SPEC...
    local kind=$1 name=$2; shift 2
    local root=${LOCALCA_TOOLS_DIR:?LOCALCA_TOOLS_DIR must name a folder for test tools}
    local dir=$root/$kind-$name stamp="$kind $*"
    mkdir -p "$root" || return 1
    (
        flock 9
        [[ -f "$dir/.installed" && "$(cat "$dir/.installed")" == "$stamp" ]] && exit 0
        rm -rf -- "$dir" && mkdir -p "$dir" || exit 1
        case $kind in
            npm) command -v npm >/dev/null || { echo "npm is not installed" >&2; exit 1; }
                 npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$dir" \
                     --cache "$root/npm-cache" "$@" >"$dir/install.log" 2>&1 ;;
            pip) python3 -m pip install --quiet --no-cache-dir --disable-pip-version-check \
                     --target "$dir" "$@" >"$dir/install.log" 2>&1 ;;
        esac || { echo "installing $* from $kind failed: $(tail -n 3 "$dir/install.log" | tr '\n' ' ')" >&2; exit 1; }
        echo "$stamp" >"$dir/.installed"
    ) 9>"$root/.lock" || return 1
    echo "$dir"
}

npm_tool() { _tool_install npm "$@"; }
pip_tool() { _tool_install pip "$@"; }
