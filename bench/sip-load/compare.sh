#!/usr/bin/env bash
# Runs run.sh for both targets and both scenarios, prints the side-by-side table and
# writes it into RESULTS.md (between the compare:begin/compare:end markers; the rest of
# the file is kept).
#
#   compare.sh [run.sh options...]     e.g. compare.sh --duration 10
#
# COMPARE_TARGETS="kamailio ringfence" (default; ringfence is skipped with a note when
# RINGFENCE_BIN is unset), COMPARE_SCENARIOS="register call", COMPARE_OUT=RESULTS.md.
# All of lib.sh's settings apply to both targets alike (same SIPp settings both sides).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

: "${COMPARE_TARGETS:=kamailio ringfence}"
: "${COMPARE_SCENARIOS:=register call}"
: "${COMPARE_OUT:=$BENCH_DIR/RESULTS.md}"
summary=$(mktemp /tmp/sip-load-summary.XXXXXX)
logdir=$(mktemp -d /tmp/sip-load-logs.XXXXXX)
trap 'rm -f "$summary"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)

for target in $COMPARE_TARGETS; do
    if [[ $target == ringfence && -z ${RINGFENCE_BIN:-} ]]; then
        log "RINGFENCE_BIN unset: Ringfence not run"
        continue
    fi
    for scenario in $COMPARE_SCENARIOS; do
        log "== $target $scenario"
        "$BENCH_DIR/run.sh" "$target" "$scenario" --summary "$summary" "$@" \
            2>&1 | tee "$logdir/$target-$scenario.log"
    done
done

# summary: a line per step: target scenario rate achieved fail% cpu_ms/1k sipp_cpu_s
# rt_ms sustained server pin/transport
best() { # highest sustained rate of target $1 in scenario $2
    awk -F'\t' -v t="$1" -v s="$2" '$1 == t && $2 == s && $9 == 1 && $3 + 0 > b {b = $3 + 0} END {print b + 0}' "$summary"
}
step() { # column $4 of the step at rate $3
    awk -F'\t' -v t="$1" -v s="$2" -v r="$3" -v c="$4" '$1 == t && $2 == s && $3 == r {v = $c} END {print (v == "" ? "-" : v)}' "$summary"
}
desc() { awk -F'\t' -v t="$1" -v c="${2:-10}" '$1 == t {v = $c} END {print v}' "$summary"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a + 0 > 0 && b + 0 > 0) printf "%.2f", a / b; else print "-" }'; }

table=$(
    echo "| scenario | Kamailio /s | fail % | CPU ms/1k | Ringfence /s | fail % | CPU ms/1k | rate RF/K | at common rate | CPU ms/1k K | CPU ms/1k RF | CPU RF/K |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for s in $COMPARE_SCENARIOS; do
        kb=$(best kamailio "$s") rb=$(best ringfence "$s")
        common=$(( kb < rb ? kb : rb ))
        [[ -n $(desc kamailio) ]] || kb="not run"
        [[ -n $(desc ringfence) ]] || rb="not run"
        [[ $common -gt 0 ]] || common="-"
        kc=$(step kamailio "$s" "$common" 6) rc=$(step ringfence "$s" "$common" 6)
        printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$s" \
            "$kb" "$(step kamailio "$s" "$kb" 5)" "$(step kamailio "$s" "$kb" 6)" \
            "$rb" "$(step ringfence "$s" "$rb" 5)" "$(step ringfence "$s" "$rb" 6)" \
            "$(ratio "$rb" "$kb")" "$common" "$kc" "$rc" "$(ratio "$rc" "$kc")"
    done
)
echo
echo "$table"

steps=$(for f in "$logdir"/*.log; do
    echo "$(basename "$f" .log):"
    grep -E '^(offered|[0-9]+ )' "$f" || true
done)
kdesc=$(desc kamailio); [[ -n $kdesc ]] || kdesc="not run"
rdesc=$(desc ringfence); [[ -n $rdesc ]] || rdesc="not run (RINGFENCE_BIN unset)"
block=$(cat <<EOF
<!-- compare:begin (written by compare.sh; edits here are overwritten) -->
## Side by side (compare.sh)

- Date: $(date -u '+%Y-%m-%d %H:%M UTC')
- Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo); load average before: $load_before (other work shares the machine: figures are noisy)
- SIPp: $(sipp -v 2>/dev/null | grep -o 'v[0-9][0-9.]*' | head -1); pin/transport: $(desc kamailio 11)$(desc ringfence 11); BENCH_NICE=${BENCH_NICE:-none}
- Kamailio: $kdesc
- Ringfence: $rdesc
- Command: \`bench/sip-load/compare.sh${*:+ $(printf '%q ' "$@")}\`

Rate = highest offered rate (calls/s; a "call" is one registration or one call) with
< 1% failures and >= 95% of it achieved; CPU ms/1k = server CPU time (all processes,
utime+stime) per 1000 successful calls at that rate. CPU cost per call falls as the rate
rises (fewer idle wake-ups per message), so the cost is also compared at the highest
rate both sustained ("common rate").

$table

Steps (run.sh output; rt_ms = mean time from the first request to the final answer,
challenge included; srv_cpu_s / sipp_cpu_s = CPU seconds of the server / of the load SIPp):

\`\`\`
$steps
\`\`\`
<!-- compare:end -->
EOF
)
if [[ -f $COMPARE_OUT ]] && grep -q '<!-- compare:begin' "$COMPARE_OUT"; then
    python3 - "$COMPARE_OUT" "$block" <<'PY'
import re, sys
path, block = sys.argv[1], sys.argv[2]
text = open(path).read()
text = re.sub(r"<!-- compare:begin.*?<!-- compare:end -->", lambda _: block, text, flags=re.S)
open(path, "w").write(text)
PY
else
    { [[ -f $COMPARE_OUT ]] && cat "$COMPARE_OUT" && echo; echo "$block"; } >"$COMPARE_OUT.tmp"
    mv "$COMPARE_OUT.tmp" "$COMPARE_OUT"
fi
log "table written to $COMPARE_OUT; run logs in $logdir"
