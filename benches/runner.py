#!/usr/bin/env python3
"""Runner benchmarks, each measured against a baseline or a second size in the same run.

  python3 benches/runner.py                 (builds the release binaries first)
  python3 benches/runner.py --before REV    (also measures emcee as built from the commit REV,
                                             in the same rounds: a change's cost as two ratios)

1. Runner overhead: a playbook of 1,000 raise_hand/lower_hand steps against the
   emulator on loopback, versus a bare reqwest keep-alive loop (benches/baseline/loop.rs)
   making the same 1,000 calls to the same emulator. Whole processes, start-up included,
   output to a file as under cron; rounds alternate; medians.
2. lower_all_hands in a meeting of 1,000 online participants with 600 hands up: the HTTP
   calls made (from the emulator's request log) and the wall time.
3. emcee check: the demo playbook (median wall time, peak memory), and generated
   playbooks of 1,000 and 10,000 steps (time, memory, and the ratio between them).
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMCEE = os.path.join(ROOT, "target", "release", "emcee")
BASELINE = os.path.join(ROOT, "target", "release", "examples", "baseline_loop")
MEETING = "914044873"
PASSWORD = "bench-password"
ROUNDS = int(os.environ.get("ROUNDS", "7"))


def build():
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "emcee", "--example", "baseline_loop"],
                   cwd=ROOT, check=True)


def build_before(rev):
    """emcee as built from commit `rev`, in a detached worktree; its target directory is
    kept under target/before so that a second measurement rebuilds only what changed."""
    target = os.path.join(ROOT, "target", "before")
    tree = tempfile.mkdtemp(prefix="emcee-before-")
    subprocess.run(["git", "worktree", "add", "--detach", "--force", tree, rev], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    try:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "emcee"], cwd=tree, check=True,
                       env=dict(os.environ, CARGO_TARGET_DIR=target))
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=ROOT, check=True)
    return os.path.join(target, "release", "emcee")


def start_sim(seed_text, workdir):
    seed = os.path.join(workdir, "seed.yaml")
    with open(seed, "w") as f:
        f.write(seed_text)
    proc = subprocess.Popen([EMCEE, "-q", "sim", "--port", "0", "--seed", seed, "--rng-seed", "1"],
                            stdout=subprocess.PIPE, text=True)
    url = proc.stdout.readline().strip()
    return proc, url


def get(url):
    with urllib.request.urlopen(url) as r:
        return json.load(r)


def post(url, data=None, method="POST"):
    # The admin API takes only JSON, so that web pages cannot post to it.
    req = urllib.request.Request(url, data=None if data is None else json.dumps(data).encode(), method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        body = r.read()
        return json.loads(body) if body else None


def timed(cmd, env=None):
    """Wall time of a whole process, its output going to a file as under cron."""
    with tempfile.TemporaryFile(mode="w+") as out:
        start = time.perf_counter()
        done = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            out.seek(0)
            sys.exit(f"{cmd[0]} failed ({done.returncode}):\n{out.read()}")
    return elapsed


def playbook_header(name):
    return (f"name: {name}\nmeeting:\n  id: \"{MEETING}\"\n  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\n"
            "steps:\n")


def runner_overhead(workdir, before=None):
    seed = f"meetings:\n  - id: \"{MEETING}\"\n    host_password: {PASSWORD}\n    participants:\n      - {{ name: Alice, role: host }}\n      - {{ name: Bob }}\n"
    proc, url = start_sim(seed, workdir)
    try:
        pid = get(f"{url}/_sim/meetings/{MEETING}")["participants"][1]["pid"]
        steps = "".join(
            f"  - {'raise_hand' if i % 2 == 0 else 'lower_hand'}: {{ id: \"{pid}\" }}\n" for i in range(1000))
        path = os.path.join(workdir, "hands.yaml")
        with open(path, "w") as f:
            f.write(playbook_header("1000 hand calls") + steps)
        env = dict(os.environ, EMCEE_HOST_PASSWORD=PASSWORD, EMCEE_DETERMINISTIC="1")
        # The runner itself is measured: its own rate limit (90 calls a minute per API) is off.
        args = [path, "--endpoint", url, "--progress", "never", "--rate-limit", "0"]
        emcee_cmd = [EMCEE, "run"] + args
        before_cmd = [before, "run"] + args if before else None
        base_cmd = [BASELINE, url, MEETING, PASSWORD, pid, "1000"]
        timed(emcee_cmd, env), timed(base_cmd)  # warm-up
        if before_cmd:
            timed(before_cmd, env)
        post(f"{url}/_sim/requests", method="DELETE")
        emcee_times, before_times, base_times = [], [], []
        for _ in range(ROUNDS):
            emcee_times.append(timed(emcee_cmd, env))
            if before_cmd:
                before_times.append(timed(before_cmd, env))
            base_times.append(timed(base_cmd))
        log = get(f"{url}/_sim/requests")
        per_round = len(log) / ((3 if before_cmd else 2) * ROUNDS)

        # Each round runs them back to back: the ratio within a round is robust to the
        # machine's load drifting between rounds.
        def summary(times):
            ratios = sorted(x / y for x, y in zip(times, base_times))
            return {"s": statistics.median(times), "ratio": statistics.median(ratios),
                    "ratio_low": ratios[len(ratios) // 4], "ratio_high": ratios[(3 * len(ratios)) // 4]}
        return {"emcee": summary(emcee_times), "before": summary(before_times) if before_cmd else None,
                "baseline_s": statistics.median(base_times), "calls_per_run": per_round}
    finally:
        proc.terminate()
        proc.wait()


def lower_all_hands(workdir):
    people = "".join(
        f"      - {{ name: P{i:04}{', hand: raised' if i <= 600 else ''} }}\n" for i in range(1, 1000))
    seed = (f"meetings:\n  - id: \"{MEETING}\"\n    host_password: {PASSWORD}\n    participants:\n"
            f"      - {{ name: Host, role: host }}\n{people}")
    proc, url = start_sim(seed, workdir)
    try:
        path = os.path.join(workdir, "lower.yaml")
        with open(path, "w") as f:
            f.write(playbook_header("Lower all hands") + "  - lower_all_hands: {}\n")
        env = dict(os.environ, EMCEE_HOST_PASSWORD=PASSWORD)
        times = []
        calls = None
        for _ in range(ROUNDS):
            post(f"{url}/_sim/reset")
            times.append(timed([EMCEE, "run", path, "--endpoint", url, "--progress", "never", "--rate-limit", "0"], env))
            log = get(f"{url}/_sim/requests")
            counts = {}
            for r in log:
                key = f"{r['method']} {r['path'].rsplit('/conferences', 1)[-1]}"
                counts[key] = counts.get(key, 0) + 1
            calls = counts
            raised = [p for p in get(f"{url}/_sim/meetings/{MEETING}")["participants"] if p["hand"]]
            assert not raised, f"{len(raised)} hands still up"
        return {"calls": calls, "median_s": statistics.median(times)}
    finally:
        proc.terminate()
        proc.wait()


def time_and_memory(cmd):
    """Wall time (perf_counter) of one run, and peak resident memory (KiB) of another
    under /usr/bin/time, which measures the program alone rather than this script."""
    start = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"{cmd} failed:\n{done.stderr}")
    measured = subprocess.run(["/usr/bin/time", "-f", "%M"] + cmd, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    return elapsed, int(measured.stderr.strip().splitlines()[-1])


def check_bench(workdir):
    results = {}
    demo = os.path.join(ROOT, "playbooks", "town-hall.yaml")
    samples = [time_and_memory([EMCEE, "check", demo]) for _ in range(ROUNDS * 3)]
    results["demo"] = (statistics.median(s[0] for s in samples), max(s[1] for s in samples))
    for n in (1000, 10000, 20000):
        steps = "".join(
            f"  - name: \"Cue {i} for {{{{ speaker }}}}\"\n    broadcast: \"{{{{ speaker }}}}\"\n    when: \"go\"\n"
            for i in range(n))
        path = os.path.join(workdir, f"steps-{n}.yaml")
        with open(path, "w") as f:
            f.write(playbook_header(f"{n} steps").replace("steps:\n", "vars: { speaker: Alice, go: true }\nsteps:\n") + steps)
        samples = [time_and_memory([EMCEE, "check", path]) for _ in range(ROUNDS)]
        results[n] = (statistics.median(s[0] for s in samples), max(s[1] for s in samples))
    return results


def main():
    if "--no-build" not in sys.argv:
        build()
    before_rev = sys.argv[sys.argv.index("--before") + 1] if "--before" in sys.argv else None
    before = build_before(before_rev) if before_rev else None
    cores = os.cpu_count()
    with tempfile.TemporaryDirectory() as workdir:
        overhead = runner_overhead(workdir, before)
        lower = lower_all_hands(workdir)
        checks = check_bench(workdir)
    command = "python3 benches/runner.py" + (f" --before {before_rev}" if before_rev else "")
    print(f"`{command}`, {cores} cores, {ROUNDS} rounds\n")
    print("Runner overhead (1,000 hand steps, whole process):\n")
    print("| | wall time (median) | ratio to the loop (median of the rounds') | middle half of the rounds |")
    print("| --- | ---: | ---: | ---: |")
    rows = [("emcee run", overhead["emcee"])]
    if overhead["before"]:
        rows.append((f"emcee run, built from {before_rev}", overhead["before"]))
    for label, row in rows:
        print(f"| {label} | {row['s'] * 1000:.0f} ms | {row['ratio']:.2f} | "
              f"{row['ratio_low']:.2f} to {row['ratio_high']:.2f} |")
    print(f"| bare reqwest keep-alive loop | {overhead['baseline_s'] * 1000:.0f} ms | 1 | |")
    if overhead["before"]:
        print(f"\nNow against {before_rev}: the median ratio is "
              f"{overhead['emcee']['ratio'] / overhead['before']['ratio']:.3f} times the earlier one.")
    print(f"\nHTTP calls per run (both): {overhead['calls_per_run']:.0f}\n")
    print("lower_all_hands, 1,000 online, 600 hands up (calls from the emulator's request log):\n")
    for call, n in sorted(lower["calls"].items()):
        print(f"- {call}: {n}")
    print(f"- wall time (median, whole process): {lower['median_s'] * 1000:.0f} ms\n")
    print("emcee check:\n")
    print("| playbook | wall time (median) | peak memory |\n| --- | ---: | ---: |")
    for key, label in (("demo", "playbooks/town-hall.yaml"), (1000, "1,000 steps"), (10000, "10,000 steps"),
                       (20000, "20,000 steps")):
        t, rss = checks[key]
        print(f"| {label} | {t * 1000:.1f} ms | {rss / 1024:.1f} MiB |")
    print(f"\n10,000 / 1,000 steps: time x{checks[10000][0] / checks[1000][0]:.1f}, "
          f"memory x{checks[10000][1] / checks[1000][1]:.1f}; "
          f"20,000 / 10,000 steps: time x{checks[20000][0] / checks[10000][0]:.1f}")


if __name__ == "__main__":
    main()
