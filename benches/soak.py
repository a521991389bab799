#!/usr/bin/env python3
"""Soak test: a 500-step playbook against the emulator under heavy faults.

  python3 benches/soak.py            (builds the release binary first)

Faults on every control call: 30% HTTP 5xx, 10% HTTP 429, 5% dropped connections,
and a 20-second token lifetime. The run must end with the same meeting state as the
fault-free run of the same playbook, every step must succeed, no final (non-retryable)
answer may have been retried, and the retries and token renewals are counted.
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EMCEE = os.path.join(ROOT, "target", "release", "emcee")
MEETING = "914044873"
PASSWORD = "soak-password"
PEOPLE = ["Alice Zhang", "Bob Li", "Carol Wu", "Dan Zhou", "Erin Sun"]


def request(url, data=None, method="GET"):
    body = None if data is None else json.dumps(data).encode()
    # The admin API takes only JSON, so that web pages cannot post to it.
    req = urllib.request.Request(url, data=body, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        text = r.read()
        return json.loads(text) if text else None


def playbook():
        # Steps whose final state depends only on their order: no read-back races. Every
    # 50th step waits 3 s, so the run outlives the 20-second token and must renew it.
    actions = []
    for i in range(500):
        if i % 50 == 49:
            actions.append("wait: 3s")
            continue
        who = PEOPLE[1 + i % 4]
        kind = i % 10
        actions.append({
            0: f"mute: {who}", 1: f"unmute: {who}", 2: f"raise_hand: {who}", 3: f"lower_hand: {who}",
            4: "lock: {}", 5: "unlock: {}", 6: f"broadcast: {who}", 7: "start_recording: {}",
            8: "stop_recording: {}", 9: f"set_cohost: {who}" if i % 20 == 9 else f"unset_cohost: {who}",
        }[kind])
    steps = "".join(f"  - {a}\n" for a in actions)
    return ("name: Soak\nmeeting:\n  id: \"914044873\"\n  host_password: \"{{ secret('EMCEE_HOST_PASSWORD') }}\"\n"
            "defaults:\n  retry: { attempts: 12, initial: 5ms, max: 80ms }\n  timeout: 60s\nsteps:\n" + steps)


def run(path, url):
    env = dict(os.environ, EMCEE_HOST_PASSWORD=PASSWORD)
    with tempfile.TemporaryDirectory() as state:
        out = subprocess.run([EMCEE, "run", path, "--endpoint", url, "--log-format", "json", "--state-dir", state,
                              "--rate-limit", "0"],
                             env=env, capture_output=True, text=True)
    events = [json.loads(l) for l in out.stdout.splitlines() if l.startswith("{")]
    summary = next(e["summary"] for e in events if e["event"] == "run_finished")
    return out.returncode, summary, events


def state(url):
    meeting = request(f"{url}/_sim/meetings/{MEETING}")
    keep = ("locked", "recording", "live", "mute_all", "broadcast", "host", "cohosts")
    people = [{k: p[k] for k in ("name", "mute", "hand", "role")} for p in meeting["participants"]]
    return {k: meeting[k] for k in keep}, people


def main():
    if "--no-build" not in sys.argv:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "emcee"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as work:
        seed = os.path.join(work, "seed.yaml")
        with open(seed, "w") as f:
            f.write(f"meetings:\n  - id: \"{MEETING}\"\n    host_password: {PASSWORD}\n    participants:\n"
                    + "".join(f"      - {{ name: {p}{', role: host' if i == 0 else ''} }}\n" for i, p in enumerate(PEOPLE)))
        path = os.path.join(work, "soak.yaml")
        with open(path, "w") as f:
            f.write(playbook())
        sim = subprocess.Popen([EMCEE, "-q", "sim", "--port", "0", "--seed", seed, "--rng-seed", "11"],
                               stdout=subprocess.PIPE, text=True)
        url = sim.stdout.readline().strip()
        try:
            code, clean_summary, _ = run(path, url)
            assert code == 0, f"the fault-free run failed ({code})"
            clean_state = state(url)
            request(f"{url}/_sim/reset", method="POST")
            request(f"{url}/_sim/faults", {
                "seed": 2026,
                "token_ttl": "20s",
                "rules": [
                    {"path": "/v1/mmc/control/*", "probability": 0.30,
                     "error": {"status": 503, "code": "MMC.111070003", "msg": "SYSTEM_BUSY"}},
                    {"path": "/v1/mmc/control/*", "probability": 0.10, "throttle": {}},
                    {"path": "/v1/mmc/control/*", "probability": 0.05, "drop": "before"},
                ],
            }, method="PUT")
            started = time.perf_counter()
            code, summary, events = run(path, url)
            elapsed = time.perf_counter() - started
            faulted_state = state(url)
            log = request(f"{url}/_sim/requests")
            faults = request(f"{url}/_sim/faults")
        finally:
            sim.terminate()
            sim.wait()
    failed = [e for e in events if e["event"] == "step_finished" and e["outcome"]["status"] != "ok"]
    final_answers = [r for r in log if r["status"] is not None and 400 <= r["status"] < 500 and r["status"] != 429]
    fired = [c["fired"] for c in faults["counters"]]
    print(f"`python3 benches/soak.py`, {os.cpu_count()} cores\n")
    print(f"- exit code: {code}; steps ok: {summary['ok']}, failed: {summary['failed']}")
    print(f"- final meeting state equals the fault-free run's: {faulted_state == clean_state}")
    print(f"- API calls: {summary['api_calls']} (fault-free: {clean_summary['api_calls']}); "
          f"injected: {fired[0]} x 503, {fired[1]} x 429, {fired[2]} dropped")
    print(f"- retries: {summary['retries']}; token renewals: {summary['token_renewals']}")
    print(f"- answers that were final (4xx other than 429): {len(final_answers)}")
    print(f"- wall time: {elapsed:.1f} s")
    ok = code == 0 and not failed and faulted_state == clean_state and not final_answers
    print(f"\nresult: {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
