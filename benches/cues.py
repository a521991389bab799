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
   p99 and max, and the process's CPU time over the ~100 s. The builds compared (--vs,
   --control) run at the same time, each with its cues a fraction of a second after the
   previous one's, so that they meet the same load on the shared machine. The cues are absolute
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


def start_precision(workdir, name, emcee, extra, offset, first):
    """Starts a run of CUES cues one second apart from `first` + `offset` seconds."""
    instants = [first + offset + i for i in range(CUES)]
    steps = "".join(f"  - at: {iso(t)}\n    {'lock' if i % 2 == 0 else 'unlock'}: {{}}\n"
                    for i, t in enumerate(instants))
    tag = f"{len(os.listdir(workdir))}"
    path = os.path.join(workdir, f"cues{tag}.yaml")
    with open(path, "w") as f:
        f.write(HEAD + "steps:\n" + steps + "rehearsal:\n  participants: []\n")
    log = os.path.join(workdir, f"requests{tag}.json")
    out = open(os.path.join(workdir, f"out{tag}.jsonl"), "w+")
    state = ["--state-dir", os.path.join(workdir, f"state{tag}")]
    err = open(os.path.join(workdir, f"err{tag}.txt"), "w+")
    proc = subprocess.Popen([emcee, "run", path, "--sim", "--sim-requests", log, "--log-format", "json",
                             *state, *extra], stdout=out, stderr=err, text=True)
    return {"name": name, "proc": proc, "instants": instants, "log": log, "out": out, "err": err}


def finish_precision(run):
    proc = run["proc"]
    if proc.returncode != 0:
        run["err"].seek(0)
        sys.exit(f"{run['name']}: exit {proc.returncode}: {run['err'].read()}")
    run["out"].seek(0)
    cues = [json.loads(l) for l in run["out"] if '"event":"cue"' in l]
    calls = [r for r in json.load(open(run["log"])) if r["path"].endswith("/lock")]
    instants = run["instants"]
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
        "cpu": run["cpu"],
    }


def precision_side_by_side(workdir, runs):
    """Runs every (name, binary, extra flags) at once, each with its cues a fraction of a
    second after the previous one's, so that all of them meet the same load on the
    machine but never fire at the same moment; each one's CPU comes from its rusage."""
    first = int(time.time()) + 3
    started = [start_precision(workdir, name, emcee, extra, round(i / len(runs), 3), first)
               for i, (name, emcee, extra) in enumerate(runs)]
    results = []
    for run in started:
        _, status, usage = os.wait4(run["proc"].pid, 0)
        run["proc"].returncode = os.waitstatus_to_exitcode(status)
        run["cpu"] = usage.ru_utime + usage.ru_stime
        results.append((run["name"], finish_precision(run)))
    return results


def iso(t):
    whole = int(t)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)) + f".{round((t - whole) * 1000):03d}+00:00"


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
        runs = [("this build", EMCEE, [])]
        if "--control" in sys.argv:
            runs.append(("this build, --control", EMCEE, ["--control"]))
        if "--vs" in sys.argv:
            runs.append(("--vs", sys.argv[sys.argv.index("--vs") + 1], []))
        runs = precision_side_by_side(workdir, runs)
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
