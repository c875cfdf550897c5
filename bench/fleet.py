#!/usr/bin/env python3
"""A simulated fleet on one machine, uploading to one S3 server (moto_server). Python 3 stdlib only.

  python3 bench/fleet.py [--bin DIR] [--daemons 1,4,16] [--seconds 120] [--drain-files 1440] [--keep]

Fleet: for each N in --daemons, N audiocapd (station ids bench-nN-up-1..N), each with a lavfi source at real
time (stereo 48 kHz s16) and one recording of 10 s WAV files uploading to one bucket, run for --seconds,
then the same N with uploads off. Prints files delivered per minute, upload latency p50/p99 (close to
verified, from the upload.done events), and the daemons' own CPU (% of a core, utime+stime of audiocapd
alone: not its ffmpeg or rclone children, which are given apart) and peak RSS.

Drain: one audiocapd records --drain-files 60 s files (mono 8 kHz s16, 0.96 MB each) from an unpaced lavfi
source while the S3 server is stopped (SIGSTOP), so every file waits in the outbox; the daemon is restarted
on a paced source, the server resumed, and the time to drain the outbox and the daemon's peak RSS while
draining are printed (goal: flat; the outbox never loads every entry at once).

Needs: the binaries (--bin, default .build/release; built with `swift build -c release` when missing),
rclone, and moto_server (scripts/install-test-python.sh puts it in /opt/audiocap-test-venv).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import (CLK_TCK, Proc, read_stat, read_status_kb, children_of, spawn, stop_all,  # noqa: E402
                     UnixHTTPConnection)

VENV = os.environ.get("AUDIOCAP_TEST_VENV", "/opt/audiocap-test-venv")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env():
    env = dict(os.environ)
    env.pop("AWS_CA_BUNDLE", None)  # rclone's S3 backend fails with it set (docs: PLATFORM)
    return env


class S3:
    """moto_server on loopback with one bucket, and the rclone.conf that reaches it."""

    def __init__(self, work, env):
        self.port = free_port()
        binary = shutil.which("moto_server") if not os.path.exists(f"{VENV}/bin/moto_server") else \
            f"{VENV}/bin/moto_server"
        if binary is None:
            sys.exit("fleet.py: moto_server not found; run scripts/install-test-python.sh")
        self.proc = spawn("moto", [binary, "-H", "127.0.0.1", "-p", str(self.port)],
                          os.path.join(work, "moto.log"), env)
        self.conf = os.path.join(work, "rclone.conf")
        with open(self.conf, "w") as f:
            f.write(f"""[s3]
type = s3
provider = Other
env_auth = false
access_key_id = bench
secret_access_key = bench
region = us-east-1
endpoint = http://127.0.0.1:{self.port}
""")
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    sys.exit("fleet.py: moto_server did not start; see moto.log")
                time.sleep(0.1)
        subprocess.run(["rclone", "--config", self.conf, "mkdir", "s3:fleet"], env=env, check=True)

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self):
        self.resume()
        stop_all([self.proc], sig=signal.SIGTERM, timeout=10)
        try:  # anything moto started in its session
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass


class FleetDaemon:
    def __init__(self, args, work, env, name, station, source, segment_seconds, conf=None, paced=True):
        self.dir = os.path.join(work, name)
        self.recordings = os.path.join(self.dir, "rec")
        self.state = os.path.join(self.dir, "state")
        os.makedirs(self.recordings, exist_ok=True)
        os.makedirs(self.state, exist_ok=True)
        self.socket = os.path.join(self.dir, "control.sock")
        self.config = os.path.join(self.dir, "audiocap.toml")
        self.name = name
        self.args = args
        self.env = env
        self.write_config(station, source, segment_seconds, conf, paced)
        self.start()

    def write_config(self, station, source, segment_seconds, conf, paced):
        device, rate, channels = source
        upload = ""
        destination = ""
        if conf:
            upload = 'upload = ["s3"]\n'
            destination = f"""
[[destination]]
name = "s3"
remote = "s3:fleet"
rclone_config = {json.dumps(conf)}
transfers = 2
"""
        with open(self.config, "w") as f:
            f.write(f"""# written by bench/fleet.py
[station]
id = "{station}"

[source]
input_format = "lavfi"
device = {json.dumps(device)}
input_options = {json.dumps(["-re"] if paced else [])}
sample_rate = {rate}
channels = {channels}
sample_format = "s16"

[[recording]]
name = "fleet"
directory = {json.dumps(self.recordings)}
segment_seconds = {segment_seconds}
align = "samples"
filename = "%Y-%m-%d/{{name}}-{{seq}}"
{upload}{destination}
[control]
socket = {json.dumps(self.socket)}

[storage]
root = {json.dumps(self.dir)}
state = {json.dumps(self.state)}
""")

    def start(self):
        self.proc = spawn(self.name, [os.path.join(self.args.bin, "audiocapd"), "--config", self.config],
                          os.path.join(self.dir, "audiocapd.log"), self.env)
        self.hwm_kb = 0

    def sample(self):
        self.proc.sample(sched=False)
        kb = read_status_kb(self.proc.pid)
        self.hwm_kb = max(self.hwm_kb, kb.get("VmHWM", 0))

    def children_ticks(self):
        """CPU of the children it reaped (ffmpeg, rclone) plus the running ones."""
        running = 0
        for pid in children_of(self.proc.pid):
            st = read_stat(pid)
            if st:
                running += st[2]
        return self.proc.child_ticks + running

    def status(self):
        try:
            conn = UnixHTTPConnection(self.socket)
            conn.request("GET", "/v1/status", headers={"Accept": "application/json"})
            response = conn.getresponse()
            body = response.read()
            conn.close()
            return json.loads(body) if response.status == 200 else None
        except (OSError, ValueError):
            return None

    def events(self, kind):
        out = []
        path = os.path.join(self.state, "events.jsonl")
        try:
            with open(path) as f:
                for line in f:
                    try:
                        event = json.loads(line)
                    except ValueError:
                        continue
                    if event.get("kind") == kind:
                        out.append(event)
        except OSError:
            pass
        return out


def percentile(values, p):
    if not values:
        return float("nan")
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def run_fleet(args, work, env, s3, n, uploads):
    tag = f"n{n}-{'up' if uploads else 'off'}"
    # Each run's stations are new ones (bench-n4-1, ...): a station id reused across runs would meet its
    # earlier run's objects at the same keys, which the outbox rightly reports as conflicts.
    daemons = [FleetDaemon(args, os.path.join(work, tag), env, f"d{i}", f"bench-{tag}-{i}",
                           (f"sine=frequency={300 + 10 * i}:sample_rate=48000", 48000, 2), 10,
                           conf=s3.conf if uploads else None)
               for i in range(1, n + 1)]
    started = time.monotonic()
    ticks0 = None
    while time.monotonic() - started < args.seconds:
        for d in daemons:
            d.sample()
        if ticks0 is None and time.monotonic() - started >= 5:  # past start-up
            ticks0 = [(d.proc.ticks, d.children_ticks(), time.monotonic()) for d in daemons]
        time.sleep(0.5)
    for d in daemons:
        d.sample()
    ticks1 = [(d.proc.ticks, d.children_ticks(), time.monotonic()) for d in daemons]
    # Let the last uploads finish before stopping: at most 20 s.
    if uploads:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            pending = 0
            for d in daemons:
                st = d.status() or {}
                for dest in (st.get("uploads") or {}).get("destinations", []):
                    pending += dest.get("pending_files", 0)
            if pending == 0:
                break
            time.sleep(0.5)
    stopped_at = time.time()
    stop_all([d.proc for d in daemons], sig=signal.SIGTERM, timeout=30)
    own = [(t1[0] - t0[0]) / CLK_TCK / (t1[2] - t0[2]) * 100 for t0, t1 in zip(ticks0, ticks1)]
    kids = [(t1[1] - t0[1]) / CLK_TCK / (t1[2] - t0[2]) * 100 for t0, t1 in zip(ticks0, ticks1)]
    row = {"n": n, "uploads": uploads, "own_cpu_pct": sum(own) / n, "children_cpu_pct": sum(kids) / n,
           "rss_mb": max(d.hwm_kb for d in daemons) / 1024}
    if uploads:
        done = [e for d in daemons for e in d.events("upload.done")]
        # Files closed while running (each daemon closes one more at its stop, which waits for its next run).
        closed = [e for d in daemons for e in d.events("segment.closed") if e.get("time", 0) < stopped_at]
        latencies = [float(e["fields"]["upload.latency_seconds"]) for e in done
                     if "upload.latency_seconds" in e.get("fields", {})]
        wall = max(d.proc.wall() for d in daemons)
        row.update({"closed": len(closed), "delivered": len(done), "per_minute": len(done) / wall * 60,
                    "p50": percentile(latencies, 50), "p99": percentile(latencies, 99),
                    "failed": sum(len(d.events("upload.failed")) for d in daemons)})
    return row


def run_drain(args, work, env, s3):
    s3.pause()
    source = ("sine=frequency=440:sample_rate=8000", 8000, 1)
    d = FleetDaemon(args, os.path.join(work, "drain"), env, "drain", "bench-drain", source, 60, conf=s3.conf,
                    paced=False)
    t0 = time.monotonic()
    while True:
        d.sample()
        st = d.status() or {}
        dest = ((st.get("uploads") or {}).get("destinations") or [{}])[0]
        if dest.get("pending_files", 0) >= args.drain_files:
            break
        if d.proc.ended is not None or time.monotonic() - t0 > 3600:
            sys.exit("fleet.py: the drain daemon stopped or took over an hour to queue; see drain/audiocapd.log")
        time.sleep(1)
    queued_in = time.monotonic() - t0
    stop_all([d.proc], sig=signal.SIGTERM, timeout=60)
    hwm_queue = d.hwm_kb
    # Restart on a paced source (few new files), resume the server, time the drain.
    d.write_config("bench-drain", ("sine=frequency=440:sample_rate=8000", 8000, 1), 60, s3.conf, True)
    d.start()
    s3.resume()
    t1 = time.monotonic()
    pending = None
    samples = []
    while True:
        d.sample()
        st = d.status() or {}
        dest = ((st.get("uploads") or {}).get("destinations") or [{}])[0]
        pending = dest.get("pending_files")
        samples.append((time.monotonic() - t1, pending, read_status_kb(d.proc.pid).get("VmRSS", 0)))
        if pending == 0:
            break
        if d.proc.ended is not None or time.monotonic() - t1 > 3600:
            sys.exit("fleet.py: the drain did not finish within an hour; see drain/audiocapd.log")
        time.sleep(1)
    drained_in = time.monotonic() - t1
    stop_all([d.proc], sig=signal.SIGTERM, timeout=30)
    delivered = len(d.events("upload.done"))
    rss = [kb for _, _, kb in samples if kb]
    return {"files": args.drain_files, "queued_seconds": queued_in, "drain_seconds": drained_in,
            "files_per_minute": delivered / drained_in * 60 if drained_in else 0, "delivered": delivered,
            "rss_queue_mb": hwm_queue / 1024, "rss_drain_mb": d.hwm_kb / 1024,
            "rss_first_mb": (rss[0] if rss else 0) / 1024, "rss_last_mb": (rss[-1] if rss else 0) / 1024}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", default=None)
    parser.add_argument("--daemons", default="1,4,16")
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--drain-files", type=int, default=1440)
    parser.add_argument("--skip-fleet", action="store_true")
    parser.add_argument("--skip-drain", action="store_true")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if args.bin is None:
        args.bin = os.path.join(root, ".build", "release")
        if not os.access(os.path.join(args.bin, "audiocapd"), os.X_OK):
            subprocess.run(["swift", "build", "-c", "release", "--product", "audiocapd"], cwd=root, check=True)
    work = tempfile.mkdtemp(prefix="audiocap-fleet-")
    env = clean_env()
    s3 = S3(work, env)
    try:
        print(f"fleet.py: work in {work}; rclone {subprocess.run(['rclone', 'version'], capture_output=True, text=True).stdout.split()[1]}; "
              f"{os.cpu_count()} cores")
        if not args.skip_fleet:
            print(f"\nFleet: N daemons, lavfi stereo 48 kHz s16 at real time, 10 s WAV files, {args.seconds:.0f} s per run")
            print(f"{'N':>3} {'uploads':>7} {'closed':>6} {'delivered':>9} {'files/min':>9} {'p50 s':>6} {'p99 s':>6} "
                  f"{'failed':>6} {'own CPU %':>9} {'children %':>10} {'peak RSS MB':>11}")
            for n in [int(x) for x in args.daemons.split(",")]:
                for uploads in (True, False):
                    r = run_fleet(args, work, env, s3, n, uploads)
                    if uploads:
                        print(f"{n:>3} {'on':>7} {r['closed']:>6} {r['delivered']:>9} {r['per_minute']:>9.1f} "
                              f"{r['p50']:>6.2f} {r['p99']:>6.2f} {r['failed']:>6} {r['own_cpu_pct']:>9.3f} "
                              f"{r['children_cpu_pct']:>10.2f} {r['rss_mb']:>11.1f}", flush=True)
                    else:
                        print(f"{n:>3} {'off':>7} {'':>6} {'':>9} {'':>9} {'':>6} {'':>6} {'':>6} "
                              f"{r['own_cpu_pct']:>9.3f} {r['children_cpu_pct']:>10.2f} {r['rss_mb']:>11.1f}",
                              flush=True)
        if not args.skip_drain:
            print(f"\nDrain: {args.drain_files} files of 60 s (mono 8 kHz) queued with the server stopped, then drained")
            r = run_drain(args, work, env, s3)
            print(f"  queued in {r['queued_seconds']:.0f} s; drained {r['delivered']} in {r['drain_seconds']:.0f} s "
                  f"({r['files_per_minute']:.0f} files/min)")
            print(f"  peak RSS while queueing {r['rss_queue_mb']:.1f} MB; while draining {r['rss_drain_mb']:.1f} MB "
                  f"(first {r['rss_first_mb']:.1f} MB, last {r['rss_last_mb']:.1f} MB)")
    finally:
        s3.stop()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
