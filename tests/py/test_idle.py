"""idle-watch standalone: real terminals (pexpect), real processes.

The watcher reads the terminal's inode times, which the kernel stamps at
most once per 8-second window, so timeouts here are 10-15 s: shorter ones
would measure the stamp's resolution rather than idle-watch."""

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pexpect
import pytest

from conftest import BUILD, run

IDLE = str(BUILD / "idle-watch" / "idle-watch")


def spawn(*args, timeout=60):
    return pexpect.spawn(IDLE, list(args), timeout=timeout, encoding="utf-8",
                         codec_errors="replace", dimensions=(24, 100))


def reap(p, timeout=30):
    """After EOF: the terminal closes when the command ends, a moment
    before idle-watch itself exits; close() on a live child would hang it
    up and hide its exit status."""
    deadline = time.monotonic() + timeout
    while p.isalive() and time.monotonic() < deadline:
        time.sleep(0.05)
    p.close()


def watchers(token):
    """pids of idle-watch processes whose argv holds token."""
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes().split(b"\0")
            exe = os.readlink(d / "exe")
        except OSError:
            continue
        if exe.endswith("/idle-watch") and token.encode() in b" ".join(argv):
            out.append(int(d.name))
    return out


def wait_none(token, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not watchers(token):
            return True
        time.sleep(0.1)
    return False


def test_idle_session_is_warned_then_ended(syslog):
    start = time.monotonic()
    p = spawn("-t", "14", "-w", "4", "--", "sleep", "1000")
    # The line says the idle time measured, in whole seconds of a loop
    # that wakes each second: a late wake-up on a loaded machine makes
    # it 11s (closing in 3s). The two always add up to the timeout.
    p.expect(r"\[idle-watch\] idle for (\d+)s; closing in (\d+)s unless you "
             r"type")
    idle, left = int(p.match.group(1)), int(p.match.group(2))
    assert 10 <= idle <= 12 and idle + left == 14, (idle, left)
    warned = time.monotonic() - start
    p.expect(pexpect.EOF)
    ended = time.monotonic() - start
    p.close()
    assert p.signalstatus == signal.SIGHUP
    assert 9 <= warned <= 20 and 13 <= ended <= 24, (warned, ended)
    assert syslog.wait_for(r"idle-watch: sleep on /dev/pts/\d+ \(pid \d+\): "
                           r"idle for \d+s \(timeout 14s\): ending it")


def test_output_keeps_it_alive_unless_input_only():
    loop = "while :; do echo tick; sleep 1; done"
    p = spawn("-t", "10", "-w", "0", "--", "sh", "-c", loop)
    time.sleep(24)
    assert p.isalive()
    p.terminate(force=True)
    p = spawn("-t", "10", "-w", "0", "--input-only", "--", "sh", "-c", loop)
    start = time.monotonic()
    p.expect(pexpect.EOF, timeout=40)
    assert time.monotonic() - start < 22


def test_typing_cancels_the_warning():
    start = time.monotonic()
    p = spawn("-t", "15", "-w", "5", "--", "cat")
    # Not "10s" to the second: see test_idle_session_is_warned_then_ended.
    p.expect(r"\[idle-watch\] idle for 1[0-2]s; closing in")
    # Type for a while: each read stamps the terminal (8-s windows).
    # Untouched, it would have ended by 15 + 9 s; it is still there.
    while time.monotonic() - start < 27:
        p.sendline("still here")
        time.sleep(1)
    assert p.isalive()
    p.sendeof()
    p.expect(pexpect.EOF)
    reap(p)
    assert p.exitstatus == 0


@pytest.mark.skipif(not shutil.which("strace"),
                    reason="strace is not installed")
def test_keys_typed_while_the_warning_is_written_count():
    """The watcher writes its warning, then reads the terminal's times
    again so that its own line does not count as activity. Keys typed
    in between must still count: the kernel stamps the input time once
    per 8-s window, so a key taken for the warning hides all typing
    until the next window opens. Here strace holds the watcher for 1.5 s
    just after its line (its first close() from then on), keys come at
    once, and the start is timed so that no window opens before the
    end a missed key would bring. This is how
    test_typing_cancels_the_warning could fail under load, made
    certain."""
    token = f"sg-{uuid.uuid4().hex[:8]}"
    # The warning comes 9-11 s after the start (whole seconds, counted
    # by a loop that wakes each second): start 1.5 s before a window
    # opens, so the warning comes 0.5-2.5 s into a window, and a missed
    # key ends the session (2 s later, after the held 1.5 s) before the
    # next one opens.
    time.sleep((6.5 - time.time()) % 8)
    start = time.monotonic()
    p = spawn("-t", "12", "-w", "2", "--", "sh", "-c", f"cat # {token}")
    # Once the command runs, the watcher is the one idle-watch left.
    deadline = time.monotonic() + 8
    while (len(w := watchers(token)) != 1 or
           os.readlink(f"/proc/{p.pid}/exe").endswith("/idle-watch")):
        assert time.monotonic() < deadline, w
        time.sleep(0.05)
    (w,) = w
    tracer = subprocess.Popen(["strace", "-qq", "-o", "/dev/null", "-p",
                               str(w), "-e", "trace=close", "-e",
                               "inject=close:delay_exit=1500000:when=1"])
    try:
        attach = time.monotonic() + 8
        while "TracerPid:\t0\n" in Path(f"/proc/{w}/status").read_text():
            if tracer.poll() is not None:
                pytest.skip("strace cannot attach here (ptrace denied)")
            assert time.monotonic() < attach, "strace did not attach"
            time.sleep(0.05)
        p.expect(r"\[idle-watch\] idle for 1[0-2]s; closing in")
        # Untouched, it would end 2 s later; typed at, it stays past
        # two more windows.
        while time.monotonic() - start < 26:
            p.sendline("still here")
            time.sleep(1)
            assert p.isalive(), time.monotonic() - start
    finally:
        tracer.kill()
        tracer.wait()
    p.sendeof()
    p.expect(pexpect.EOF)
    reap(p)
    assert p.exitstatus == 0


def test_a_child_ignoring_hangup_and_term_still_ends():
    p = spawn("-t", "10", "-w", "0", "--signal-grace", "2", "--", "sh", "-c",
              "trap '' HUP TERM; sleep 1000 & wait; sleep 1000")
    start = time.monotonic()
    p.expect(pexpect.EOF, timeout=40)
    p.close()
    assert p.signalstatus == signal.SIGKILL
    assert time.monotonic() - start < 26


def test_exit_status_and_no_orphaned_watcher():
    token = f"sg-{uuid.uuid4().hex[:8]}"
    p = spawn("-t", "60", "--", "sh", "-c", f"sleep 1; exit 7 # {token}")
    time.sleep(0.3)
    assert len(watchers(token)) == 1
    assert os.getpid() not in [int(open(f"/proc/{w}/stat").read()
                                      .rsplit(")", 1)[1].split()[1])
                               for w in watchers(token)]
    p.expect(pexpect.EOF)
    reap(p)
    assert p.exitstatus == 7
    assert wait_none(token, 3)


@pytest.mark.parametrize("how", ["crash", "sigkill"])
def test_watcher_goes_with_its_command(how):
    token = f"sg-{uuid.uuid4().hex[:8]}"
    cmd = ("kill -SEGV $$" if how == "crash" else "sleep 1000") + f" # {token}"
    p = spawn("-t", "60", "--", "sh", "-c", cmd)
    time.sleep(0.5)
    if how == "sigkill":
        assert len(watchers(token)) == 1     # it was there to be gone
        os.kill(p.pid, signal.SIGKILL)
    p.expect(pexpect.EOF)
    reap(p)
    assert wait_none(token, 3), watchers(token)


def test_a_shells_wait_does_not_wait_for_the_watcher():
    p = spawn("-t", "60", "--", "bash", "--norc", "-i")
    p.sendline("wait; echo waited-$((6*7))")
    p.expect("waited-42", timeout=10)
    p.sendline("exit 3")
    p.expect(pexpect.EOF)
    reap(p)
    assert p.exitstatus == 3


@pytest.mark.parametrize("args,msg", [
    ([], "no COMMAND"),
    (["-t", "5x", "--", "true"], "bad duration '5x'"),
    (["-t", "0", "--", "true"], "bad duration"),
    (["-t", "10", "-w", "10", "--", "true"], "must come before"),
    (["--signal-grace", "-1", "--", "true"], "bad duration"),
    (["--bogus", "--", "true"], "unknown option or missing value '--bogus'"),
    (["-t", "10", "--", "true"], "standard input is not a terminal"),
    (["-t", "10", "--tty", "/etc/passwd", "--", "true"],
     "is not a terminal device"),
])
def test_bad_arguments(args, msg):
    r = run([IDLE, *args], stdin=subprocess.DEVNULL)
    assert r.returncode == 2, r.stderr
    assert msg in r.stderr and len(r.stderr.splitlines()) == 1


# THREATS row 17
def test_tty_option_watches_that_terminal():
    """Not on a terminal itself, it watches the one it is told to, and
    ends only itself: it leads no session or group (it is pytest's
    child), and pytest's group must not be hit."""
    p = pexpect.spawn("sleep", ["1000"])    # only to own a terminal
    name = Path(f"/proc/{p.pid}/fd/0").resolve()
    start = time.monotonic()
    r = run([IDLE, "-t", "10", "-w", "0", "--tty", str(name), "--",
             "sleep", "1000"], stdin=subprocess.DEVNULL, timeout=40)
    assert r.returncode == -signal.SIGHUP
    assert time.monotonic() - start < 22
    p.terminate(force=True)


# Every run of the race below: how long the command sleeps before it
# exits 3 on its own. The watcher (-t 1, nothing on the terminal) ends it
# 1 to 2 s after it started; the range straddles that moment, so some
# runs end while the watcher is deciding or signalling.
RACE_SLEEPS = [round(0.5 + 0.125 * i, 3) for i in range(21)]


def _race_leader(s, pidfile, token):
    """idle-watch leads its own session (pexpect's child), as under a
    frontend. A decoy left the session (setsid) before the end."""
    cmd = (f"setsid sleep 1000 </dev/null >/dev/null 2>&1 & "
           f"echo $! > {pidfile}; sleep {s}; exit 3 # {token}")
    p = spawn("-t", "1", "-w", "0", "--", "sh", "-c", cmd)
    p.expect(pexpect.EOF)
    reap(p)
    return p.exitstatus if p.signalstatus is None else -p.signalstatus


def _race_member(s, pidfile, token):
    """idle-watch is a member of its starter's session and group, as when
    a shell runs it; a decoy shares that group. The watcher may end the
    command only."""
    cmd = (f"sleep 1000 </dev/null >/dev/null 2>&1 & echo $! > {pidfile}; "
           f"{IDLE} -t 1 -w 0 -- sh -c 'sleep {s}; exit 3 # {token}'; "
           "echo rc=$?; read done")
    p = pexpect.spawn("sh", ["-c", cmd], timeout=60, encoding="utf-8")
    if p.expect([r"rc=(\d+)", pexpect.EOF]) == 1:
        return "the starter's shell was ended", p
    rc = int(p.match.group(1))
    # The decoy is checked by the caller while this session, whose
    # leader's exit would hang the decoy up, still stands.
    return rc if rc < 128 else -(rc - 128), p


def _alive_sleeper(pidfile):
    pid = int(Path(pidfile).read_text())
    try:
        return pid, Path(f"/proc/{pid}/cmdline").read_bytes() == \
            b"sleep\x001000\x00"
    except OSError:
        return pid, False


# THREATS row 17
def test_command_ending_as_the_timeout_fires_harms_nothing_else(tmp_path):
    """A command that exits at about the moment the watcher ends it: in
    every run idle-watch exits with the command's own status or the
    hang-up it was sent (nothing else), its watcher goes, and no process
    outside the command's session is signalled: not a child that left
    the session, not a process in the group of whoever started
    idle-watch, not this test's own. What it proves is that the end is
    aimed at the session the command leads, whatever instant it comes;
    a recycled pid is test_recycled_pid_is_never_signalled's."""
    token = f"sg-{uuid.uuid4().hex[:8]}"
    mine = subprocess.Popen(["sleep", "1000"])   # in pytest's own group
    decoys, held = [], []
    lock = threading.Lock()

    def one(job):
        i, (mode, s) = job
        pidfile = tmp_path / f"decoy-{i}"
        if mode == "leader":
            status = _race_leader(s, pidfile, token)
        else:
            status, p = _race_member(s, pidfile, token)
        pid, alive = _alive_sleeper(pidfile)
        with lock:
            decoys.append(pid)
            if mode == "member":
                held.append(p)
        return mode, s, status, alive

    jobs = list(enumerate([(m, s) for s in RACE_SLEEPS
                           for m in ("leader", "member")]))
    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(one, jobs))
        for mode, s, status, alive in results:
            assert status in (3, -signal.SIGHUP), (mode, s, status)
            assert alive, (mode, s, status)
        # The range straddled the moment: some runs ended on their own,
        # some were ended.
        for mode in ("leader", "member"):
            seen = {st for m, _, st, _ in results if m == mode}
            assert seen == {3, -signal.SIGHUP}, (mode, results)
        assert wait_none(token, 10), watchers(token)
        assert mine.poll() is None
        assert all(_alive_sleeper(tmp_path / f"decoy-{i}")[1]
                   for i, _ in jobs)
    finally:
        for p in held:
            p.terminate(force=True)
        for pid in decoys:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        mine.kill()
        mine.wait()


# Runs as pid 1 of a pid namespace of its own, where no other process
# takes pids: a pid freed there can be handed out again at will
# (ns_last_pid), which the shared namespace does not allow.
RECYCLE = r"""
import json, os, pexpect, signal, subprocess, sys, time
idle = sys.argv[1]
p = pexpect.spawn(idle, ["-t", "2", "-w", "0", "--", "sleep", "1000"])
target = p.pid

def watcher():
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) not in (1, target):
            try:
                if os.readlink(f"/proc/{d}/exe").endswith("/idle-watch"):
                    return int(d)
            except OSError:
                pass

def state(pid):
    return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]

deadline = time.monotonic() + 20
while (w := watcher()) is None or state(w) != "S":
    assert time.monotonic() < deadline, "no watcher"
    time.sleep(0.05)
# The watcher is stopped before the command ends: it will next run after
# the pid is someone else's, as a watcher the scheduler left aside would.
os.kill(w, signal.SIGSTOP)
while state(w) != "T":
    time.sleep(0.01)
os.kill(target, signal.SIGKILL)
os.waitpid(target, 0)
# The terminal stays (the pty's master is still open here), so only the
# pidfd tells the watcher that its command is gone.
with open("/proc/sys/kernel/ns_last_pid", "w") as f:
    f.write(str(target - 1))
decoy = subprocess.Popen(["sleep", "1000"], start_new_session=True)
time.sleep(3)           # past the watcher's 2 s timeout
os.kill(w, signal.SIGCONT)
deadline = time.monotonic() + 20
while (r := os.waitpid(w, os.WNOHANG))[0] == 0:
    assert time.monotonic() < deadline, "the watcher did not end"
    time.sleep(0.05)
print(json.dumps({"target": target, "decoy": decoy.pid, "watcher_status": r[1],
                  "decoy_alive": decoy.poll() is None}))
decoy.kill()
"""


# THREATS row 17
def test_recycled_pid_is_never_signalled():
    """The watcher holds a pidfd of its command: when the command is gone
    and its pid already belongs to another process by the time the
    watcher acts (here: the watcher is stopped, the command killed and
    reaped, its pid handed to a decoy, the watcher's timeout passed,
    then the watcher resumes), the watcher ends quietly and the decoy
    lives. A watcher that checked the pid by number (kill(pid, 0)) would
    take the decoy for its command, find it idle and hang it up."""
    r = run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable,
             "-c", RECYCLE, IDLE], timeout=60)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["decoy"] == out["target"], out      # the pid was reused
    assert out["watcher_status"] == 0, out
    assert out["decoy_alive"], out


def test_missing_command_is_127():
    p = spawn("-t", "60", "--", "/nonexistent/cmd")
    p.expect("cannot run /nonexistent/cmd")
    p.expect(pexpect.EOF)
    reap(p)
    assert p.exitstatus == 127


# --- inside gate-shell: the same watcher, counting the relay's bytes ---

from test_connect import ended, live_session, shell_ready  # noqa: E402
from test_connect import spawn as gate_spawn  # noqa: E402

IDLE_INI = "[sessions]\nidle_timeout = 4s\nidle_warn = 2s\n"


def test_gate_session_idle_warned_then_ended(make_bastion, syslog):
    b = make_bastion(IDLE_INI)
    p = gate_spawn(b, "connect", "web1")
    shell_ready(p)
    row = live_session(b)
    start = time.monotonic()
    p.expect(r"\[sshgate\] idle for 2s; closing in 2s unless you type")
    p.expect("session ended: idle for 4s")
    p.expect(pexpect.EOF)
    reap(p)
    assert 3 <= time.monotonic() - start <= 10
    assert p.exitstatus == 1
    row = ended(b, row["id"])
    assert row["end_reason"] == "idle"
    assert syslog.wait_for(rf"session {row['id']}: idle for 4s \(timeout 4s\)")


def test_gate_session_output_or_typing_keeps_it(make_bastion):
    b = make_bastion(IDLE_INI)
    p = gate_spawn(b, "connect", "web1")
    shell_ready(p)
    p.sendline("for i in 1 2 3 4 5 6 7 8; do echo tick; sleep 1; done; "
               "echo ticks-$((1+1))-done")
    p.expect("ticks-2-done", timeout=20)
    # And typing after the warning cancels it.
    p.expect(r"idle for 2s; closing")
    for _ in range(6):
        p.send("x")
        time.sleep(0.5)
    p.send("\x15")          # erase the line
    shell_ready(p)
    p.sendline("exit 0")
    p.expect(pexpect.EOF)
    reap(p)
    assert p.exitstatus == 0


def test_gate_session_input_only(make_bastion):
    b = make_bastion(IDLE_INI + "idle_input_only = yes\n")
    p = gate_spawn(b, "connect", "web1")
    shell_ready(p)
    row = live_session(b)
    p.sendline("while :; do echo tick; sleep 1; done")
    p.expect("session ended: idle", timeout=20)
    p.expect(pexpect.EOF)
    assert ended(b, row["id"])["end_reason"] == "idle"


# THREATS row 25
def test_gate_transfer_longer_than_the_timeout_is_not_idle(make_bastion):
    """THREATS row 25: a slow, steady non-PTY transfer is activity."""
    b = make_bastion(IDLE_INI)
    r = b.ssh("connect web1 -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do "
              "echo chunk; sleep 1; done'", timeout=60)
    assert (r.returncode, r.stdout.count("chunk")) == (0, 10), r.stderr
    assert b.sessions()[-1]["end_reason"] == "exit"


# THREATS row 25
def test_gate_upload_longer_than_the_timeout_is_not_idle(make_bastion):
    """A rate-limited upload: a chunk a second for longer than the idle
    timeout, the target silent until its stdin ends. The bytes coming in
    are activity; the session is not ended, and every byte arrives."""
    b = make_bastion(IDLE_INI)
    argv = b.ssh_argv("connect web1 -- sh -c 'wc -c'")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    start = time.monotonic()
    try:
        for _ in range(10):             # 10 s against idle_timeout = 4s
            proc.stdin.write(b"x" * 1000)
            proc.stdin.flush()
            time.sleep(1)
        out, err = proc.communicate(timeout=60)     # and EOF
    finally:
        proc.kill()
    assert time.monotonic() - start >= 10
    assert (proc.returncode, out.split()) == (0, [b"10000"]), err
    assert b"idle" not in err, err
    row = b.sessions()[-1]
    assert row["end_reason"] == "exit" and row["exit_status"] == 0, row
    assert row["bytes_in"] == 10000, row


def test_gate_watcher_goes_with_the_session(make_bastion):
    b = make_bastion(IDLE_INI.replace("4s", "60s"))
    p = gate_spawn(b, "connect", "web1")
    shell_ready(p)
    row = live_session(b)
    kids = [c for c in Path("/proc").iterdir() if c.name.isdigit()
            and os.path.exists(c / "stat") and
            (c / "stat").read_text().rsplit(")", 1)[1].split()[1]
            == str(row["pid"])]
    # The egress ssh, the watcher (a gate-shell) and the recorder.
    assert sorted((k / "comm").read_text().strip() for k in kids) == \
        ["gate-recorder", "gate-shell", "ssh"]
    os.kill(row["pid"], signal.SIGKILL)
    p.expect(pexpect.EOF)
    deadline = time.monotonic() + 5
    while any(k.exists() for k in kids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(k.exists() for k in kids)
