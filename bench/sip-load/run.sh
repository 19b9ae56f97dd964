#!/usr/bin/env bash
# SIP load benchmark: one target, one scenario, a ramp of call rates.
#
#   run.sh TARGET SCENARIO [options]
#     TARGET    kamailio | ringfence   (ringfence needs RINGFENCE_BIN)
#     SCENARIO  register   REGISTER -> 401 -> REGISTER with digest -> 200, per second
#               call       INVITE -> 407 -> ACK -> INVITE with digest -> 100/180/200 -> ACK
#                          -> pause -> BYE -> 200, per second
#   options:
#     --rates "500 1000 ..."  offered rates (calls/s), in order [register: 500 1000
#                         2000 4000 6000 8000 10000 12000 14000 16000 20000; call: 100 300 500
#                         1000 1500 2000 2500 3000 4000]
#     --duration S        seconds per step [10]
#     --pause-ms MS       call hold time between ACK and BYE [1000]
#     --transport un|u1   SIPp UDP mode [un]: a socket per call (see README)
#     --max-socket N      SIPp sockets at most with un [1024]
#     --pin yes|no        server on CPU 0, SIPp on CPU 1 [BENCH_PIN, default no]
#     --keep-going        run every rate even after one that fails
#     --summary FILE      append a tab-separated line per step (for compare.sh): target
#                         scenario rate achieved fail% cpu_ms/1k sipp_cpu_s rt_ms
#                         sustained(0/1) server pin/transport
#     --trace             SIPp message traces in the work directory (slow; debugging)
# Other settings come from the environment (lib.sh lists them), e.g. BENCH_SIP_PORT,
# KAMAILIO_DB_MODE, KAMAILIO_CHILDREN.
#
# A step is "sustained" when failures (failed + unfinished + not created) stay below
# 1% of the planned calls and the successful calls per second reach 95% of the offered
# rate. The result is the highest sustained step. CPU time of the server (all its
# processes, utime+stime from /proc) and of SIPp is measured per step.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

usage() { sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[[ $# -ge 2 ]] || usage
TARGET=$1 SCENARIO=$2; shift 2
RATES=
DURATION=10 PAUSE_MS=1000 TRANSPORT=un MAX_SOCKET=1024 KEEP_GOING=0 SUMMARY=
while [[ $# -gt 0 ]]; do
    case $1 in
        --rates) RATES=$2; shift 2 ;;
        --duration) DURATION=$2; shift 2 ;;
        --pause-ms) PAUSE_MS=$2; shift 2 ;;
        --transport) TRANSPORT=$2; shift 2 ;;
        --max-socket) MAX_SOCKET=$2; shift 2 ;;
        --pin) BENCH_PIN=$2; shift 2 ;;
        --keep-going) KEEP_GOING=1; shift ;;
        --summary) SUMMARY=$2; shift 2 ;;
        --trace) BENCH_TRACE=1; shift ;;
        -h|--help) usage ;;
        *) die "unknown option $1" ;;
    esac
done
case $SCENARIO in
    register) : "${RATES:=500 1000 2000 4000 6000 8000 10000 12000 14000 16000 20000}" ;;
    call) : "${RATES:=100 300 500 1000 1500 2000 2500 3000 4000}" ;;
esac
case $SCENARIO in register|call) ;; *) die "unknown scenario '$SCENARIO' (register or call)" ;; esac
case $TRANSPORT in un|u1) ;; *) die "--transport must be un or u1" ;; esac
require_loopback
need sipp taskset ss awk python3 /usr/bin/time timeout
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

bench_workdir
trap cleanup EXIT
trap 'exit 130' INT TERM

SIPP_TRACE=()
[[ ${BENCH_TRACE:-0} == 1 ]] && SIPP_TRACE=(-trace_msg)
start_target "$TARGET"
STEPS=$BENCH_WORK/steps
mkdir -p "$STEPS"
if [[ $SCENARIO == call ]]; then
    start_callees "$BENCH_WORK"
    SF=$SCEN/uac_call_auth.xml
    INF=$BENCH_WORK/calls.csv
    EXTRA=(-d "$PAUSE_MS" -default_behaviors all,-abortunexp)
else
    SF=$SCEN/register_auth.xml
    INF=$USERS_CSV
    EXTRA=(-key contact_port "$BENCH_CONTACT_PORT")
fi

log "target=$TARGET scenario=$SCENARIO rates=[$RATES] ${DURATION}s/step transport=$TRANSPORT pin=$BENCH_PIN"
printf '%-8s %9s %8s %8s %7s %8s %8s %9s %9s %9s %7s\n' \
    offered achieved planned ok failed fail% rt_ms srv_cpu_s cpu_ms/1k sipp_cpu_s retrans
BEST=0
for rate in $RATES; do
    planned=$((rate * DURATION))
    stf=$STEPS/$SCENARIO-$rate.csv
    t0=$(cpu_ticks "$SERVER_PID")
    # -l: no SIPp-side throttling (a slow server shows as failures, not as a lower
    # offered rate); -recv_timeout: a lost or late answer fails the call after 5 s;
    # timeout(1) is the hard stop should SIPp itself hang.
    set +e
    # shellcheck disable=SC2046
    timeout -k 5 $((DURATION + 60)) /usr/bin/time -f '%U %S' -o "$STEPS/sipp-time-$rate" \
        $(pin_sipp) sipp "$BENCH_HOST:$BENCH_SIP_PORT" -sf "$SF" "${SIPP_COMMON[@]}" \
        -p "$BENCH_UAC_PORT" -t "$TRANSPORT" -max_socket "$MAX_SOCKET" -inf "$INF" "${EXTRA[@]}" \
        -r "$rate" -rp 1000 -m "$planned" -l "$planned" \
        -timeout "$((DURATION + 30))s" -recv_timeout 5000 \
        -trace_stat -stf "$stf" -fd 1 -trace_err -error_file "$STEPS/errors-$rate.log" \
        "${SIPP_TRACE[@]}" -message_file "$STEPS/messages-$rate.log" \
        >"$STEPS/sipp-$rate.out" 2>&1
    rc=$?
    set -e
    t1=$(cpu_ticks "$SERVER_PID")
    kill -0 "$SERVER_PID" 2>/dev/null || die "the server died during the $rate/s step"
    [[ -s $stf ]] || { tail -5 "$STEPS/sipp-$rate.out" >&2; die "SIPp wrote no statistics (exit $rc)"; }
    eval "$(python3 "$BENCH_DIR/tools/sipp_stats.py" "$stf" "$planned" "$rate")"
    # shellcheck disable=SC2154 # set by the eval above
    srv_s=$(ticks_to_s $((t1 - t0)))
    sipp_s=$(tail -1 "$STEPS/sipp-time-$rate" 2>/dev/null | awk '{printf "%.2f", $1 + $2}')
    per_k=$(awk -v t=$((t1 - t0)) -v hz="$CLK_TCK" -v ok="$ok" 'BEGIN{ if (ok > 0) printf "%.1f", 1000 * t / hz / ok * 1000; else print "-" }')
    line=$(printf '%-8s %9s %8s %8s %7s %8s %8s %9s %9s %9s %7s' \
        "$rate" "$achieved" "$planned" "$ok" "$((failed + incomplete))" "$fail_pct" "$rt_ms" \
        "$srv_s" "$per_k" "$sipp_s" "$retrans")
    echo "$line"
    sustained=$(awk -v f="$fail_pct" -v a="$achieved" -v r="$rate" 'BEGIN{print (f < 1 && a >= 0.95 * r) ? 1 : 0}')
    if [[ -n $SUMMARY ]]; then
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$TARGET" "$SCENARIO" "$rate" \
            "$achieved" "$fail_pct" "$per_k" "$sipp_s" "$rt_ms" "$sustained" "$SERVER_DESC" \
            "$BENCH_PIN/$TRANSPORT" >>"$SUMMARY"
    fi
    if [[ $sustained == 1 ]]; then
        BEST=$rate
    elif [[ $KEEP_GOING == 0 ]]; then
        log "$rate/s not sustained (failures $fail_pct%, achieved $achieved/s): stopping the ramp"
        break
    fi
    sleep 2
done

if [[ $SCENARIO == call && $TARGET == kamailio ]]; then
    log "kamailio dialogs: processed=$(kamailio_stat dialog:processed_dialogs) active=$(kamailio_stat dialog:active_dialogs) failed=$(kamailio_stat dialog:failed_dialogs)"
fi
if [[ $SCENARIO == register && $TARGET == kamailio ]]; then
    log "kamailio usrloc: contacts=$(kamailio_stat usrloc:location_contacts) users=$(kamailio_stat usrloc:location_users)"
fi
echo "highest sustained rate: $BEST/s ($TARGET, $SCENARIO, $SERVER_DESC)"
