#!/usr/bin/env python3
"""The console's CPU while the show is idle, against the run's own CPU meanwhile.

  python3 benches/console.py              (builds the release binary first)
  python3 benches/console.py --no-build
  IDLE=10 python3 benches/console.py      (a shorter idle stretch)

A rehearsal (`run --sim --control`, real clock) of one `wait: 1h` is held (`hold`,
written on its socket), and `emcee console --meeting ID --state-dir DIR` is attached to it
in a pseudo-terminal of 120×40 (Python's pty module; the script reads everything the
console draws, as a terminal would). After 3 s for it to attach and draw, both
processes' CPU time (utime + stime, from /proc/PID/stat, in clock ticks) and their
threads' time on a CPU (/proc/PID/task/*/schedstat, in nanoseconds) are read, again
after IDLE seconds (30 by default), and the difference is each one's CPU over the same
stretch.
The console is then quit with `q`, and the run aborted over its socket.
"""
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

import runner
from control import EMCEE, ENV, Line, wait_for

IDLE = float(os.environ.get("IDLE", "30"))
TICKS = os.sysconf("SC_CLK_TCK")


def cpu(pid):
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def run_time(pid):
    """Time on a CPU of all of a process's threads, in seconds, to the nanosecond
    (/proc/PID/task/*/schedstat), beside the clock ticks of /proc/PID/stat."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{task}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that ended meanwhile
    return total / 1e9


def command(client, op):
    client.send(json.dumps({"type": "command", "command": {"op": op}, "via": "cue"}).encode() + b"\n")
    reply = client.readline()
    assert reply["type"] == "reply", reply
    return reply


def main():
    if "--no-build" not in sys.argv:
        subprocess.run(["cargo", "build", "--release", "--locked", "--bin", "emcee"], cwd=runner.ROOT, check=True)
    with tempfile.TemporaryDirectory() as workdir:
        playbook = os.path.join(workdir, "idle.yaml")
        with open(playbook, "w") as f:
            f.write(runner.playbook_header("Idle console") + "  - wait: 1h\n  - lock: {}\n"
                    "rehearsal:\n  participants: []\n")
        state = os.path.join(workdir, "state")
        run = subprocess.Popen([EMCEE, "run", playbook, "--sim", "--control", "--state-dir", state,
                                "--log-format", "json"], stdout=subprocess.PIPE, text=True, env=ENV)
        started = json.loads(run.stdout.readline())
        assert started["event"] == "run_started", started
        # The run's further output is read as it comes, so that it never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in run.stdout], daemon=True).start()
        path = os.path.join(state, "control", f"{started['run_id']}.sock")
        wait_for(lambda: os.path.exists(path), f"the socket {path}")
        client = Line(path)
        client.readline()
        held = command(client, "hold")
        assert held["ok"], held

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        console = subprocess.Popen([EMCEE, "console", "--meeting", runner.MEETING, "--state-dir", state],
                                   stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
                                   env=dict(ENV, TERM="xterm-256color"))
        os.close(slave)
        drawn = bytearray()
        stop = threading.Event()

        def drain():
            while not stop.is_set():
                ready, _, _ = select.select([master], [], [], 0.1)
                if ready:
                    try:
                        drawn.extend(os.read(master, 65536))
                    except OSError:
                        return

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        time.sleep(3)
        if console.poll() is not None:
            sys.exit(f"the console exited {console.returncode}: {drawn[-2000:].decode(errors='replace')}")
        drawn_before = len(drawn)
        c0, r0, t0 = cpu(console.pid), cpu(run.pid), time.monotonic()
        cs0, rs0 = run_time(console.pid), run_time(run.pid)
        time.sleep(IDLE)
        c1, r1, t1 = cpu(console.pid), cpu(run.pid), time.monotonic()
        cs1, rs1 = run_time(console.pid), run_time(run.pid)
        drawn_idle = len(drawn) - drawn_before

        os.write(master, b"q")
        try:
            console.wait(timeout=10)
        except subprocess.TimeoutExpired:
            console.kill()
            console.wait()
        stop.set()
        reader.join()
        os.close(master)
        command(client, "abort")
        client.close()
        run.wait(timeout=30)

    seconds = t1 - t0
    console_cpu, run_cpu = c1 - c0, r1 - r0
    print(f"`python3 benches/console.py`, {os.cpu_count()} cores, idle {seconds:.1f} s, held run, 120×40 pty\n")
    console_run, run_run = cs1 - cs0, rs1 - rs0
    print("| process | CPU (/proc/PID/stat) | time on a CPU (schedstat) | share of one core |\n"
          "| --- | ---: | ---: | ---: |")
    print(f"| emcee console | {console_cpu * 1000:.0f} ms | {console_run * 1000:.1f} ms "
          f"| {console_run / seconds * 100:.3f} % |")
    print(f"| the run (with its emulator and control channel) | {run_cpu * 1000:.0f} ms | {run_run * 1000:.1f} ms "
          f"| {run_run / seconds * 100:.3f} % |")
    ratio = f"{console_run / run_run:.2f}" if run_run > 0 else "n/a (the run used no measurable CPU)"
    print(f"\nconsole / run (schedstat): {ratio}; the console wrote {drawn_idle} bytes to its terminal meanwhile "
          f"(/proc/PID/stat counts in clock ticks of {1000 / TICKS:.0f} ms)")


if __name__ == "__main__":
    main()
