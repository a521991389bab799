#!/usr/bin/env python3
"""Cue precision on the real clock, and the wall time of a fast-forwarded rehearsal.

  python3 benches/cues.py          (builds the release binary first; takes about two minutes)
  python3 benches/cues.py --vs BIN (also measures cue precision of the emcee binary BIN in the
                                    same run, e.g. one built from an earlier commit)
  CUES=10 python3 benches/cues.py --no-build   (fewer cues, for a quick look)
  python3 benches/cues.py --control            (this build also with --control: listening on its
                                                control socket, as every run against the service
                                                does, measured in the same run)

1. 100 cues one second apart, each a control call, rehearsed against the in-process
   emulator on loopback (--sim, real clock). For each cue: the gap between its planned
   instant and the emulator's receive time of the call it fires (--sim-requests). p50,
   p99 and max, and the process's CPU time over the ~100 s. The cues are absolute
   instants on whole seconds (`at: 2026-12-02T21:16:08+00:00`), so the planned instant
   is known exactly: output shows instants to the millisecond, truncated, and a cue
   counted from the run's start (`+2s`) falls at the start's own fraction of a
   millisecond, which the shown `planned` drops (that made earlier figures read up to
   1 ms late). Also split: planned instant to the cue event's timestamp (the wait), and
   the cue event to the emulator's receipt (the call's path).
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
CUES = int(os.environ.get("CUES", "100"))
HEAD = ('name: Cues\nmeeting:\n  id: "914044873"\n  host_password: "{{ secret(\'EMCEE_HOST_PASSWORD\') }}"\n'
        "timezone: Asia/Shanghai\n")


def ts(text):
    # RFC 3339 with an offset, to seconds since the epoch (microseconds kept).
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def precision(workdir, emcee=EMCEE, extra=()):
    # Whole seconds, far enough ahead for the process to start and log in.
    first = int(time.time()) + 3
    instants = [first + i for i in range(CUES)]
    steps = "".join(f"  - at: {iso(t)}\n    {'lock' if i % 2 == 0 else 'unlock'}: {{}}\n"
                    for i, t in enumerate(instants))
    path = os.path.join(workdir, "cues.yaml")
    with open(path, "w") as f:
        f.write(HEAD + "steps:\n" + steps + "rehearsal:\n  participants: []\n")
    log = os.path.join(workdir, "requests.json")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([emcee, "run", path, "--sim", "--sim-requests", log, "--log-format", "json", *extra],
                         capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if out.returncode != 0:
        sys.exit(out.stdout + out.stderr)
    cues = [json.loads(l) for l in out.stdout.splitlines() if '"event":"cue"' in l]
    calls = [r for r in json.load(open(log)) if r["path"].endswith("/lock")]
    assert len(cues) == len(calls) == CUES, (len(cues), len(calls))
    assert all(c["status"] == "on_time" for c in cues), [c for c in cues if c["status"] != "on_time"]
    gaps = sorted((ts(call["received"]) - t) * 1000 for t, call in zip(instants, calls))
    wake = sorted((ts(cue["ts"]) - t) * 1000 for t, cue in zip(instants, cues))
    path_ms = sorted((ts(call["received"]) - ts(cue["ts"])) * 1000 for cue, call in zip(cues, calls))
    assert gaps[0] >= 0, f"a call reached the emulator {-gaps[0]:.3f} ms before its cue"
    return {
        "p50": statistics.median(gaps),
        "p99": p99(gaps),
        "max": gaps[-1],
        "min": gaps[0],
        "wake p50": statistics.median(wake),
        "wake p99": p99(wake),
        "path p50": statistics.median(path_ms),
        "path p99": p99(path_ms),
        "cpu": cpu,
    }


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t))


def p99(sorted_values):
    return sorted_values[int(round(0.99 * (len(sorted_values) - 1)))]


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
        runs = [("this build", precision(workdir))]
        if "--control" in sys.argv:
            state = os.path.join(workdir, "state")
            runs.append(("this build, --control", precision(workdir, EMCEE, ["--control", "--state-dir", state])))
        if "--vs" in sys.argv:
            runs.append(("--vs", precision(workdir, sys.argv[sys.argv.index("--vs") + 1])))
        ff = fast_forward(workdir)
    flags = " ".join(a for a in sys.argv[1:] if a != "--no-build")
    print(f"`python3 benches/cues.py {flags}`, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}\n")
    print(f"Cue precision, {CUES} cues one second apart, planned instant to the emulator's receive time:\n")
    print("| binary | p50 | p99 | max | min | wait p50 / p99 | path p50 / p99 | CPU |\n"
          "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, r in runs:
        print(f"| {name} | {r['p50']:.2f} ms | {r['p99']:.2f} ms | {r['max']:.2f} ms | {r['min']:.2f} ms "
              f"| {r['wake p50']:.2f} / {r['wake p99']:.2f} ms | {r['path p50']:.2f} / {r['path p99']:.2f} ms "
              f"| {r['cpu']:.2f} s |")
    p = runs[0][1]
    for name, r in runs[1:]:
        print(f"\nthis build / {name}: p50 {p['p50'] / r['p50']:.2f}, p99 {p['p99'] / r['p99']:.2f}, "
              f"CPU {p['cpu'] / r['cpu']:.2f}")
    print(f"\nThe 90-minute rehearsal with --sim --fast-forward: {ff * 1000:.0f} ms (median of 9, whole process)")


if __name__ == "__main__":
    main()
