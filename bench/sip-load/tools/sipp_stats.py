#!/usr/bin/env python3
"""Summarises one SIPp -trace_stat file (-stf, written every -fd seconds) of a load step.

usage: sipp_stats.py STAT_CSV CALLS_PLANNED OFFERED_RATE

Prints shell assignments (eval-able):
  created ok failed incomplete  calls created / successful / failed / neither (still
                                running when SIPp stopped: counted as failures)
  fail_pct                      (failed + incomplete + not created) / planned, in %
  create_s                      seconds SIPp took to create the planned calls
                                (interpolated between statistics rows)
  achieved                      successful calls per second over create_s
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
    # time at which the last call was created, interpolated between rows
    create_s = epoch(last["CurrentTime"]) - start
    prev_t, prev_c = 0.0, 0
    for r in rows:
        t, c = epoch(r["CurrentTime"]) - start, int(r["TotalCallCreated"])
        if c >= created and c > prev_c:
            create_s = prev_t + (created - prev_c) / (c - prev_c) * (t - prev_t)
            break
        prev_t, prev_c = t, c
    # SIPp creates the first call at t=0 and call n at (n-1)/rate
    span = max(create_s, (created - 1) / offered if offered > 0 else 0.0, 1e-3)
    fail_pct = 100.0 * (planned - ok) / planned if planned else 0.0
    print(f"created={created} ok={ok} failed={failed} incomplete={incomplete}")
    print(f"fail_pct={fail_pct:.2f} create_s={create_s:.2f} achieved={ok / span:.0f}")
    print(f"rt_ms={hms_ms(last.get('ResponseTime1(C)', '0:0:0')):.1f}")
    print(f"retrans={int(last.get('Retransmissions(C)', 0))}")


if __name__ == "__main__":
    main()
