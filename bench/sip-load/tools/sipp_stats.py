#!/usr/bin/env python3
"""Summarises one SIPp -trace_stat file (-stf, written every -fd seconds) of a load step.

usage: sipp_stats.py STAT_CSV CALLS_PLANNED OFFERED_RATE

Prints shell assignments (eval-able):
  created ok failed incomplete  calls created / successful / failed / neither (still
                                running when SIPp stopped: counted as failures)
  fail_pct                      (failed + incomplete + not created) / planned, in %
  create_s                      seconds SIPp took to create the planned calls
                                (interpolated between statistics rows)
  achieved                      successful calls per second over the time the calls
                                were served: from the start until the last call ended,
                                less the mean call length (a server that falls behind
                                lowers it even when every call succeeds in the end)
  rt_ms                         mean response time 1 (ms, SIPp's 1 ms resolution)
  retrans                       SIPp retransmissions (a sign of a late server)
"""
import csv
import sys


def hms_ms(v: str) -> float:
    """'HH:MM:SS:uuuuuu' or 'HH:MM:SS' -> milliseconds."""
    parts = v.strip().split(":")
    if len(parts) < 3:
        return 0.0
    h, m, s = (int(p) for p in parts[:3])
    us = int(parts[3]) if len(parts) > 3 else 0
    return (h * 3600 + m * 60 + s) * 1000 + us / 1000


def epoch(v: str) -> float:
    """'YYYY-MM-DD\\tHH:MM:SS.ffffff\\tEPOCH' -> EPOCH seconds."""
    return float(v.split("\t")[-1])


def main() -> None:
    path, planned, offered = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    if not rows:
        sys.exit(f"{path}: no statistics rows")
    start = epoch(rows[0]["StartTime"])
    last = rows[-1]
    created = int(last["TotalCallCreated"])
    ok = int(last["SuccessfulCall(C)"])
    failed = int(last["FailedCall(C)"])
    incomplete = max(created - ok - failed, 0)
    def when(column_sum):
        """Seconds from the start until column_sum(row) reached its final value,
        interpolated between statistics rows."""
        final = column_sum(last)
        prev_t, prev_v = 0.0, 0
        for r in rows:
            t, v = epoch(r["CurrentTime"]) - start, column_sum(r)
            if v >= final and v > prev_v:
                return prev_t + (final - prev_v) / (v - prev_v) * (t - prev_t)
            prev_t, prev_v = t, v
        return epoch(last["CurrentTime"]) - start

    create_s = when(lambda r: int(r["TotalCallCreated"]))
    # the last call ended (successfully or not) at end_s; a call lasts call_len_s, so
    # the calls were served over end_s - call_len_s: a server that falls behind stretches
    # this span (its backlog drains after SIPp stopped creating calls)
    end_s = when(lambda r: int(r["SuccessfulCall(C)"]) + int(r["FailedCall(C)"]))
    call_len_s = hms_ms(last.get("CallLength(C)", "0:0:0")) / 1000
    span = max(end_s - call_len_s, create_s, (created - 1) / offered if offered > 0 else 0.0, 1e-3)
    fail_pct = 100.0 * (planned - ok) / planned if planned else 0.0
    print(f"created={created} ok={ok} failed={failed} incomplete={incomplete}")
    print(f"fail_pct={fail_pct:.2f} create_s={create_s:.2f} achieved={ok / span:.0f}")
    print(f"rt_ms={hms_ms(last.get('ResponseTime1(C)', '0:0:0')):.1f}")
    print(f"retrans={int(last.get('Retransmissions(C)', 0))}")


if __name__ == "__main__":
    main()
