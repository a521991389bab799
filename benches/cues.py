#!/usr/bin/env python3
"""Cue precision on the real clock, and the wall time of a fast-forwarded rehearsal.

  python3 benches/cues.py          (builds the release binary first; takes about two minutes)
  python3 benches/cues.py --vs BIN (also measures cue precision of the emcee binary BIN in the
                                    same run, e.g. one built from an earlier commit)

1. 100 cues one second apart (+2s ... +101s), each a control call, rehearsed against the
   in-process emulator on loopback (--sim, real clock). For each cue: the gap between its
   planned instant and the emulator's receive time of the call it fires, from the cue
   events and the emulator's request log (--sim-requests). p50, p99 and max, and the
   process's CPU time over the ~100 s.
2. A 90-minute playbook (cues at +15m ... +90m, waits, a wait_for on a late arrival)
   rehearsed with --sim --fast-forward: the whole process's wall time, median of 9.
"""
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMCEE = os.path.join(ROOT, "target", "release", "emcee")
HEAD = ('name: Cues\nmeeting:\n  id: "914044873"\n  host_password: "{{ secret(\'EMCEE_HOST_PASSWORD\') }}"\n'
        "timezone: Asia/Shanghai\n")


def ts(text):
    # RFC 3339 with an offset, to seconds since the epoch (microseconds kept).
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def precision(workdir, emcee=EMCEE):
    steps = "".join(f"  - at: +{i + 2}s\n    {'lock' if i % 2 == 0 else 'unlock'}: {{}}\n" for i in range(100))
    path = os.path.join(workdir, "cues.yaml")
    with open(path, "w") as f:
        f.write(HEAD + "steps:\n" + steps + "rehearsal:\n  participants: []\n")
    log = os.path.join(workdir, "requests.json")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([emcee, "run", path, "--sim", "--sim-requests", log, "--log-format", "json"],
                         capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if out.returncode != 0:
        sys.exit(out.stdout + out.stderr)
    cues = [json.loads(l) for l in out.stdout.splitlines() if '"event":"cue"' in l]
    calls = [r for r in json.load(open(log)) if r["path"].endswith("/lock")]
    assert len(cues) == len(calls) == 100, (len(cues), len(calls))
    gaps = sorted((ts(call["received"]) - ts(cue["planned"])) * 1000 for cue, call in zip(cues, calls))
    return {
        "p50": statistics.median(gaps),
        "p99": gaps[int(round(0.99 * (len(gaps) - 1)))],
        "max": gaps[-1],
        "min": gaps[0],
        "cpu": cpu,
    }


def fast_forward(workdir):
    path = os.path.join(ROOT, "tests", "timeline", "ninety-minutes.yaml")
    times = []
    for _ in range(9):
        start = time.perf_counter()
        out = subprocess.run([EMCEE, "run", path, "--sim", "--fast-forward"], capture_output=True, text=True)
        times.append(time.perf_counter() - start)
        if out.returncode != 0:
            sys.exit(out.stdout + out.stderr)
    return statistics.median(times)


def main():
    if "--no-build" not in sys.argv:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "emcee"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as workdir:
        p = precision(workdir)
        vs = precision(workdir, sys.argv[sys.argv.index("--vs") + 1]) if "--vs" in sys.argv else None
        ff = fast_forward(workdir)
    print(f"`python3 benches/cues.py`, {os.cpu_count()} cores\n")
    print("Cue precision, 100 cues one second apart, planned instant to the emulator's receive time:\n")
    print("| binary | p50 | p99 | max | min | CPU |\n| --- | ---: | ---: | ---: | ---: | ---: |")
    for name, r in (("this build", p), ("--vs", vs)):
        if r:
            print(f"| {name} | {r['p50']:.2f} ms | {r['p99']:.2f} ms | {r['max']:.2f} ms | {r['min']:.2f} ms "
                  f"| {r['cpu']:.2f} s |")
    print(f"\nThe 90-minute rehearsal with --sim --fast-forward: {ff * 1000:.0f} ms (median of 9, whole process)")


if __name__ == "__main__":
    main()
