#!/usr/bin/env python3
"""Runs and measures audiocapd against the anchors (arecord, ffmpeg's segment muxer). Python 3 stdlib only.

Called by bench/compare.sh, which builds the binaries and starts the test microphone; see bench/README.md.

  compare.py compare SECONDS          audiocapd, arecord and ffmpeg -f segment side by side
  compare.py soak MINUTES             audiocapd alone: RSS every minute, growth, drops
  compare.py ffmpeg-options SECONDS   ffmpeg to a pipe with several option sets side by side
  compare.py sources SECONDS          audiocapd with 1, 2 and 4 sources in turn: cost per source
  compare.py flac SECONDS             audiocapd with a FLAC and with a WAV recording: CPU, size ratio, twins

Common flags: --bin DIR (audiocapd, testmic-check, optionally audiocap), --work DIR (an empty scratch
directory under /tmp), --keep (leave the recordings). The environment must carry ALSA_CONFIG_PATH.

How CPU is measured: utime+stime of /proc/PID/stat (clock ticks), sampled every 0.25 s while a process
runs. Every measured process is a child of this script and is reaped only after a WNOWAIT wait has seen
it exit, so its zombie's /proc/PID/stat gives the final figures: utime+stime for the process itself, and
cutime+cstime for the children it reaped (for audiocapd: its ffmpeg runs, exactly). Wall time runs from
spawn to exit. Peak RSS is VmHWM of /proc/PID/status, sampled until exit (audiocapd and its ffmpeg child
separately; wait4's ru_maxrss is no use here: it counts the forked Python before exec). Because ticks are coarse (1/CLK_TCK s), the daemon's own CPU is also given from the
per-thread schedstat run time (nanoseconds).
"""

import argparse
import glob
import http.client
import json
import math
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")
SAMPLE_INTERVAL = 0.25
WARMUP_SECONDS = 5.0
FFMPEG_CAPTURE = ["-f", "alsa", "-channels", "2", "-sample_rate", "48000", "-i", "testmic"]


# ----------------------------------------------------------------------------------------------- /proc

def read_stat(pid):
    """(state, ppid, utime+stime ticks, cutime+cstime ticks, comm) or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    comm = text[text.index("(") + 1:text.rindex(")")]
    rest = text[text.rindex(")") + 2:].split()
    # rest[0] is field 3 (state); utime is field 14 -> rest[11].
    return rest[0], int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14]), comm


def read_status_kb(pid):
    """{'VmRSS': kB, 'VmHWM': kB, 'RssAnon': kB} (empty for a zombie or a gone process)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0])
    except OSError:
        pass
    return out


def read_schedstat(pid):
    """{tid: run time ns} over the threads of pid."""
    out = {}
    for path in glob.glob(f"/proc/{pid}/task/*/schedstat"):
        try:
            with open(path) as f:
                out[int(path.split("/")[4])] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


def read_switches(pid):
    """{tid: (thread name, voluntary + involuntary context switches)} over the threads of pid. Each switch
    away from a thread is one sleep (or preemption): their sum per second is how often the process wakes."""
    out = {}
    for path in glob.glob(f"/proc/{pid}/task/*/status"):
        try:
            name, total = "", 0
            with open(path) as f:
                for line in f:
                    if line.startswith("Name:"):
                        name = line.split(None, 1)[1].strip() if len(line.split(None, 1)) > 1 else ""
                    elif line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:")):
                        total += int(line.split()[1])
            out[int(path.split("/")[4])] = (name, total)
        except (OSError, ValueError, IndexError):
            pass
    return out


def children_of(pid):
    """Pids whose parent is pid (any of its threads)."""
    kids = set()
    found = False
    for path in glob.glob(f"/proc/{pid}/task/*/children"):
        found = True
        try:
            with open(path) as f:
                kids.update(int(x) for x in f.read().split())
        except OSError:
            pass
    if not found:  # kernels without CONFIG_PROC_CHILDREN: scan /proc
        for path in glob.glob("/proc/[0-9]*/stat"):
            st = read_stat(int(path.split("/")[2]))
            if st and st[1] == pid:
                kids.add(int(path.split("/")[2]))
    return kids


class Proc:
    """What the sampler knows about one process."""

    def __init__(self, name, pid, started):
        self.name = name
        self.pid = pid
        self.started = started  # monotonic time of spawn (or of discovery, for a grandchild)
        self.ended = None
        self.ticks = 0  # last utime+stime seen
        self.child_ticks = 0  # last cutime+cstime seen
        self.ticks_at = {}  # label -> ticks at a moment (warm-up end, stop)
        self.hwm_kb = 0
        self.rss_kb = 0
        self.anon_kb = 0
        self.sched = {}  # tid -> max run time ns
        self.switches = {}  # tid -> (thread name, context switches), last seen
        self.comm = ""
        self.final = False  # ticks read from the zombie
        self.maxrss_kb = None  # wait4
        self.exit_status = None

    def sample(self, sched=False):
        st = read_stat(self.pid)
        if st is None:
            return False
        state, _, ticks, child_ticks, comm = st
        self.comm = comm
        self.ticks = max(self.ticks, ticks)
        self.child_ticks = max(self.child_ticks, child_ticks)
        if state != "Z":
            kb = read_status_kb(self.pid)
            self.hwm_kb = max(self.hwm_kb, kb.get("VmHWM", 0))
            if "VmRSS" in kb:
                self.rss_kb = kb["VmRSS"]
                self.anon_kb = kb.get("RssAnon", 0)
            if sched:
                for tid, ns in read_schedstat(self.pid).items():
                    self.sched[tid] = max(self.sched.get(tid, 0), ns)
                self.switches.update(read_switches(self.pid))
        return True

    def switches_since(self, before):
        """Context switches of every thread since the copy `before` of self.switches (threads born since
        count from 0; a thread that ended counts up to its last sample): total and by thread name."""
        by_name = {}
        for tid, (name, total) in self.switches.items():
            delta = total - before.get(tid, (name, 0))[1]
            by_name[name] = by_name.get(name, 0) + delta
        return sum(by_name.values()), by_name

    @property
    def sched_seconds(self):
        return sum(self.sched.values()) / 1e9

    def wall(self, now=None):
        return (self.ended or now or time.monotonic()) - self.started


def spawn(name, argv, log_path, env, stdout=None, stdin=None):
    log = open(log_path, "wb")
    p = subprocess.Popen(argv, stdin=stdin if stdin is not None else subprocess.DEVNULL,
                         stdout=stdout if stdout is not None else log, stderr=log, env=env,
                         start_new_session=True)
    proc = Proc(name, p.pid, time.monotonic())
    proc.popen = p
    proc.argv = argv
    proc.log = log
    return proc


def reap_if_exited(proc):
    """If proc (a child of ours) has exited: read its zombie's final figures, reap it, return True."""
    if proc.ended is not None:
        return True
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        info = None
        proc.ended = time.monotonic()
        return True
    if info is None:
        return False
    proc.ended = time.monotonic()
    st = read_stat(proc.pid)  # the zombie: final utime/stime and cutime/cstime
    if st is not None:
        proc.ticks = max(proc.ticks, st[2])
        proc.child_ticks = max(proc.child_ticks, st[3])
        proc.final = True
    _, status, usage = os.wait4(proc.pid, 0)
    proc.exit_status = os.waitstatus_to_exitcode(status)
    proc.popen.returncode = proc.exit_status
    proc.maxrss_kb = usage.ru_maxrss
    proc.log.close()
    return True


def stop_all(procs, sig=signal.SIGINT, timeout=30.0, on_tick=None):
    """Signals every process, samples until all have exited (SIGKILL after timeout)."""
    for p in procs:
        if p.ended is None:
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass
    deadline = time.monotonic() + timeout
    killed = False
    while True:
        if on_tick:
            on_tick()
        pending = [p for p in procs if not reap_if_exited(p)]
        if not pending:
            return
        for p in pending:
            p.sample(sched=p.name == "audiocapd")
        if time.monotonic() > deadline and not killed:
            for p in pending:
                print(f"  {p.name} did not exit within {timeout:.0f} s: SIGKILL", file=sys.stderr)
                os.kill(p.pid, signal.SIGKILL)
            killed = True
        time.sleep(0.02)


# ----------------------------------------------------------------------------------------------- daemon

class Daemon:
    """audiocapd under observation: the daemon itself and every ffmpeg child it ran."""

    def __init__(self, args, work, env, ffmpeg_output_options=None, name="audiocapd", sources=None, layout=None,
                 extra_source_keys=""):
        """sources=None: one [source] table and one recording (the compare and soak modes); sources=N:
        N [[source]] tables s1..sN on testmic, each with one recording r1..rN of its own. layout (the flac
        mode): ([(source, ALSA device)], [(recording, source, format)]), format "wav" or "flac" (flac_level
        from args.flac_level), each recording's files named {seq}.FORMAT."""
        self.dir = os.path.join(work, name)
        os.makedirs(self.dir, exist_ok=True)
        # (recording, its source, its directory)
        if layout is not None:
            self.formats = {recording: fmt for recording, _, fmt in layout[1]}
            self.recordings = [(recording, source, os.path.join(self.dir, recording))
                               for recording, source, _ in layout[1]]
        else:
            self.formats = {}
            self.recordings = ([("bench", "main", self.dir)] if sources is None else
                               [(f"r{i}", f"s{i}", os.path.join(self.dir, f"r{i}")) for i in range(1, sources + 1)])
        for _, _, directory in self.recordings:
            os.makedirs(directory, exist_ok=True)
        self.state = os.path.join(work, name + "-state")
        os.makedirs(self.state, exist_ok=True)
        self.socket = os.path.join(work, name + ".sock")
        ffmpeg = "ffmpeg"
        if ffmpeg_output_options:
            # A wrapper that execs ffmpeg with extra options before the output's "-f": the child keeps its
            # pid and is ffmpeg itself. Used to try output options without touching FFmpegCommand.swift.
            ffmpeg = os.path.join(work, name + "-ffmpeg.sh")
            extra = " ".join(shlex.quote(o) for o in ffmpeg_output_options)
            with open(ffmpeg, "w") as f:
                f.write("#!/bin/sh\n# ffmpeg with extra output options before the last '-f'\n"
                        "n=$#; i=0; for a do i=$((i+1)); if [ $i -eq $((n-2)) ] && [ \"$a\" = -f ]; then "
                        f"set -- \"$@\" {extra}; fi; set -- \"$@\" \"$a\"; done; shift $n; exec ffmpeg \"$@\"\n")
            os.chmod(ffmpeg, 0o755)
        self.config = os.path.join(work, name + ".toml")
        source_keys = f"""ffmpeg = {json.dumps(ffmpeg)}
input_format = "alsa"
device = "testmic"
input_options = {json.dumps(args.input_options or [])}
sample_rate = 48000
channels = 2
sample_format = "s16"
{extra_source_keys}"""
        recording_keys = """segment_seconds = 10
align = "samples"
filename = "{seq}.wav"
"""
        if layout is not None:
            tables = "".join(f"""[[source]]
name = "{source}"
{source_keys.replace('device = "testmic"', f'device = {json.dumps(device)}')}
""" for source, device in layout[0]) + "".join(f"""[[recording]]
name = "{recording}"
source = "{source}"
directory = {json.dumps(directory)}
{recording_keys.replace('{seq}.wav', '{seq}.' + self.formats[recording])}"""
                + (f"format = \"flac\"\nflac_level = {args.flac_level}\n" if self.formats[recording] == "flac" else "")
                + "\n" for recording, source, directory in self.recordings).rstrip("\n") + "\n"
        elif sources is None:
            tables = f"""[source]
{source_keys}
[[recording]]
name = "bench"
directory = {json.dumps(self.dir)}
{recording_keys}"""
        else:
            # Every source records the same paced test mic: PulseAudio lets several clients record one
            # monitor, so each source has its own ffmpeg, reader, queues and level monitor on the same audio.
            tables = "".join(f"""[[source]]
name = "{source}"
{source_keys}
""" for _, source, _ in self.recordings) + "".join(f"""[[recording]]
name = "{recording}"
source = "{source}"
directory = {json.dumps(directory)}
{recording_keys}
""" for recording, source, directory in self.recordings).rstrip("\n") + "\n"
        with open(self.config, "w") as f:
            f.write(f"""# written by bench/compare.py
{tables}
[log]
level = "info"

[control]
socket = {json.dumps(self.socket)}

[storage]
root = {json.dumps(work)}
state = {json.dumps(self.state)}
""")
        self.argv = [os.path.join(args.bin, "audiocapd"), "--config", self.config]
        self.log_path = os.path.join(work, name + ".log")
        self.proc = spawn(name, self.argv, self.log_path, env)
        self.children = {}  # pid -> Proc
        self.cli = os.path.join(args.bin, "audiocap")

    def sample(self):
        if self.proc.ended is not None:
            return
        self.proc.sample(sched=True)
        for pid in children_of(self.proc.pid):
            if pid not in self.children:
                self.children[pid] = Proc(f"ffmpeg[{pid}]", pid, time.monotonic())
            self.children[pid].sample()
        for child in self.children.values():
            if child.ended is None and read_stat(child.pid) is None:
                child.ended = time.monotonic()

    def child_ticks(self):
        """Ticks of every ffmpeg run: the daemon's reaped children (exact, from cutime+cstime) plus the
        running ones (sampled)."""
        running = sum(c.ticks for c in self.children.values() if c.ended is None)
        sampled_all = sum(c.ticks for c in self.children.values())
        return max(self.proc.child_ticks + running, sampled_all)

    def child_hwm_kb(self):
        return max((c.hwm_kb for c in self.children.values()), default=0)

    def child_rss_kb(self):
        return sum(c.rss_kb for c in self.children.values() if c.ended is None)

    def status(self):
        """The daemon's status as a dict, through the CLI if it is built, else straight over the socket."""
        if os.access(self.cli, os.X_OK):
            for argv in ([self.cli, "status", "--socket", self.socket, "--json"],
                         [self.cli, "--socket", self.socket, "status", "--json"]):
                try:
                    out = subprocess.run(argv, capture_output=True, timeout=10)
                    if out.returncode == 0:
                        return json.loads(out.stdout), "audiocap status --json"
                except (subprocess.TimeoutExpired, ValueError, OSError):
                    pass
        try:
            conn = UnixHTTPConnection(self.socket)
            conn.request("GET", "/v1/status", headers={"Accept": "application/json"})
            response = conn.getresponse()
            body = response.read()
            conn.close()
            if response.status == 200:
                return json.loads(body), "GET /v1/status"
        except (OSError, ValueError, http.client.HTTPException):
            pass
        return None, None

    def logged_drops(self):
        """(events, frames) of recording.dropped in the daemon's log."""
        events = frames = 0
        try:
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    if "recording.dropped" in line:
                        events += 1
                        m = re.search(r"drop\.frames[=:\"\s]+(\d+)", line)
                        if m:
                            frames += int(m.group(1))
        except OSError:
            pass
        return events, frames


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=5)
        self.path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(5)
        sock.connect(self.path)
        self.sock = sock


# ----------------------------------------------------------------------------------------------- files

def wav_files(directory, key=None):
    files = [os.path.join(dp, f) for dp, _, fs in os.walk(directory) for f in fs if f.endswith(".wav")]
    return sorted(files, key=key or (lambda p: p))


def arecord_key(path):
    # arecord names them %H%M%S-%v.wav: %v (the file number) gives the order, also across midnight.
    m = re.search(r"-(\d+)\.wav$", os.path.basename(path))
    return (int(m.group(1)) if m else 0, path)


def check_pattern(args, files):
    """(bit_exact, frames, report line) from testmic-check."""
    if not files:
        return False, 0, "no files"
    out = subprocess.run([os.path.join(args.bin, "testmic-check"), "2"] + files, capture_output=True, text=True)
    line = (out.stdout.strip() or out.stderr.strip()).splitlines()
    line = line[-1] if line else f"testmic-check exited {out.returncode}"
    m = re.search(r"frames=(\d+)", line)
    return out.returncode == 0, int(m.group(1)) if m else 0, line


# ----------------------------------------------------------------------------------------------- output

def pct(ticks, wall):
    return 100.0 * ticks / CLK_TCK / wall if wall > 0 else 0.0


def mb(kb):
    return kb * 1024 / 1e6


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda r: "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(r, widths)))
    print(line(header))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(line(r))


def verdict(ok):
    return "PASS" if ok else "FAIL"


def machine_line():
    try:
        with open("/proc/loadavg") as f:
            load = " ".join(f.read().split()[:3])
    except OSError:
        load = "?"
    return f"{os.cpu_count()} cores, load average {load}, CLK_TCK {CLK_TCK}"


def evict_from_page_cache(path):
    """Drops the file's cached pages (called before any daemon has it mapped), so that the daemon starts as
    after a boot, reading its binary from disk. The resident set of a program depends on how its binary sits
    in the page cache. Measured on this machine (kernel 6.18, look-back off, 25 s): the same binary 20.4-21.9
    MB as just linked or copied, 18.8-19.1 MB as read from disk; as just linked, more of its code was
    resident than the 64 kB the kernel maps around each fault accounts for. Our reading: from Linux 6.16 on,
    ext4 caches a file in large folios sized by how it was written, and a fault maps the folio. The anchors'
    binaries (arecord, ffmpeg and their libraries) were read from disk long ago, so this measures all three
    alike."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as e:
        print(f"compare.py: could not open {path} to drop it from the page cache: {e}", file=sys.stderr)
        return False
    try:
        os.fsync(fd)  # pages not yet written back (a binary just linked) would stay cached
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    return True


# ----------------------------------------------------------------------------------------------- modes

def run_compare(args):
    env = dict(os.environ)
    seconds = args.seconds
    work = args.work
    arecord_dir = os.path.join(work, "arecord")
    ffmpeg_dir = os.path.join(work, "ffmpeg")
    os.makedirs(arecord_dir)
    os.makedirs(ffmpeg_dir)
    arecord_argv = ["arecord", "-q", "-D", "testmic", "-f", "S16_LE", "-c", "2", "-r", "48000", "-t", "wav",
                    "--max-file-time", "10", "--use-strftime", os.path.join(arecord_dir, "%H%M%S-%v.wav")]
    ffmpeg_argv = ["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+warning"] + FFMPEG_CAPTURE + [
        "-c:a", "pcm_s16le", "-f", "segment", "-segment_time", "10", os.path.join(ffmpeg_dir, "%03d.wav")]

    print(f"== audiocap compare: {seconds:g} s of stereo 48 kHz s16 from testmic, three recorders at once")
    print(f"machine: {machine_line()}")
    print("audiocapd's binary: " + ("started as the page cache holds it (--keep-page-cache)" if args.keep_page_cache
                                    else "dropped from the page cache first, read from disk as after a boot"))
    daemon = Daemon(args, work, env, ffmpeg_output_options=args.daemon_ffmpeg_output_options)
    # The same daemon with no look-back buffer: the memory the configuration holds on purpose left out.
    bare = Daemon(args, work, env, ffmpeg_output_options=args.daemon_ffmpeg_output_options, name="audiocapd-nolb",
                  extra_source_keys="look_back_seconds = 0\n")
    arecord = spawn("arecord", arecord_argv, os.path.join(work, "arecord.log"), env)
    ffmpeg = spawn("ffmpeg segment", ffmpeg_argv, os.path.join(work, "ffmpeg.log"), env)
    procs = [daemon.proc, bare.proc, arecord, ffmpeg]
    t0 = time.monotonic()
    warm_taken = False
    try:
        while True:
            now = time.monotonic()
            daemon.sample()
            bare.sample()
            arecord.sample(sched=True)
            ffmpeg.sample()
            for p in procs:
                if reap_if_exited(p):
                    raise RuntimeError(f"{p.name} exited early ({p.exit_status}); see its log in {work}")
            if not warm_taken and now - t0 >= WARMUP_SECONDS:
                warm_taken = True
                warm = snapshot(daemon, arecord, ffmpeg, now)
                warm_switches = dict(daemon.proc.switches)
            if now - t0 >= seconds:
                break
            time.sleep(SAMPLE_INTERVAL)
        before = snapshot(daemon, arecord, ffmpeg, time.monotonic())
        switches, switches_by_thread = daemon.proc.switches_since(warm_switches if warm_taken else {})
        stop_all(procs, on_tick=lambda: (daemon.sample(), bare.sample()))
    except BaseException:
        stop_all(procs, sig=signal.SIGTERM, timeout=10)
        raise

    # Results.
    d_files = wav_files(daemon.dir)
    a_files = wav_files(arecord_dir, key=arecord_key)
    f_files = wav_files(ffmpeg_dir)
    d_exact, d_frames, d_line = check_pattern(args, d_files)
    a_exact, a_frames, a_line = check_pattern(args, a_files)
    f_exact, f_frames, f_line = check_pattern(args, f_files)

    d_wall = daemon.proc.wall()
    d_own = daemon.proc.ticks
    d_child = daemon.child_ticks()
    rows = []

    def row(name, ticks, wall, hwm_kb, files, frames, exact, steady):
        rows.append([name, f"{pct(ticks, wall):.3f}", f"{steady:.3f}" if steady is not None else "-", str(ticks),
                     f"{wall:.1f}", f"{mb(hwm_kb):.1f}" if hwm_kb else "-", files if files is not None else "-",
                     frames if frames is not None else "-",
                     f"{frames / 48000:.1f}" if frames else "-", ("yes" if exact else "NO") if exact is not None else "-"])

    sw = before["t"] - warm["t"] if warm_taken else 0
    steady = (lambda key: pct(before[key] - warm[key], sw)) if sw > 0 else (lambda key: None)
    row("audiocapd (own)", d_own, d_wall, daemon.proc.hwm_kb, len(d_files), d_frames, d_exact, steady("d_own"))
    row("  its ffmpeg child", d_child, d_wall, daemon.child_hwm_kb(), None, None, None, steady("d_child"))
    row("  audiocapd + ffmpeg", d_own + d_child, d_wall, None, None, None, None, steady("d_total"))
    b_files = wav_files(bare.dir)
    b_exact, b_frames, b_line = check_pattern(args, b_files)
    row("audiocapd, look_back 0", bare.proc.ticks, bare.proc.wall(), bare.proc.hwm_kb, len(b_files), b_frames,
        b_exact, None)
    row("arecord --max-file-time", arecord.ticks, arecord.wall(), arecord.hwm_kb, len(a_files), a_frames, a_exact,
        steady("a"))
    row("ffmpeg -f segment", ffmpeg.ticks, ffmpeg.wall(), ffmpeg.hwm_kb, len(f_files), f_frames, f_exact, steady("f"))
    print()
    table(rows, ["recorder", "CPU %", f"steady %", "ticks", "wall s", "peak RSS MB", "files", "frames",
                 "audio s", "bit-exact"])
    print()
    print(f"CPU % = (utime+stime) / CLK_TCK / wall x 100, % of one core, spawn to exit (final ticks read from "
          f"the zombie: {'yes' if all(p.final for p in procs) else 'NOT for every process'}); 1 tick over "
          f"{d_wall:.0f} s = {pct(1, d_wall):.3f} %.")
    print(f"steady % = the same between {WARMUP_SECONDS:g} s after start and the stop signal (no start-up, no "
          "shutdown). Peak RSS = VmHWM, MB = 10^6 bytes.")
    own_ns = daemon.proc.sched_seconds
    print(f"audiocapd own CPU by schedstat (ns run time of its threads): {100 * own_ns / d_wall:.3f} % "
          f"({own_ns:.3f} s); ffmpeg child ticks are "
          f"{'exact (daemon cutime+cstime)' if daemon.proc.final else 'sampled'}; ffmpeg runs seen: "
          f"{len(daemon.children)}.")
    print(f"exit status: audiocapd {daemon.proc.exit_status}, arecord {arecord.exit_status}, ffmpeg "
          f"{ffmpeg.exit_status} (on SIGINT arecord exits 1 and ffmpeg 255: normal).")
    print()
    print("pattern check (testmic-check 2 FILES..., joined in order):")
    print(f"  audiocapd: {d_line}")
    print(f"  audiocapd, look_back_seconds = 0: {b_line}")
    print(f"  arecord:   {a_line}")
    print(f"  ffmpeg:    {f_line}")
    drops_events, drops_frames = daemon.logged_drops()
    print(f"  audiocapd recording.dropped log lines: {drops_events} ({drops_frames} frames)")

    a_total = arecord.ticks / arecord.wall()
    f_total = ffmpeg.ticks / ffmpeg.wall()
    own = d_own / d_wall
    both = (d_own + d_child) / d_wall
    own_ns_rate = own_ns * CLK_TCK / d_wall
    wakeups = switches / sw if sw > 0 else float("inf")
    print()
    print(f"audiocapd wake-ups in the steady state (context switches of all its threads, voluntary and "
          f"involuntary, over {sw:.1f} s): {switches} = {wakeups:.1f}/s; by thread:")
    for name, count in sorted(switches_by_thread.items(), key=lambda kv: -kv[1]):
        if count:
            print(f"  {name:<20} {count / sw if sw else 0:7.2f}/s")
    look_back_mb = 48000 * 2 * 2 * 30 / 1e6
    print(f"audiocapd peak RSS: {mb(daemon.proc.hwm_kb):.1f} MB with the default look-back buffer (30 s of stereo "
          f"48 kHz s16 = {look_back_mb:.2f} MB of audio held on purpose), {mb(bare.proc.hwm_kb):.1f} MB with "
          f"look_back_seconds = 0.")
    print("goals (rates in ticks per wall second, so each is over its own wall time):")
    # The own-CPU goal is on the steady state, both processes over the same window, by their threads'
    # nanosecond run times: start-up is a one-off (~35 ms for audiocapd: the ALSA device check, the Swift
    # runtime's first conformance lookups) that a 60 s run would weigh at 0.06 % of a core, and a recorder
    # runs for months. The whole run's ratio is printed beside it.
    steady_d = (before["d_ns"] - warm["d_ns"]) / sw if warm_taken and sw > 0 else float("inf")
    steady_a = (before["a_ns"] - warm["a_ns"]) / sw if warm_taken and sw > 0 else 0
    steady_ratio = steady_d / steady_a if steady_a else float("inf")
    goals = [
        (steady_ratio <= 0.125,
         f"audiocapd own CPU <= 0.125 x arecord's, steady state: {100 * steady_d:.3f} % vs {12.5 * steady_a:.3f} % "
         f"(ratio {steady_ratio:.3f}; whole run, start-up included: {own / a_total if a_total else float('inf'):.3f} by "
         f"ticks, {own_ns_rate / a_total if a_total else float('inf'):.3f} by schedstat)"),
        (wakeups <= 30,
         f"audiocapd wakes <= 30 times a second in the steady state: {wakeups:.1f}/s"),
        (both <= 0.85 * f_total,
         f"audiocapd + its ffmpeg <= 0.85 x ffmpeg segment muxer: {pct(both, 1):.3f} % vs {0.85 * pct(f_total, 1):.3f} % "
         f"(ratio {both / f_total if f_total else float('inf'):.3f})"),
        (0 < bare.proc.hwm_kb * 1024 <= 20e6,
         f"audiocapd peak RSS <= 20 MB (default 30 s queue; look-back off, the audio held on purpose left out): "
         f"{mb(bare.proc.hwm_kb):.1f} MB (with the default look-back {mb(daemon.proc.hwm_kb):.1f} MB)"),
        (d_exact and b_exact, f"audiocapd's joined segments are the pattern, bit-exact: {'yes' if d_exact else 'NO'}"
         f" (look-back off: {'yes' if b_exact else 'NO'})"),
    ]
    for ok, text in goals:
        print(f"  {verdict(ok)}  {text}")
    print()
    print("command lines:")
    print(f"  audiocapd: {shlex.join(daemon.argv)}  (config below; its ffmpeg child: "
          f"{child_cmdline(daemon) or 'not seen'})")
    print(f"  arecord:   {shlex.join(arecord_argv)}")
    print(f"  ffmpeg:    {shlex.join(ffmpeg_argv)}")
    print(f"  env:       ALSA_CONFIG_PATH={os.environ.get('ALSA_CONFIG_PATH', '')}")
    print(f"audiocapd config ({daemon.config}):")
    with open(daemon.config) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                print("  " + line.rstrip())
    return 0 if all(ok for ok, _ in goals) else 1


def child_cmdline(daemon):
    return getattr(daemon, "_child_cmdline", None)


def snapshot(daemon, arecord, ffmpeg, t):
    # Remember the ffmpeg child's command line while it runs (for the report).
    for c in daemon.children.values():
        if c.ended is None:
            try:
                with open(f"/proc/{c.pid}/cmdline", "rb") as f:
                    daemon._child_cmdline = shlex.join(x.decode() for x in f.read().split(b"\0") if x)
            except OSError:
                pass
    child = daemon.child_ticks()
    return {"t": t, "d_own": daemon.proc.ticks, "d_child": child, "d_total": daemon.proc.ticks + child,
            "a": arecord.ticks, "f": ffmpeg.ticks,
            # Nanosecond run time of every thread (schedstat), for the steady own-CPU goal.
            "d_ns": daemon.proc.sched_seconds, "a_ns": arecord.sched_seconds}


def run_soak(args):
    env = dict(os.environ)
    minutes = args.minutes
    print(f"== audiocap soak: audiocapd alone for {minutes:g} min on testmic; RSS every minute")
    print(f"machine: {machine_line()}")
    daemon = Daemon(args, args.work, env, ffmpeg_output_options=args.daemon_ffmpeg_output_options)
    t0 = time.monotonic()
    rows = []
    last = {"t": t0, "own": 0, "child": 0}
    status_source = None
    header = ["min", "VmRSS MB", "RssAnon MB", "VmHWM MB", "ffmpeg RSS MB", "own CPU %", "ffmpeg CPU %", "dropped frames",
              "xruns", "ffmpeg restarts", "files"]
    print()
    print("  ".join(header))
    final_status = None
    try:
        minute = 1
        while minute <= minutes:
            target = t0 + 60 * minute
            while time.monotonic() < target:
                daemon.sample()
                if reap_if_exited(daemon.proc):
                    raise RuntimeError(f"audiocapd exited early ({daemon.proc.exit_status}); see {daemon.log_path}")
                time.sleep(min(0.5, max(0.0, target - time.monotonic())))
            # The status first, so that the code it runs in the daemon is counted from the first row on.
            status, source = daemon.status()
            daemon.sample()
            now = time.monotonic()
            own, child = daemon.proc.ticks, daemon.child_ticks()
            status_source = source or status_source
            if status is not None:
                final_status = status
                dropped = status.get("dropped_frames")
                src = status.get("source", {})
                xruns, restarts = src.get("xruns", "-"), src.get("restarts", "-")
            else:
                dropped, xruns, restarts = f"log:{daemon.logged_drops()[1]}", "-", "-"
            r = [minute, f"{mb(daemon.proc.rss_kb):.2f}", f"{mb(daemon.proc.anon_kb):.2f}", f"{mb(daemon.proc.hwm_kb):.2f}",
                 f"{mb(daemon.child_rss_kb()):.1f}", f"{pct(own - last['own'], now - last['t']):.3f}",
                 f"{pct(child - last['child'], now - last['t']):.3f}", dropped, xruns, restarts,
                 len(wav_files(daemon.dir))]
            rows.append((daemon.proc.rss_kb, daemon.proc.anon_kb, r))
            print("  ".join(str(c).rjust(len(h)) for c, h in zip(r, header)), flush=True)
            last = {"t": now, "own": own, "child": child}
            minute += 1
        stop_all([daemon.proc], on_tick=daemon.sample)
    except BaseException:
        stop_all([daemon.proc], sig=signal.SIGTERM, timeout=10)
        raise

    files = wav_files(daemon.dir)
    exact, frames, line = check_pattern(args, files)
    first, last_rss = rows[0][0], rows[-1][0]
    growth = (last_rss - first) * 1024
    anon_growth = (rows[-1][1] - rows[0][1]) * 1024
    log_events, log_frames = daemon.logged_drops()
    dropped = final_status.get("dropped_frames") if final_status else None
    drops = dropped if dropped is not None else log_frames
    wall = daemon.proc.wall()
    print()
    print(f"audiocapd: CPU {pct(daemon.proc.ticks, wall):.3f} % own, {pct(daemon.child_ticks(), wall):.3f} % its "
          f"ffmpeg, over {wall:.0f} s; peak RSS {mb(daemon.proc.hwm_kb):.2f} MB (ffmpeg "
          f"{mb(daemon.child_hwm_kb()):.1f} MB); exit status {daemon.proc.exit_status}")
    print(f"drops: {dropped if dropped is not None else 'n/a'} frames from {status_source or 'no status (socket/CLI unavailable)'}"
          f"; recording.dropped log lines: {log_events} ({log_frames} frames)")
    print(f"pattern check of {len(files)} files: {line}")
    print()
    goals = [
        (growth < 1e6, f"RSS growth minute 1 -> minute {rows[-1][2][0]} < 1 MB: {growth / 1e6:+.3f} MB "
                       f"({mb(first):.2f} -> {mb(last_rss):.2f} MB; of it anonymous memory: {anon_growth / 1e6:+.3f} MB)"),
        (drops == 0 and log_events == 0, f"zero drops: {drops} frames dropped, {log_events} drop events"),
        (exact, f"joined segments bit-exact: {'yes' if exact else 'NO'}"),
    ]
    for ok, text in goals:
        print(f"  {verdict(ok)}  {text}")
    print()
    print(f"command line: {shlex.join(daemon.argv)}  env ALSA_CONFIG_PATH={os.environ.get('ALSA_CONFIG_PATH', '')}")
    return 0 if all(ok for ok, _ in goals) else 1


SOURCE_COUNTS = (1, 2, 4)
LINEAR_FACTOR = 1.1


def run_daemon_with_sources(args, env, n, rnd):
    """One audiocapd with n sources (each one recording) on testmic for args.seconds; its figures."""
    name = f"audiocapd-{n}src-{rnd + 1}"
    load = machine_line()
    daemon = Daemon(args, args.work, env, ffmpeg_output_options=args.daemon_ffmpeg_output_options, name=name,
                    sources=n)
    t0 = time.monotonic()
    warm = None

    def snap():
        daemon.sample()
        return {"t": time.monotonic(), "own": daemon.proc.ticks, "ns": daemon.proc.sched_seconds,
                "child": daemon.child_ticks(), "rss": daemon.proc.rss_kb, "anon": daemon.proc.anon_kb}

    try:
        while True:
            now = time.monotonic()
            daemon.sample()
            if reap_if_exited(daemon.proc):
                raise RuntimeError(f"audiocapd with {n} sources exited early ({daemon.proc.exit_status}); "
                                   f"see {daemon.log_path} (does this build accept [[source]] tables?)")
            if warm is None and now - t0 >= WARMUP_SECONDS:
                warm = snap()
            if now - t0 >= args.seconds:
                break
            time.sleep(SAMPLE_INTERVAL)
        before = snap()
        # The status after the steady window, so that the code it runs in the daemon is not in it.
        status, status_source = daemon.status()
        stop_all([daemon.proc], on_tick=daemon.sample)
    except BaseException:
        stop_all([daemon.proc], sig=signal.SIGTERM, timeout=10)
        raise
    if warm is None:  # a run shorter than the warm-up: the steady figures are the whole run's
        warm = {"t": t0, "own": 0, "ns": 0.0, "child": 0}
    wall = daemon.proc.wall()
    sw = before["t"] - warm["t"]
    by_name = {r.get("name"): r for r in (status or {}).get("recordings", [])}
    sources = (status or {}).get("sources", [])
    recordings = []
    for recording, source, directory in daemon.recordings:
        files = wav_files(directory)
        exact, frames, line = check_pattern(args, files)
        r = by_name.get(recording, {})
        recordings.append({"name": recording, "source": source, "files": len(files), "frames": frames,
                           "exact": exact, "line": line, "dropped": r.get("dropped_frames"), "gaps": r.get("gaps")})
    log_events, log_frames = daemon.logged_drops()
    child_hwm = [c.hwm_kb for c in daemon.children.values()]
    return {
        "n": n, "round": rnd + 1, "name": name, "load": load, "wall": wall, "steady_wall": sw,
        "own_pct": pct(daemon.proc.ticks, wall), "own_ns_pct": 100 * daemon.proc.sched_seconds / wall,
        "steady_pct": 100 * (before["ns"] - warm["ns"]) / sw if sw > 0 else 0.0,
        "steady_ticks_pct": pct(before["own"] - warm["own"], sw) if sw > 0 else 0.0,
        "child_pct": pct(daemon.child_ticks(), wall),
        "child_steady_pct": pct(before["child"] - warm["child"], sw) if sw > 0 else 0.0,
        "hwm_kb": daemon.proc.hwm_kb, "rss_kb": before["rss"], "anon_kb": before["anon"],
        "child_hwm_kb": sum(child_hwm), "ffmpeg_runs": len(child_hwm),
        "final": daemon.proc.final, "exit": daemon.proc.exit_status, "recordings": recordings,
        "status": status is not None, "status_source": status_source,
        "dropped": (status or {}).get("dropped_frames"),
        "restarts": sum(s.get("restarts", 0) for s in sources) if sources else None,
        "xruns": sum(s.get("xruns", 0) for s in sources) if sources else None,
        "log_drop_events": log_events, "log_drop_frames": log_frames, "config": daemon.config,
        "argv": daemon.argv, "log": daemon.log_path,
    }


def median(values):
    values = sorted(values)
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2


def run_sources(args):
    """audiocapd with 1, 2 and 4 sources in turn (rounds interleaved: 1 2 4 1 2 4 ...): its own CPU and RSS
    per source, its ffmpeg children, every recording bit-exact, drops; goal: linear."""
    env = dict(os.environ)
    counts = SOURCE_COUNTS
    print(f"== audiocap sources: audiocapd with {', '.join(map(str, counts))} sources in turn, each source "
          f"with one recording, all on testmic (stereo 48 kHz s16), {args.seconds:g} s each, {args.rounds} round(s)")
    print(f"machine: {machine_line()}")
    runs = []
    for rnd in range(args.rounds):
        for n in counts:
            print(f"  round {rnd + 1}: {n} source(s) for {args.seconds:g} s ...", file=sys.stderr, flush=True)
            runs.append(run_daemon_with_sources(args, env, n, rnd))

    print()
    print("every run (CPU in % of one core; steady = schedstat run time of the daemon's threads from "
          f"{WARMUP_SECONDS:g} s after start to the stop signal; peak RSS = VmHWM; RSS and anon (RssAnon: heap, "
          "stacks, other anonymous memory) at the end of that window; MB = 10^6 bytes):")
    rows = []
    for r in runs:
        n = r["n"]
        exact = sum(1 for x in r["recordings"] if x["exact"])
        frames = [x["frames"] for x in r["recordings"]]
        rows.append([f"{n}", r["round"], f"{r['wall']:.1f}", f"{r['own_pct']:.3f}", f"{r['own_ns_pct']:.3f}",
                     f"{r['steady_pct']:.3f}", f"{r['steady_pct'] / n:.3f}", f"{r['child_pct']:.2f}",
                     f"{r['child_pct'] / n:.2f}", f"{mb(r['hwm_kb']):.2f}", f"{mb(r['hwm_kb']) / n:.2f}",
                     f"{mb(r['rss_kb']):.2f}", f"{mb(r['anon_kb']):.2f}",
                     f"{mb(r['child_hwm_kb']):.1f}", r["ffmpeg_runs"], f"{exact}/{n}",
                     f"{min(frames)}" if min(frames) == max(frames) else f"{min(frames)}-{max(frames)}",
                     "-" if r["dropped"] is None else r["dropped"], r["log_drop_events"],
                     "-" if r["restarts"] is None else r["restarts"], "-" if r["xruns"] is None else r["xruns"]])
    table(rows, ["sources", "round", "wall s", "own CPU %", "by schedstat", "steady %", "steady/source",
                 "ffmpeg CPU %", "ffmpeg/source", "peak RSS MB", "RSS/source", "RSS at stop", "anon at stop",
                 "ffmpeg RSS MB", "ffmpeg runs", "bit-exact", "frames/recording", "dropped", "drop events",
                 "restarts", "xruns"])

    # The figures per number of sources: the median over the rounds.
    agg = {}
    for n in counts:
        rs = [r for r in runs if r["n"] == n]
        agg[n] = {k: median([r[k] for r in rs]) for k in ("own_pct", "steady_pct", "child_pct", "child_steady_pct",
                                                           "hwm_kb", "anon_kb", "child_hwm_kb")}
    one = agg[counts[0]]
    print()
    print("per number of sources" + (f" (median of {args.rounds} rounds)" if args.rounds > 1 else "") +
          "; marginal = (figure with N - figure with 1) / (N - 1), the cost of each source added to the first:")
    rows = []
    for n in counts:
        a = agg[n]
        marginal = lambda key, scale=1.0: (f"{(a[key] - one[key]) * scale / (n - 1):.3f}" if n > 1 else "-")
        rows.append([n, f"{a['steady_pct']:.3f}", f"{a['steady_pct'] / n:.3f}", marginal("steady_pct"),
                     f"{a['own_pct'] / n:.3f}", f"{a['child_pct']:.2f}", f"{a['child_pct'] / n:.2f}",
                     f"{mb(a['hwm_kb']):.2f}", f"{mb(a['hwm_kb']) / n:.2f}", marginal("hwm_kb", 1024 / 1e6),
                     f"{mb(a['anon_kb']):.2f}", marginal("anon_kb", 1024 / 1e6),
                     f"{mb(a['child_hwm_kb']) / n:.1f}"])
    table(rows, ["sources", "own steady CPU %", "per source", "marginal", "spawn-to-exit per source",
                 "ffmpeg CPU %", "per source", "peak RSS MB", "per source", "marginal MB", "anon MB at stop",
                 "marginal anon MB", "ffmpeg RSS MB/source"])

    print()
    print("recordings (testmic-check 2 FILES..., each recording's segments joined in order; dropped and gaps from "
          "the status just before the stop):")
    rows = []
    for r in runs:
        for x in r["recordings"]:
            rows.append([f"{r['n']}", r["round"], x["name"], x["source"], x["files"], x["frames"],
                         f"{x['frames'] / 48000:.1f}" if x["frames"] else "-", "yes" if x["exact"] else "NO",
                         "-" if x["dropped"] is None else x["dropped"], "-" if x["gaps"] is None else x["gaps"],
                         x["line"]])
    table(rows, ["sources", "round", "recording", "source", "files", "frames", "audio s", "bit-exact", "dropped",
                 "gaps", "testmic-check"])

    print()
    print(f"goals (per-source figures with N sources against 1 source, x {LINEAR_FACTOR:g} at most; own CPU from "
          "the steady window by schedstat):")
    goals = []
    base = one["steady_pct"]
    for n in counts[1:]:
        per = agg[n]["steady_pct"] / n
        goals.append((base > 0 and per <= LINEAR_FACTOR * base,
                      f"own CPU per source with {n} sources <= {LINEAR_FACTOR:g} x with 1: {per:.3f} % vs "
                      f"{LINEAR_FACTOR * base:.3f} % (ratio {per / base if base else float('inf'):.3f})"))
    # RSS: the first source carries the process's fixed cost (binary, Swift runtime, Foundation, the control
    # server), so what a source costs is what adding one adds. The first added source (1 -> 2) is the
    # reference; with more sources each added one must cost no more than 1.1 x that.
    first_added = (agg[counts[1]]["hwm_kb"] - one["hwm_kb"]) / (counts[1] - 1)
    for n in counts[2:]:
        per = (agg[n]["hwm_kb"] - one["hwm_kb"]) / (n - 1)
        goals.append((first_added > 0 and per <= LINEAR_FACTOR * first_added,
                      f"marginal peak RSS per added source with {n} sources <= {LINEAR_FACTOR:g} x the first added "
                      f"(1 -> {counts[1]}): {mb(per):.3f} MB vs {LINEAR_FACTOR * mb(first_added):.3f} MB (ratio "
                      f"{per / first_added if first_added > 0 else float('inf'):.3f})"))
    bad = [f"{r['n']}src/round {r['round']}/{x['name']}" for r in runs for x in r["recordings"] if not x["exact"]]
    goals.append((not bad, f"every recording's joined segments are the pattern, bit-exact: "
                           f"{'yes' if not bad else 'NO: ' + ', '.join(bad)}"))
    drops = sum((r["dropped"] or 0) + r["log_drop_events"] for r in runs)
    unknown = sum(1 for r in runs if r["dropped"] is None)
    goals.append((drops == 0, f"zero drops: {sum(r['dropped'] or 0 for r in runs)} frames dropped (status), "
                              f"{sum(r['log_drop_events'] for r in runs)} recording.dropped log lines"
                              + (f"; no status from {unknown} run(s)" if unknown else "")))
    for ok, text in goals:
        print(f"  {verdict(ok)}  {text}")
    first_anon = (agg[counts[1]]["anon_kb"] - one["anon_kb"]) / (counts[1] - 1)
    last_anon = (agg[counts[-1]]["anon_kb"] - one["anon_kb"]) / (counts[-1] - 1)
    print(f"  info  marginal anonymous memory (RssAnon at the end of the steady window, steadier than the peak) per "
          f"added source with {counts[-1]} sources: {mb(last_anon):.3f} MB vs {mb(first_anon):.3f} MB for the first "
          f"added (ratio {last_anon / first_anon if first_anon > 0 else float('inf'):.3f})")
    print(f"  info  peak RSS per source with {counts[-1]} sources: "
          f"{mb(agg[counts[-1]]['hwm_kb']) / counts[-1]:.2f} MB vs {mb(one['hwm_kb']):.2f} MB with 1 "
          "(the fixed cost shared)")
    print()
    status_source = next((r["status_source"] for r in runs if r["status_source"]), "nowhere (no CLI, no socket)")
    print(f"ffmpeg child ticks {'exact (daemon cutime+cstime)' if all(r['final'] for r in runs) else 'sampled'}; "
          f"status from {status_source}; exit status of the daemons: {', '.join(str(r['exit']) for r in runs)}.")
    print("1-minute load average before each run: " + "; ".join(
        f"{r['n']}src/{r['round']}: {r['load'].split('load average ')[1].split()[0]}" for r in runs))
    print(f"command line: {shlex.join(runs[-1]['argv'])}  env ALSA_CONFIG_PATH={os.environ.get('ALSA_CONFIG_PATH', '')}")
    print(f"audiocapd config with {counts[-1]} sources ({runs[-1]['config']}):")
    with open(runs[-1]["config"]) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                print("  " + line.rstrip())
    return 0 if all(ok for ok, _ in goals) else 1


# ----------------------------------------------------------------------------------------------- flac

FLAC_GOAL_PCT = 0.2  # FLAC may add this much of one core to the daemon's own CPU (48 kHz stereo, level 5)
SPEECH_TEXT = (
    "Good morning. This is the field station on the north ridge, recording at forty eight kilohertz. "
    "The wind has dropped since dawn, and the first blackbirds started singing a little after five. "
    "We replaced the battery yesterday, cleaned the microphone screen, and checked the clock against GPS. "
    "Two deer crossed the clearing at six fifteen; a tractor was working in the valley until seven. "
    "Next visit is planned for Thursday, weather permitting. End of note."
)
SPEECH_NOISE_DBFS = -66.0  # white noise per channel, rms, independent on the two channels


def numbered(path):
    """Sort key: the number in the file name ({seq}), then the name."""
    m = re.search(r"(\d+)", os.path.basename(path))
    return (int(m.group(1)) if m else -1, path)


def media_files(directory, ext):
    """Closed files ending in .EXT (no .partial), in recording order."""
    files = [os.path.join(dp, f) for dp, _, fs in os.walk(directory) for f in fs if f.endswith("." + ext)]
    return sorted(files, key=numbered)


def wav_pcm(path):
    """The data chunk of a RIFF/RF64 WAV (any chunks before it skipped)."""
    with open(path, "rb") as f:
        blob = f.read()
    if blob[:4] not in (b"RIFF", b"RF64") or blob[8:12] != b"WAVE":
        raise ValueError(f"{path}: not a WAV file")
    pos, data64 = 12, None
    while pos + 8 <= len(blob):
        cid, size = blob[pos:pos + 4], int.from_bytes(blob[pos + 4:pos + 8], "little")
        if cid == b"ds64":
            data64 = int.from_bytes(blob[pos + 16:pos + 24], "little")
        if cid == b"data":
            if size == 0xFFFFFFFF and data64 is not None:
                size = data64
            return blob[pos + 8:pos + 8 + size]
        pos += 8 + size + (size & 1)
    raise ValueError(f"{path}: no data chunk")


def flac_decode(path):
    """(ok, raw PCM, message) from `flac -d` (an independent decoder; it checks the STREAMINFO MD5 too)."""
    out = subprocess.run(["flac", "-d", "-c", "-s", "--force-raw-format", "--endian=little", "--sign=signed", path],
                         capture_output=True)
    msg = out.stderr.decode(errors="replace").strip().replace("\n", " ")
    return out.returncode == 0, out.stdout, msg


def flac_figures(args, files, tag):
    """Decodes every FLAC file: (all decoded, PCM bytes, FLAC bytes, raw files written, errors)."""
    pcm = size = 0
    raws, errors = [], []
    for i, path in enumerate(files):
        ok, raw, msg = flac_decode(path)
        if not ok:
            errors.append(f"{os.path.basename(path)}: flac -d failed: {msg or 'no message'}")
        pcm += len(raw)
        size += os.path.getsize(path)
        out = os.path.join(args.work, f"{tag}-{i:04d}.raw")
        with open(out, "wb") as f:
            f.write(raw)
        raws.append(out)
    return not errors and bool(files), pcm, size, raws, errors


def compare_twins(flac_dir, wav_dir):
    """Every FLAC file against the WAV file of the same name (same cut, same frames): (files, equal, notes)."""
    flacs = media_files(flac_dir, "flac")
    wavs = {os.path.splitext(os.path.basename(p))[0]: p for p in media_files(wav_dir, "wav")}
    equal, notes = 0, []
    for path in flacs:
        stem = os.path.splitext(os.path.basename(path))[0]
        twin = wavs.get(stem)
        if twin is None:
            notes.append(f"{os.path.basename(path)}: no WAV twin")
            continue
        ok, raw, msg = flac_decode(path)
        try:
            pcm = wav_pcm(twin)
        except (OSError, ValueError) as e:
            notes.append(str(e))
            continue
        if ok and raw == pcm:
            equal += 1
        else:
            first = next((i for i, (a, b) in enumerate(zip(raw, pcm)) if a != b), min(len(raw), len(pcm)))
            notes.append(f"{os.path.basename(path)}: {'flac -d failed: ' + msg + '; ' if not ok else ''}"
                         f"{len(raw)} decoded bytes vs {len(pcm)} in the WAV, first difference at byte {first}")
    if len(wavs) != len(flacs):
        notes.append(f"{len(flacs)} FLAC files, {len(wavs)} WAV files")
    return len(flacs), equal, notes


def make_speech(work):
    """A speech-like sample: espeak-ng, 48 kHz stereo s16le, plus white noise at SPEECH_NOISE_DBFS rms on each
    channel (independent). (raw path, description) or (None, why not)."""
    import array
    import random
    if not shutil.which("espeak-ng"):
        return None, "espeak-ng is missing (Debian/Ubuntu: apt-get install espeak-ng)"
    wav = os.path.join(work, "speech-espeak.wav")
    raw = os.path.join(work, "speech.raw")
    out = subprocess.run(["espeak-ng", "-v", "en", "-w", wav, SPEECH_TEXT], capture_output=True)
    if out.returncode != 0:
        return None, f"espeak-ng failed: {out.stderr.decode(errors='replace').strip()}"
    out = subprocess.run(["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-i", wav, "-ar", "48000",
                          "-ac", "2", "-f", "s16le", "-c:a", "pcm_s16le", "pipe:1"], capture_output=True)
    if out.returncode != 0:
        return None, f"ffmpeg could not resample the speech: {out.stderr.decode(errors='replace').strip()}"
    samples = array.array("h")
    samples.frombytes(out.stdout)
    rng = random.Random(13)
    sigma = 32768 * 10 ** (SPEECH_NOISE_DBFS / 20)
    gauss = rng.gauss
    for i in range(len(samples)):
        samples[i] = max(-32768, min(32767, samples[i] + round(gauss(0.0, sigma))))
    peak = max(abs(x) for x in samples[::7]) or 1
    with open(raw, "wb") as f:
        f.write(samples.tobytes())
    seconds = len(samples) / 2 / 48000
    return raw, (f"espeak-ng -v en ({len(SPEECH_TEXT.split())} words, {seconds:.1f} s, looped), 48 kHz stereo s16, "
                 f"peak {20 * math.log10(peak / 32768):.1f} dBFS, white noise {SPEECH_NOISE_DBFS:g} dBFS rms per channel")


def start_speech_mic(args, raw):
    """A second paced test microphone, `speechmic`, playing raw in a loop. Returns its ALSA config path."""
    state = os.path.join(args.work, "speechmic")
    env = dict(os.environ, TESTMIC_DEVICE="speechmic")
    out = subprocess.run(["sh", os.path.join(args.root, "Tests", "Fixtures", "testmic", "start.sh"), state, raw],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"the speech microphone did not start: {out.stderr.strip()}")
    return os.path.join(state, "testmic.conf")


def stop_speech_mic(args):
    subprocess.run(["sh", os.path.join(args.root, "Tests", "Fixtures", "testmic", "stop.sh"),
                    os.path.join(args.work, "speechmic")], capture_output=True)


def run_pair(args, env, rnd):
    """Two daemons at once on testmic, one with a WAV recording, one with a FLAC recording."""
    # Started in turn, WAV first in odd rounds, FLAC first in even ones.
    order = ("wav", "flac") if rnd % 2 == 0 else ("flac", "wav")
    daemons = {fmt: Daemon(args, args.work, env, name=f"audiocapd-{fmt}-{rnd + 1}",
                           layout=([("mic", "testmic")], [(fmt, "mic", fmt)]))
               for fmt in order}
    load = machine_line()
    t0 = time.monotonic()
    warm = None
    procs = [d.proc for d in daemons.values()]

    def snap():
        out = {}
        for fmt, d in daemons.items():
            d.sample()
            out[fmt] = {"t": time.monotonic(), "ns": d.proc.sched_seconds, "own": d.proc.ticks}
        return out

    try:
        while True:
            now = time.monotonic()
            for fmt, d in daemons.items():
                d.sample()
                if reap_if_exited(d.proc):
                    raise RuntimeError(f"audiocapd ({fmt}) exited early ({d.proc.exit_status}); see {d.log_path} "
                                       "(does this build know format = \"flac\"?)")
            if warm is None and now - t0 >= WARMUP_SECONDS:
                warm = snap()
            if now - t0 >= args.seconds:
                break
            time.sleep(SAMPLE_INTERVAL)
        before = snap()
        statuses = {fmt: d.status()[0] for fmt, d in daemons.items()}
        stop_all(procs, on_tick=lambda: [d.sample() for d in daemons.values()])
    except BaseException:
        stop_all(procs, sig=signal.SIGTERM, timeout=10)
        raise
    if warm is None:
        warm = {fmt: {"t": t0, "ns": 0.0, "own": 0} for fmt in daemons}
    result = {"round": rnd + 1, "load": load}
    for fmt, d in daemons.items():
        wall = d.proc.wall()
        sw = before[fmt]["t"] - warm[fmt]["t"]
        _, _, directory = d.recordings[0]
        if fmt == "wav":
            files = media_files(directory, "wav")
            exact, frames, line = check_pattern(args, files)
            decoded, pcm, size, notes = True, frames * 4, sum(os.path.getsize(p) for p in files), []
        else:
            files = media_files(directory, "flac")
            decoded, pcm, size, raws, notes = flac_figures(args, files, f"round{rnd + 1}")
            exact, frames, line = check_pattern(args, raws)
            for r in raws:
                os.unlink(r)
        status = statuses[fmt] or {}
        rec = next(iter(status.get("recordings", [])), {})
        result[fmt] = {
            "wall": wall, "own_pct": pct(d.proc.ticks, wall), "own_ns_pct": 100 * d.proc.sched_seconds / wall,
            "steady_pct": 100 * (before[fmt]["ns"] - warm[fmt]["ns"]) / sw if sw > 0 else 0.0,
            "child_pct": pct(d.child_ticks(), wall), "hwm_kb": d.proc.hwm_kb, "files": len(files),
            "frames": frames, "exact": exact, "line": line, "decoded": decoded, "pcm": pcm, "size": size,
            "notes": notes, "dropped": status.get("dropped_frames"), "log_drops": d.logged_drops()[0],
            "status_ratio": rec.get("compression_ratio"), "exit": d.proc.exit_status, "argv": d.argv,
            "config": d.config,
        }
    return result


def run_twins(args, env, speech):
    """One daemon; per microphone one source with a WAV and a FLAC recording of the same capture."""
    sources = [("pattern", "testmic")] + ([("speech", "speechmic")] if speech else [])
    recordings = [(f"{src}-{fmt}", src, fmt) for src, _ in sources for fmt in ("wav", "flac")]
    d = Daemon(args, args.work, env, name="audiocapd-twins", layout=(sources, recordings))
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < args.twin_seconds:
            d.sample()
            if reap_if_exited(d.proc):
                raise RuntimeError(f"audiocapd (twins) exited early ({d.proc.exit_status}); see {d.log_path}")
            time.sleep(SAMPLE_INTERVAL)
        status, _ = d.status()
        stop_all([d.proc], on_tick=d.sample)
    except BaseException:
        stop_all([d.proc], sig=signal.SIGTERM, timeout=10)
        raise
    dirs = {name: directory for name, _, directory in d.recordings}
    by_name = {r.get("name"): r for r in (status or {}).get("recordings", [])}
    out = {"config": d.config, "argv": d.argv, "exit": d.proc.exit_status, "sources": {},
           "dropped": (status or {}).get("dropped_frames"), "log_drops": d.logged_drops()[0]}
    for src, _ in sources:
        wav_dir, flac_dir = dirs[f"{src}-wav"], dirs[f"{src}-flac"]
        files, equal, notes = compare_twins(flac_dir, wav_dir)
        flacs = media_files(flac_dir, "flac")
        wavs = media_files(wav_dir, "wav")
        pcm = sum(len(wav_pcm(p)) for p in wavs)
        size = sum(os.path.getsize(p) for p in flacs)
        entry = {"files": files, "equal": equal, "notes": notes, "pcm": pcm, "size": size,
                 "wav_size": sum(os.path.getsize(p) for p in wavs),
                 "status_ratio": by_name.get(f"{src}-flac", {}).get("compression_ratio")}
        if src == "pattern":
            entry["exact"], _, entry["line"] = check_pattern(args, wavs)
        out["sources"][src] = entry
    return out


def flac_cli_ratio(raw, level):
    """PCM bytes / bytes of `flac -LEVEL` on a raw file (the reference encoder on the same audio)."""
    out = subprocess.run(["flac", f"-{level}", "-s", "-c", "--no-padding", "--force-raw-format", "--endian=little", "--sign=signed",
                          "--channels=2", "--bps=16", "--sample-rate=48000", raw], capture_output=True)
    return os.path.getsize(raw) / len(out.stdout) if out.returncode == 0 and out.stdout else None


def run_flac(args):
    """audiocapd with one WAV recording and with one FLAC recording at once, ROUNDS times: own CPU (goal: FLAC
    adds <= 0.2 % of one core); then one daemon recording WAV and FLAC twins of the pattern and of a speech
    sample: size ratio, and every FLAC file decodes bit-exact to its WAV twin."""
    if not shutil.which("flac"):
        print("compare.py: the flac tool is missing (Debian/Ubuntu: apt-get install flac)", file=sys.stderr)
        return 2
    env = dict(os.environ)
    print(f"== audiocap flac: audiocapd with one FLAC recording (flac_level {args.flac_level}) and with one WAV "
          f"recording, side by side on testmic (stereo 48 kHz s16), {args.seconds:g} s, {args.rounds} round(s); "
          f"then WAV/FLAC twins of the pattern and of a speech sample for {args.twin_seconds:g} s")
    print(f"machine: {machine_line()}")
    rounds = []
    for rnd in range(args.rounds):
        print(f"  round {rnd + 1}: WAV and FLAC daemons for {args.seconds:g} s ...", file=sys.stderr, flush=True)
        rounds.append(run_pair(args, env, rnd))

    speech_raw, speech_note = make_speech(args.work)
    twin_env = dict(env)
    try:
        if speech_raw:
            conf = start_speech_mic(args, speech_raw)
            twin_env["ALSA_CONFIG_PATH"] = env["ALSA_CONFIG_PATH"] + ":" + conf
        print(f"  twins: WAV and FLAC of the pattern{' and of the speech sample' if speech_raw else ''} for "
              f"{args.twin_seconds:g} s ...", file=sys.stderr, flush=True)
        twins = run_twins(args, twin_env, bool(speech_raw))
    finally:
        if speech_raw:
            stop_speech_mic(args)

    print()
    print("CPU, every round (the two daemons run at the same time; % of one core; steady = schedstat run time of "
          f"the daemon's threads from {WARMUP_SECONDS:g} s after start to the stop signal; MB = 10^6 bytes):")
    rows = []
    for r in rounds:
        for fmt in ("wav", "flac"):
            x = r[fmt]
            rows.append([r["round"], fmt, f"{x['wall']:.1f}", f"{x['own_pct']:.3f}", f"{x['own_ns_pct']:.3f}",
                         f"{x['steady_pct']:.3f}", f"{x['steady_pct'] - r['wav']['steady_pct']:+.3f}" if fmt == "flac"
                         else "-", f"{x['child_pct']:.2f}", f"{mb(x['hwm_kb']):.2f}", x["files"], x["frames"],
                         f"{x['pcm'] / x['size']:.3f}" if x["size"] else "-",
                         "yes" if x["exact"] else "NO", "-" if x["dropped"] is None else x["dropped"], x["log_drops"],
                         r["load"].split("load average ")[1].split()[0]])
    table(rows, ["round", "format", "wall s", "own CPU %", "by schedstat", "steady %", "FLAC - WAV", "ffmpeg CPU %",
                 "peak RSS MB", "files", "frames", "PCM/file bytes", "pattern bit-exact", "dropped", "drop events",
                 "load (1 min)"])
    deltas = [r["flac"]["steady_pct"] - r["wav"]["steady_pct"] for r in rounds]
    wav_med = median([r["wav"]["steady_pct"] for r in rounds])
    flac_med = median([r["flac"]["steady_pct"] for r in rounds])
    delta = median(deltas)
    print(f"median steady own CPU: WAV {wav_med:.3f} %, FLAC {flac_med:.3f} %; median of the per-round differences "
          f"{delta:+.3f} % (rounds: {', '.join(f'{d:+.3f}' for d in deltas)}); spawn to exit by schedstat: "
          f"WAV {median([r['wav']['own_ns_pct'] for r in rounds]):.3f} %, "
          f"FLAC {median([r['flac']['own_ns_pct'] for r in rounds]):.3f} %")
    for r in rounds:
        for note in r["flac"]["notes"]:
            print(f"  round {r['round']} flac: {note}")
        if not (r["wav"]["exact"] and r["flac"]["exact"]):
            for fmt in ("wav", "flac"):
                print(f"  round {r['round']} {fmt} testmic-check: {r[fmt]['line']}")
            if not r["wav"]["exact"] and not r["flac"]["exact"]:
                print(f"  round {r['round']}: neither capture is the pattern; with no drops in either daemon, most likely "
                      "the test microphone's audio broke (e.g. a starved feeder on a loaded machine) and both got it")
    pat_pcm = sum(r["flac"]["pcm"] for r in rounds)
    pat_size = sum(r["flac"]["size"] for r in rounds)
    status_ratios = [r["flac"]["status_ratio"] for r in rounds if r["flac"]["status_ratio"] is not None]

    print()
    print(f"twins: one daemon, per microphone one source with a WAV and a FLAC recording of the same capture "
          f"({args.twin_seconds:g} s); each FLAC file decoded with `flac -d` (which also checks its MD5) and "
          "compared byte for byte with the audio of the WAV file of the same name:")
    rows = []
    for src, e in twins["sources"].items():
        cli = flac_cli_ratio(speech_raw if src == "speech" else os.path.join(args.work, "mic", "pattern-2.raw"), args.flac_level)
        rows.append([src, e["files"], f"{e['equal']}/{e['files']}", e["pcm"], e["wav_size"], e["size"],
                     f"{e['pcm'] / e['size']:.3f}" if e["size"] else "-",
                     f"{e['status_ratio']:.3f}" if isinstance(e["status_ratio"], (int, float)) else "-",
                     f"{cli:.3f}" if cli else "-"])
        e["cli"] = cli
    table(rows, ["audio", "FLAC files", "bit-exact to twin", "PCM bytes", "WAV bytes", "FLAC bytes",
                 "PCM/FLAC", "status ratio", f"flac -{args.flac_level} on the loop"])
    for src, e in twins["sources"].items():
        for note in e["notes"]:
            print(f"  {src}: {note}")
    if "pattern" in twins["sources"]:
        print(f"  pattern WAV twin: {twins['sources']['pattern']['line']}")
    print(f"  speech sample: {speech_note}")
    print("  PCM/FLAC = the audio's PCM bytes over the FLAC files' bytes (headers, metadata and all); flac -N on "
          "the loop = the reference encoder (--no-padding) on one period of what the microphone plays.")

    print()
    print("goals:")
    goals = [(delta <= FLAC_GOAL_PCT,
              f"FLAC adds <= {FLAC_GOAL_PCT:g} % of one core to the daemon's own steady CPU (48 kHz stereo, level "
              f"{args.flac_level}): {delta:+.3f} % (median of {len(deltas)} round(s))")]
    bad = [str(r["round"]) for r in rounds if not (r["flac"]["exact"] and r["flac"]["decoded"])]
    goals.append((not bad, "every FLAC recording of the pattern decodes (flac -d) to the pattern, bit-exact: "
                           + ("yes" if not bad else "NO in round(s) " + ", ".join(bad))))
    twin_bad = [f"{src} {e['equal']}/{e['files']}" for src, e in twins["sources"].items()
                if e["files"] == 0 or e["equal"] != e["files"] or e["notes"]]
    goals.append((not twin_bad, "every FLAC file decodes bit-exact to its WAV twin: "
                                + ("yes (" + ", ".join(f"{src} {e['equal']}/{e['files']}" for src, e in
                                                       twins["sources"].items()) + ")" if not twin_bad
                                   else "NO: " + ", ".join(twin_bad))))
    drops = sum((r[f]["dropped"] or 0) + r[f]["log_drops"] for r in rounds for f in ("wav", "flac"))
    drops += (twins["dropped"] or 0) + twins["log_drops"]
    goals.append((drops == 0, f"zero drops: {drops} dropped frames and drop events"))
    for ok, text in goals:
        print(f"  {verdict(ok)}  {text}")
    print(f"  info  size ratio PCM/FLAC on the pattern: {pat_pcm / pat_size:.3f} (the CPU rounds' FLAC files"
          + (f"; the daemon's status says {', '.join(f'{x:.3f}' for x in status_ratios)}" if status_ratios else "")
          + ")" if pat_size else "  info  no FLAC files of the pattern")
    sp = twins["sources"].get("speech")
    if sp and sp["size"]:
        print(f"  info  size ratio PCM/FLAC on the speech sample: {sp['pcm'] / sp['size']:.3f}")
    else:
        print(f"  info  no speech sample: {speech_note}")
    print()
    print(f"exit status of the daemons: {', '.join(str(r[f]['exit']) for r in rounds for f in ('wav', 'flac'))}, "
          f"twins {twins['exit']}")
    print(f"command line: {shlex.join(rounds[-1]['flac']['argv'])}  env ALSA_CONFIG_PATH="
          f"{os.environ.get('ALSA_CONFIG_PATH', '')}")
    for label, path in (("FLAC daemon", rounds[-1]["flac"]["config"]), ("twins daemon", twins["config"])):
        print(f"{label} config ({path}):")
        with open(path) as f:
            for line in f:
                if line.strip() and not line.startswith("#"):
                    print("  " + line.rstrip())
    return 0 if all(ok for ok, _ in goals) else 1


# What FFmpegCommand.swift puts after -i today (before "-f s16le pipe:1").
PCM_OUTPUT = ["-map", "0:a:0", "-ac", "2", "-ar", "48000", "-c:a", "pcm_s16le"]
# Stream copy: the alsa demuxer already delivers pcm_s16le packets, so no decoder, filter graph or encoder.
COPY_OUTPUT = ["-map", "0:a:0", "-c:a", "copy"]
FFMPEG_VARIANTS = [
    # (label, input options before -f alsa, output options before -f s16le)
    ("baseline (FFmpegCommand today)", [], PCM_OUTPUT),
    ("-flush_packets 0", [], PCM_OUTPUT + ["-flush_packets", "0"]),
    ("-thread_queue_size 1024 (input)", ["-thread_queue_size", "1024"], PCM_OUTPUT),
    ("-probesize 32 -analyzeduration 0 (input)", ["-probesize", "32", "-analyzeduration", "0"], PCM_OUTPUT),
    ("-frame_size 4800 (encoder)", [], PCM_OUTPUT + ["-frame_size", "4800"]),
    ("-af asetnsamples=4800", [], PCM_OUTPUT + ["-af", "asetnsamples=n=4800"]),
    ("-af asetnsamples=4800 -flush_packets 0", [], PCM_OUTPUT + ["-af", "asetnsamples=n=4800", "-flush_packets", "0"]),
    ("-c:a copy (no -ac/-ar)", [], COPY_OUTPUT),
    ("-c:a copy -flush_packets 0", [], COPY_OUTPUT + ["-flush_packets", "0"]),
    ("-use_wallclock_as_timestamps 1 (input) -c:a copy -flush_packets 0", ["-use_wallclock_as_timestamps", "1"],
     COPY_OUTPUT + ["-flush_packets", "0"]),
]


def count_lines(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def run_ffmpeg_options(args):
    env = dict(os.environ)
    seconds = args.seconds
    print(f"== ffmpeg options: ffmpeg from testmic to a pipe, {len(FFMPEG_VARIANTS)} option sets at once, "
          f"{seconds:g} s, {args.rounds} round(s)")
    print(f"machine: {machine_line()}")
    results = {label: [] for label, _, _ in FFMPEG_VARIANTS}
    for rnd in range(args.rounds):
        running = []
        for i, (label, inopts, outopts) in enumerate(FFMPEG_VARIANTS):
            argv = (["ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "level+warning"] + inopts
                    + FFMPEG_CAPTURE + outopts
                    + ["-f", "s16le", "pipe:1"])
            ff = spawn(label, argv, os.path.join(args.work, f"opt{i}.log"), env, stdout=subprocess.PIPE)
            # The reader: dd counts its reads ("records in"), i.e. how often a reader such as audiocapd's
            # pipe reader wakes up.
            dd = spawn("dd", ["dd", f"of={args.work}/opt{i}.raw", "bs=1M"], os.path.join(args.work, f"opt{i}.dd"),
                       env, stdin=ff.popen.stdout)
            ff.popen.stdout.close()
            running.append((label, argv, ff, dd))
        t0 = time.monotonic()
        while time.monotonic() - t0 < seconds:
            for _, _, ff, dd in running:
                ff.sample()
                dd.sample()
                if reap_if_exited(ff):
                    raise RuntimeError(f"ffmpeg ({ff.name}) exited early; see {args.work}")
            time.sleep(SAMPLE_INTERVAL)
        stop_all([ff for _, _, ff, _ in running])
        stop_all([dd for _, _, _, dd in running], sig=signal.SIGCONT)  # dd ends at EOF
        for i, (label, argv, ff, dd) in enumerate(running):
            with open(os.path.join(args.work, f"opt{i}.dd"), errors="replace") as f:
                ddlog = f.read()
            m = re.search(r"(\d+)\+(\d+) records in", ddlog)
            reads = int(m.group(1)) + int(m.group(2)) if m else 0
            m = re.search(r"^(\d+) bytes", ddlog, re.M)
            nbytes = int(m.group(1)) if m else 0
            raw = os.path.join(args.work, f"opt{i}.raw")
            exact = check_pattern(args, [raw])[0] if os.access(os.path.join(args.bin, "testmic-check"), os.X_OK) else None
            os.unlink(raw)
            results[label].append({"exact": exact, "ffmpeg": pct(ff.ticks, ff.wall()), "reader": pct(dd.ticks, dd.wall()),
                                   "rss": mb(ff.hwm_kb), "errs": count_lines(os.path.join(args.work, f"opt{i}.log")) / ff.wall(), "reads": reads / ff.wall(),
                                   "bytes": nbytes / ff.wall(), "argv": argv})
    print()
    rows = []
    base = sum(r["ffmpeg"] for r in results[FFMPEG_VARIANTS[0][0]]) / args.rounds
    for label, _, _ in FFMPEG_VARIANTS:
        rs = results[label]
        avg = lambda k: sum(r[k] for r in rs) / len(rs)
        rows.append([label, " ".join(f"{r['ffmpeg']:.2f}" for r in rs), f"{avg('ffmpeg'):.2f}",
                     f"{avg('ffmpeg') / base:.2f}" if base else "-", f"{avg('reader'):.3f}", f"{avg('reads'):.0f}",
                     f"{avg('bytes') / avg('reads'):.0f}" if avg("reads") else "-", f"{avg('bytes'):.0f}",
                     f"{avg('rss'):.1f}", f"{avg('errs'):.1f}", "/".join("-" if r["exact"] is None else "yes" if r["exact"] else "NO" for r in rs)])
    table(rows, ["options", "ffmpeg CPU % per round", "mean", "x baseline", "reader CPU %", "reads/s",
                 "bytes/read", "bytes/s", "ffmpeg peak RSS MB", "stderr lines/s", "bit-exact"])
    print()
    print("reader = dd bs=1M from ffmpeg's stdout to a file; reads/s = its read() calls per second (each a wakeup);")
    print("bit-exact = testmic-check 2 on what dd wrote. CPU % = utime+stime over wall, spawn to exit, of one core.")
    print("command lines:")
    for label, _, _ in FFMPEG_VARIANTS:
        print(f"  {shlex.join(results[label][0]['argv'])} | dd of=FILE bs=1M")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["compare", "soak", "ffmpeg-options", "sources", "flac"])
    ap.add_argument("amount", type=float, help="seconds (compare, ffmpeg-options, sources) or minutes (soak)")
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--flac-level", type=int, default=5, help="flac_level of the FLAC recordings (flac mode)")
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--input-options", default="", help="audiocapd's [source] input_options, shell-quoted")
    ap.add_argument("--daemon-ffmpeg-output-options", default="",
                    help="extra output options for audiocapd's ffmpeg (through a wrapper), shell-quoted")
    ap.add_argument("--keep-page-cache", action="store_true",
                    help="start audiocapd from its binary as the page cache holds it (default: drop it first, "
                         "as after a boot; see evict_from_page_cache)")
    args = ap.parse_args()
    args.seconds = args.minutes = args.amount
    args.twin_seconds = max(args.seconds, 35.0)  # the twins run: at least three closed 10 s files
    args.input_options = shlex.split(args.input_options)
    args.daemon_ffmpeg_output_options = shlex.split(args.daemon_ffmpeg_output_options)
    if args.mode != "soak" and args.seconds < 1:
        print("compare.py: run at least 1 second", file=sys.stderr)
        return 64
    if args.mode == "soak" and (args.minutes < 1 or args.minutes != int(args.minutes)):
        sys.exit("compare.py: the soak runs a whole number of minutes, at least 1")
    if "ALSA_CONFIG_PATH" not in os.environ:
        sys.exit("compare.py: ALSA_CONFIG_PATH is not set; run it through bench/compare.sh")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.mode != "ffmpeg-options" and not args.keep_page_cache:
        evict_from_page_cache(os.path.join(args.bin, "audiocapd"))
    mode = {"compare": run_compare, "soak": run_soak, "ffmpeg-options": run_ffmpeg_options,
            "sources": run_sources, "flac": run_flac}[args.mode]
    try:
        return mode(args)
    except RuntimeError as e:
        print(f"compare.py: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("compare.py: interrupted; the recorders were stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
