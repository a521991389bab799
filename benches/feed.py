#!/usr/bin/env python3
"""Benchmarks of the meeting's push feed, each beside a baseline measured in the same run.

  python3 benches/feed.py                   (builds the release binaries first)
  python3 benches/feed.py --no-build        (uses what target/release holds)
  ONLY=names|latency|churn python3 benches/feed.py     (one of the three)

1. Names: a playbook of 1,000 raise_hand/lower_hand steps naming their participant by
   name, against the same playbook by id and the bare reqwest loop that resolves the
   name with one read (benches/baseline/loop.rs). The HTTP calls of the by-name run are
   counted from the emulator's request log: with the feed, no step reads the list.
   Also by id with `--events off`, alone and while a bare client follows the feed
   (what the emulator's pushing costs, apart from emcee reading the pushes).
2. Latency: `wait_for: { hand_raised: … }` then `lower_hand`, 200 times. A driver raises
   the hand through the emulator's admin API at a random moment; the figure is the time
   from just before that request to the `received` time of the lowering call in the
   emulator's request log (one clock: the machine's). Beside it, the bare
   tokio-tungstenite client (benches/baseline/feed_client.rs) doing the same.
3. Churn: a meeting of 1,000 people and 100 changes a second (hands and mutes) for
   DURATION seconds (60 by default). emcee follows it while waiting, then registers the
   raised hands and the muted; they must equal the emulator's. Its CPU time per change
   beside that of the bare client following the same changes at the same time.
"""
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

# The emulator and admin API helpers are the runner benchmarks' own.
import runner
from runner import get, start_sim
from runner import post as send

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RELEASE = os.path.join(ROOT, "target", "release")
EMCEE = os.path.join(RELEASE, "emcee")
LOOP = os.path.join(RELEASE, "examples", "baseline_loop")
FEED = os.path.join(RELEASE, "examples", "feed_client")
MEETING = "914044873"
PASSWORD = "bench-password"
ROUNDS = int(os.environ.get("ROUNDS", "7"))
TRIALS = int(os.environ.get("TRIALS", "200"))
DURATION = int(os.environ.get("DURATION", "60"))
ENV = dict(os.environ, EMCEE_HOST_PASSWORD=PASSWORD, EMCEE_DETERMINISTIC="1")


def build():
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "emcee",
                    "--example", "baseline_loop", "--example", "feed_client"], cwd=ROOT, check=True)


def seed(people):
    lines = "".join(f"      - {{ name: {name} }}\n" for name in people)
    return (f"meetings:\n  - id: \"{MEETING}\"\n    host_password: {PASSWORD}\n    participants:\n"
            f"      - {{ name: Host, role: host }}\n{lines}")


def playbook(path, name, steps):
    with open(path, "w") as f:
        f.write(f"name: {name}\nmeeting:\n  id: \"{MEETING}\"\n"
                f"  host_password: \"{{{{ secret('EMCEE_HOST_PASSWORD') }}}}\"\nsteps:\n{steps}")


def timed(cmd):
    """Wall time of a whole process, its output going to a file as under cron."""
    return runner.timed(cmd, ENV)


def calls(url):
    counts = {}
    for r in get(f"{url}/_sim/requests"):
        key = f"{r['method']} {r['path'].rsplit('/conferences', 1)[-1]}"
        counts[key] = counts.get(key, 0) + 1
    return counts


def run_args(path, url):
    # The runner itself is measured: its own rate limit is off.
    return [EMCEE, "run", path, "--endpoint", url, "--progress", "never", "--rate-limit", "0"]


def names(workdir):
    proc, url = start_sim(seed(["Bob"]), workdir)
    try:
        pid = get(f"{url}/_sim/meetings/{MEETING}")["participants"][1]["pid"]
        by_name = os.path.join(workdir, "by-name.yaml")
        by_id = os.path.join(workdir, "by-id.yaml")
        hand = lambda i: "raise_hand" if i % 2 == 0 else "lower_hand"  # noqa: E731
        playbook(by_name, "1000 calls by name", "".join(f"  - {hand(i)}: Bob\n" for i in range(1000)))
        playbook(by_id, "1000 calls by id", "".join(f"  - {hand(i)}: {{ id: \"{pid}\" }}\n" for i in range(1000)))
        name_cmd, id_cmd = run_args(by_name, url), run_args(by_id, url)
        off_cmd = id_cmd + ["--events", "off"]
        loop_cmd = [LOOP, url, MEETING, PASSWORD, "name:Bob", "1000"]
        send(f"{url}/_sim/requests", method="DELETE")
        timed(name_cmd)
        by_name_calls = calls(url)
        timed(id_cmd), timed(loop_cmd)  # warm-up

        def followed():
            """By id with the feed off while a bare client follows the feed: what the
            emulator's pushing costs, apart from emcee's reading of them."""
            bare = subprocess.Popen([FEED, "follow", url, MEETING, PASSWORD, "600"], stdout=subprocess.DEVNULL)
            wait_for_feed(url, bare)
            try:
                return timed(off_cmd)
            finally:
                bare.terminate()
                bare.wait()
        times = {"name": [], "id": [], "off": [], "followed": [], "loop": []}
        for _ in range(ROUNDS):
            times["name"].append(timed(name_cmd))
            times["id"].append(timed(id_cmd))
            times["off"].append(timed(off_cmd))
            send(f"{url}/_sim/requests", method="DELETE")
            times["followed"].append(followed())
            times["loop"].append(timed(loop_cmd))

        def ratios(xs, ys):
            r = sorted(x / y for x, y in zip(xs, ys))
            return {"median": statistics.median(r), "low": r[len(r) // 4], "high": r[(3 * len(r)) // 4]}
        result = {"calls_by_name": by_name_calls}
        result.update({f"{k}_ms": statistics.median(v) * 1000 for k, v in times.items()})
        result["name_to_id"] = ratios(times["name"], times["id"])
        for k in ("name", "id", "off", "followed"):
            result[f"{k}_to_loop"] = ratios(times[k], times["loop"])
        result["id_to_off"] = ratios(times["id"], times["off"])
        result["followed_to_off"] = ratios(times["followed"], times["off"])
        return result
    finally:
        proc.terminate()
        proc.wait()


def parse_received(text):
    """RFC 3339 with microseconds, UTC ("2026-12-02T16:30:00.123456Z"), as epoch seconds."""
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def hand_trials(url, pid, proc, rng):
    """Raises the hand TRIALS times, each at a random moment once the last one was
    lowered; the latency of each from just before the raise to the lowering call."""
    hand_url = f"{url}/_sim/meetings/{MEETING}/participants/{pid}/hand"
    seen = 0
    latencies = []
    for _ in range(TRIALS):
        time.sleep(rng.uniform(0.02, 0.06))
        before = time.time()
        send(hand_url, {"raised": True}, method="PUT")
        while True:
            lowered = [r for r in get(f"{url}/_sim/requests")
                       if r["path"].endswith("/participants/hands") and r["method"] == "PUT"]
            if len(lowered) > seen:
                seen = len(lowered)
                latencies.append(parse_received(lowered[-1]["received"]) - before)
                break
            if proc.poll() is not None:
                sys.exit(f"{proc.args[0]} stopped early ({proc.returncode})")
            time.sleep(0.001)
    return latencies


def wait_for_feed(url, proc):
    """Until the client has opened the feed (its wsToken call is in the log)."""
    while not any(r["path"].endswith("/wsToken") for r in get(f"{url}/_sim/requests")):
        if proc.poll() is not None:
            sys.exit(f"{proc.args[0]} stopped early ({proc.returncode})")
        time.sleep(0.01)
    time.sleep(0.2)


def latency(workdir):
    proc, url = start_sim(seed(["Bob"]), workdir)
    rng = random.Random(1)
    results = {}
    try:
        pid = get(f"{url}/_sim/meetings/{MEETING}")["participants"][1]["pid"]
        path = os.path.join(workdir, "hands.yaml")
        step = (f"  - wait_for: {{ hand_raised: {{ id: \"{pid}\" }}, timeout: 1m, poll: 10s }}\n"
                f"  - lower_hand: {{ id: \"{pid}\" }}\n")
        playbook(path, "Take each hand", step * TRIALS)
        for who, cmd in (("emcee", run_args(path, url)),
                         ("bare", [FEED, "latency", url, MEETING, PASSWORD, pid, str(TRIALS)])):
            send(f"{url}/_sim/requests", method="DELETE")
            with tempfile.TemporaryFile(mode="w+") as out:
                client = subprocess.Popen(cmd, env=ENV, stdout=out, stderr=subprocess.STDOUT)
                wait_for_feed(url, client)
                send(f"{url}/_sim/requests", method="DELETE")
                samples = sorted(x * 1000 for x in hand_trials(url, pid, client, rng))
                if client.wait(timeout=60) != 0:
                    out.seek(0)
                    sys.exit(f"{who} failed:\n{out.read()}")
            results[who] = {"p50_ms": samples[len(samples) // 2],
                            "p99_ms": samples[min(len(samples) - 1, (len(samples) * 99) // 100)],
                            "max_ms": samples[-1]}
        return results
    finally:
        proc.terminate()
        proc.wait()


def cpu_of(proc):
    """Waits for `proc` and returns its user + system CPU seconds."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def churn(workdir):
    people = [f"P{i:04}" for i in range(1, 1000)]
    proc, url = start_sim(seed(people), workdir)
    rng = random.Random(2)
    try:
        view = get(f"{url}/_sim/meetings/{MEETING}")["participants"]
        pids = [p["pid"] for p in view if p["name"] != "Host"]
        path = os.path.join(workdir, "churn.yaml")
        # The first step that calls the API opens the feed; the wait then follows it.
        playbook(path, "Follow a busy meeting", (
            "  - participants: {}\n"
            f"  - wait: {DURATION + 5}s\n"
            "  - participants: { hand: true }\n    register: raised\n"
            "  - participants: { mute: true }\n    register: muted\n"
            "  - log: \"raised={{ raised | map(attribute='pid') | sort | join(',') }}\"\n"
            "  - log: \"muted={{ muted | map(attribute='pid') | sort | join(',') }}\"\n"))
        out = tempfile.TemporaryFile(mode="w+")
        emcee = subprocess.Popen(run_args(path, url), env=ENV, stdout=out, stderr=subprocess.STDOUT)
        wait_for_feed(url, emcee)
        bare_out = tempfile.TemporaryFile(mode="w+")
        bare = subprocess.Popen([FEED, "follow", url, MEETING, PASSWORD, str(DURATION + 3)], stdout=bare_out)
        time.sleep(0.5)
        # Every request is a real change (a flip of that person's hand or mute). Two
        # drivers, each over its own keep-alive connection and with its own half of
        # the people, share the pace: one alone could not always keep 100 a second.
        start = time.monotonic()
        counts = [0, 0]

        def drive(n):
            mine = pids[n::2]
            state = {(pid, what): False for pid in mine for what in ("hand", "mute")}
            local = random.Random(rng.random())
            conn = http.client.HTTPConnection(urllib.parse.urlsplit(url).netloc)
            while time.monotonic() - start < DURATION:
                due = start + counts[n] / 50
                if due > time.monotonic():
                    time.sleep(due - time.monotonic())
                pid, what = local.choice(mine), local.choice(("hand", "mute"))
                state[(pid, what)] = not state[(pid, what)]
                key = "raised" if what == "hand" else "muted"
                conn.request("PUT", f"/_sim/meetings/{MEETING}/participants/{pid}/{what}",
                             body=json.dumps({key: state[(pid, what)]}),
                             headers={"Content-Type": "application/json"})
                answer = conn.getresponse()
                answer.read()
                if answer.status != 200:
                    raise SystemExit(f"the admin API answered {answer.status}")
                counts[n] += 1
        drivers = [threading.Thread(target=drive, args=(n,)) for n in range(2)]
        for d in drivers:
            d.start()
        for d in drivers:
            d.join()
        changes = sum(counts)
        rate = changes / (time.monotonic() - start)
        emcee_cpu, bare_cpu = cpu_of(emcee), cpu_of(bare)
        out.seek(0)
        text = out.read()
        if emcee.returncode != 0:
            sys.exit(f"emcee failed ({emcee.returncode}):\n{text}")
        truth = get(f"{url}/_sim/meetings/{MEETING}")["participants"]
        seen = {}
        for line in text.splitlines():
            for key in ("raised", "muted"):
                at = line.find(f"{key}=")
                if at >= 0:
                    seen[key] = set(filter(None, line[at + len(key) + 1:].strip().split(",")))
        want = {"raised": {p["pid"] for p in truth if p["hand"]}, "muted": {p["pid"] for p in truth if p["mute"]}}
        bare_out.seek(0)
        bare_view = json.loads(bare_out.read())
        bare_raised = {pid for pid, p in bare_view["participants"].items() if p["hand"]}
        return {"changes": changes, "rate_per_s": rate,
                "emcee_equal": seen.get("raised") == want["raised"] and seen.get("muted") == want["muted"],
                "bare_equal": bare_raised == want["raised"],
                "emcee_cpu_s": emcee_cpu, "bare_cpu_s": bare_cpu,
                "emcee_us_per_change": emcee_cpu / changes * 1e6, "bare_us_per_change": bare_cpu / changes * 1e6,
                "bare_changes_seen": bare_view["changes"],
                "emcee_output": None if seen.get("raised") == want["raised"] and seen.get("muted") == want["muted"]
                else text[-3000:]}
    finally:
        proc.terminate()
        proc.wait()


def main():
    if "--no-build" not in sys.argv:
        build()
    only = os.environ.get("ONLY")
    print(f"cores: {os.cpu_count()}")
    with tempfile.TemporaryDirectory() as workdir:
        for name, bench in (("names", names), ("latency", latency), ("churn", churn)):
            if only in (None, name):
                print(name, json.dumps(bench(workdir), indent=2), flush=True)


if __name__ == "__main__":
    main()
