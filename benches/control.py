#!/usr/bin/env python3
"""The control channel: how soon a `go` on the run's socket becomes the next step's call.

  python3 benches/control.py              (builds the release binaries first)
  python3 benches/control.py --no-build   (uses the binaries already built)
  TRIALS=20 python3 benches/control.py    (fewer trials, for a quick look)

1. go: a rehearsal (`run --sim --control --rate-limit 0`, real clock) of TRIALS pairs of
   a `wait: 1h` and a `lock` / `unlock`. For each wait, once the run has reported it
   started (its JSON output, read as it comes) and 10 to 30 ms later, the script writes
   `go` as one JSON line straight on the run's socket (<state dir>/control/<run id>.sock)
   and notes the time just before the write; the figure is from then to the emulator's
   receive time of the step's call, from the emulator's request log (`--sim-requests`,
   written when the run ends, so nothing extra runs in the emulator meanwhile). Also the
   time until the run's reply line was read back.
2. The baseline, in the same run: a bare tokio Unix-socket server in the channel's shape
   (benches/baseline/socket_echo.rs: hello line, then a JSON reply line for each JSON
   command line), with the same Python client code writing the same `go` line: the round
   trip from the write to the reply read. Also the round trip as a tokio client in Rust
   measures it (`socket_echo client`), without Python's own cost.
p50 and p99 of each, and the ratios to the baseline's.
"""
import glob
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import runner

ROOT = runner.ROOT
EMCEE = runner.EMCEE
ECHO = os.path.join(ROOT, "target", "release", "examples", "socket_echo")
TRIALS = int(os.environ.get("TRIALS", "100"))
GO = b'{"type":"command","command":{"op":"go"},"via":"cue"}\n'
ENV = dict(os.environ, EMCEE_HOST_PASSWORD=runner.PASSWORD)


def build():
    subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "emcee", "--example", "socket_echo"],
                   cwd=ROOT, check=True)


def ts(text):
    from datetime import datetime
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def p99(values):
    values = sorted(values)
    return values[int(round(0.99 * (len(values) - 1)))]


def summary(values):
    return {"p50": statistics.median(values), "p99": p99(values), "max": max(values), "n": len(values)}


class Line:
    """A Unix-socket client that writes whole lines and reads whole lines."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.file = self.sock.makefile("rb")

    def readline(self):
        line = self.file.readline()
        if not line:
            raise EOFError("the socket closed")
        return json.loads(line)

    def send(self, data):
        """Writes `data`; returns the time just before the write."""
        started = time.time()
        self.sock.sendall(data)
        return started

    def close(self):
        self.file.close()
        self.sock.close()


def wait_for(predicate, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    sys.exit(f"timed out waiting for {what}")


def go_latency(workdir):
    steps = "".join(f"  - wait: 1h\n  - {'lock' if i % 2 == 0 else 'unlock'}: {{}}\n" for i in range(TRIALS))
    playbook = os.path.join(workdir, "go.yaml")
    with open(playbook, "w") as f:
        f.write(runner.playbook_header("Go latency") + steps + "rehearsal:\n  participants: []\n")
    state = os.path.join(workdir, "state")
    log = os.path.join(workdir, "go-requests.json")
    run = subprocess.Popen([EMCEE, "run", playbook, "--sim", "--control", "--rate-limit", "0",
                            "--state-dir", state, "--sim-requests", log, "--log-format", "json"],
                           stdout=subprocess.PIPE, text=True, env=ENV)
    client = None
    sent, replied, replies = [], [], []
    try:
        for line in run.stdout:
            event = json.loads(line)
            if event.get("event") == "run_started":
                path = os.path.join(state, "control", f"{event['run_id']}.sock")
                wait_for(lambda: os.path.exists(path), f"the socket {path}")
                client = Line(path)
                hello = client.readline()
                assert hello["type"] == "hello", hello
            elif event.get("event") == "step_started" and event.get("action") == "wait":
                # Well inside the wait, not at its very start.
                time.sleep(random.uniform(0.010, 0.030))
                sent.append(client.send(GO))
                reply = client.readline()
                replied.append(time.time())
                replies.append(reply)
                assert reply["type"] == "reply" and reply["ok"], reply
            elif event.get("event") == "run_finished":
                break
    finally:
        if client:
            client.close()
        code = run.wait()
    if code != 0:
        sys.exit(f"the run exited {code}")
    calls = [ts(r["received"]) for r in json.load(open(log)) if r["path"].endswith("/lock")]
    assert len(calls) == len(sent) == TRIALS, (len(calls), len(sent))
    to_call = [(c - s) * 1000 for s, c in zip(sent, calls)]
    assert min(to_call) > 0, "a call before its go"
    return summary(to_call), summary([(r - s) * 1000 for s, r in zip(sent, replied)])


def baseline(workdir):
    path = os.path.join(workdir, "echo.sock")
    server = subprocess.Popen([ECHO, "serve", path], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        client = Line(path)
        client.readline()
        trips = []
        for _ in range(TRIALS):
            # Spaced like the go trials, so that neither side is kept warm by a burst.
            time.sleep(random.uniform(0.010, 0.030))
            started = client.send(GO)
            reply = client.readline()
            trips.append((time.time() - started) * 1000)
            assert reply["ok"], reply
        client.close()
        rust = subprocess.run([ECHO, "client", path, str(TRIALS)], capture_output=True, text=True, check=True)
        rust_trips = [us / 1000 for us in json.loads(rust.stdout)]
    finally:
        server.kill()
        server.wait()
    return summary(trips), summary(rust_trips)


def main():
    if "--no-build" not in sys.argv:
        build()
    with tempfile.TemporaryDirectory() as workdir:
        echo_before, rust = baseline(workdir)
        to_call, reply = go_latency(workdir)
        echo_after, _ = baseline(workdir)
    print(f"`python3 benches/control.py`, {os.cpu_count()} cores, {TRIALS} trials\n")
    print("| | p50 | p99 | max |\n| --- | ---: | ---: | ---: |")
    rows = (("go written → the next step's call received", to_call), ("go written → the run's reply read", reply),
            ("bare socket round trip (Python client), before", echo_before),
            ("bare socket round trip (Python client), after", echo_after),
            ("bare socket round trip (tokio client)", rust))
    for name, r in rows:
        print(f"| {name} | {r['p50']:.3f} ms | {r['p99']:.3f} ms | {r['max']:.3f} ms |")
    base50 = (echo_before["p50"] + echo_after["p50"]) / 2
    base99 = (echo_before["p99"] + echo_after["p99"]) / 2
    print(f"\nRatios to the bare round trip (Python client, mean of before and after; p50 {base50:.3f} ms, "
          f"p99 {base99:.3f} ms):")
    print(f"- go → call: p50 {to_call['p50'] / base50:.1f}×, p99 {to_call['p99'] / base99:.1f}×")
    print(f"- go → reply: p50 {reply['p50'] / base50:.1f}×, p99 {reply['p99'] / base99:.1f}×")
    print(f"\nTarget p99 ≤ 10 ms for go → call: {'met' if to_call['p99'] <= 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
