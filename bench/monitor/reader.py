#!/usr/bin/env python3
"""Reads the monitor's JSON alert lines from stdin; for each, writes
`read_ns<TAB>event_ns<TAB>rule` (read_ns: CLOCK_REALTIME when the line was read; event_ns: the
alert's `time` field, the syscall's kernel timestamp converted to wall-clock time)."""
import calendar, json, sys, time

def parse(t):
    # 2026-12-06T05:01:02.123456789Z
    base, frac = t.rstrip("Z").split(".")
    secs = calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S"))
    return secs * 10**9 + int(frac.ljust(9, "0")[:9])

out = open(sys.argv[1], "w", buffering=1)
for line in sys.stdin:
    now = time.time_ns()
    try:
        a = json.loads(line)
        out.write(f"{now}\t{parse(a['time'])}\t{a['rule']}\n")
    except (ValueError, KeyError):
        pass
