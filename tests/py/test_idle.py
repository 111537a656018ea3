"""idle-watch standalone: real terminals (pexpect), real processes.

The watcher reads the terminal's inode times, which the kernel stamps at
most once per 8-second window, so timeouts here are 10-15 s: shorter ones
would measure the stamp's resolution rather than idle-watch."""

import os
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pexpect
import pytest

from conftest import BUILD, run

IDLE = str(BUILD / "idle-watch" / "idle-watch")


def spawn(*args, timeout=60):
    return pexpect.spawn(IDLE, list(args), timeout=timeout, encoding="utf-8",
                         codec_errors="replace", dimensions=(24, 100))


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
    p.expect(r"\[idle-watch\] idle for 10s; closing in 4s unless you type")
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
    p.expect(r"\[idle-watch\] idle for 10s")
    # Type for a while: each read stamps the terminal (8-s windows).
    # Untouched, it would have ended by 15 + 9 s; it is still there.
    while time.monotonic() - start < 27:
        p.sendline("still here")
        time.sleep(1)
    assert p.isalive()
    p.sendeof()
    p.expect(pexpect.EOF)
    p.close()
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
    p.close()
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
    p.close()
    assert wait_none(token, 3), watchers(token)


def test_a_shells_wait_does_not_wait_for_the_watcher():
    p = spawn("-t", "60", "--", "bash", "--norc", "-i")
    p.sendline("wait; echo waited-$((6*7))")
    p.expect("waited-42", timeout=10)
    p.sendline("exit 3")
    p.expect(pexpect.EOF)
    p.close()
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


def test_missing_command_is_127():
    p = spawn("-t", "60", "--", "/nonexistent/cmd")
    p.expect("cannot run /nonexistent/cmd")
    p.expect(pexpect.EOF)
    p.close()
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
    p.close()
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
    p.close()
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


def test_gate_transfer_longer_than_the_timeout_is_not_idle(make_bastion):
    """THREATS row 25: a slow, steady non-PTY transfer is activity."""
    b = make_bastion(IDLE_INI)
    r = b.ssh("connect web1 -- sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do "
              "echo chunk; sleep 1; done'", timeout=60)
    assert (r.returncode, r.stdout.count("chunk")) == (0, 10), r.stderr
    assert b.sessions()[-1]["end_reason"] == "exit"


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
