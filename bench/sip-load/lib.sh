# Shared by run.sh, rss.sh and compare.sh: settings, starting and stopping the two
# targets, provisioning the benchmark tenant, CPU and memory accounting of the server
# process tree. Sourced, not run.
#
# Settings (environment, with defaults):
#   BENCH_HOST=127.0.0.1       address everything binds to and sends to (loopback only)
#   BENCH_SIP_PORT=15060       the server's SIP/UDP port (Ringfence also takes +1 TCP,
#                              +2 TLS, +3 HTTPS)
#   BENCH_UAS_PORT=15070       the callee SIPp (uas_callee.xml)
#   BENCH_UAC_PORT=15080       the load SIPp's main socket
#   BENCH_CONTACT_PORT=15099   port written in register_auth.xml's Contact (nothing listens)
#   BENCH_DOMAIN=bench.example tenant domain = digest realm
#   BENCH_USERS=1000 BENCH_FIRST=1000   extensions FIRST..FIRST+USERS-1
#   BENCH_CALLEES=100          the last CALLEES extensions are callees, the rest callers
#   BENCH_PIN=no               yes: server on CPU 0, every SIPp on CPU 1 (taskset); see
#                              README for why the default is no on a shared machine
#   BENCH_NICE=                nice value for server and SIPp (e.g. -5 on a shared,
#                              busy machine); empty: unchanged
#   BENCH_WORK=(mktemp -d)     work directory (logs, SIPp statistics, data); removed at
#                              exit unless BENCH_KEEP=1
#   KAMAILIO_CHILDREN=4 KAMAILIO_SHM_MB=512 KAMAILIO_PKG_MB=16
#   KAMAILIO_DB_MODE=2         usrloc db_mode: 0 memory, 1 write-through, 2 write-back
#   KAMAILIO_UL_TIMER=10       usrloc timer (write-back flush) interval, seconds
#   BENCH_SOCKBUF=4194304      UDP socket buffer bytes: SIPp -buff_size and Kamailio -b
#                              (its receive-buffer probing limit); net.core.rmem_max caps it.
#                              Ringfence asks for the same 4 MiB by its own default
#                              ([sip.transport] udp_buffer_bytes): change both together
#   RINGFENCE_BIN              path of the ringfence binary (target ringfence)
#   RINGFENCE_PROVISION_BIN    the binary whose CLI provisions the data directory
#                              [RINGFENCE_BIN]; the cache is keyed by its hash, so pointing
#                              it at a kept copy lets every new build of the server reuse
#                              one provisioning (10000 extensions for rss.sh take minutes),
#                              as long as the store schema is the same
#   RINGFENCE_BENCH_CONFIG     config file for `ringfence serve` [ringfence/bench.toml];
#                              "none" for no file
#   BENCH_CACHE                where provisioned Ringfence data directories are kept
#                              [~/.cache/ringfence-sip-load]

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCEN=$BENCH_DIR/scenarios

: "${BENCH_HOST:=127.0.0.1}"
: "${BENCH_SIP_PORT:=15060}"
: "${BENCH_UAS_PORT:=15070}"
: "${BENCH_UAC_PORT:=15080}"
: "${BENCH_CONTACT_PORT:=15099}"
: "${BENCH_DOMAIN:=bench.example}"
: "${BENCH_USERS:=1000}"
: "${BENCH_FIRST:=1000}"
: "${BENCH_CALLEES:=100}"
: "${BENCH_PIN:=no}"
: "${BENCH_NICE:=}"
: "${KAMAILIO_CHILDREN:=4}"
: "${KAMAILIO_SHM_MB:=512}"
: "${KAMAILIO_PKG_MB:=16}"
: "${KAMAILIO_DB_MODE:=2}"
: "${KAMAILIO_UL_TIMER:=10}"
: "${BENCH_SOCKBUF:=4194304}"
: "${RINGFENCE_BENCH_CONFIG:=$BENCH_DIR/ringfence/bench.toml}"
: "${BENCH_CACHE:=${HOME:-/tmp}/.cache/ringfence-sip-load}"

CLK_TCK=$(getconf CLK_TCK)
SERVER_PID=
SERVER_DESC=
UAS_PID=
BG_PIDS=()

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

require_loopback() {
    [[ $BENCH_HOST == 127.* || $BENCH_HOST == ::1 ]] \
        || die "BENCH_HOST=$BENCH_HOST: the load benchmark only runs against the loopback"
}

need() {
    local c
    for c in "$@"; do
        command -v "$c" >/dev/null || die "$c not found (apt-get install sip-tester kamailio kamailio-sqlite-modules sqlite3 jq)"
    done
}

bench_workdir() {
    if [[ -z ${BENCH_WORK:-} ]]; then
        BENCH_WORK=$(mktemp -d /tmp/sip-load.XXXXXX)
        BENCH_WORK_MADE=1
    fi
    mkdir -p "$BENCH_WORK"
}

# Command prefix for the server / for SIPp: CPU pinning and priority.
pin_server() {
    [[ -n $BENCH_NICE ]] && printf 'nice -n %s ' "$BENCH_NICE"
    [[ $BENCH_PIN == yes ]] && printf 'taskset -c 0'
    return 0
}
pin_sipp() {
    [[ -n $BENCH_NICE ]] && printf 'nice -n %s ' "$BENCH_NICE"
    [[ $BENCH_PIN == yes ]] && printf 'taskset -c 1'
    return 0
}

# All pids of the tree rooted at $1 (Kamailio forks its workers; Ringfence is one
# process with threads, whose times /proc/PID/stat already sums).
proc_tree() {
    local root=$1 p
    echo "$root"
    for p in $(pgrep -P "$root" 2>/dev/null); do proc_tree "$p"; done
}

# utime+stime of the tree, in clock ticks
cpu_ticks() {
    local p sum=0 f
    for p in $(proc_tree "$1"); do
        f=$(cut -d')' -f2- "/proc/$p/stat" 2>/dev/null) || continue
        # fields after "comm)": state(3) ppid(4) ... utime(14) stime(15) -> $12 $13 here
        sum=$((sum + $(awk '{print $12 + $13}' <<<"$f")))
    done
    echo "$sum"
}

ticks_to_s() { awk -v t="$1" -v hz="$CLK_TCK" 'BEGIN{printf "%.2f", t/hz}'; }

# "rss_kb pss_kb nproc" of the tree: VmRSS summed (counts shared memory once per
# process) and Pss summed (shared pages divided among the sharers: the real total)
mem_kb() {
    local p rss=0 pss=0 n=0 r s
    for p in $(proc_tree "$1"); do
        r=$(awk '/^VmRSS:/{print $2}' "/proc/$p/status" 2>/dev/null) || continue
        s=$(awk '/^Pss:/{print $2}' "/proc/$p/smaps_rollup" 2>/dev/null)
        rss=$((rss + ${r:-0})); pss=$((pss + ${s:-0})); n=$((n + 1))
    done
    echo "$rss $pss $n"
}

# Refuses to start when something already listens on UDP $1: a server left from another
# run would share the port (Kamailio binds with SO_REUSEADDR) and take part of the load.
check_port_free() {
    if ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; then
        die "UDP port $1 is already in use ($(ss -Hlunp "sport = :$1" | grep -o 'pid=[0-9]*' | sort -u | tr '\n' ' ')); set BENCH_SIP_PORT or stop it"
    fi
}

# Waits until the process tree of pid $2 listens on UDP $1 (the server is ready).
wait_udp_port() {
    local port=$1 pid=$2 i p owners
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || return 1
        owners=$(ss -Hlunp "sport = :$port" 2>/dev/null | grep -o 'pid=[0-9]*' | cut -d= -f2)
        for p in $(proc_tree "$pid"); do
            grep -qx "$p" <<<"$owners" && return 0
        done
        sleep 0.1
    done
    return 1
}

stop_pid() {
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null
    # Kamailio in write-back mode flushes its contacts to the database on the way out
    for i in $(seq 1 300); do
        kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
        sleep 0.1
    done
    log "pid $pid still running 30 s after SIGTERM: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 0
}

cleanup() {
    # runs from the EXIT trap: every step must run whatever the one before returned
    set +e
    local p
    stop_pid "$UAS_PID"
    for p in "${BG_PIDS[@]}"; do stop_pid "$p"; done
    if [[ -n $SERVER_PID ]]; then
        # Kamailio's workers are children of the main process, which stops them
        local tree
        tree=$(proc_tree "$SERVER_PID" | tr '\n' ' ')
        stop_pid "$SERVER_PID"
        for p in $tree; do kill -0 "$p" 2>/dev/null && kill -KILL "$p" 2>/dev/null; done
    fi
    SERVER_PID=
    # anything still running from this run's work directory (unique mktemp path)
    if [[ -n ${BENCH_WORK:-} ]]; then
        for p in /proc/[0-9]*; do
            grep -qsF "$BENCH_WORK" "$p/cmdline" 2>/dev/null || continue
            log "stopping leftover pid ${p#/proc/}"
            kill -KILL "${p#/proc/}" 2>/dev/null || true
        done
    fi
    if [[ ${BENCH_WORK_MADE:-} == 1 && ${BENCH_KEEP:-0} != 1 ]]; then
        rm -rf "$BENCH_WORK"
    elif [[ -n ${BENCH_WORK:-} ]]; then
        log "work directory kept: $BENCH_WORK"
    fi
}

# ---------------------------------------------------------------- Kamailio

kamailio_version() { kamailio -v 2>/dev/null | head -1 | awk '{print $3}'; }

# start_kamailio -> SERVER_PID, USERS_CSV (user;[authentication ...])
start_kamailio() {
    need kamailio sqlite3 python3 kamcmd
    local dir=$BENCH_WORK/kamailio
    mkdir -p "$dir/run"
    USERS_CSV=$dir/users.csv
    "$BENCH_DIR/kamailio/seed_db.sh" "$dir/kamailio.sqlite" "$USERS_CSV" \
        "$BENCH_USERS" "$BENCH_FIRST" "$BENCH_DOMAIN" >&2
    local args=(-f "$BENCH_DIR/kamailio/kamailio.cfg" -DD -E
        -m "$KAMAILIO_SHM_MB" -M "$KAMAILIO_PKG_MB" -n "$KAMAILIO_CHILDREN" -b "$BENCH_SOCKBUF"
        -l "udp:$BENCH_HOST:$BENCH_SIP_PORT" -Y "$dir/run"
        -A "DBURL=\"sqlite://$dir/kamailio.sqlite\""
        -A "DB_JOURNAL=\"$dir/kamailio.sqlite=WAL;\""
        -A "CTL_SOCK=\"unix:$dir/run/ctl.sock\""
        -A "UL_DB_MODE=$KAMAILIO_DB_MODE" -A "UL_TIMER=$KAMAILIO_UL_TIMER"
        -A "BENCH_DOMAIN=\"$BENCH_DOMAIN\"")
    [[ $KAMAILIO_DB_MODE != 0 ]] && args+=(-A WITH_ULDB)
    KAMAILIO_CTL=unix:$dir/run/ctl.sock
    check_port_free "$BENCH_SIP_PORT"
    SERVER_CMD="kamailio ${args[*]}"
    # shellcheck disable=SC2046
    $(pin_server) kamailio "${args[@]}" >"$dir/kamailio.log" 2>&1 &
    SERVER_PID=$!
    wait_udp_port "$BENCH_SIP_PORT" "$SERVER_PID" \
        || { tail -20 "$dir/kamailio.log" >&2; die "kamailio did not start"; }
    sleep 0.5 # workers finish their child_init (DB connections)
    SERVER_DESC="Kamailio $(kamailio_version) (children=$KAMAILIO_CHILDREN, -m $KAMAILIO_SHM_MB, usrloc db_mode=$KAMAILIO_DB_MODE)"
    log "started $SERVER_DESC, pid $SERVER_PID, $(proc_tree "$SERVER_PID" | wc -l) processes"
}

# value of one Kamailio statistic, e.g. usrloc:location_contacts
kamailio_stat() {
    kamcmd -s "$KAMAILIO_CTL" stats.get_statistics all 2>/dev/null \
        | awk -F' = ' -v n="$1" '$1 == n {print $2}'
}

# ---------------------------------------------------------------- Ringfence

ringfence_version() { "$RINGFENCE_BIN" --version 2>/dev/null | head -1; }

ringfence_env() {
    export RINGFENCE_DATA_DIR=$1
    export RINGFENCE_SIP_UDP=$BENCH_HOST:$BENCH_SIP_PORT
    export RINGFENCE_SIP_TCP=$BENCH_HOST:$((BENCH_SIP_PORT + 1))
    export RINGFENCE_SIP_TLS=$BENCH_HOST:$((BENCH_SIP_PORT + 2))
    export RINGFENCE_HTTPS=$BENCH_HOST:$((BENCH_SIP_PORT + 3))
    : "${RINGFENCE_LOG:=warn}"
    export RINGFENCE_LOG
    if [[ $RINGFENCE_BENCH_CONFIG != none ]]; then
        export RINGFENCE_CONFIG=$RINGFENCE_BENCH_CONFIG
    else
        unset RINGFENCE_CONFIG
    fi
}

# Creates the tenant and the extensions with the documented CLI in data dir $1 and
# writes the SIPp credentials CSV $2 from the passwords the CLI prints (once).
ringfence_provision() {
    local data=$1 csv=$2 out n last line
    log "provisioning tenant $BENCH_DOMAIN with $BENCH_USERS extensions in $data"
    if ! out=$("$PROVISION_BIN" tenant create --name bench --domain "$BENCH_DOMAIN" \
        --encryption optional --json 2>&1); then
        # a CLI that needs an initialised data directory: start serve once
        log "tenant create failed ($out); initialising the data directory with serve"
        check_port_free "$BENCH_SIP_PORT"
        "$PROVISION_BIN" serve >"$data.init.log" 2>&1 &
        local pid=$!
        wait_udp_port "$BENCH_SIP_PORT" "$pid" || { tail -20 "$data.init.log" >&2; die "ringfence serve did not start"; }
        stop_pid "$pid"
        out=$("$PROVISION_BIN" tenant create --name bench --domain "$BENCH_DOMAIN" \
            --encryption optional --json) || die "ringfence tenant create failed"
    fi
    jq -e '.domain' <<<"$out" >/dev/null || die "tenant create printed no JSON with .domain: $out"
    echo SEQUENTIAL >"$csv.tmp"
    last=$((BENCH_FIRST + BENCH_USERS - 1))
    for n in $(seq "$BENCH_FIRST" "$last"); do
        out=$("$PROVISION_BIN" extension create --tenant "$BENCH_DOMAIN" --number "$n" --json) \
            || die "ringfence extension create --number $n failed"
        # {"tenant": DOMAIN, "number": N, "username": ..., "password": ...}
        line=$(jq -er '
            if (.password | test("^[!-~]+$")) and (.password | test("[;\\]]") | not)
            then "\(.username);[authentication username=\(.username) password=\(.password)]"
            else error("password has characters a SIPp CSV cannot carry") end' <<<"$out") \
            || die "extension create printed unexpected JSON: $out"
        if [[ $line == *"password=0"[xX]* ]]; then
            # SIPp reads a password starting 0x as hex: this one extension stays unused
            log "  extension $n: generated password starts with 0x, left out of the CSV"
            continue
        fi
        echo "$line" >>"$csv.tmp"
        (( (n - BENCH_FIRST + 1) % 200 == 0 )) && log "  $((n - BENCH_FIRST + 1)) extensions"
    done
    mv "$csv.tmp" "$csv"
}

# start_ringfence -> SERVER_PID, USERS_CSV
start_ringfence() {
    [[ -n ${RINGFENCE_BIN:-} && -x $RINGFENCE_BIN ]] \
        || die "set RINGFENCE_BIN to the ringfence binary (cargo build --release -p ringfence)"
    need jq sha256sum
    local dir=$BENCH_WORK/ringfence key cache
    mkdir -p "$dir"
    # Provisioning runs the CLI once per extension; its result is cached per binary
    # build, tenant shape and config, and copied for every run (so no bindings carry over).
    PROVISION_BIN=${RINGFENCE_PROVISION_BIN:-$RINGFENCE_BIN}
    [[ -x $PROVISION_BIN ]] || die "RINGFENCE_PROVISION_BIN $PROVISION_BIN is not executable"
    key=$( { sha256sum "$PROVISION_BIN" | cut -c1-16
             [[ $RINGFENCE_BENCH_CONFIG != none ]] && sha256sum "$RINGFENCE_BENCH_CONFIG"
             echo "$BENCH_USERS $BENCH_FIRST $BENCH_DOMAIN"; } | sha256sum | cut -c1-16)
    cache=$BENCH_CACHE/ringfence-$key
    if [[ ! -f $cache/users.csv ]]; then
        rm -rf "$cache"; mkdir -p "$cache"
        ringfence_env "$cache/data"
        ringfence_provision "$cache/data" "$cache/users.csv"
    else
        log "reusing provisioned data directory $cache"
    fi
    rm -rf "$dir/data"
    cp -a "$cache/data" "$dir/data"
    USERS_CSV=$dir/users.csv
    cp "$cache/users.csv" "$USERS_CSV"
    ringfence_env "$dir/data"
    check_port_free "$BENCH_SIP_PORT"
    SERVER_CMD="RINGFENCE_DATA_DIR=$dir/data RINGFENCE_SIP_UDP=$RINGFENCE_SIP_UDP RINGFENCE_CONFIG=${RINGFENCE_CONFIG:-} $RINGFENCE_BIN serve"
    # shellcheck disable=SC2046
    $(pin_server) "$RINGFENCE_BIN" serve >"$dir/ringfence.log" 2>&1 &
    SERVER_PID=$!
    wait_udp_port "$BENCH_SIP_PORT" "$SERVER_PID" \
        || { tail -20 "$dir/ringfence.log" >&2; die "ringfence serve did not start"; }
    sleep 0.5
    SERVER_DESC="Ringfence $(ringfence_version)"
    log "started $SERVER_DESC, pid $SERVER_PID"
}

start_target() {
    case $1 in
        kamailio) start_kamailio ;;
        ringfence) start_ringfence ;;
        *) die "unknown target '$1' (kamailio or ringfence)" ;;
    esac
}

# ---------------------------------------------------------------- SIPp

# -buff_size: 4 MiB socket buffers (SIPp's default is 64 KiB), so SIPp itself does not
# drop answers while it waits for the CPU; the watchdog would otherwise end a run in
# which SIPp is starved of CPU by the server sharing the machine.
SIPP_COMMON=(-i "$BENCH_HOST" -nostdin -auth_uri "$BENCH_DOMAIN" -key domain "$BENCH_DOMAIN"
    -buff_size "$BENCH_SOCKBUF"
    -watchdog_major_maxtriggers 100000 -watchdog_minor_maxtriggers 100000)

# Writes callees.csv and calls.csv (caller;[authentication ...];callee) from USERS_CSV.
split_users() {
    local dir=$1
    awk -v callees="$BENCH_CALLEES" -v users="$BENCH_USERS" -v dir="$dir" '
        NR == 1 { next }
        { n++; line[n] = $0; split($0, f, ";"); user[n] = f[1] }
        END {
            if (callees >= n) { print "BENCH_CALLEES must be below BENCH_USERS" > "/dev/stderr"; exit 1 }
            ncallers = n - callees
            print "SEQUENTIAL" > (dir "/callees.csv")
            for (i = ncallers + 1; i <= n; i++) print line[i] > (dir "/callees.csv")
            print "SEQUENTIAL" > (dir "/calls.csv")
            for (i = 1; i <= ncallers; i++) print line[i] ";" user[ncallers + 1 + (i - 1) % callees] > (dir "/calls.csv")
        }' "$USERS_CSV"
}

# Registers the callees' contacts from the callee UAS's own port, then starts the UAS there.
# The registrations come from that port (one socket, -t u1) because a registrar may send
# requests to the address a REGISTER came from rather than to its Contact (NAT handling:
# Ringfence does, for UDP), and the port is the UAS's in both readings.
start_callees() {
    local dir=$1
    split_users "$dir" || die "cannot split users"
    timeout -k 5 60 sipp "$BENCH_HOST:$BENCH_SIP_PORT" -sf "$SCEN/register_callee.xml" \
        "${SIPP_COMMON[@]}" -t u1 -p "$BENCH_UAS_PORT" -inf "$dir/callees.csv" \
        -key uas_host "$BENCH_HOST" -key uas_port "$BENCH_UAS_PORT" \
        -m "$BENCH_CALLEES" -r 200 -timeout 30s -recv_timeout 5000 \
        -trace_err -error_file "$dir/register_callee_errors.log" >"$dir/register_callee.out" 2>&1 \
        || { tail -5 "$dir/register_callee_errors.log" >&2; die "registering the callees failed"; }
    # shellcheck disable=SC2046
    $(pin_sipp) sipp -sf "$SCEN/uas_callee.xml" -i "$BENCH_HOST" -p "$BENCH_UAS_PORT" -nostdin \
        -buff_size "$BENCH_SOCKBUF" \
        -t u1 -timeout 3600s -watchdog_major_maxtriggers 100000 -watchdog_minor_maxtriggers 100000 \
        -trace_err -error_file "$dir/uas_errors.log" \
        ${BENCH_TRACE:+-trace_msg -message_file "$dir/uas_messages.log"} >"$dir/uas.out" 2>&1 &
    UAS_PID=$!
    sleep 0.5
    kill -0 "$UAS_PID" 2>/dev/null || { tail "$dir/uas.out" >&2; die "callee SIPp did not start"; }
    log "$BENCH_CALLEES callees registered at $BENCH_HOST:$BENCH_UAS_PORT"
}
