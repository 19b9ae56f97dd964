#!/usr/bin/env bash
# Memory with many registered contacts: registers N contacts (default 100000) with SIPp
# and reports the server's memory before and after.
#
#   rss.sh TARGET [N] [--users U] [--rate R]
#     TARGET   kamailio | ringfence (ringfence needs RINGFENCE_BIN)
#     N        contacts to register [100000]
#     --users U  extensions [10000]; each gets N/U contacts (<= 10, the registrar's
#                max_contacts on both targets), so the default is 10000 x 10
#     --rate R   registrations per second [1000]
#
# Memory is read from /proc: VmRSS of the main process, VmRSS summed over all the
# server's processes (counts shared memory once per process: Kamailio's shared memory
# appears in each worker) and Pss summed (shared pages divided among the sharers: the
# real total). Ringfence is one process, where the three agree. Kamailio runs with
# -m $KAMAILIO_SHM_MB (1024 here) shared memory; only touched pages are resident.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[[ $# -ge 1 ]] || { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
TARGET=$1; shift
N=100000
if [[ $# -gt 0 && $1 != --* ]]; then N=$1; shift; fi
BENCH_USERS=10000 RATE=1000
while [[ $# -gt 0 ]]; do
    case $1 in
        --users) BENCH_USERS=$2; shift 2 ;;
        --rate) RATE=$2; shift 2 ;;
        *) die "unknown option $1" ;;
    esac
done
per_user=$(( (N + BENCH_USERS - 1) / BENCH_USERS ))
(( per_user <= 10 )) || die "$N contacts over $BENCH_USERS users is $per_user per user; the registrars keep 10: raise --users"
KAMAILIO_SHM_MB=${KAMAILIO_SHM_MB_RSS:-1024}
require_loopback
need sipp ss awk python3 timeout
ulimit -n 65536 2>/dev/null || true

bench_workdir
trap cleanup EXIT
trap 'exit 130' INT TERM

start_target "$TARGET"
mem() {
    local rss pss n main
    read -r rss pss n <<<"$(mem_kb "$SERVER_PID")"
    main=$(awk '/^VmRSS:/{print $2}' "/proc/$SERVER_PID/status")
    printf '%s main VmRSS %.1f MiB | %d processes: VmRSS sum %.1f MiB, Pss sum %.1f MiB\n' \
        "$1" "$(bc -l <<<"$main/1024")" "$n" "$(bc -l <<<"$rss/1024")" "$(bc -l <<<"$pss/1024")"
}
need bc
sleep 2
before=$(mem "before:")
echo "$before"
read -r _ pss0 _ <<<"$(mem_kb "$SERVER_PID")"

log "registering $N contacts ($BENCH_USERS users x $per_user) at $RATE/s"
t0=$(cpu_ticks "$SERVER_PID")
set +e
# shellcheck disable=SC2046
timeout -k 5 $((N / RATE + 120)) $(pin_sipp) sipp "$BENCH_HOST:$BENCH_SIP_PORT" \
    -sf "$SCEN/register_many.xml" "${SIPP_COMMON[@]}" -p "$BENCH_UAC_PORT" -t un -max_socket 1024 \
    -inf "$USERS_CSV" -key contact_port "$BENCH_CONTACT_PORT" \
    -r "$RATE" -m "$N" -l "$N" -timeout "$((N / RATE + 60))s" -recv_timeout 10000 \
    -trace_stat -stf "$BENCH_WORK/rss.csv" -fd 5 -trace_err -error_file "$BENCH_WORK/rss_errors.log" \
    >"$BENCH_WORK/rss_sipp.out" 2>&1
set -e
t1=$(cpu_ticks "$SERVER_PID")
eval "$(python3 "$BENCH_DIR/tools/sipp_stats.py" "$BENCH_WORK/rss.csv" "$N" "$RATE")"
# shellcheck disable=SC2154 # set by the eval above
echo "registrations: $ok ok, $((failed + incomplete)) failed; server CPU $(ticks_to_s $((t1 - t0))) s"
if [[ $TARGET == kamailio ]]; then
    echo "kamailio usrloc: contacts=$(kamailio_stat usrloc:location_contacts) users=$(kamailio_stat usrloc:location_users)"
fi
sleep 2
after=$(mem "after: ")
echo "$after"
read -r _ pss1 _ <<<"$(mem_kb "$SERVER_PID")"
awk -v a="$pss0" -v b="$pss1" -v n="$ok" 'BEGIN{ if (n > 0) printf "growth: %.1f MiB Pss, %.0f bytes per contact\n", (b - a) / 1024, (b - a) * 1024 / n }'
# Finished transactions are kept 32 s (RFC 3261 Timer J over UDP) after the last
# registration; memory once they are gone is the bindings' own cost (freed memory may
# stay with the allocator, so this can stay above the bindings' true size).
sleep "${BENCH_SETTLE:-40}"
settled=$(mem "settled (${BENCH_SETTLE:-40} s later):")
echo "$settled"
read -r _ pss2 _ <<<"$(mem_kb "$SERVER_PID")"
awk -v a="$pss0" -v b="$pss2" -v n="$ok" 'BEGIN{ if (n > 0) printf "settled growth: %.1f MiB Pss, %.0f bytes per contact\n", (b - a) / 1024, (b - a) * 1024 / n }'
echo "server: $SERVER_DESC"
