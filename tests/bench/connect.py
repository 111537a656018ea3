#!/usr/bin/python3
"""Benchmark: one session through the gate, against its peers.

    tests/bench/connect.py --build build [--mib 64] [--echo 300] [--reps 3]
                           [--stacks direct,direct-idle,twohop,gate,
                                     gate-idle,gate-noshare,gate-watched,
                                     script,tlog]
                           [--start N [--observe N]] [--no-wait]
                           [--json] [--json-out FILE] [--cross-check]
                           [--wait S]

Run as root from the source tree on Debian 12, on an optimised build. It
sets up, on loopback, what the integration suite's make_bastion fixture
sets up (a gate, its sshd, a target sshd "web1", alice's key granted web1),
plus an ordinary account on the gate's sshd for the two-hop references,
and takes all of it down at the end, also on Ctrl-C or an error.

Every stack is driven from the user's side of a fresh PTY, the way a
terminal drives ssh, and runs the same far-end command on the same target:

  direct   ssh -tt target CMD                      (no middle host at all)
  twohop   ssh -tt hop@gatehost "ssh -tt target CMD"
  gate     ssh -tt gate@gatehost connect web1 -- CMD
  script   twohop, the middle running script -qfc "ssh -tt target CMD"
  tlog     twohop, the middle running tlog-rec ... -- ssh -tt target CMD
  direct-idle  idle-watch -t 1h -- ssh -tt target CMD   (direct, watched)
  gate-idle    gate, with [sessions] idle_timeout = 1h in gate.ini
  gate-noshare gate, with [sessions] max_watchers = 0 in gate.ini
  gate-watched gate, with bob attached to the session all along

Why two hops is the reference: a gate ends the user's ssh connection and
starts a second one toward the target, so it can never beat two plain ssh
hops through the same sshd; what it adds on top of "twohop" is its own cost
(gate-shell's PTY and relay loop). "script" and "tlog" are what a gate built
from existing recorders would cost; "direct" is what the user would get
without any middle host.

The two -idle stacks measure the idle watcher, whose issue asks that
"watching must cost the session nothing measurable on its data path".
direct-idle wraps the user's ssh in idle-watch (a copy of the build's, in
the bench's bindir): its watcher stat()s the user's terminal once a second
on the user's side, where it is reported as "idle-watch (user side)" and
kept out of the middle host's totals. gate-idle rewrites gate.ini (read at
each session start) with idle_timeout = 1h in its one [sessions] section
before each of its runs, and puts the plain file back before each gate
run; every gate session then forks a watcher (a gate-shell child, reported
as "gate-shell watcher" and counted on the middle host; its VmHWM includes
pages it shares with gate-shell from the fork, hence its Pss too) and the
relay bumps two shared counters per chunk. The summary's "Idle watching"
table compares gate-idle with gate and direct-idle with direct, and says
whether each difference is within the spread of the reps. STACKS puts
each -idle stack next to its base (the rotation parts them in one rep in
seven); the base runs first in even reps, the -idle stack in odd ones.

The two share stacks measure live session sharing. The plain gate stack
has sharing on (max_watchers 4, the default) and nobody watching: each
output chunk is copied into the 64 KiB ring for a newcomer. gate-noshare
rewrites gate.ini like gate-idle does, with max_watchers = 0 (no socket,
no ring). gate-watched is the plain gate with one watcher: bob, enrolled
on the gate with a key of his own and no grant. Once the session's row
is live (throughput: the far end runs data/go.sh, which prints READY and
waits for a line before it cats the payload; echo: lat.sh's READY), alice
runs `share ID bob`, bob's `ssh -T gate attach ID` starts, its stdout
piped into dd of=/dev/null (a viewer that keeps up as well as anything
on these 2 cores can: a Python thread reading it was dropped in 4 runs
of 5), and the measurement starts only once the owner's terminal said
"bob joined this session" and alice's `sessions --json` lists bob among
the session's "watchers". The bytes bob got during the transfer (dd's
rchar) and in all (dd's count) are checked against the payload. The
session drops a watcher that falls 256 KiB behind (the owner is told so
mid-stream); on a busy 2-core machine that happens to dd too, now and
then: such a throughput run is measured again (3 tries, the drops
counted and reported). A watcher dropped in the last try, or that got
less than the payload, makes the run a warning (left out of the
medians). The attaching gate-shell counts on the middle host as
"gate-shell attach"; bob's ssh client is on the user's side (not
counted, but it shares the 2 cores). The owner's "[sshgate] bob
joined/left" lines are not payload: they are read before the transfer
and taken off its end. The "Sharing" table compares the three with
gate and twohop.

Measured, each stack once per rep, reps interleaved with a rotated order:
  throughput  the target cats a MIB MiB base64 file; MiB/s at the user's PTY
              from the first byte to the last of the payload (session
              set-up is excluded and reported apart; so is anything after
              the payload), and the byte count is checked
  echo        the target runs `stty raw -echo; cat`; one byte written, time
              until it comes back, ECHO times: median and p99 in us
  memory      peak RSS (VmHWM) and CPU of every process on the middle host
              (the middle account's processes except sshd's own): for gate,
              gate-shell (found by its live sessions row) and its egress
              ssh; for twohop, the middle ssh; and so on

The "Recording layer" table sums, per stack, the middle host's processes
but the ssh toward the target: gate-shell, its recorder (and, in
gate-idle, its idle watcher); script; tlog-rec. Beside each process's
peak RSS (VmHWM, mostly shared library pages) it gives the Pss and the
private memory (smaps_rollup) at the payload's end and the echo run's
end. The goal "gate-shell plus watcher under 2 MiB" is judged on VmHWM,
from gate-idle (the plain gate forks no watcher), private memory beside.

--start N also times session start: N rounds, interleaved, of `true` on
the target without a terminal through direct (`ssh target true`), twohop
(`ssh hop@gatehost "ssh target true"`) and the gate (`ssh gate@gatehost
connect web1 -- true`), client start to exit; then --observe more gate
sessions, untimed, watched through /proc every 5 ms: gate-shell's start
to its egress ssh's start (10 ms clock ticks: a mean over runs) and
gate-shell's CPU time (schedstat) when the egress ssh shows up.

script writes to /dev/null; the gate records every session (asciicast
file and history, as shipped, in the gate's state directory); tlog-rec
writes its JSON log to a file (deleted after each run).

Timings on a shared 2-core machine are noisy: read the ratios within one
run. Nothing here asserts a timing; the goals of the issue are reported as
met or not met. The test accounts are the integration suite's (their
prefix from SSHGATE_TEST_ACCOUNTS, as in conftest.py: use e.g. "sgb" to
keep off a suite that runs at the same time), so every
run waits (up to --wait s) while another pytest or meson test is live,
takes the accounts back if such a run re-pointed them, and measures again
a run that another one overlapped; with --no-wait (a machine shared
with other test runs, as tests/bench/run has it) it waits only for
processes of its own accounts and counts the runs another test run
overlapped instead. --json-out FILE writes what --json prints to FILE
besides the tables. --cross-check also runs
/work/shared/bench/run_stacks.py (stacks A,N,NS,C plus the gate as G)
against this gate, then stops its sshd. SSHGATE_KEEP=1 keeps the files.
"""
import argparse
import base64
import fcntl
import grp
import hashlib
import json
import math
import os
import pty
import pwd
import random
import re
import select
import shlex
import shutil
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

SRC = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(SRC / "tests/py"))
import conftest  # noqa: E402  (the integration suite's classes and helpers)

# The two-hop account: "sgb-hop" for the suite's default "sgt" accounts,
# else named after SSHGATE_TEST_ACCOUNTS's prefix as they are.
HOP_USER = "sgb-hop" if conftest._PREFIX == "sgt" else \
    f"{conftest._PREFIX}-hop"
STACKS = ("direct", "direct-idle", "twohop", "gate", "gate-idle",
          "gate-noshare", "gate-watched", "script", "tlog")
IDLE_PAIRS = (("gate-idle", "gate"), ("direct-idle", "direct"))
SHARE_PAIRS = (("gate-noshare", "gate"), ("gate-watched", "gate"),
               ("gate-watched", "gate-noshare"))
IDLE_TIMEOUT = "1h"
GATE_STACKS = ("gate", "gate-idle", "gate-noshare", "gate-watched")
WATCH_USER = "bob"                 # gate-watched's watcher (a gate user)
GATE_ATTACH = "gate-shell attach"  # bob's attaching gate-shell
USER_WATCHER = "idle-watch (user side)"
GATE_WATCHER = "gate-shell watcher"
GATE_RECORDER = "gate-recorder"    # its comm (PR_SET_NAME), as ps shows it
LAYER_EXCLUDED = ("ssh", GATE_ATTACH, USER_WATCHER)
START_STACKS = ("direct", "twohop", "gate")
READY = b"BENCH_READY"
SLACK = 64      # bytes a layer may add at the end (a recorder's last CRLF)
SHARED = Path("/work/shared/bench")
GOALS = {"throughput_ratio_min": 0.95, "added_echo_us_max": 100,
         "gate_shell_rss_kib_max": 2048}


# ------------------------------------------------------------ processes

def proc_status(pid):
    """{field: int KiB or str} from /proc/PID/status, or None if gone."""
    try:
        with open(f"/proc/{pid}/status") as f:
            out = {}
            for line in f:
                k, _, v = line.partition(":")
                v = v.split()
                out[k] = int(v[0]) if v and v[0].isdigit() else " ".join(v)
            return out
    except OSError:
        return None


def proc_cpu(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def proc_sched_ms(pid):
    """Time on a CPU, ms, from schedstat (ns; finer than the 10 ms ticks
    of utime+stime, which a process waking once a second never fills)."""
    try:
        with open(f"/proc/{pid}/schedstat") as f:
            return int(f.read().split()[0]) / 1e6
    except (OSError, IndexError, ValueError):
        return None


def descendants(root):
    """Pids of every process under root (not root itself)."""
    parent = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    parent[int(d)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    out, todo = [], [root]
    while todo:
        p = todo.pop()
        kids = [c for c, pp in parent.items() if pp == p]
        out += kids
        todo += kids
    return out


class Middle:
    """Peak memory and CPU of the middle host's processes of one session:
    every process of the middle account except sshd's own. A gate-shell
    whose parent is a gate-shell is its idle watcher ("gate-shell
    watcher"). With watcher_exe, also every process running that binary,
    whoever owns it: idle-watch's watcher on the user's side. labels
    names given pids (bob's attaching gate-shell, GATE_ATTACH)."""

    def __init__(self, uid, watcher_exe=None):
        self.uid = uid
        self.watcher_exe = watcher_exe
        self.labels = {}    # pid -> name, set before discover()
        self.procs = {}     # pid -> {name, exe, ppid, hwm, anon, file, cpu}

    def discover(self):
        if self.uid is None and self.watcher_exe is None:
            return
        for d in os.listdir("/proc"):
            if not d.isdigit() or int(d) in self.procs:
                continue
            try:
                owner = os.stat(f"/proc/{d}").st_uid
                exe = os.readlink(f"/proc/{d}/exe")
            except OSError:
                continue
            user_side = self.watcher_exe is not None and \
                exe == str(self.watcher_exe)
            if owner != self.uid and not user_side:
                continue
            st = proc_status(d)
            if st and st.get("Name") != "sshd":
                self.procs[int(d)] = {
                    "name": USER_WATCHER if user_side else
                    self.labels.get(int(d), st["Name"]),
                    "exe": exe, "ppid": st.get("PPid"), "hwm": 0, "anon": 0,
                    "file": 0, "cpu": 0.0, "sched_ms": 0.0, "ctxt": 0}
        for p in self.procs.values():
            if p["name"] == "gate-shell" and self.procs.get(
                    p["ppid"], {}).get("name") == "gate-shell":
                p["name"] = GATE_WATCHER
        self.sample()

    def sample(self):
        for pid, p in self.procs.items():
            st, cpu = proc_status(pid), proc_cpu(pid)
            if st is None or cpu is None:
                continue
            p["hwm"] = max(p["hwm"], st.get("VmHWM", 0))
            p["anon"] = max(p["anon"], st.get("RssAnon", 0))
            p["file"] = max(p["file"], st.get("RssFile", 0))
            p["cpu"] = max(p["cpu"], cpu)
            p["sched_ms"] = max(p["sched_ms"], proc_sched_ms(pid) or 0.0)
            p["ctxt"] = max(p["ctxt"], st.get("voluntary_ctxt_switches", 0)
                            + st.get("nonvoluntary_ctxt_switches", 0))

    def pid_of(self, name):
        return [pid for pid, p in self.procs.items() if p["name"] == name]

    def rollups(self):
        """{name: {rss, pss, private} KiB} of the live processes, summed
        by name: a moment's figures (smaps_rollup has no peak), taken
        where the session holds the most (the payload's end, the echo
        run's end)."""
        out = {}
        for pid in self.alive():
            ru = smaps_rollup(pid)
            if not ru:
                continue
            r = out.setdefault(self.procs[pid]["name"],
                               {"rss": 0, "pss": 0, "private": 0})
            for f in r:
                r[f] += ru.get(f) or 0
        return out

    def alive(self):
        """The processes that still run. A zombie has ended: idle-watch's
        watcher is an orphan, and some inits (this VM's PID 1 among them)
        reap orphans a second or two late."""
        out = []
        for pid in self.procs:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        out.append(pid)
            except (OSError, IndexError):
                pass
        return out

    def report(self):
        out = {}
        for p in self.procs.values():
            r = out.setdefault(p["name"], {"hwm_kib": 0, "anon_kib": 0,
                                           "file_kib": 0, "cpu_s": 0.0,
                                           "sched_ms": 0.0, "ctxt": 0,
                                           "procs": 0})
            r["hwm_kib"] += p["hwm"]
            r["anon_kib"] += p["anon"]
            r["file_kib"] += p["file"]
            r["cpu_s"] = round(r["cpu_s"] + p["cpu"], 3)
            r["sched_ms"] = round(r["sched_ms"] + p["sched_ms"], 3)
            r["ctxt"] += p["ctxt"]
            r["procs"] += 1
        return out


def spawn(argv):
    """argv on a fresh PTY (we hold the master), 24x80."""
    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    return pid, fd


def finish(pid, fd, grace):
    """Wait for the client to exit, then HUP/TERM/KILL its process group.
    Returns (status text, signal we had to send or None)."""
    sent = None
    for sig in (None, signal.SIGHUP, signal.SIGTERM, signal.SIGKILL):
        if sig is not None:
            sent = signal.Signals(sig).name
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                pass
        end = time.monotonic() + (grace if sig is None else 2.0)
        while time.monotonic() < end:
            p, st = os.waitpid(pid, os.WNOHANG)
            if p == pid:
                os.close(fd)
                return (f"exit {os.WEXITSTATUS(st)}" if os.WIFEXITED(st)
                        else f"signal {os.WTERMSIG(st)}"), sent
            time.sleep(0.01)
    os.close(fd)
    return "unkillable", sent


def drain(fd, quiet):
    """Read until fd is silent for quiet seconds or ends; bytes read."""
    got = b""
    while select.select([fd], [], [], quiet)[0]:
        try:
            b = os.read(fd, 65536)
        except OSError:
            break
        if not b:
            break
        got += b
    return got


def smaps_by_file(pid):
    """{mapping: Rss KiB} of a live process, largest first (where its
    resident memory is: the binary, each library, heap, stack)."""
    out, name = {}, None
    try:
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                head = line.split()
                if head and not head[0].endswith(":"):
                    name = head[5] if len(head) > 5 else "[anon]"
                    name = os.path.basename(name) if name[0] == "/" else name
                elif head and head[0] == "Rss:":
                    out[name] = out.get(name, 0) + int(head[1])
    except OSError:
        return {}
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def smaps_rollup(pid):
    """Rss, Pss (shared pages divided among their users) and private KiB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            v = {ln.split(":")[0]: int(ln.split()[1]) for ln in f
                 if ln.split()[-1:] == ["kB"]}
    except OSError:
        return {}
    return {"rss": v.get("Rss"), "pss": v.get("Pss"),
            "private": v.get("Private_Clean", 0) + v.get("Private_Dirty", 0)}


def pctl(sorted_vals, q):
    """Nearest-rank percentile."""
    k = max(0, math.ceil(q * len(sorted_vals)) - 1)
    return sorted_vals[min(k, len(sorted_vals) - 1)]


# ------------------------------------------------------------ the rig

class Rig:
    """Everything on loopback: accounts, gate, gate sshd, target, keys,
    payload. close() takes it down and puts the accounts back."""

    def __init__(self):
        self.root = None
        self.sshd = self.target = None
        self.saved_accounts = {}
        self.created_hop = False

    def setup(self, build, mib):
        conftest.BASE.mkdir(mode=0o755, exist_ok=True)
        os.chmod(conftest.BASE, 0o755)
        self.root = conftest.BASE / f"bench-{os.getpid()}"
        if self.root.exists():
            shutil.rmtree(self.root)
        self.root.mkdir(mode=0o755)
        os.chmod(self.root, 0o755)
        self.bindir = self.root / "bin"
        self.bindir.mkdir(mode=0o755)
        for name, rel in conftest.PROGRAMS.items():
            if not (build / rel).exists():
                raise SystemExit(f"{build / rel} is missing: build first")
            shutil.copy2(build / rel, self.bindir / name)
            os.chmod(self.bindir / name, 0o755)
        # idle-watch for direct-idle, unless conftest copied it already.
        self.idle_watch = self.bindir / "idle-watch"
        if "idle-watch" not in conftest.PROGRAMS:
            src = build / "idle-watch/idle-watch"
            if src.exists():
                shutil.copy2(src, self.idle_watch)
                os.chmod(self.idle_watch, 0o755)
        if not self.idle_watch.exists():
            self.idle_watch = None

        # Accounts, as the fixtures make them (remembering what they were).
        for name in (conftest.GATE_USER, conftest.AUTH_USER,
                     conftest.TARGET_USER):
            try:
                pw = pwd.getpwnam(name)
                self.saved_accounts[name] = (pw.pw_shell, pw.pw_dir)
            except KeyError:
                pass
        home = self.root / "gate-home"
        home.mkdir(mode=0o755)
        gate_pw = conftest.ensure_account(
            conftest.GATE_USER, str(self.bindir / "gate-shell"), str(home))
        os.chown(home, gate_pw.pw_uid, gate_pw.pw_gid)
        auth_pw = conftest.ensure_account(conftest.AUTH_USER,
                                          "/usr/sbin/nologin", "/nonexistent")
        thome = self.root / "target-home"
        thome.mkdir(mode=0o755)
        self.target_pw = conftest.ensure_account(conftest.TARGET_USER,
                                                 "/bin/bash", str(thome))
        os.chown(thome, self.target_pw.pw_uid, self.target_pw.pw_gid)
        self.gate_pw = gate_pw
        self.accounts = {"gate": gate_pw, "auth": auth_pw, "home": home}

        # The two-hop account: a plain login on the gate's sshd (its snippet
        # only Matches the gate account), keys in ~/.ssh, StrictModes-clean.
        try:
            pwd.getpwnam(HOP_USER)
        except KeyError:
            self.created_hop = True
        self.hop_home = self.root / "hop-home"
        self.hop_home.mkdir(mode=0o755)
        self.hop_pw = conftest.ensure_account(HOP_USER, "/bin/bash",
                                              str(self.hop_home))

        # Data the far end reads: the payload and the echo script.
        self.data = self.root / "data"
        self.data.mkdir(mode=0o755)
        self.payload = self.data / "payload.txt"
        self.expect = make_payload(self.payload, mib)
        self.lat_sh = self.data / "lat.sh"
        self.lat_sh.write_text(
            "stty raw -echo isig; printf 'BENCH_%s\\n' READY; exec cat\n")
        os.chmod(self.lat_sh, 0o644)
        # gate-watched's throughput far end: ready, then the payload once
        # the bench has the watcher in and sends a line.
        self.go_sh = self.data / "go.sh"
        self.go_sh.write_text(
            "stty -echo; printf 'BENCH_%s\\n' READY; read go; "
            f"exec cat {shlex.quote(str(self.payload))}\n")
        os.chmod(self.go_sh, 0o644)

        # The gate, the target trusting its egress key, web1, alice.
        self.gate = conftest.Gate(
            self.root / "gate", self.bindir, self.accounts,
            extra="[sessions]\nmax_sessions_per_user = 0\n")
        self.gate.ctl("init")
        self.ini_plain = self.gate.config.read_text()
        self.ini_idle = with_idle_timeout(self.ini_plain, IDLE_TIMEOUT)
        self.ini_noshare = with_setting(self.ini_plain, "max_watchers", "0")
        self.target = conftest.Target(self.gate, self.accounts)
        self.gate.ctl("host", "add", "web1", "127.0.0.1", "--port",
                      str(self.target.port), "--login", conftest.TARGET_USER,
                      "--scan")
        keys = self.root / "keys"
        keys.mkdir(mode=0o700)
        self.key = keys / "alice"
        conftest.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                      "alice@bench", "-f", self.key], check=True)
        pub = Path(f"{self.key}.pub").read_text()
        self.key_id = conftest.enroll(self.gate, "alice", pub)
        self.gate.ctl("grant", "alice", "web1")
        # bob: gate-watched's watcher, a gate user with no grant at all.
        self.watch_key = keys / WATCH_USER
        conftest.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                      f"{WATCH_USER}@bench", "-f", self.watch_key],
                     check=True)
        conftest.enroll(self.gate, WATCH_USER,
                        Path(f"{self.watch_key}.pub").read_text())
        self.sshd = conftest.Sshd(self.gate)
        self.bastion = conftest.Bastion(self.gate, self.sshd, self.target,
                                        self.key, pub, self.key_id)

        # alice may also log in as the hop account and straight to the
        # target; the hop account has its own key toward the target.
        ssh_dir = self.hop_home / ".ssh"
        ssh_dir.mkdir(mode=0o700)
        self.hop_key = ssh_dir / "id_ed25519"
        conftest.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C",
                      "hop@bench", "-f", self.hop_key], check=True)
        (ssh_dir / "authorized_keys").write_text(pub)
        for p in (self.hop_home, ssh_dir, *ssh_dir.iterdir()):
            os.chown(p, self.hop_pw.pw_uid, self.hop_pw.pw_gid)
        os.chmod(ssh_dir / "authorized_keys", 0o600)
        with open(self.target.ak, "a") as f:
            f.write(pub + Path(f"{self.hop_key}.pub").read_text())

        self.tlog_file = self.hop_home / "tlog.json"
        self.check_logins()

    def gate_ini(self, stack):
        """gate.ini as the gate stack has it (gate-watched too), with
        idle_timeout for gate-idle, max_watchers = 0 for gate-noshare:
        written whole (a file read at each session start is never seen
        half-written), root's, 0644."""
        tmp = self.gate.config.with_name("gate.ini.bench")
        tmp.write_text({"gate-idle": self.ini_idle,
                        "gate-noshare": self.ini_noshare}.get(
                            stack, self.ini_plain))
        os.chown(tmp, 0, 0)
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.gate.config)

    def ssh(self, *args):
        return ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                *args]

    def argv(self, stack, cmd):
        """The user's command line for stack, far end running cmd (words
        without quotes or spaces, so every layer passes them as they are)."""
        tgt = ["-tt", "-p", str(self.target.port),
               f"{conftest.TARGET_USER}@127.0.0.1", *cmd]
        inner = self.ssh("-i", str(self.hop_key), *tgt)
        hop = self.ssh("-i", str(self.key), "-tt", "-p", str(self.sshd.port),
                       f"{HOP_USER}@127.0.0.1")
        if stack == "direct":
            return self.ssh("-i", str(self.key), *tgt)
        if stack == "direct-idle":
            if self.idle_watch is None:
                raise SystemExit("idle-watch/idle-watch is missing from the "
                                 "build: build first")
            return [str(self.idle_watch), "-t", IDLE_TIMEOUT, "--",
                    *self.argv("direct", cmd)]
        if stack == "twohop":
            return hop + [shlex.join(inner)]
        if stack in GATE_STACKS:
            return self.ssh("-i", str(self.key), "-tt", "-p",
                            str(self.sshd.port),
                            f"{conftest.GATE_USER}@127.0.0.1",
                            "connect", "web1", "--", *cmd)
        if stack == "script":
            return hop + [shlex.join(["script", "-qfc", shlex.join(inner),
                                      "/dev/null"])]
        if stack == "tlog":
            # LANG: else tlog-rec prints a locale warning into the session.
            return hop + [shlex.join(["env", "LANG=C.UTF-8", "tlog-rec",
                                      "--writer=file",
                                      f"--file-path={self.tlog_file}", "--",
                                      *inner])]
        raise ValueError(stack)

    def gate_ssh(self, key, *args):
        """A gate command without a terminal, as key's user."""
        return self.ssh("-i", str(key), "-T", "-p", str(self.sshd.port),
                        f"{conftest.GATE_USER}@127.0.0.1", *args)

    def middle(self, stack):
        """The Middle that accounts for stack's processes."""
        uid = {"direct": None, "direct-idle": None}.get(
            stack, self.gate_pw.pw_uid if stack in GATE_STACKS
            else self.hop_pw.pw_uid)
        return Middle(uid, self.idle_watch if stack == "direct-idle"
                      else None)

    def check_logins(self):
        """Each route answers once before anything is timed (gate-idle,
        gate-noshare: the gate takes their gate.ini lines), and bob logs
        in to the gate."""
        for stack in ("direct", "twohop", "gate", "gate-idle",
                      "gate-noshare"):
            if stack in GATE_STACKS:
                self.gate_ini(stack)
            r = conftest.run(self.argv(stack, ["echo", "login-ok"]),
                             stdin=subprocess.DEVNULL, timeout=30)
            if "login-ok" not in r.stdout:
                raise SystemExit(f"{stack}: login check failed: "
                                 f"rc={r.returncode} {r.stdout} {r.stderr}")
        self.gate_ini("gate")
        r = conftest.run(self.gate_ssh(self.watch_key, "sessions", "--json"),
                         stdin=subprocess.DEVNULL, timeout=30)
        if r.returncode:
            raise SystemExit(f"{WATCH_USER}: login check failed: "
                             f"rc={r.returncode} {r.stdout} {r.stderr}")

    def reclaim(self):
        """Take the shared accounts back if another test run re-pointed
        them (call only when no other run is live)."""
        if self.gate_shell_ok() and pwd.getpwnam(
                conftest.TARGET_USER).pw_dir == str(self.root / "target-home"):
            return
        print("the test accounts were re-pointed by another run: taking "
              "them back", file=sys.stderr, flush=True)
        for attempt in range(10):     # usermod refuses while they run
            try:
                conftest.ensure_account(conftest.GATE_USER,
                                        str(self.bindir / "gate-shell"),
                                        str(self.root / "gate-home"))
                conftest.ensure_account(conftest.AUTH_USER,
                                        "/usr/sbin/nologin", "/nonexistent")
                conftest.ensure_account(conftest.TARGET_USER, "/bin/bash",
                                        str(self.root / "target-home"))
                return
            except subprocess.CalledProcessError:
                if attempt == 9:
                    raise
                time.sleep(1)

    def gate_shell_ok(self):
        return pwd.getpwnam(conftest.GATE_USER).pw_shell == str(
            self.bindir / "gate-shell")

    def close(self):
        for server in (self.sshd, self.target):
            if server is None or server.proc is None:
                continue
            left = descendants(server.proc.pid)
            server.stop()
            for sig in (signal.SIGTERM, signal.SIGKILL):
                for pid in left:
                    try:
                        os.kill(pid, sig)
                    except ProcessLookupError:
                        pass
                time.sleep(0.2)
        # Accounts back as they were, unless another run has taken them.
        if self.root is None:
            return
        ours = str(self.root / "bin" / "gate-shell")
        for name, (shell, home) in self.saved_accounts.items():
            try:
                pw = pwd.getpwnam(name)
            except KeyError:
                continue
            if pw.pw_dir.startswith(str(self.root)) or pw.pw_shell == ours:
                conftest.run(["usermod", "--shell", shell, "--home", home,
                              name])
        if self.created_hop:
            conftest.run(["userdel", HOP_USER])
        if not os.environ.get("SSHGATE_KEEP"):
            shutil.rmtree(self.root, ignore_errors=True)


def with_idle_timeout(ini, value):
    return with_setting(ini, "idle_timeout", value)


def with_setting(ini, key, value):
    """ini with key = value in its one [sessions] section (added at its
    end when there is none): a second section or key would be a
    configuration error."""
    lines = ini.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    heads = [i for i, ln in enumerate(lines) if ln.strip() == "[sessions]"]
    if len(heads) > 1 or any(ln.split("=")[0].strip() == key
                             for ln in lines):
        raise SystemExit(f"gate.ini: cannot add {key} to:\n{ini}")
    if not heads:
        return "".join(lines) + f"[sessions]\n{key} = {value}\n"
    j = heads[0] + 1
    while j < len(lines) and not lines[j].lstrip().startswith("["):
        j += 1
    while j > heads[0] + 1 and not lines[j - 1].strip():
        j -= 1          # before the blank lines that end the section
    lines.insert(j, f"{key} = {value}\n")
    return "".join(lines)


def make_payload(path, mib):
    """mib MiB of base64 text in 76-column lines, ending in a newline;
    returns the bytes the user's PTY should see (the far end's terminal
    turns each LF into CRLF, once)."""
    size = mib << 20
    rng, written = random.Random(20261125), 0
    with open(path, "wb") as f:
        while written < size - 1:
            chunk = base64.encodebytes(rng.randbytes(57 * 1000))
            chunk = chunk[:size - 1 - written]
            f.write(chunk)
            written += len(chunk)
        f.write(b"\n")
    os.chmod(path, 0o644)
    with open(path, "rb") as f:
        return size + f.read().count(b"\n")


# ------------------------------------------------------------ measurements

def gate_row_pid(rig):
    live = [s for s in rig.bastion.sessions() if s["ended_at"] is None]
    return live[-1]["pid"] if live else None


def check_middle(rig, stack, mid, res):
    """For the gate: gate-shell is the one in its live sessions row, and it
    is our copy of the binary. The -idle stacks have exactly one watcher,
    and the others none."""
    watchers = mid.pid_of(GATE_WATCHER) + mid.pid_of(USER_WATCHER)
    want = 1 if stack.endswith("-idle") else 0
    if watchers or want:
        res["watcher_pids"] = watchers
    if len(watchers) != want:
        res.setdefault("warnings", []).append(
            f"{len(watchers)} idle watchers {watchers}, expected {want}")
    if stack not in GATE_STACKS:
        return
    if stack == "gate-watched" and not mid.pid_of(GATE_ATTACH):
        res.setdefault("warnings", []).append(
            f"no attaching gate-shell of {WATCH_USER} on the middle host "
            f"(attachments row pids {res.get('attach_pids')})")
    gs = mid.pid_of("gate-shell")
    try:
        row = gate_row_pid(rig)
    except sqlite3.Error as e:
        row = f"db error: {e}"
    res["gate_shell_pid"] = gs
    res["sessions_row_pid"] = row
    exe = [mid.procs[p]["exe"] for p in gs]
    if not gs or row not in gs:
        res.setdefault("warnings", []).append(
            f"gate-shell pids {gs} vs live sessions row pid {row}")
    if any(e != str(rig.bindir / "gate-shell") for e in exe):
        res.setdefault("warnings", []).append(
            f"gate-shell ran from {exe}, not our copy (a concurrent run "
            "changed the gate account's shell?)")
    # Sharing on or off as the stack has it: the session's socket in the
    # runtime directory (state_dir/run, as gatectl init made it).
    try:
        sid = live_session_id(rig, timeout=0.1)
    except sqlite3.Error:
        sid = None
    if sid is not None:
        sock = rig.gate.state / "run" / f"session-{sid}.sock"
        res["share_socket"] = sock.exists()
        if res["share_socket"] != (stack != "gate-noshare"):
            res.setdefault("warnings", []).append(
                f"{sock} {'exists' if res['share_socket'] else 'missing'}"
                f" in a {stack} session")


def session_row(rig, stack, res):
    """The gate's row of this session once it ended: how and with what."""
    if stack not in GATE_STACKS or not isinstance(
            res.get("sessions_row_pid"), int):
        return
    try:
        rows = [r for r in rig.bastion.sessions()
                if r["pid"] == res["sessions_row_pid"]]
    except sqlite3.Error as e:
        res.setdefault("warnings", []).append(f"sessions row: {e}")
        return
    if rows:
        r = rows[-1]
        res["end_reason"] = r["end_reason"]
        res["session_bytes"] = [r["bytes_in"], r["bytes_out"]]
        if r["end_reason"] in (None, "idle", "error", "killed"):
            res.setdefault("warnings", []).append(
                f"session {r['id']} ended: {r['end_reason']}")


def settle(mid, timeout=10.0):
    """Wait for the middle processes to go; seconds waited, None if not."""
    t = time.monotonic()
    while mid.alive():
        if time.monotonic() - t > timeout:
            return None
        time.sleep(0.01)
    return round(time.monotonic() - t, 3)


class Watcher:
    """bob's `ssh -T gate attach ID`, its stdout piped into dd, which
    throws it away as fast as it comes (a viewer that keeps up; a Python
    reader sharing this process with the measuring loop did not: the
    session dropped it in 4 runs of 5). What bob got so far is dd's
    rchar (its read() bytes, live, for differences) and in the end dd's
    own count; ssh's stderr (the "[sshgate] left session" line) is
    kept."""

    def __init__(self, argv):
        self.total, self.err, self.dd_err = None, b"", b""
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        self.sink = subprocess.Popen(
            ["dd", "of=/dev/null", "bs=256K"], stdin=self.proc.stdout,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            env=dict(os.environ, LC_ALL="C"))
        self.proc.stdout.close()        # dd's now
        self.threads = [threading.Thread(target=f, daemon=True)
                        for f in (self._err, self._dd_err)]
        for t in self.threads:
            t.start()

    def _err(self):
        self.err = self.proc.stderr.read()

    def _dd_err(self):
        self.dd_err = self.sink.stderr.read()

    @property
    def n(self):
        """Bytes dd has read so far (its rchar: plus a few KiB it read
        when it started, so only differences mean anything), or its
        final count once it ended."""
        if self.total is not None:
            return self.total
        try:
            with open(f"/proc/{self.sink.pid}/io") as f:
                for line in f:
                    if line.startswith("rchar:"):
                        return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    def alive(self):
        return self.proc.poll() is None

    def stop(self, grace):
        """Wait up to grace s for the client to end (the session's end
        ends it), then TERM/KILL it; then dd. Returns the exit text."""
        for p, g in ((self.proc, grace), (self.sink, 5)):
            try:
                p.wait(timeout=g)
            except subprocess.TimeoutExpired:
                p.terminate()
                try:
                    p.wait(timeout=2)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for t in self.threads:
            t.join(timeout=2)
        self.proc.stderr.close()
        self.sink.stderr.close()
        m = re.search(rb"^(\d+) bytes", self.dd_err, re.M)
        self.total = int(m.group(1)) if m else None
        return f"exit {self.proc.returncode}"

    def report(self):
        return {"bytes": self.total,
                "stderr": self.err.decode("utf-8", "replace").strip()[-300:]}


def attach_watcher(rig, fd, mid, res, timeout=30):
    """gate-watched: alice shares her live session with bob, bob attaches
    (a Watcher), and we wait until alice's terminal (fd) says he joined
    and `sessions --json` lists him among the session's watchers. mid
    learns the attaching gate-shell's pid. Returns (Watcher, None) or
    (Watcher or None, error)."""
    t0 = time.monotonic()
    try:
        sid = live_session_id(rig, timeout=10)
    except sqlite3.Error as e:
        return None, f"sessions row: {e}"
    if sid is None:
        return None, "no live sessions row to share"
    r = conftest.run(rig.gate_ssh(rig.key, "share", str(sid), WATCH_USER),
                     stdin=subprocess.DEVNULL, timeout=30)
    if r.returncode:
        return None, f"share {sid} {WATCH_USER}: rc={r.returncode} " \
            f"{r.stdout.strip()} {r.stderr.strip()}"
    w = Watcher(rig.gate_ssh(rig.watch_key, "attach", str(sid)))
    want, seen = f"{WATCH_USER} joined this session".encode(), b""
    while want not in seen:
        if time.monotonic() - t0 > timeout or not w.alive():
            return w, (f"{WATCH_USER} never joined session {sid} "
                       f"(owner saw {seen[-200:]!r}; watcher "
                       f"{'alive' if w.alive() else 'gone'}, stderr "
                       f"{w.err[-200:]!r})")
        if select.select([fd], [], [], 0.2)[0]:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                return w, "the owner's session ended before the join"
    r = conftest.run(rig.gate_ssh(rig.key, "sessions", "--json"),
                     stdin=subprocess.DEVNULL, timeout=30)
    try:
        rows = [x for x in json.loads(r.stdout) if x["id"] == sid]
    except (ValueError, KeyError, TypeError):
        rows = []
    listed = [x["user"] for x in rows[0]["watchers"]] if rows else None
    res["session_id"] = sid
    res["watchers_listed"] = listed
    if not listed or WATCH_USER not in listed:
        return w, f"sessions --json does not list {WATCH_USER} as a " \
            f"watcher of {sid}: {r.stdout.strip()[:300]} {r.stderr.strip()}"
    try:
        con = sqlite3.connect(f"file:{rig.gate.db}?mode=ro", uri=True)
        try:
            pids = [row[0] for row in con.execute(
                "SELECT pid FROM attachments WHERE session_id = ? AND "
                "left_at IS NULL", (sid,))]
        finally:
            con.close()
    except sqlite3.Error as e:
        pids = []
        res.setdefault("warnings", []).append(f"attachments row: {e}")
    for p in pids:
        mid.labels[p] = GATE_ATTACH
    res["attach_pids"] = pids
    drain(fd, 0.2)          # anything else the owner was told
    res["attach_s"] = round(time.monotonic() - t0, 3)
    return w, None


def live_session_id(rig, timeout):
    """The id of the gate's live sessions row (the newest), or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = [x for x in rig.bastion.sessions() if x["ended_at"] is None]
        if live:
            return live[-1]["id"]
        time.sleep(0.05)
    return None


def wait_ready(fd, limit):
    """Read fd until the far end says READY (limit s); the bytes read."""
    t0, buf = time.monotonic(), b""
    while READY not in buf and time.monotonic() - t0 < limit:
        if select.select([fd], [], [], 0.5)[0]:
            try:
                b = os.read(fd, 4096)
            except OSError:
                b = b""
            if not b:
                break
            buf += b
    return buf


def watcher_end(w, res, grace, payload=None):
    """Stop the watcher, put what it got in res["watcher"], and warn when
    it did not get it all (payload: the bytes it must have had)."""
    if w is None:
        return
    status = w.stop(grace)
    rep = w.report()
    rep["exit"] = status
    res["watcher"] = {**res.get("watcher", {}), **rep}
    warn = []
    if res["watcher"].get("dropped"):
        warn.append(f"the session dropped {WATCH_USER} (fell behind) "
                    f"{res['watcher']['dropped']} bytes into the payload")
    if rep["bytes"] is None:
        warn.append(f"no byte count from {WATCH_USER}'s dd: "
                    f"{w.dd_err[-200:]!r}")
    elif payload is not None and rep["bytes"] < payload:
        warn.append(f"{WATCH_USER} got {rep['bytes']} bytes, less than the "
                    f"{payload} of the payload")
    if warn:
        res.setdefault("warnings", []).extend(warn)


def throughput(rig, stack, timeout):
    mid = rig.middle(stack)
    watched = stack == "gate-watched"
    cmd = ["sh", str(rig.go_sh)] if watched else ["cat", str(rig.payload)]
    res = {}
    t0 = time.monotonic()
    pid, fd = spawn(rig.argv(stack, cmd))
    w, setup = None, None
    if watched:
        buf = wait_ready(fd, 30)
        if READY not in buf:
            status, killed = finish(pid, fd, grace=0)
            return {"error": "far end never got ready", "exit": status,
                    "middle": {}, "bytes": 0,
                    "tail": buf[-200:].decode("utf-8", "replace")}
        setup = round(time.monotonic() - t0, 3)
        w, err = attach_watcher(rig, fd, mid, res)
        if err:
            status, killed = finish(pid, fd, grace=0)
            watcher_end(w, res, 2)
            res.update({"error": err, "exit": status, "middle": {},
                        "bytes": 0})
            return res
        os.write(fd, b"\r")     # go.sh's line: now the payload
        t0 = time.monotonic()
    n, first, last, tail, err = 0, None, None, b"", None
    done, w_first, w_done, w_alive = None, None, None, None
    dropped = None      # where the owner was told the watcher was dropped
    drop_notice = f"{WATCH_USER} was dropped from this session".encode()
    next_sample, sampled_end = 0.0, False
    while True:
        now = time.monotonic()
        if now - t0 > timeout:
            err = f"timeout after {timeout}s with {n} bytes"
            break
        if not select.select([fd], [], [], 0.25)[0]:
            continue
        try:
            b = os.read(fd, 65536)
        except OSError:          # EIO: the client and its slave are gone
            break
        if not b:
            break
        now = time.monotonic()
        if first is None:
            first = now
            if w is not None:
                w_first = w.n
            mid.discover()
            check_middle(rig, stack, mid, res)
        last = now
        if w is not None and dropped is None and \
                drop_notice in tail[-80:] + b:
            dropped = n
        n += len(b)
        tail = (tail + b)[-400:]
        if now >= next_sample:
            mid.sample()
            next_sample = now + 0.1
        if n >= rig.expect and not sampled_end:
            done = now               # the payload is all here
            if w is not None:
                w_done, w_alive = w.n, w.alive()
            mid.sample()             # before the middle processes exit
            res["rollups"] = mid.rollups()
            sampled_end = True
    t_eof = time.monotonic()
    status, killed = finish(pid, fd, grace=0 if err else 10)
    gone = settle(mid)
    session_row(rig, stack, res)
    if watched:
        # "[sshgate] bob left this session (...)" after the payload: the
        # gate told the owner, the target did not print it.
        k = tail.rfind(f"\r\n[sshgate] {WATCH_USER} left".encode())
        if k >= 0 and n - (len(tail) - k) >= rig.expect:
            res["owner_notice"] = tail[k:].decode("utf-8", "replace").strip()
            n -= len(tail) - k
            tail = tail[:k]
        res["watcher"] = {
            "in_transfer": w_done - w_first
            if w_done is not None and w_first is not None else None,
            "alive_at_payload_end": w_alive, "dropped": dropped}
        # Ended before the owner's payload did: fine if it had it all (the
        # watcher's path can be ahead of the owner's), which the byte
        # count checks.
        watcher_end(w, res, 10, payload=rig.expect)
    # Throughput to the moment the payload is all here (the same as the
    # last byte unless something follows it).
    end = done or last
    res.update({
        "bytes": n, "expect_bytes": rig.expect,
        "complete": rig.expect <= n <= rig.expect + SLACK,
        "extra_bytes": n - rig.expect,
        "mib_s": round(min(n, rig.expect) / 1048576 / (end - first), 2)
        if first and end > first else None,
        "setup_s": setup if setup is not None else
        round(first - t0, 3) if first else None,
        "xfer_s": round(end - first, 3) if first else None,
        "close_ms": round((t_eof - last) * 1000, 1) if last else None,
        "middle_gone_s": gone, "exit": status, "middle": mid.report()})
    if killed:
        res["killed_with"] = killed
    if n != rig.expect:
        res["tail"] = tail[-120:].decode("utf-8", "replace")
    if err or not res["complete"]:
        res["error"] = err or f"got {n} bytes, expected {rig.expect}"
    return res


def echo(rig, stack, count, warmup=20):
    mid = rig.middle(stack)
    t0 = time.monotonic()
    pid, fd = spawn(rig.argv(stack, ["sh", str(rig.lat_sh)]))
    res = {}
    buf = wait_ready(fd, 30)
    if READY not in buf:
        status, killed = finish(pid, fd, grace=0)
        return {"error": "far end never got ready", "exit": status,
                "tail": buf[-200:].decode("utf-8", "replace")}
    res["setup_s"] = round(time.monotonic() - t0, 3)
    w = None
    if stack == "gate-watched":
        w, err = attach_watcher(rig, fd, mid, res)
        if err:
            status, killed = finish(pid, fd, grace=0)
            watcher_end(w, res, 2)
            res.update({"error": err, "exit": status, "middle": {}})
            return res
    time.sleep(0.2)
    drain(fd, 0.2)
    mid.discover()
    check_middle(rig, stack, mid, res)
    w_before = w.n if w is not None else None
    samples, stray, err = [], 0, None
    for i in range(warmup + count):
        c = bytes([97 + i % 26])
        got = b""
        t = time.perf_counter_ns()
        os.write(fd, c)
        while c not in got:
            if not select.select([fd], [], [], 5.0)[0]:
                err = f"keystroke {i} not echoed within 5 s"
                break
            try:
                b = os.read(fd, 4096)
            except OSError:
                b = b""
            if not b:
                err = f"EOF at keystroke {i}"
                break
            got += b
        dt = (time.perf_counter_ns() - t) / 1000
        if err:
            break
        stray += len(got) - 1
        if i >= warmup:
            samples.append(dt)
        if i % 100 == 0:
            mid.sample()
    mid.sample()
    if w is not None:
        # Each echoed key reached bob too (give him a moment for the last).
        typed = None if err else warmup + count
        t_w = time.monotonic()
        while typed and w.n - w_before < typed and \
                time.monotonic() - t_w < 1.0:
            time.sleep(0.01)
        res["watcher"] = {"in_echo": w.n - w_before, "keys": typed,
                          "alive_at_echo_end": w.alive()}
        if typed and w.n - w_before < typed:
            res.setdefault("warnings", []).append(
                f"{WATCH_USER} got {w.n - w_before} bytes of the "
                f"{typed} keys echoed")
        if not w.alive():
            res.setdefault("warnings", []).append(
                f"{WATCH_USER}'s attach had ended before the echo run did")
    for p in mid.pid_of("gate-shell"):
        res["gate_shell_smaps_kib"] = smaps_by_file(p)
        res["gate_shell_rollup_kib"] = smaps_rollup(p)
    for p in mid.pid_of(GATE_WATCHER) + mid.pid_of(USER_WATCHER):
        res["watcher_rollup_kib"] = smaps_rollup(p)
    res["rollups"] = mid.rollups()
    t_end = time.monotonic()
    if not err:
        os.write(fd, b"\x03")     # isig at the far end: cat dies, all close
        drain(fd, 5.0)
    close_ms = round((time.monotonic() - t_end) * 1000, 1)
    status, killed = finish(pid, fd, grace=0 if err else 10)
    s = sorted(samples)
    res.update({"count": len(s),
                "median_us": round(statistics.median(s), 1) if s else None,
                "p99_us": round(pctl(s, 0.99), 1) if s else None,
                "min_us": round(s[0], 1) if s else None,
                "max_us": round(s[-1], 1) if s else None,
                "stray_bytes": stray, "close_ms": close_ms,
                "middle_gone_s": settle(mid), "exit": status,
                "middle": mid.report()})
    watcher_end(w, res, 10)
    session_row(rig, stack, res)
    if killed:
        res["killed_with"] = killed
    if err:
        res["error"] = err
    return res


# ------------------------------------------------------------ session start

def start_argv(rig, stack):
    """`ssh web1 true` and its peers, no terminal asked for (as the issue
    words them), on the same target as the other measurements: direct,
    two-hop (the middle's shell runs a second ssh), the gate."""
    tgt = ["-T", "-p", str(rig.target.port),
           f"{conftest.TARGET_USER}@127.0.0.1", "true"]
    if stack == "direct":
        return rig.ssh("-i", str(rig.key), *tgt)
    if stack == "twohop":
        inner = rig.ssh("-i", str(rig.hop_key), *tgt)
        return rig.ssh("-i", str(rig.key), "-T", "-p", str(rig.sshd.port),
                       f"{HOP_USER}@127.0.0.1", shlex.join(inner))
    if stack == "gate":
        return rig.gate_ssh(rig.key, "connect", "web1", "--", "true")
    raise ValueError(stack)


class StartSpy(threading.Thread):
    """Notes every process of the gate account while a session starts:
    pid -> [comm, ppid, start time in clock ticks], and, when gate-shell's
    egress ssh first shows up, gate-shell's CPU time so far (schedstat,
    ns). From /proc alone, every 5 ms: no tracing, nothing in the path."""

    def __init__(self, uid):
        super().__init__(daemon=True)
        self.uid, self.stop, self.procs = uid, False, {}
        self.cpu_at_egress_ms = None

    def run(self):
        while not self.stop:
            for d in os.listdir("/proc"):
                if not d.isdigit():
                    continue
                try:
                    if os.stat(f"/proc/{d}").st_uid != self.uid:
                        continue
                    with open(f"/proc/{d}/stat") as f:
                        st = f.read()
                except OSError:
                    continue
                name = st[st.index("(") + 1:st.rindex(")")]
                fields = st.rsplit(")", 1)[1].split()
                p = self.procs.setdefault(int(d), [name, int(fields[1]),
                                                   int(fields[19])])
                p[0] = name     # a child seen before its exec is renamed
                parent = self.procs.get(p[1])
                if name == "ssh" and self.cpu_at_egress_ms is None and \
                        parent and parent[0] == "gate-shell":
                    self.cpu_at_egress_ms = proc_sched_ms(p[1])
            time.sleep(0.005)

    def egress_delay_ms(self):
        """Clock ticks from gate-shell's start to its egress ssh's, in ms
        (10 ms steps at 100 Hz: only a mean over many runs means much)."""
        for pid, (name, ppid, start) in self.procs.items():
            parent = self.procs.get(ppid)
            if name == "ssh" and parent and parent[0] == "gate-shell":
                return (start - parent[2]) * 1000 / os.sysconf("SC_CLK_TCK")
        return None


def session_start(rig, n, observe):
    """n rounds of `true` through each of START_STACKS, interleaved in a
    rotated order; wall time from the client's start to its exit. Then
    observe more gate sessions with a StartSpy (kept out of the timed
    ones: its scans of /proc cost CPU) for gate-shell's own part."""
    times = {k: [] for k in START_STACKS}
    errors = []
    for i in range(n):
        order = START_STACKS[i % 3:] + START_STACKS[:i % 3]
        for k in order:
            argv = start_argv(rig, k)
            t0 = time.perf_counter()
            r = subprocess.run(argv, stdin=subprocess.DEVNULL,
                               capture_output=True, timeout=120)
            dt = (time.perf_counter() - t0) * 1000
            if r.returncode:
                errors.append(f"{k} round {i}: rc {r.returncode} "
                              f"{r.stderr[-200:]!r}")
                continue
            times[k].append(dt)
    out = {"rounds": n, "errors": errors}
    for k, xs in times.items():
        xs.sort()
        out[k] = {"n": len(xs),
                  "median_ms": round(statistics.median(xs), 2) if xs
                  else None,
                  "p99_ms": round(pctl(xs, 0.99), 2) if xs else None}
    delays, cpus = [], []
    for i in range(observe):
        spy = StartSpy(rig.gate_pw.pw_uid)
        spy.start()
        r = subprocess.run(start_argv(rig, "gate"), stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=120)
        spy.stop = True
        spy.join()
        d = spy.egress_delay_ms()
        if r.returncode == 0 and d is not None:
            delays.append(d)
            if spy.cpu_at_egress_ms is not None:
                cpus.append(spy.cpu_at_egress_ms)
    out["observed"] = {
        "runs": observe, "seen": len(delays),
        "egress_delay_ms_mean": round(statistics.mean(delays), 1)
        if delays else None,
        "egress_delay_ms_median": round(statistics.median(delays), 1)
        if delays else None,
        "egress_delay_ms_all": sorted(delays),
        "cpu_before_egress_ms_median": round(statistics.median(cpus), 2)
        if cpus else None}
    return out


def start_table(st):
    """The "Session start" section."""
    if not st:
        return []
    d, t, g = st["direct"], st["twohop"], st["gate"]
    lines = ["", f"## Session start: `true` on the target, no terminal, "
             f"{st['rounds']} rounds interleaved; client start to exit, ms",
             "| stack | median | p99 | x direct | x twohop | added vs "
             "twohop, median |", "|---|---|---|---|---|---|"]
    for k, x in (("direct", d), ("twohop", t), ("gate", g)):
        add = x["median_ms"] - t["median_ms"] if x["median_ms"] is not None \
            and t["median_ms"] is not None else None
        lines.append(
            f"| {k} | {fmt(x['median_ms'], 1)} | {fmt(x['p99_ms'], 1)} "
            f"| {ratio(x['median_ms'], d['median_ms'])} "
            f"| {ratio(x['median_ms'], t['median_ms'])} "
            f"| {fmt(add, 1)} |")
    o = st["observed"]
    if o["runs"]:
        lines += ["", f"gate-shell's own part, {o['seen']} of {o['runs']} "
                  "more gate sessions watched through /proc (not timed "
                  "above): its start to its egress ssh's start "
                  f"{fmt(o['egress_delay_ms_median'], 1)} ms median, "
                  f"{fmt(o['egress_delay_ms_mean'], 1)} ms mean "
                  "(10 ms clock ticks: "
                  + ", ".join(fmt(v) for v in o["egress_delay_ms_all"])
                  + "); its CPU time until then "
                  f"{fmt(o['cpu_before_egress_ms_median'], 2)} ms median"]
    if st["errors"]:
        lines += ["", "failed: " + "; ".join(st["errors"])]
    return lines


# ------------------------------------------------------------ reporting

def med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def summarize(runs, stacks):
    """Medians over reps of every headline figure, per stack."""
    out = {}
    for k in stacks:
        thr = [r for r in runs[k]["throughput"] if r.get("complete")
               and not r.get("warnings") and not r.get("disturbed")]
        lat = [r for r in runs[k]["echo"] if not r.get("error")
               and not r.get("warnings") and not r.get("disturbed")]
        allr = thr + lat
        names = sorted({n for r in allr for n in r["middle"]})
        mem = {n: {"hwm_kib": max(r["middle"][n]["hwm_kib"] for r in allr
                                  if n in r["middle"]),
                   "anon_kib": max(r["middle"][n]["anon_kib"] for r in allr
                                   if n in r["middle"]),
                   "file_kib": max(r["middle"][n]["file_kib"] for r in allr
                                   if n in r["middle"]),
                   "cpu_s_per_run": med([r["middle"][n]["cpu_s"]
                                         for r in thr if n in r["middle"]]),
                   "sched_ms_per_run": med([r["middle"][n].get("sched_ms")
                                            for r in thr
                                            if n in r["middle"]]),
                   "ctxt_per_run": med([r["middle"][n].get("ctxt")
                                        for r in thr if n in r["middle"]])}
               for n in names}
        # The middle host's totals; idle-watch's watcher is on the user's.
        mid = {n: m for n, m in mem.items() if n != USER_WATCHER}
        ru = {}
        for r in allr:
            for n, v in (r.get("rollups") or {}).items():
                x = ru.setdefault(n, {"rss": 0, "pss": 0, "private": 0})
                for f in x:
                    x[f] = max(x[f], v.get(f) or 0)
        rollups = [r["watcher_rollup_kib"] for r in lat
                   if r.get("watcher_rollup_kib")]
        out[k] = {
            "ok_runs": f"{len(thr)}/{len(runs[k]['throughput'])} "
                       f"{len(lat)}/{len(runs[k]['echo'])}",
            "mib_s": med([r["mib_s"] for r in thr]),
            "mib_s_all": [r.get("mib_s") for r in runs[k]["throughput"]],
            "mib_s_ok": [r["mib_s"] for r in thr if r["mib_s"]],
            "setup_s": med([r["setup_s"] for r in thr]),
            "extra_bytes": sorted({r.get("extra_bytes") for r in
                                   runs[k]["throughput"]} - {None}),
            "close_ms": med([r["close_ms"] for r in thr]),
            "echo_median_us": med([r["median_us"] for r in lat]),
            "echo_p99_us": med([r["p99_us"] for r in lat]),
            "echo_median_us_all": [r.get("median_us")
                                   for r in runs[k]["echo"]],
            "echo_median_us_ok": [r["median_us"] for r in lat
                                  if r["median_us"] is not None],
            "middle": mem,
            "middle_hwm_kib": sum(m["hwm_kib"] for m in mid.values())
            if mid else None,
            "middle_cpu_s": sum(m["cpu_s_per_run"] or 0
                                for m in mid.values()) if mid else None,
            "watcher_rollup_kib": {
                f: max(r[f] or 0 for r in rollups)
                for f in ("rss", "pss", "private")} if rollups else None,
            "rollup": ru,
            "layer": layer(mem, ru),
        }
        if k == "gate-watched":
            ws = [r.get("watcher") or {} for r in runs[k]["throughput"]]
            we = [r.get("watcher") or {} for r in runs[k]["echo"]]
            out[k]["watch"] = {
                "bytes": [x.get("bytes") for x in ws],
                "in_transfer": [x.get("in_transfer") for x in ws],
                "in_echo": [x.get("in_echo") for x in we],
                "dropped": sum(x.get("dropped") is not None
                               for x in ws + we),
                "dropped_before": [d for r in runs[k]["throughput"]
                                   for d in r.get("dropped_before", [])],
                "listed": [r.get("watchers_listed") for r in
                           runs[k]["throughput"] + runs[k]["echo"]]}
    return out


def layer(mem, ru):
    """The recording layer of one session on the middle host: every
    process there but the ssh toward the target (which every middle host
    runs alike) and a watcher's attach: gate-shell, its recorder and its
    idle watcher; script; tlog-rec. VmHWM and RssAnon are each process's
    peak (summed: pages a forked child still shares with its parent count
    twice); private and Pss are read at the payload's and the echo run's
    end (smaps_rollup, max over runs), so shared library pages count once
    in Pss and not at all in private."""
    names = [n for n in mem if n not in LAYER_EXCLUDED]
    if not mem:
        return None
    return {"procs": names,
            "hwm_kib": sum(mem[n]["hwm_kib"] for n in names),
            "anon_kib": sum(mem[n]["anon_kib"] for n in names),
            "pss_kib": sum(ru.get(n, {}).get("pss", 0) for n in names),
            "private_kib": sum(ru.get(n, {}).get("private", 0)
                               for n in names)}


def idle_compare(s, runs, pairs=IDLE_PAIRS):
    """Each -idle stack against its base (or each of other pairs, as
    SHARE_PAIRS: the first against the second): medians, ratios, and
    whether the
    difference of the medians is within run-to-run noise. Noise: the
    spread (max - min) of the reps of either stack, the larger; and the
    per-rep differences (idle minus base, same rep, run next to each
    other) must not all have the same sign (5 of 5 alike would happen by
    chance 1 time in 16)."""
    out = {}
    for idle, base in pairs:
        if idle not in s or base not in s:
            continue
        cmp = {}
        for m, ph, field, ok in (
                ("mib_s", "throughput", "mib_s", "mib_s_ok"),
                ("echo_median_us", "echo", "median_us",
                 "echo_median_us_ok"),
                ("echo_p99_us", "echo", "p99_us", None)):
            a, b = s[idle][m], s[base][m]
            if a is None or b is None:
                continue
            c = {"idle": a, "base": b, "ratio": round(a / b, 3) if b else None,
                 "diff": round(a - b, 2)}
            if ok:
                spread = max((max(v) - min(v)) if v else 0
                             for v in (s[idle][ok], s[base][ok]))
                pairs = [ri[field] - rb[field] for ri, rb in
                         zip(runs[idle][ph], runs[base][ph])
                         if ri.get(field) is not None
                         and rb.get(field) is not None
                         and not ri.get("error") and not rb.get("error")]
                up = sum(d > 0 for d in pairs)
                down = sum(d < 0 for d in pairs)
                one_sided = len(pairs) >= 3 and (up == len(pairs)
                                                 or down == len(pairs))
                c.update({"spread": round(spread, 2), "paired_up": up,
                          "paired_down": down,
                          "within_noise": abs(a - b) <= spread
                          and not one_sided})
            cmp[m] = c
        cpu_i, cpu_b = s[idle]["middle_cpu_s"], s[base]["middle_cpu_s"]
        cmp["middle_cpu_s"] = {"idle": cpu_i, "base": cpu_b}
        w = s[idle]["middle"].get(GATE_WATCHER) or \
            s[idle]["middle"].get(USER_WATCHER)
        if w:
            cmp["watcher"] = {"hwm_kib": w["hwm_kib"],
                              "sched_ms_per_run": w["sched_ms_per_run"],
                              "ctxt_per_run": w["ctxt_per_run"],
                              "rollup_kib": s[idle]["watcher_rollup_kib"]}
        out[f"{idle}/{base}"] = cmp
    return out


def ratio(a, b, d=2):
    return f"{a / b:.{d}f}" if a is not None and b else "-"


def fmt(x, d=0):
    return "-" if x is None else f"{x:,.{d}f}"


def noise_lines(comparisons, with_ratio):
    """The "Noise:" paragraph under a comparison table: for each pair and
    metric, the difference of medians against the spread of the reps and
    whether every rep moved the same way."""
    parts, bad = [], []
    for pair, c in comparisons.items():
        for m, unit, d in (("mib_s", "MiB/s", 1), ("echo_median_us", "us",
                                                     0)):
            x = c.get(m)
            if not x or "within_noise" not in x:
                continue
            what = f"{pair} {'throughput' if m == 'mib_s' else 'echo'}"
            parts.append(f"{what} {x['diff']:+.{d}f} {unit} ("
                         + (f"x{x['ratio']}, " if with_ratio else "")
                         + f"spread {x['spread']:.{d}f}, per rep "
                         f"{x['paired_up']}+/{x['paired_down']}-)")
            if not x["within_noise"]:
                bad.append(what)
    if not parts:
        return []
    return ["", "Noise: " + "; ".join(parts) + " -> " + (
        "all within run-to-run noise (each difference of medians "
        "smaller than the spread of the reps, and not the same sign "
        "in every rep)" if not bad else
        "NOT within run-to-run noise: " + ", ".join(bad))]


def idle_table(ic):
    """The "Idle watching" section: each -idle stack against its base."""
    if not ic:
        return []
    lines = ["", "## Idle watching (idle_timeout / idle-watch -t "
             f"{IDLE_TIMEOUT}): each -idle stack against its base, medians "
             "of reps",
             "| pair | MiB/s | MiB/s ratio | echo median us | echo ratio "
             "| added echo us | added p99 us | middle CPU s/run "
             "| watcher VmHWM / Pss / private KiB | watcher CPU ms, "
             "wake-ups per throughput run |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for pair, c in ic.items():
        t, e, p = c.get("mib_s", {}), c.get("echo_median_us", {}), \
            c.get("echo_p99_us", {})
        cpu = c["middle_cpu_s"]
        w = c.get("watcher")
        ru = (w or {}).get("rollup_kib") or {}
        lines.append(
            f"| {pair} | {fmt(t.get('idle'), 1)} / {fmt(t.get('base'), 1)} "
            f"| {fmt(t.get('ratio'), 3)} "
            f"| {fmt(e.get('idle'))} / {fmt(e.get('base'))} "
            f"| {fmt(e.get('ratio'), 3)} | {fmt(e.get('diff'), 1)} "
            f"| {fmt(p.get('diff'), 1)} "
            f"| {fmt(cpu['idle'], 2)} / {fmt(cpu['base'], 2)} "
            + (f"| {fmt(w['hwm_kib'])} / {fmt(ru.get('pss'))} / "
               f"{fmt(ru.get('private'))} "
               f"| {fmt(w['sched_ms_per_run'], 2)}, "
               f"{fmt(w['ctxt_per_run'])} |" if w else "| - | - |"))
    return lines + noise_lines(ic, with_ratio=False)


def share_table(s, sc):
    """The "Sharing" section: gate-noshare, gate, gate-watched against gate
    and twohop, and each pair of SHARE_PAIRS with its noise."""
    ks = [k for k in ("gate-noshare", "gate", "gate-watched") if k in s]
    if not ({"gate-noshare", "gate-watched"} & set(ks)):
        return []
    g, t = s.get("gate", {}), s.get("twohop", {})
    lines = ["", "## Sharing: gate-noshare (max_watchers = 0), gate "
             "(sharing on, nobody watching), gate-watched (bob attached, "
             "his output read and discarded); medians of reps",
             "| stack | MiB/s | x gate | x twohop | echo median us "
             "| x gate | added vs gate us | x twohop | echo p99 us "
             "| p99 x gate | middle CPU s/throughput run "
             "| gate-shell CPU s/run |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for k in ks:
        x = s[k]
        add = (x["echo_median_us"] - g["echo_median_us"]
               if x["echo_median_us"] is not None
               and g.get("echo_median_us") is not None else None)
        gs = x["middle"].get("gate-shell", {}).get("cpu_s_per_run")
        lines.append(
            f"| {k} | {fmt(x['mib_s'], 1)} "
            f"| {ratio(x['mib_s'], g.get('mib_s'), 3)} "
            f"| {ratio(x['mib_s'], t.get('mib_s'))} "
            f"| {fmt(x['echo_median_us'])} "
            f"| {ratio(x['echo_median_us'], g.get('echo_median_us'), 3)} "
            f"| {fmt(add)} "
            f"| {ratio(x['echo_median_us'], t.get('echo_median_us'))} "
            f"| {fmt(x['echo_p99_us'])} "
            f"| {ratio(x['echo_p99_us'], g.get('echo_p99_us'), 3)} "
            f"| {fmt(x['middle_cpu_s'], 2)} | {fmt(gs, 2)} |")
    wt = s.get("gate-watched", {}).get("watch")
    if wt:
        listed = sorted({",".join(x) if x else "NONE"
                         for x in wt["listed"]})
        lines += ["", f"gate-watched's watcher ({WATCH_USER}), per "
                  f"throughput run: bytes received {wt['bytes']}, of them "
                  f"between the owner's first payload byte and its end "
                  f"{wt['in_transfer']}; per echo run {wt['in_echo']} "
                  f"bytes; dropped in {wt['dropped']} kept runs; dropped "
                  f"and measured again {len(wt['dropped_before'])} times "
                  f"(bytes into the payload: {wt['dropped_before']}); "
                  f"`sessions --json` watchers at the start of each run: "
                  f"{listed}"]
    return lines + noise_lines(sc, with_ratio=True)


def tables(s, runs, args, ic=None, sc=None):
    st = list(s)
    ref = s.get("twohop", {})
    g = s.get("gate", {})
    lines = [f"## Throughput: {args.mib} MiB of base64 text, "
             "first byte to last, median of reps",
             "| stack | MiB/s | x twohop | runs (MiB/s) | set-up s "
             "| close ms | middle CPU s/run | extra bytes | ok thr/echo |",
             "|---|---|---|---|---|---|---|---|---|"]
    for k in st:
        x = s[k]
        lines.append(
            f"| {k} | {fmt(x['mib_s'], 1)} | {ratio(x['mib_s'], ref.get('mib_s'))} "
            f"| {', '.join(fmt(v, 1) for v in x['mib_s_all'])} "
            f"| {fmt(x['setup_s'], 3)} | {fmt(x['close_ms'], 1)} "
            f"| {fmt(x['middle_cpu_s'], 2)} | {x['extra_bytes']} "
            f"| {x['ok_runs']} |")
    lines += ["", f"## Keystroke echo: {args.echo} bytes, one at a time, "
              "median of reps", "| stack | median us | p99 us | "
              "added vs twohop, median us | x twohop | runs (median us) |",
              "|---|---|---|---|---|---|"]
    for k in st:
        x = s[k]
        add = (x["echo_median_us"] - ref["echo_median_us"]
               if x["echo_median_us"] is not None
               and ref.get("echo_median_us") is not None else None)
        lines.append(
            f"| {k} | {fmt(x['echo_median_us'])} | {fmt(x['echo_p99_us'])} "
            f"| {fmt(add)} | {ratio(x['echo_median_us'], ref.get('echo_median_us'))} "
            f"| {', '.join(fmt(v) for v in x['echo_median_us_all'])} |")
    lines += ["", "## Peak RSS on the middle host (VmHWM, KiB; max over "
              "runs; anon/file = peak RssAnon/RssFile)",
              "| stack | process | VmHWM | anon | file | CPU s/throughput run |",
              "|---|---|---|---|---|---|"]
    for k in st:
        if not s[k]["middle"]:
            lines.append(f"| {k} | (no middle host) | - | - | - | - |")
        for n, m in s[k]["middle"].items():
            lines.append(f"| {k} | {n} | {fmt(m['hwm_kib'])} "
                         f"| {fmt(m['anon_kib'])} | {fmt(m['file_kib'])} "
                         f"| {fmt(m['cpu_s_per_run'], 2)} |")
    sm = next((r["gate_shell_smaps_kib"] for r in runs.get("gate", {}).get(
        "echo", []) if r.get("gate_shell_smaps_kib")), None)
    ru = next((r["gate_shell_rollup_kib"] for r in runs.get("gate", {}).get(
        "echo", []) if r.get("gate_shell_rollup_kib")), None)
    if sm:
        lines += ["", "gate-shell resident memory by mapping (KiB, during "
                  "an echo run): " + ", ".join(
                      f"{k} {v}" for k, v in sm.items() if v)]
    if ru:
        lines += [f"gate-shell then: Rss {ru['rss']} KiB, Pss {ru['pss']} "
                  f"KiB, private {ru['private']} KiB"]
    lay = [k for k in st if s[k].get("layer")]
    if lay:
        gl = (s.get("gate-idle") or g).get("layer") or {}
        lines += ["", "## Recording layer, per session: the middle host's "
                  "processes but the ssh toward the target (KiB; VmHWM and "
                  "RssAnon: peaks, summed; Pss and private: at the "
                  "payload's and the echo run's end, max over runs)",
                  "| stack | processes | VmHWM | RssAnon | Pss | private "
                  "| private x the gate's |", "|---|---|---|---|---|---|---|"]
        for k in lay:
            x = s[k]["layer"]
            if not x["procs"]:
                lines.append(f"| {k} | (none but the ssh) | - | - | - | - "
                             "| - |")
                continue
            lines.append(
                f"| {k} | {', '.join(x['procs']) or '(none)'} "
                f"| {fmt(x['hwm_kib'])} | {fmt(x['anon_kib'])} "
                f"| {fmt(x['pss_kib'])} | {fmt(x['private_kib'])} "
                f"| {ratio(x['private_kib'], gl.get('private_kib'))} |")
        rss = gate_shell_watcher_rss(s)
        if rss:
            lines += ["", f"gate-shell plus watcher: {rss['hwm_kib']} KiB "
                      f"VmHWM, {rss['private_kib']} KiB private "
                      f"({rss['detail']})"]
    if g:
        lines += ["", "## The gate against each peer (throughput ratio, "
                  "echo median ratio, middle VmHWM ratio)",
                  "| gate vs | MiB/s ratio | echo median ratio "
                  "| echo p99 ratio | middle VmHWM ratio |",
                  "|---|---|---|---|---|"]
        for k in st:
            if k not in GATE_STACKS:
                lines.append(
                    f"| {k} | {ratio(g['mib_s'], s[k]['mib_s'])} "
                    f"| {ratio(g['echo_median_us'], s[k]['echo_median_us'])} "
                    f"| {ratio(g['echo_p99_us'], s[k]['echo_p99_us'])} "
                    f"| {ratio(g['middle_hwm_kib'], s[k]['middle_hwm_kib'])} |")
    lines += idle_table(ic)
    lines += share_table(s, sc or {})
    return "\n".join(lines)


def goals(s):
    g, t = s.get("gate"), s.get("twohop")
    out = {}
    if g and t and g["mib_s"] and t["mib_s"]:
        r = g["mib_s"] / t["mib_s"]
        out["throughput_ratio"] = {
            "value": round(r, 3), "goal": f">= {GOALS['throughput_ratio_min']}",
            "met": r >= GOALS["throughput_ratio_min"]}
    if g and t and g["echo_median_us"] is not None and \
            t["echo_median_us"] is not None:
        a = g["echo_median_us"] - t["echo_median_us"]
        out["added_echo_median_us"] = {
            "value": round(a, 1), "goal": f"< {GOALS['added_echo_us_max']}",
            "met": a < GOALS["added_echo_us_max"]}
    for peer in ("script", "tlog"):
        p = s.get(peer)
        if g and p and g["mib_s"] and p["mib_s"]:
            out[f"throughput_ahead_of_{peer}"] = {
                "value": round(g["mib_s"] / p["mib_s"], 3),
                "goal": f"> 1 (gate {g['mib_s']:.1f} MiB/s, {peer} "
                        f"{p['mib_s']:.1f})",
                "met": g["mib_s"] > p["mib_s"]}
    rss = gate_shell_watcher_rss(s)
    if rss:
        out["gate_shell_watcher_rss_kib"] = {
            "value": rss["hwm_kib"],
            "goal": f"< {GOALS['gate_shell_rss_kib_max']} (VmHWM)",
            "met": rss["hwm_kib"] < GOALS["gate_shell_rss_kib_max"],
            "private_kib": rss["private_kib"], "detail": rss["detail"]}
    return out


def gate_shell_watcher_rss(s):
    """The goal's "gate-shell plus watcher" per session: gate-shell's and
    its idle watcher's peak RSS (VmHWM) from gate-idle, the stack that has
    a watcher (the plain gate forks none), else gate-shell alone from
    gate; and beside it their private memory (no shared library pages),
    with the recorder's for the whole recording layer."""
    k = "gate-idle" if GATE_WATCHER in s.get("gate-idle", {}).get(
        "middle", {}) else "gate"
    x = s.get(k)
    if not x or "gate-shell" not in x["middle"]:
        return None
    names = ["gate-shell"] + ([GATE_WATCHER] if k == "gate-idle" else [])
    hwm = sum(x["middle"][n]["hwm_kib"] for n in names)
    priv = sum(x["rollup"].get(n, {}).get("private", 0) for n in names)
    rec = x["middle"].get(GATE_RECORDER, {}).get("hwm_kib")
    rec_priv = x["rollup"].get(GATE_RECORDER, {}).get("private")
    detail = (f"stack {k}: " + " + ".join(
        f"{n} {x['middle'][n]['hwm_kib']}" for n in names)
        + " KiB VmHWM; private " + " + ".join(
            f"{x['rollup'].get(n, {}).get('private', 0)}" for n in names)
        + f" = {priv} KiB"
        + (f"; the recorder beside them: VmHWM {rec} KiB, private "
           f"{rec_priv} KiB" if rec else "")
        + ("" if k == "gate-idle" else "; no watcher measured (run "
           "gate-idle for it)"))
    return {"stack": k, "hwm_kib": hwm, "private_kib": priv,
            "detail": detail}


# ------------------------------------------------------------ cross-check

def cross_check(rig, args):
    """run_stacks.py with its A,N,NS,C stacks and this gate as G."""
    if not rig.gate_shell_ok():
        return {"error": "skipped: another test run took the gate account "
                         "(its login shell is not our gate-shell any more)"}
    env = dict(os.environ, B=args.cross_dir)
    setup = SHARED / "setup_sshd.sh"
    r = subprocess.run([str(setup), "start"], env=env, capture_output=True,
                       text=True, timeout=300)
    if r.returncode:
        return {"error": f"setup_sshd.sh: {r.stdout}{r.stderr}"}
    try:
        g = shlex.join(rig.ssh("-i", str(rig.key), "-p", str(rig.sshd.port),
                               f"{conftest.GATE_USER}@127.0.0.1")) + \
            " -tt connect web1 -- @CMD@"
        argv = [sys.executable, str(SHARED / "run_stacks.py"),
                "--stacks", "A,N,NS,C", "--stack", f"G={g}",
                "--reps", str(args.reps), "--mib", str(args.mib),
                "--count", str(args.echo), "--bench", args.cross_dir]
        print("cross-check: " + shlex.join(argv), file=sys.stderr, flush=True)
        r = subprocess.run(argv, env=env, capture_output=True, text=True,
                           timeout=7200)
        sys.stderr.write(r.stderr)
        out = {"command": shlex.join(argv), "rc": r.returncode,
               "table": r.stdout.strip()}
        if not rig.gate_shell_ok():
            out["error"] = ("another test run took the gate account during "
                            "the cross-check: its G rows are not valid")
        return out
    finally:
        subprocess.run([str(setup), "stop"], env=env, capture_output=True,
                       timeout=60)


# ------------------------------------------------------------ main

def provenance(binary, idle_watch=None):
    """Which gate-shell (and idle-watch) this is: the source commit and the
    binaries' hashes."""
    head = conftest.run(["git", "-C", SRC, "rev-parse", "--short",
                         "HEAD"]).stdout.strip() or "?"
    if conftest.run(["git", "-C", SRC, "status", "--porcelain", "--",
                     "gate-shell", "idle-watch", "lib",
                     "meson.build"]).stdout.strip():
        head += " with uncommitted C changes"
    out = f"git {head}, gate-shell sha256 " + hashlib.sha256(
        Path(binary).read_bytes()).hexdigest()[:16]
    if idle_watch:
        out += ", idle-watch sha256 " + hashlib.sha256(
            Path(idle_watch).read_bytes()).hexdigest()[:16]
    return out


def tlog_available():
    """None when tlog-rec can run (installing it if missing), else why not."""
    if not shutil.which("tlog-rec"):
        print("tlog-rec missing: apt-get install -y tlog", file=sys.stderr)
        r = subprocess.run("apt-get update -qq && DEBIAN_FRONTEND="
                           "noninteractive apt-get install -y -qq tlog",
                           shell=True, capture_output=True, text=True,
                           timeout=600)
        if not shutil.which("tlog-rec"):
            return f"tlog could not be installed: {(r.stdout + r.stderr)[-300:]}"
    return None


def ensure_utmp():
    """tlog-rec gives up ("Failed setting up the I/O tap") when utempter
    cannot add a utmp record, as in containers booted without systemd,
    where nothing made /run/utmp. Make it as systemd-tmpfiles would;
    returns the path to remove at the end, or None."""
    path = Path("/run/utmp")
    if path.exists():
        return None
    path.touch(mode=0o664)
    try:
        os.chown(path, 0, grp.getgrnam("utmp").gr_gid)
    except KeyError:
        pass
    os.chmod(path, 0o664)
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get(
        "SSHGATE_BUILD", str(conftest.SRC / "build")))
    ap.add_argument("--mib", type=int, default=64,
                    help="throughput payload, MiB (default 64)")
    ap.add_argument("--echo", type=int, default=300,
                    help="keystrokes timed per echo run (default 300)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--stacks", default=",".join(STACKS))
    ap.add_argument("--timeout", type=float, default=300,
                    help="longest throughput run, s")
    ap.add_argument("--json", action="store_true",
                    help="print one JSON object instead of the tables")
    ap.add_argument("--cross-check", action="store_true",
                    help="also run run_stacks.py (A,N,NS,C and this gate)")
    ap.add_argument("--wait", type=float, default=900,
                    help="longest wait for other test runs to end, s")
    ap.add_argument("--cross-dir", default="/tmp/bench",
                    help="run_stacks.py's scratch dir (its $B)")
    ap.add_argument("--start", type=int, default=0, metavar="N",
                    help="also time session start, N rounds of `true` "
                    "through direct, twohop and gate (default: none)")
    ap.add_argument("--observe", type=int, default=20, metavar="N",
                    help="with --start: N more gate sessions watched "
                    "through /proc for gate-shell's own part (default 20)")
    ap.add_argument("--no-wait", action="store_true",
                    help="measure while other test runs are live (a shared "
                    "machine): no waiting, no measuring again; the runs "
                    "they overlapped are counted")
    ap.add_argument("--json-out", metavar="FILE",
                    help="also write the --json object to FILE")
    args = ap.parse_args()
    command = shlex.join([sys.executable, *sys.argv])
    if os.geteuid() != 0:
        raise SystemExit("run as root")
    stacks = [k for k in args.stacks.split(",") if k]
    for k in stacks:
        if k not in STACKS:
            raise SystemExit(f"unknown stack {k}; known: {','.join(STACKS)}")
    if not args.json:
        print(f"# {command}\n(cwd {os.getcwd()})", flush=True)
    skipped, made_utmp = {}, None
    if "tlog" in stacks:
        why = tlog_available()
        if why:
            skipped["tlog"] = why
            stacks.remove("tlog")
            print(f"tlog stack skipped: {why}", flush=True)
        else:
            made_utmp = ensure_utmp()

    wait_idle(args.wait, accounts=True, tests=not args.no_wait)

    def on_term(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)
    os.environ["TERM"] = "xterm"

    rig = Rig()
    try:
        rig.setup(Path(args.build).resolve(), args.mib)
        info = {"gate_sshd_port": rig.sshd.port,
                "target_port": rig.target.port, "root": str(rig.root),
                "load1_start": os.getloadavg()[0],
                "measured": provenance(rig.bindir / "gate-shell",
                                       rig.idle_watch)}
        if "direct-idle" in stacks and rig.idle_watch is None:
            raise SystemExit(f"{args.build}/idle-watch/idle-watch is "
                             "missing: build first")
        if not args.json:
            print(f"measured: {info['measured']}", flush=True)
        runs = {k: {"throughput": [], "echo": []} for k in stacks}
        overlapped = []
        watch = Watch()
        watch.start()

        def quietly(fn):
            """fn() in a quiet moment; again (3 tries) if another test run
            started meanwhile, and then marked "disturbed"."""
            for attempt in range(3):
                if not args.no_wait:
                    wait_idle(args.wait, accounts=False)
                rig.reclaim()
                watch.seen.clear()
                r = fn()
                if rig.tlog_file.exists():
                    r["recording_bytes"] = rig.tlog_file.stat().st_size
                    rig.tlog_file.unlink()
                if args.no_wait and watch.seen:
                    r["overlapped"] = watch.seen[0]
                    overlapped.append(watch.seen[0])
                if not watch.seen or args.no_wait:
                    return r
                print(f"disturbed by another test run ({watch.seen[0]}): "
                      "measuring again", file=sys.stderr, flush=True)
            r["disturbed"] = watch.seen[0]
            return r

        def measure(k, fn):
            """fn() with gate.ini as stack k has it."""
            if k in GATE_STACKS:
                rig.gate_ini(k)
            return fn()

        def kept(fn, tries=3):
            """gate-watched: fn() again (3 tries) when the session dropped
            the watcher; where it was dropped before goes in
            "dropped_before"."""
            drops = []
            for attempt in range(tries):
                r = fn()
                d = (r.get("watcher") or {}).get("dropped")
                if d is None or attempt == tries - 1:
                    if drops:
                        r["dropped_before"] = drops
                    return r
                drops.append(d)
                print(f"gate-watched: the session dropped {WATCH_USER} "
                      f"{d} bytes into the payload: measuring again",
                      file=sys.stderr, flush=True)

        for rep in range(args.reps):
            order = stacks[rep % len(stacks):] + stacks[:rep % len(stacks)]
            # Each -idle stack and its base: the base first in even reps,
            # the -idle stack in odd ones, wherever the rotation put them.
            for idle, base in IDLE_PAIRS:
                if idle in order and base in order:
                    i, j = sorted((order.index(idle), order.index(base)))
                    order[i], order[j] = (idle, base) if rep % 2 else \
                        (base, idle)
            for k in order:
                def thr():
                    return quietly(lambda: measure(k, lambda: throughput(
                        rig, k, args.timeout)))
                t = kept(thr) if k == "gate-watched" else thr()
                runs[k]["throughput"].append(t)
                e = quietly(lambda: measure(k, lambda: echo(
                    rig, k, args.echo)))
                runs[k]["echo"].append(e)
                mem = ", ".join(f"{n} {m['hwm_kib']} KiB"
                                for n, m in t["middle"].items())
                if k == "gate-watched":
                    wt, we = t.get("watcher") or {}, e.get("watcher") or {}
                    mem += (f"; {WATCH_USER} got {wt.get('bytes')} B "
                            f"({wt.get('in_transfer')} in transfer), "
                            f"{we.get('in_echo')} B in echo")
                print(f"rep {rep} {k:11s} {fmt(t.get('mib_s'), 1):>7s} MiB/s "
                      f"(set-up {t.get('setup_s')} s, close "
                      f"{t.get('close_ms')} ms) echo "
                      f"{e.get('median_us')}/{e.get('p99_us')} us "
                      f"[{mem}] {t.get('error', '')} {e.get('error', '')} "
                      f"{' '.join(t.get('warnings', []) + e.get('warnings', []))}",
                      file=sys.stderr, flush=True)
                time.sleep(0.3)
        rig.gate_ini("gate")
        start = None
        if args.start:
            if not args.no_wait:
                wait_idle(args.wait, accounts=False)
            rig.reclaim()
            print(f"session start: {args.start} rounds of "
                  f"{', '.join(START_STACKS)}, then {args.observe} gate "
                  "sessions watched", file=sys.stderr, flush=True)
            watch.seen.clear()
            start = session_start(rig, args.start, args.observe)
            if watch.seen:
                start["overlapped"] = watch.seen[0]
        # The gate recorded what it relayed (one file per session, more
        # for one past max_file_size).
        casts = list((rig.gate.state / "recordings").rglob("*.cast"))
        info["recordings"] = {"files": len(casts), "bytes": sum(
            f.stat().st_size for f in casts)}
        info["load1_end"] = os.getloadavg()[0]
        info["runs_overlapped"] = len(overlapped)
        info["runs_total"] = sum(len(runs[k][ph]) for k in stacks
                                 for ph in ("throughput", "echo"))
        s = summarize(runs, stacks)
        gl = goals(s)
        ic = idle_compare(s, runs)
        sc = idle_compare(s, runs, SHARE_PAIRS)
        cc = None
        for attempt in range(3 if args.cross_check else 0):
            if not args.no_wait:
                wait_idle(args.wait, accounts=False)
            rig.reclaim()
            watch.seen.clear()
            cc = cross_check(rig, args)
            if not watch.seen:
                break
            if args.no_wait:
                cc["overlapped"] = watch.seen[0]
                break
            cc["error"] = (f"disturbed by another test run ({watch.seen[0]})"
                           + (f"; {cc['error']}" if cc.get("error") else ""))
            print(f"cross-check {cc['error']}", file=sys.stderr, flush=True)
        watch.stop = True
        doc = {"command": command, "args": vars(args), "setup": info,
               "skipped": skipped, "summary": s, "goals": gl,
               "idle_watching": ic, "sharing": sc, "session_start": start,
               "runs": runs, "cross_check": cc}
        if args.json_out:
            Path(args.json_out).write_text(json.dumps(doc))
        if args.json:
            print(json.dumps(doc))
            return
        print(f"gate sshd 127.0.0.1:{rig.sshd.port}, target "
              f"127.0.0.1:{rig.target.port}, load {info['load1_start']:.2f} "
              f"-> {info['load1_end']:.2f}; {args.reps} reps"
              + (f"; {len(overlapped)} of {info['runs_total']} runs "
                 "overlapped another test run (--no-wait)"
                 if args.no_wait else "")
              + f"; the gate wrote {info['recordings']['files']} recordings,"
              f" {info['recordings']['bytes'] / 1048576:.1f} MiB\n")
        print(tables(s, runs, args, ic, sc))
        print("\n".join(start_table(start)))
        for k, why in skipped.items():
            print(f"\n{k}: skipped: {why}")
        print("\n## Goals (gate against twohop)")
        for k, v in gl.items():
            print(f"- {k}: {v['value']} (goal {v['goal']}): "
                  f"{'met' if v['met'] else 'NOT met'}"
                  + (f" [{v['detail']}]" if v.get("detail") else ""))
        problems = [(k, ph, i, r.get("error"), r.get("warnings") or
                     r.get("disturbed"), r.get("killed_with"), r.get("tail"))
                    for k in stacks for ph in ("throughput", "echo")
                    for i, r in enumerate(runs[k][ph])
                    if r.get("error") or r.get("warnings")
                    or r.get("killed_with") or r.get("extra_bytes")
                    or r.get("disturbed")]
        if problems:
            print("\n## Runs with problems or extra bytes")
            for p in problems:
                print(f"- {p[0]} {p[1]} rep {p[2]}: error={p[3]!r} "
                      f"warnings={p[4]} killed_with={p[5]} tail={p[6]!r}")
        if cc:
            print("\n## Cross-check: run_stacks.py")
            print(f"`{cc.get('command')}` (rc {cc.get('rc')})\n")
            print(cc.get("table", ""))
            if cc.get("error"):
                print(f"\ncross-check: {cc['error']}")
    finally:
        rig.close()
        if made_utmp:
            made_utmp.unlink()


def others_running(accounts=False, tests=True):
    """Other test runs live now: pytest or meson test (unless not tests),
    and with accounts, any process of the shared test accounts, ours
    being gone. Such a run re-points the gate account at its own
    gate-shell (usermod fails while the account has processes) and
    shares the two CPUs."""
    uids = set()
    for n in (conftest.GATE_USER, conftest.AUTH_USER, conftest.TARGET_USER,
              HOP_USER) if accounts else ():
        try:
            uids.add(pwd.getpwnam(n).pw_uid)
        except KeyError:
            pass
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == os.getpid():
            continue
        try:
            uid = os.stat(f"/proc/{d}").st_uid
            with open(f"/proc/{d}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if uid in uids or tests and ("pytest" in cmd
                                     or "meson test" in cmd):
            out.append(f"{d} {cmd[:80]}")
    return out


class Watch(threading.Thread):
    """Notes, once a second, any other test run that shows up."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen, self.stop = [], False

    def run(self):
        while not self.stop:
            busy = others_running()
            if busy:
                self.seen.append(busy[0])
            time.sleep(1)


def wait_idle(timeout, accounts, tests=True):
    """Wait (up to timeout s) until no other test run is live (with not
    tests: until no process of the test accounts is)."""
    end, said = time.monotonic() + timeout, False
    while (busy := others_running(accounts, tests)):
        if time.monotonic() > end:
            print(f"warning: still running, measuring anyway: {busy[:3]}",
                  file=sys.stderr, flush=True)
            return
        if not said:
            print(f"waiting up to {timeout:.0f} s for another test run to "
                  f"end: {busy[:3]}", file=sys.stderr, flush=True)
            said = True
        time.sleep(2)


if __name__ == "__main__":
    main()
