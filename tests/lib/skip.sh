# Shell side of tests/common::skip: `note_skip TEST REASON [fixable|env]` prints the skip and appends it to
# $LOCALCA_SKIP_LOG so tests/run lists it in its summary. Source this file; it defines only note_skip.
note_skip() {
  local test=$1 reason=$2 kind=${3:-env}
  echo "SKIPPED $test: $reason" >&2
  if [ -n "${LOCALCA_SKIP_LOG:-}" ]; then
    printf '%s\t%s\t%s\n' "$kind" "$test" "$reason" >>"$LOCALCA_SKIP_LOG" || true
  fi
}
