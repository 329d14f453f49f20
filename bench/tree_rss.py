#!/usr/bin/env python3
"""Peak summed RSS of a process's descendants: tree_rss.py PID OUTFILE.

/usr/bin/time -v reports the max RSS of the largest single process; tools that fork workers
(checkov) use more than that. This polls /proc every 20 ms until PID exits and writes the peak
sum, in MiB, of the RSS of PID's descendants (PID itself, the `time` wrapper, excluded).
Short runs (well under 100 ms) may end between two polls: take the larger of both measures.
"""
import sys
import time


def children(pid):
    out = []
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            for c in fh.read().split():
                out.append(int(c))
                out.extend(children(int(c)))
    except OSError:
        pass
    return out


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def main():
    pid, out = int(sys.argv[1]), sys.argv[2]
    peak = 0
    while True:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(") ")[-1].startswith("Z"):
                    break
        except OSError:
            break
        peak = max(peak, sum(rss_kib(p) for p in children(pid)))
        time.sleep(0.02)
    with open(out, "w") as fh:
        fh.write(f"{peak / 1024:.1f}\n")


if __name__ == "__main__":
    main()
