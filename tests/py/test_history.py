"""Recording, command history and the secret-masking policy: real
sessions through a real gate sshd to a real target sshd, typed through
real terminals (pexpect), recordings checked with Debian's asciinema."""

import io
import json
import os
import re
import signal
import sqlite3
import stat
import subprocess
import time
import uuid
from pathlib import Path

import pexpect
import pytest

from conftest import AUTH_USER, GATE_USER, children, enroll, mode_of, run

MARK = "sg-mark"


def spawn(bastion, *args, rows=24, cols=80, env=None):
    argv = bastion.ssh_argv(*args, tty=True)
    return pexpect.spawn(argv[0], argv[1:], dimensions=(rows, cols),
                         timeout=20, encoding="utf-8", codec_errors="replace",
                         env=env)


def shell_ready(p):
    p.sendline(f"echo {MARK}$((40+2))")
    p.expect(f"{MARK}42")


def finish(p):
    p.sendline("exit")
    p.expect(pexpect.EOF)
    p.close()
    return p.exitstatus


def last_session(bastion):
    return bastion.sessions()[-1]


def session_running(b, command, timeout=60):
    """A terminal session to web1 that runs command (much output) and
    exits: its session row."""
    p = spawn(b, "connect", "web1")
    shell_ready(p)
    p.sendline(f"{command}; echo {MARK}-$((6*7))")
    p.expect(f"{MARK}-42", timeout=timeout)
    finish(p)
    return last_session(b)


def history(bastion, *args):
    more = () if "--limit" in args else ("--limit", "1000")
    r = bastion.ssh("history", "--json", *more, *args)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def commands(bastion, *args):
    return [h["command"] for h in history(bastion, *args)]


def cast_lines(path):
    lines = Path(path).read_bytes().split(b"\n")
    assert lines[-1] == b""
    return [json.loads(line.decode("utf-8")) for line in lines[:-1]]


def asciinema(*args):
    """Debian's asciinema wants a terminal (it opens /dev/tty): give it
    one. Returns what it printed."""
    p = pexpect.spawn("asciinema", list(map(str, args)), timeout=120,
                      env={"PATH": "/usr/bin:/bin", "HOME": "/root",
                           "LANG": "C.UTF-8", "TERM": "xterm"})
    out = p.read()
    p.close()
    assert p.exitstatus == 0, out[-2000:]
    return out


def asciinema_cat(path):
    """`asciinema cat` and `asciinema play` both accept the file."""
    asciinema("play", "-s", "1000", "-i", "0.001", path)
    return asciinema("cat", path)


def typed_session(bastion, lines, extra=()):
    """Type each line (a str sent as is) and wait for a fresh prompt mark
    after it, so echo and output are in before the next."""
    p = spawn(bastion, "connect", "web1")
    shell_ready(p)
    for i, line in enumerate(lines):
        if isinstance(line, list):
            # Keys one at a time, as a person types: each echo comes
            # back before the next key.
            for k in line:
                p.send(k)
                time.sleep(0.1)
        else:
            p.send(line)
        p.sendline(f"echo {MARK}-{i}-$((1+1))")
        p.expect(f"{MARK}-{i}-2")
    for line in extra:
        p.send(line)
    status = finish(p)
    return status, last_session(bastion)


# --- history from typed commands ---

def test_typed_commands_come_back_from_history(bastion):
    status, row = typed_session(bastion, ["echo hist-one\r",
                                          "ls / >/dev/null\r"])
    assert status == 0
    cmds = commands(bastion)
    assert "echo hist-one" in cmds
    assert "ls / >/dev/null" in cmds
    rows = history(bastion, "hist-one")
    assert [r["command"] for r in rows] == ["echo hist-one"]
    r = rows[0]
    assert r["user"] == "alice" and r["host"] == "web1"
    assert r["session"] == row["id"] and r["source"] == "typed"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["time"])
    assert r["blocked"] is False and r["flags"] == []
    # The text listing shows relative times.
    out = bastion.ssh("history", "hist-one").stdout
    assert re.search(r"(just now|\d+s ago)\s+web1\s+\d+\s+echo hist-one", out)
    # The recording exists, is 0600 and plays in asciinema.
    path = Path(row["recording"])
    assert path.is_file() and path.stat().st_mode & 0o777 == 0o600
    assert row["rec_status"].startswith("ok"), row["rec_status"]
    assert row["rec_files"] == 1 and row["rec_lost"] == 0
    assert "hist-one" in asciinema_cat(path).decode()
    head = cast_lines(path)[0]
    assert head["version"] == 2 and head["width"] == 80 and head["height"] == 24
    # Named by date, user and session id.
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", path.parent.name)
    assert path.name == f"alice.{row['id']}.cast"


def test_editing_keys_rebuild_the_edited_line(bastion):
    left, home, end = "\x1b[D", "\x1b[H", "\x1b[F"
    typed_session(bastion, [
        "echo abX\x7fc\r",                  # backspace, typed ahead
        "rm -rf /nowhere\x15echo killed\r",  # Ctrl-U
        "echo one two\x17three\r",          # Ctrl-W
        ["echo ac", left, "b", "\r"],        # left, insert
        ["cho start", home, "e", end, "ed", "\r"],  # home, end
        ["echo x", "\x7f", "y\r"],           # backspace, typed slowly
        "echo discarded\x03",               # Ctrl-C drops the line
    ])
    cmds = commands(bastion)
    for want in ["echo abc", "echo killed", "echo one three", "echo abc",
                 "echo started", "echo y"]:
        assert want in cmds, (want, [(r["command"], r["reason"], r["flags"]) for r in history(bastion)])
    assert not any("discarded" in c for c in cmds)
    assert not any("nowhere" in c for c in cmds)


def test_bracketed_paste_and_uncertain_lines(bastion):
    typed_session(bastion, [
        "\x1b[200~echo pasted-one\x1b[201~\r",
        "ls /us\t\r",                       # completion: flagged
        "echo tab-compl\t\r",               # ... and not allow-listed
        "\x1b[A\r",                         # history recall
    ])
    rows = history(bastion)
    pasted = [r for r in rows if r["command"] == "echo pasted-one"]
    assert pasted and "pasted" in pasted[0]["flags"]
    # An uncertain line is kept only if an allow rule vouches for it: a
    # recalled "mysql -u root" + typed " -pS3cret" must not be stored.
    tab = [r for r in rows if r["command"].startswith("ls /us")]
    assert tab and "uncertain" in tab[0]["flags"]
    assert not any("tab-compl" in json.dumps(r) for r in rows)
    assert any(r["blocked"] and "uncertain" in r["flags"] and
               "could not rebuild" in r["reason"] for r in rows)
    recalled = [r for r in rows if r["command"] == "" and r["blocked"] and
                "recalled" in r["reason"]]
    assert recalled


def test_paste_continuations_heredocs_and_keys_are_checked_whole(bastion):
    """A secret split across lines is still a secret: pastes are checked
    whole, backslash continuations joined, here-document bodies and
    private keys counted, never stored."""
    key = ("-----BEGIN OPENSSH PRIVATE KEY-----\n"
           "b3BlbnNzaC1rZXktdjEAAAAAsecretkeybody\n"
           "-----END OPENSSH PRIVATE KEY-----\n")
    typed_session(bastion, [
        "\x1b[200~true mysql -u root \\\n  -pS3cret-a db\x1b[201~\r",
        ["true mysql -u root \\\r", "  -pS3cret-b db\r"],
        ["cat > /dev/null <<'EOF'\r", "password: s3cret-c\r", "EOF\r"],
        # Typed into cat once it runs (keys typed ahead of a program
        # reach it in raw mode, where Ctrl-D is not an end of file).
        ["cat > /dev/null\r", key.replace("\n", "\r"), "\x04"],
    ])
    rows = history(bastion)
    text = json.dumps(rows)
    for secret in ["S3cret-a", "S3cret-b", "s3cret-c", "secretkeybody"]:
        assert secret not in text, secret
    reasons = [r["reason"] for r in rows]
    assert "here-document body: 1 line not stored" in reasons
    assert "a private key pasted or typed: 3 lines not stored" in reasons
    assert "cat > /dev/null <<'EOF'" in [r["command"] for r in rows]
    assert b"s3cret" not in Path(bastion.gate.db).read_bytes().lower()


# THREATS row 21, decision 1
def test_password_at_a_no_echo_prompt_is_never_stored(bastion):
    secret = "hunter2-" + uuid.uuid4().hex[:8]
    p = spawn(bastion, "connect", "web1")
    shell_ready(p)
    p.sendline("read -s -p 'Password: ' pw; echo; echo got-${#pw}")
    p.expect("Password: ")
    p.send(secret + "\r")
    p.expect(f"got-{len(secret)}")
    finish(p)
    row = last_session(bastion)
    rows = history(bastion)
    assert not any(secret in json.dumps(r) for r in rows)
    marker = [r for r in rows if r["blocked"] and "no-echo" in r["flags"]]
    assert marker, rows
    assert marker[0]["reason"] == f"{len(secret)} bytes typed with echo off"
    assert marker[0]["command"] == ""
    # The typed read itself is stored, the password is in no file.
    assert any(c.startswith("read -s") for c in commands(bastion))
    data = Path(row["recording"]).read_bytes()
    assert secret.encode() not in data
    out = bastion.gate.ctl("history", "--json").stdout
    assert secret not in out


# THREATS row 21, decision 1
def test_stty_echo_off_leaves_a_marker(bastion):
    """THREATS row 21: stty -echo cannot hide that something was typed."""
    hidden = f"/tmp/sg-hidden-{uuid.uuid4().hex[:6]}"
    p = spawn(bastion, "connect", "web1")
    shell_ready(p)
    p.sendline("stty -echo")
    p.sendline(f"echo {MARK}-off")
    p.expect(f"{MARK}-off")
    p.send(f"touch {hidden}\r")
    p.send("stty echo\r")
    p.sendline(f"echo {MARK}-on-$((2+2))")
    p.expect(f"{MARK}-on-4")
    finish(p)
    assert Path(hidden).exists()
    os.unlink(hidden)
    rows = history(bastion)
    assert not any("sg-hidden" in json.dumps(r) for r in rows)
    markers = [r for r in rows if "no-echo" in r["flags"]]
    # touch ... and stty echo were both typed with echo off.
    assert len(markers) >= 2, rows
    assert any(r["reason"] == f"{len('touch ' + hidden)} bytes typed with "
               "echo off" for r in markers)


# --- the policy ---

def test_masking_and_blocking(bastion):
    typed_session(bastion, [
        "echo run --token=tok-s3cret-1\r",
        "true curl -H 'Authorization: Bearer abc-s3cret-2' http://x\r",
        "export API_TOKEN=tok-s3cret-3\r",
        "echo 'https://bob:pw-s3cret-4@example.com/'\r",
    ])
    rows = history(bastion)
    text = json.dumps(rows)
    for n in range(1, 5):
        assert f"s3cret-{n}" not in text
    cmds = [r["command"] for r in rows]
    assert "echo run --token=***" in cmds
    assert "echo 'https://bob:***@example.com/'" in cmds
    blocked = [r for r in rows if r["blocked"]]
    reasons = " ".join(r["reason"] for r in blocked)
    assert len([r for r in blocked if "no-echo" not in r["flags"]]) >= 2
    assert all(r["command"] == "" for r in blocked)
    assert "http-auth-header" in reasons and "secret-variable" in reasons
    # And nothing of them in the database file itself.
    assert b"s3cret" not in Path(bastion.gate.db).read_bytes()


def test_session_row_and_syslog_never_hold_a_secret(bastion, syslog):
    """The remote command in the session row and in syslog, and a refused
    command line in syslog, go through the policy too."""
    bastion.ssh("connect web1 -- true mysql -pS3cret-row db")
    bastion.ssh("connect web1 -- echo --token=S3cret-mask")
    # Two rows of the same second: ids are random, so compare as a set.
    assert sorted(r["command"] for r in bastion.sessions()) == \
        ["[blocked: mysql-password]", "echo --token=***"]
    r = bastion.ssh("conect web1 -- mysql -pS3cret-refused db")
    assert r.returncode == 2
    assert syslog.wait_for(r"refused command '\[blocked: mysql-password\]'")
    assert not any("S3cret" in line for line in syslog.lines())
    assert b"S3cret" not in Path(bastion.gate.db).read_bytes()


def test_strict_mode_keeps_only_the_allowlist(make_bastion):
    b = make_bastion("[history]\nmode = strict\n")
    typed_session(b, ["uptime\r", "echo not-allowed-x\r"])
    rows = history(b)
    assert any(r["command"] == "uptime" for r in rows)
    na = [r for r in rows if r["blocked"] and "allowlist" in r["reason"]]
    assert na and not any("not-allowed-x" in json.dumps(r) for r in rows)


def test_custom_policy_file(make_bastion, tmp_path):
    b = make_bastion()
    pol = b.gate.root / "policy.ini"
    pol.write_text("[block]\nsg-deploy = ^deploy-prod\\b\n"
                   "[mask]\nsg-pin = (--pin=)\\S+\n")
    os.chmod(pol, 0o644)
    with open(b.gate.config, "a") as f:
        f.write(f"[history]\npolicy_file = {pol}\n")
    typed_session(b, ["deploy-prod now 2>/dev/null\r",
                      "echo --pin=4242\r"])
    rows = history(b)
    assert any(r["blocked"] and "sg-deploy" in r["reason"] for r in rows)
    assert "echo --pin=***" in [r["command"] for r in rows]
    r = b.gate.ctl("policy", "test", "echo --pin=1234")
    assert "stored: echo --pin=***" in r.stdout and "sg-pin" in r.stdout
    r = b.gate.ctl("policy", "test", "deploy-prod x")
    assert "blocked" in r.stdout and "sg-deploy" in r.stdout
    r = b.gate.ctl("policy", "check")
    assert r.returncode == 0 and str(pol) in r.stdout


def test_broken_policy_stores_nothing_unmasked(make_bastion):
    b = make_bastion()
    pol = b.gate.root / "policy.ini"
    pol.write_text("[mask]\nbad = (unclosed\n")
    os.chmod(pol, 0o644)
    r = b.gate.ctl("policy", "check", str(pol), check=False)
    assert r.returncode == 2
    assert r.stderr.startswith(f"gatectl: {pol}:2:"), r.stderr
    with open(b.gate.config, "a") as f:
        f.write(f"[history]\npolicy_file = {pol}\n")
    typed_session(b, ["echo --password=pw-s3cret\r"])
    rows = history(b)
    assert rows and all(r["blocked"] for r in rows if r["source"] == "typed")
    assert all("policy unavailable" in r["reason"] for r in rows
               if r["source"] == "typed" and "no-echo" not in r["flags"])
    assert b"pw-s3cret" not in Path(b.gate.db).read_bytes()


def test_shipped_policy_example_loads(gate):
    ex = gate.root / "policy.ini.example"
    ex.write_bytes((Path(os.environ["SSHGATE_SOURCE"]) / "etc" /
                    "policy.ini.example").read_bytes())
    os.chmod(ex, 0o644)
    r = gate.ctl("policy", "check", str(ex))
    assert "JIT" in r.stdout or "interpreted" in r.stdout


def test_policy_file_errors_name_file_and_line(gate):
    cases = {
        "[block]\nx = " + "a" * 250 + "\n": ":2: line longer",
        "[mask]\nx = a ;b\n": ":2:",
        "[nope]\n": ":1:",
        "[block]\nx = (\n": ":2:",
        "[block]\nx = a\nx = b\n": ":3:",
    }
    for text, want in cases.items():
        f = gate.root / f"p-{uuid.uuid4().hex[:6]}.ini"
        f.write_text(text)
        r = gate.ctl("policy", "check", str(f), check=False)
        assert r.returncode == 2, (text, r.stderr)
        assert f"{f}{want}" in r.stderr, (text, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1


# --- non-interactive sessions ---

# THREATS row 22
def test_exec_command_is_history_and_input_is_not_recorded(bastion):
    """THREATS row 22: a script on stdin leaves an explicit trace."""
    r = bastion.ssh("connect", "web1", "--", "bash", input="echo from-script\n")
    assert r.returncode == 0 and "from-script" in r.stdout
    row = last_session(bastion)
    assert row["tty"] == 0 and row["bytes_in"] == len(b"echo from-script\n")
    assert "input not recorded" in row["rec_status"]
    rows = history(bastion)
    assert [r["command"] for r in rows if r["source"] == "exec"] == ["bash"]
    r = bastion.ssh("connect web1 -- printf '%s\\n' 'a;b'")
    assert r.stdout == "a;b\n"
    assert "printf '%s\\n' 'a;b'" in commands(bastion)


# --- recordings ---

# THREATS row 30
def test_binary_output_and_hostile_term_give_a_valid_recording(bastion):
    """THREATS row 30."""
    env = dict(os.environ, TERM='xterm","x":"\x1b')
    p = spawn(bastion, "connect", "web1", env=env)
    shell_ready(p)
    p.sendline("head -c 4096 /dev/urandom; printf '\\xe2\\x82'; "
               f"printf '\\xac\\n'; echo {MARK}-$((3*3))")
    p.expect(f"{MARK}-9")
    finish(p)
    path = last_session(bastion)["recording"]
    lines = cast_lines(path)
    assert "x" not in lines[0]
    assert all(isinstance(e, list) and len(e) == 3 for e in lines[1:])
    text = "".join(e[2] for e in lines[1:] if e[1] == "o")
    assert "\u20ac" in text      # the euro sign split across printf calls
    asciinema_cat(path)


def test_resize_is_recorded(bastion):
    p = spawn(bastion, "connect", "web1", rows=24, cols=80)
    shell_ready(p)
    p.setwinsize(30, 100)
    p.sendline("stty size")
    p.expect("30 100")
    finish(p)
    lines = cast_lines(last_session(bastion)["recording"])
    assert lines[0]["width"] == 80 and lines[0]["height"] == 24
    assert ["r", "100x30"] in [e[1:] for e in lines[1:]]


def test_size_limit_starts_continuation_files(make_bastion):
    b = make_bastion("[recording]\nmax_file_size = 64K\n")
    row = session_running(b, "seq 1 60000 | tail -n 3; seq 1 40000 "
                          ">/dev/tty")
    assert row["rec_files"] >= 3, row
    first = Path(row["recording"])
    files = [first] + [first.with_name(f"alice.{row['id']}.{i}.cast")
                       for i in range(2, row["rec_files"] + 1)]
    text = ""
    for f in files:
        assert f.stat().st_size <= 64 * 1024 + 1024
        assert f.stat().st_mode & 0o777 == 0o600
        text += asciinema_cat(f).decode()
    assert "39999" in text and f"{MARK}-42" in text
    # replay plays every file.
    r = b.ssh("replay", str(row["id"]))
    assert r.returncode == 0 and "39999" in r.stdout


# THREATS row 21, decision 1
def test_record_input_keeps_echoed_keys_only(make_bastion):
    """record_input = yes: the keys of echoed lines are "i" events; a
    password typed at a no-echo prompt is not (decision 1)."""
    b = make_bastion("[recording]\nrecord_input = yes\n")
    secret = "pw-" + uuid.uuid4().hex[:8]
    p = spawn(b, "connect", "web1")
    shell_ready(p)
    p.sendline("echo typed-in-$((2+3))")
    p.expect("typed-in-5")
    p.sendline("read -s -p 'Password: ' pw; echo; echo got-${#pw}")
    p.expect("Password: ")
    p.send(secret + "\r")
    p.expect(f"got-{len(secret)}")
    finish(p)
    row = last_session(b)
    events = cast_lines(row["recording"])[1:]
    keys = "".join(e[2] for e in events if e[1] == "i")
    assert "echo typed-in-$((2+3))\n" in keys   # pexpect's Enter
    assert secret not in keys
    assert secret.encode() not in Path(row["recording"]).read_bytes()
    assert row["rec_status"] == "ok", row["rec_status"]
    asciinema_cat(row["recording"])


# THREATS row 16
def test_stalled_recorder_never_freezes_the_terminal(bastion):
    """A recorder that cannot keep up loses data, counted; the user's
    output keeps flowing."""
    p = spawn(bastion, "connect", "web1")
    shell_ready(p)
    row = last_session(bastion)
    recorders = [c for c in children(row["pid"])
                 if Path(f"/proc/{c}/comm").read_text().strip() ==
                 "gate-recorder"]
    assert len(recorders) == 1
    for c in recorders:
        os.kill(c, signal.SIGSTOP)
    try:
        p.sendline(f"head -c 4000000 /dev/zero | tr '\\0' x | fold -w 100; "
                   f"echo {MARK}-$((6*7))")
        p.expect(f"{MARK}-42", timeout=120, searchwindowsize=200)
        # Still stopped when the session ends: the user may leave anyway
        # (gate-shell waits 10 s for it at most).
        p.sendline("exit")
        p.expect(pexpect.EOF, timeout=60)
        p.close()
        row = last_session(bastion)
        assert row["end_reason"] == "exit"
        assert row["rec_status"].startswith("incomplete"), row["rec_status"]
    finally:
        for c in recorders:
            os.kill(c, signal.SIGCONT)
    # Let go, it finishes on its own and says what it lost.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        row = last_session(bastion)
        if not row["rec_status"].startswith("incomplete"):
            break
        time.sleep(0.2)
    assert row["rec_lost"] > 1000000, row
    assert row["rec_status"].startswith("partial:"), row["rec_status"]
    asciinema_cat(row["recording"])


# THREATS row 16
def test_full_disk_keeps_whole_lines_and_counts_the_loss(make_bastion):
    b = make_bastion()
    rec = b.gate.state / "recordings"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k,mode=0700",
                    "sg-full", str(rec)], check=True)
    try:
        os.chown(rec, *uid_gid(GATE_USER))
        row = session_running(b, "seq 1 200000", timeout=120)
        assert row["rec_lost"] > 0 and row["rec_status"].startswith("partial")
        assert "No space left" in row["rec_status"], row["rec_status"]
        asciinema_cat(row["recording"])
        assert any("seq 1 200000" in c for c in commands(b))
    finally:
        subprocess.run(["umount", "-l", str(rec)])


# What each unsafe recordings directory is refused with.
BAD_RECORDINGS = {
    "symlink": "recordings directory",
    "unwritable": "not writable",
    "world-writable": "not be writable by group or others",
    "other-owner": "must be owned by the gate account",
    "day-symlink": "is a symbolic link",
}


# THREATS row 16, B5
@pytest.mark.parametrize("how", list(BAD_RECORDINGS))
def test_bad_recordings_dir_is_refused_and_history_stays(make_bastion, how):
    """THREATS row 16 (the session says it is not recorded, the row says
    why) and B5: the directory a symlink, unwritable, writable by others
    or someone else's, or today's directory in it a symlink planted by
    whoever could write there: nothing is written through the link."""
    b = make_bastion()
    rec = b.gate.state / "recordings"
    other = b.gate.root / "elsewhere"
    other.mkdir()
    os.chown(other, *uid_gid(GATE_USER))
    if how == "symlink":
        os.rmdir(rec)
        os.symlink(other, rec)
    elif how == "unwritable":
        os.chmod(rec, 0o500)
    elif how == "world-writable":
        os.chmod(rec, 0o777)
    elif how == "other-owner":
        os.chown(rec, 0, 0)
        os.chmod(rec, 0o755)
    else:
        # Tomorrow's too (UTC): the session may start after midnight.
        for t in (time.time(), time.time() + 86400):
            day = time.strftime("%Y-%m-%d", time.gmtime(t))
            os.symlink(other, rec / day)
    before = os.lstat(rec)
    p = spawn(b, "connect", "web1")
    p.expect(r"this session is not recorded: ([^\r\n]+)\r\n")
    why = p.match.group(1)
    assert BAD_RECORDINGS[how] in why, why
    shell_ready(p)
    p.sendline("echo still-kept")
    p.expect("still-kept")
    finish(p)
    row = last_session(b)
    assert row["recording"] == ""
    # The same reason (cut to fit the row when the path is long).
    status = row["rec_status"]
    assert status.startswith("failed: ") and len(status) > 40
    assert why.startswith(status[8:]), (why, status)
    assert "echo still-kept" in commands(b)
    assert list(other.iterdir()) == []
    after = os.lstat(rec)
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)


# THREATS B5
def test_recording_files_and_directories_are_the_gates_alone(make_bastion):
    """THREATS B5: after a session that fills several files, everything
    under recordings/ is the gate account's: directories 0700, every file
    0600 and a regular file. The database and its -wal and -shm, written
    by the session, stay 0640 for the auth account's group."""
    b = make_bastion("[recording]\nmax_file_size = 64K\n")
    row = session_running(b, "seq 1 30000")
    assert row["rec_files"] >= 2, row
    uid, gid = uid_gid(GATE_USER)
    rec = b.gate.state / "recordings"
    assert mode_of(rec) == (0o700, uid, gid)
    files = []
    for d, dirs, names in os.walk(rec):
        for n in dirs:
            assert stat.S_ISDIR(os.lstat(Path(d, n)).st_mode), n
            assert mode_of(Path(d, n)) == (0o700, uid, gid), n
        for n in names:
            assert stat.S_ISREG(os.lstat(Path(d, n)).st_mode), n
            assert mode_of(Path(d, n)) == (0o600, uid, gid), n
            files.append(n)
    assert len(files) == row["rec_files"], files
    auth_gid = uid_gid(AUTH_USER)[1]
    for f in ("gate.db", "gate.db-wal", "gate.db-shm"):
        assert mode_of(b.gate.state / f) == (0o640, uid, auth_gid), f


def gate_answers(gate, key_id, pub):
    """(gate-shell whoami, authkeys-cmd for the key, gatectl user list) as
    the gate would run them, each a CompletedProcess."""
    return (gate.shell("whoami --json", key_id=key_id, auth_key=pub),
            gate.authkeys(GATE_USER, *pub.split()[:2]),
            gate.ctl("user", "list", check=False))


# THREATS B5
@pytest.mark.parametrize("name", ["gate.db", "gate.db-wal", "gate.db-shm"])
def test_database_links_are_never_followed(gate, keygen, name):
    """THREATS B5: the database replaced by a link to another database
    (one where alice is an admin), or its -wal or -shm by a link to a
    file root owns (standing for /etc/shadow), planted by whoever can
    write state_dir: gate-shell, authkeys-cmd and gatectl (as root) refuse
    to open it, init too, and the link's target is neither read as the
    gate's database nor written. (The database is opened with
    SQLITE_OPEN_NOFOLLOW; SQLite opens -wal and -shm with O_NOFOLLOW.)"""
    _, pub = keygen("alice")
    kid = enroll(gate, "alice", pub)
    target = gate.root / "target"
    if name == "gate.db":
        src, dst = sqlite3.connect(gate.db), sqlite3.connect(target)
        src.backup(dst)
        dst.execute("UPDATE users SET is_admin = 1")
        dst.commit()
        src.close()
        dst.close()
        os.chown(target, uid_gid(GATE_USER)[0], uid_gid(AUTH_USER)[1])
        os.chmod(target, 0o640)
    else:
        target.write_text("root:stand-in for a file of root's\n")
    link = gate.state / name
    if link.exists():
        os.unlink(link)
    os.symlink(target, link)
    before = (target.read_bytes(), mode_of(target))
    shell, auth, ctl = gate_answers(gate, kid, pub)
    assert shell.returncode == 1 and shell.stdout == ""
    assert "database is unavailable" in shell.stderr
    assert auth.returncode == 1 and auth.stdout == ""
    assert ctl.returncode == 1 and "unable to open database" in ctl.stderr
    r = gate.ctl("init", check=False)
    assert r.returncode == 1
    if name == "gate.db":
        assert "is a symlink: refusing to use it" in r.stderr
    assert (target.read_bytes(), mode_of(target)) == before
    assert link.is_symlink()


# THREATS B5 (adversary A6)
@pytest.mark.parametrize("what", ["database", "wal", "state_dir"])
def test_database_writable_by_others_is_refused(gate, keygen, what):
    """THREATS B5 and A6: a database anyone may rewrite, or a state_dir in
    which anyone may replace it, decides nothing: gate-shell and gatectl
    refuse it and authkeys-cmd prints no key (SECURITY.md: an unsafe
    database is exit 1, nothing printed); gatectl init repairs the mode
    and all work again."""
    _, pub = keygen("alice")
    kid = enroll(gate, "alice", pub)
    # The WAL's pages are read as the database's own.
    path = {"database": gate.db, "wal": gate.state / "gate.db-wal",
            "state_dir": gate.state}[what]
    assert path.exists()
    mode = mode_of(path)[0]
    os.chmod(path, mode | 0o022)
    shell, auth, ctl = gate_answers(gate, kid, pub)
    assert shell.returncode == 1 and shell.stdout == ""
    assert "database is unavailable" in shell.stderr
    assert auth.returncode == 1 and auth.stdout == ""
    assert ctl.returncode == 1
    assert "is writable by group or others" in ctl.stderr, ctl.stderr
    assert gate.ctl("init").stdout.startswith("repaired owners or modes")
    assert mode_of(path)[0] == mode
    shell, auth, ctl = gate_answers(gate, kid, pub)
    assert shell.returncode == 0 and json.loads(shell.stdout)["user"] == \
        "alice"
    assert auth.returncode == 0 and "sshgate:alice" in auth.stdout
    assert ctl.returncode == 0 and "alice" in ctl.stdout


# THREATS row 16
def test_required_recording_refuses_the_session(make_bastion):
    b = make_bastion("[recording]\nrequired = yes\n")
    os.chmod(b.gate.state / "recordings", 0o500)
    r = b.ssh("connect", "web1", "--", "true")
    assert r.returncode == 1
    assert "requires recordings" in r.stderr
    row = last_session(b)
    assert row["end_reason"] == "error"


# --- replay ---

# THREATS row 29, decision 2
def test_replay_neutralises_terminal_queries(bastion):
    """THREATS row 29 and decision 2: the file keeps the bytes, replay
    does not send them to the viewer's terminal."""
    p = spawn(bastion, "connect", "web1")
    shell_ready(p)
    p.sendline("printf 'Q1\\033[6nQ2\\033]52;c;?\\007Q3\\033[21tQ4"
               "\\033]8;;\\033\\\\0m\\033[>0qQ5\\033P$qm\\033\\\\Q6\\n'")
    p.expect("Q6")
    # The rest of row 29's list: a title, an OSC 52 clipboard write, DA,
    # DECRQSS, less's OSC 8 bypass (ESC 0 where the terminator should
    # be) and an 8-bit CSI, as a raw byte and as UTF-8 (U+009B). The
    # title and clipboard text are spelt in octal, so the echoed command
    # line does not hold them.
    p.sendline("printf 'R1\\033]0;pw\\156ed\\007R2\\033]52;c;aGVs\\142G8="
               "\\007R3\\033[cR4\\033P$q\"p\\033\\\\R5\\033]8;;\\0330m"
               "\\033[>0qR6\\2336nR7\\302\\2336nR8-%s\\n' $((4+4))")
    p.expect("R8-8")
    finish(p)
    row = last_session(bastion)
    raw = "".join(e[2] for e in cast_lines(row["recording"])[1:]
                  if e[1] == "o")
    assert "\x1b[6n" in raw and "\x1b]52;c;?" in raw     # faithful file
    assert "\x1b]0;pwned\x07" in raw and "\x1b]52;c;aGVsbG8=\x07" in raw
    assert "\x1b]8;;\x1b0m\x1b[>0q" in raw and "\x9b6n" in raw
    r = run(bastion.ssh_argv("replay", str(row["id"])), text=False)
    assert r.returncode == 0
    out = r.stdout
    assert b"Q1Q2Q3Q4" in out.replace(b"0m", b"") or b"Q1Q2Q3Q4" in out
    for bad in [b"\x1b[6n", b"\x1b]52", b"\x1b[21t", b"\x1b[>0q", b"\x1bP",
                b"\x1b]8", b"\x1b]0;", b"pwned", b"aGVsbG8=", b"\x1b[c",
                b"\x9b"]:
        assert bad not in out, bad
    # The text around them is shown, in order (what is left of a broken
    # sequence, like the 6n after an 8-bit CSI, shows as plain text).
    shown = out.replace(b"\xef\xbf\xbd", b"").replace(b"6n", b"")
    assert b"R1R2R3R4R5R6R7R8-8" in shown.replace(b"m", b""), out
    # With a terminal: timed play to the end ...
    p = spawn(bastion, "replay", str(row["id"]), "--speed", "4")
    p.expect("end of the recording")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0
    # ... and its own keys: other keys are discarded, q quits.
    p = spawn(bastion, "replay", str(row["id"]), "--speed", "0.0625")
    p.expect("q quits")
    p.send("x ")
    p.send("  q")
    p.expect("replay stopped", timeout=20)
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


# THREATS decision 2
def test_replay_ignores_keys_that_are_not_its_own(bastion):
    """Decision 2: while replay plays, what the viewer's terminal answers
    (a cursor report, device attributes, a colour), arrow keys and a
    typed command line are read and dropped: nothing is echoed or run,
    the output is the filtered recording and nothing else, and q still
    quits."""
    r = bastion.ssh("connect web1 -- sh -c 'echo W1; sleep 1; echo W2; "
                    "sleep 1; echo W3'", tty=True)
    assert r.returncode == 0 and "W3" in r.stdout
    sid = str(last_session(bastion)["id"])
    # Without a terminal replay plays at once and reads no keys: the
    # reference output.
    plain = run(bastion.ssh_argv("replay", sid), text=False).stdout.decode()
    assert "W1" in plain and "W3" in plain
    # None of replay's keys (q Q space + = - _ Ctrl-C Ctrl-D) in here.
    foreign = ["\x1b[12;40R", "\x1b[?62;22c", "\x1b]11;rgb:0000/0000/0000\x07",
               "\x1b[6n", "\x1b[A", "ls\r", "id\r", "\t"]
    p = spawn(bastion, "replay", sid)
    p.logfile_read = seen = io.StringIO()
    p.expect("q quits")
    p.expect("W1")
    for k in foreign:
        p.send(k)
    p.expect("W2")
    for k in foreign:
        p.send(k)
    p.expect("end of the recording")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0
    # The same bytes as without a terminal, but for the first line (the
    # keys to use).
    assert seen.getvalue().split("\r\n", 1)[1] == plain.split("\r\n", 1)[1]
    # Slowed down, the keys do not end it or hurry it; q does.
    p = spawn(bastion, "replay", sid, "--speed", "0.25")
    p.logfile_read = seen = io.StringIO()
    p.expect("W1")
    for k in foreign:
        p.send(k)
    p.send("q")
    p.expect("replay stopped")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0 and "W2" not in seen.getvalue()


# THREATS row 23 (and the gitolite traversal regressions)
def test_replay_access_and_bad_ids(make_bastion, keygen):
    b = make_bastion()
    b.ssh("connect", "web1", "--", "true")
    sid = last_session(b)["id"]
    key, pub = keygen("bob")
    enroll(b.gate, "bob", pub)
    other = run(b.sshd.ssh_argv(key, "replay", str(sid), opts=("-T",)))
    missing = run(b.sshd.ssh_argv(key, "replay", "1234567890", opts=("-T",)))
    assert other.returncode == missing.returncode == 3
    assert other.stderr.replace(str(sid), "ID") == \
        missing.stderr.replace("1234567890", "ID")
    for bad in ["../1", "1/../../etc/passwd", "1x", "-1"]:
        r = b.ssh("replay", bad)
        assert r.returncode == 2, bad
    r = b.ssh("history", "--output=/tmp/x")
    assert r.returncode == 2
    r = b.ssh("replay", str(sid), "--speed", "0")
    assert r.returncode == 2


# --- history verbs ---

def test_history_options(make_bastion, keygen):
    b = make_bastion(admin=False)
    typed_session(b, ["echo same-cmd\r", "echo same-cmd\r", "echo other\r"])
    uniq = history(b, "--unique")
    same = [r for r in uniq if r["command"] == "echo same-cmd"]
    assert len(same) == 1 and same[0]["uses"] == 2 and "last" in same[0]
    assert len(history(b, "--limit", "2")) == 2
    first = history(b, "--limit", "1")[0]
    second = history(b, "--limit", "1", "--offset", "1")[0]
    assert first["id"] > second["id"]
    assert history(b, "--host", "nosuch") == []
    assert history(b, "--all-hosts", "same-cmd")
    r = b.ssh("history", "--host", "web1", "--all-hosts")
    assert r.returncode == 2
    # Users see their own; --user, clear and purge are for admins.
    key, pub = keygen("carol")
    enroll(b.gate, "carol", pub)
    carol = run(b.sshd.ssh_argv(key, "history", "--json", opts=("-T",)))
    assert json.loads(carol.stdout) == []
    for args in (["history", "--user", "alice"],
                 ["history", "clear", "--host", "web1"],
                 ["history", "purge", "--days", "1"]):
        r = run(b.sshd.ssh_argv(key, *args, opts=("-T",)))
        assert r.returncode == 3, args
    akey, apub = keygen("root-admin")
    enroll(b.gate, "ada", apub, admin=True)
    ada = lambda *a: run(b.sshd.ssh_argv(akey, *a, opts=("-T",)))
    r = ada("history", "--user", "alice", "--json")
    assert any(x["command"] == "echo same-cmd" for x in json.loads(r.stdout))
    # "clear" as a query needs "--".
    r = ada("history", "--json", "--", "clear")
    assert r.returncode == 0
    b.gate.sql("UPDATE command_log SET created_at = created_at - 40 * 86400 "
               "WHERE command = 'echo other'")
    r = ada("history", "purge", "--days", "30")
    assert r.returncode == 0 and r.stdout.startswith("1 command older")
    r = ada("history", "clear", "--host", "web1")
    assert r.returncode == 0
    assert history(b) == []


def test_retention_purges_old_commands(make_bastion):
    b = make_bastion("[history]\nretention_days = 7\n")
    typed_session(b, ["echo old-one\r"])
    b.gate.sql("UPDATE command_log SET created_at = created_at - 8 * 86400")
    b.gate.sql("DELETE FROM meta")
    b.ssh("connect", "web1", "--", "true")
    cmds = commands(b)
    assert "echo old-one" not in cmds and "true" in cmds


def test_gatectl_recordings_and_history(bastion):
    bastion.ssh("connect", "web1", "--", "echo", "listed")
    row = last_session(bastion)
    r = bastion.gate.ctl("recordings", "--user", "alice", "--json")
    recs = json.loads(r.stdout)
    assert recs[0]["session"] == row["id"]
    assert recs[0]["path"] == row["recording"] and recs[0]["status"]
    assert bastion.gate.ctl("recordings", "--host", "nosuch",
                            "--json").stdout.strip() == "[]"
    r = bastion.gate.ctl("recordings")
    assert str(row["id"]) in r.stdout
    r = bastion.gate.ctl("history", "listed", "--json")
    assert json.loads(r.stdout)[0]["command"] == "echo listed"
    r = bastion.gate.ctl("recordings", "--user", "../x", check=False)
    assert r.returncode == 2


# --- stored text meets a terminal ---

# THREATS row 29: what a target or a user would like to reach a viewer's
# terminal through stored text: a title, an OSC 52 clipboard write, a
# cursor position query (DSR), device attributes (DA), DECRQSS, a title
# report (CSI 21t), less's OSC 8 bypass and an 8-bit CSI. The title comes
# first so that short columns (login, host), cut to fit, still hold it.
ATTACKS = ["\x1b]0;pwned\x07", "\x1b]52;c;aGVsbG8=\x07", "\x1b[6n", "\x1b[c",
           "\x1bP$q\"p\x1b\\", "\x1b[21t", "\x1b]8;;\x1b0m\x1b[>0q", "\x9b6n"]
HOSTILE = "".join(ATTACKS)
SHOWN = "\\x1b]0;pwned\\x07"        # the title as a text listing shows it


def assert_inert(out, what):
    """out (bytes) is UTF-8 with no C0 control but newline, no DEL and no
    C1 control, so nothing in it can start a sequence: a raw 0x9b byte is
    not UTF-8, U+009B is a C1 control. Returns the text."""
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError as e:
        pytest.fail(f"{what}: not UTF-8 ({e}): {out[:300]!r}")
    bad = sorted({hex(ord(c)) for c in text
                  if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0})
    assert not bad, (what, bad, text[:300])
    return text


def json_strings(v):
    """Every string in a parsed JSON value."""
    if isinstance(v, str):
        yield v
    elif isinstance(v, list):
        for x in v:
            yield from json_strings(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from json_strings(x)


# THREATS row 29, decision 2
def test_listings_print_stored_sequences_inert(bastion):
    """THREATS row 29, decision 2: gate-shell's history, whoami and replay
    header, and gatectl's history, recordings, session list, key list and
    user list print stored text escaped; their JSON is valid and keeps the
    text, with every control escaped."""
    b, g = bastion, bastion.gate
    # Typed, a sequence is stored as the words typed (inert); a literal
    # ESC (Ctrl-V Esc) is echoed by bash as ^[, so that line is not stored
    # as text at all.
    typed_session(b, ["echo $'\\e]0;typed\\a'\r",
                      "echo A\x16\x1b]0;literal\x16\x07B\r"])
    cmds = commands(b)
    assert "echo $'\\e]0;typed\\a'" in cmds
    assert not any("\x1b" in c or "literal" in c for c in cmds), cmds
    # A typed command cannot bring a control character into the database,
    # nor can exec commands (refused, exit 2) or names (checked at
    # enrolment); a database tampered with or written by an older version
    # can hold anything. So rows are written straight into it: the
    # listings must be safe whatever it holds.
    row = last_session(b)
    g.sql("UPDATE sessions SET user_name = ?, host_name = ?, login = ?, "
          "command = ?, peer = ?, message = ?, rec_status = ? WHERE id = ?",
          HOSTILE + "u", HOSTILE + "h", HOSTILE + "l", HOSTILE + "c",
          HOSTILE + "p", HOSTILE + "m", HOSTILE + "s", row["id"])
    recdir = g.state / "recordings"
    for sid, rec in ((1000000001, f"{recdir}/{HOSTILE}.cast"),
                     (1000000002, "")):
        g.sql("INSERT INTO sessions (id, user_id, user_name, host_name, "
              "login, started_at, ended_at, end_reason, recording, "
              "rec_status, rec_files) SELECT ?, user_id, user_name, "
              "host_name, login, started_at, ended_at, 'exit', ?, ?, 1 "
              "FROM sessions WHERE id = ?", sid, rec, HOSTILE + "s",
              row["id"])
    for cmd, blocked, reason in ((HOSTILE + "cmd", 0, ""),
                                 ("", 1, HOSTILE + "why")):
        g.sql("INSERT INTO command_log (created_at, host, user, session_id, "
              "command, source, is_blocked, blocked_reason, username, "
              "host_name) SELECT strftime('%s', 'now'), host, user, "
              "session_id, ?, 'typed', ?, ?, ?, ? FROM command_log "
              "LIMIT 1", cmd, blocked, reason, HOSTILE + "u", HOSTILE + "h")
    # Not UTF-8 at all: a raw 8-bit CSI byte.
    g.sql("INSERT INTO command_log (created_at, host, user, session_id, "
          "command, source, username, host_name) SELECT strftime('%s', "
          "'now'), host, user, session_id, CAST(? AS TEXT), 'typed', "
          "username, host_name FROM command_log LIMIT 1",
          b"raw\x9b6n\x1b]0;raw\x07")
    g.sql("UPDATE keys SET comment = ? WHERE id = ?", HOSTILE + "k",
          b.key_id)
    g.ctl("user", "add", "mallory")
    g.sql("UPDATE users SET name = ? WHERE name = 'mallory'", HOSTILE)

    def check(argv, r):
        assert r.returncode == 0, (argv, r.stderr)
        out = assert_inert(r.stdout, argv)
        assert_inert(r.stderr, argv)
        if "--json" not in argv:
            assert SHOWN in out, (argv, out)
            return
        got = list(json_strings(json.loads(out)))
        assert any(s.startswith(ATTACKS[0]) for s in got), (argv, got)
        return got

    for argv in (["history"], ["history", "--json"], ["whoami", "--json"]):
        got = check(argv, run(b.ssh_argv(*argv), text=False))
        if argv == ["history", "--json"]:
            # Escaped, not lost: the text comes back whole from the JSON.
            assert HOSTILE + "cmd" in got and HOSTILE + "why" in got
            assert "raw\ufffd6n\x1b]0;raw\x07" in got
    gatectl = [g.bindir / "gatectl", "-c", g.config]
    for argv in (["history"], ["history", "--json"], ["recordings"],
                 ["recordings", "--json"], ["session", "list", "--all"],
                 ["session", "list", "--all", "--json"], ["key", "list"],
                 ["key", "list", "--json"], ["user", "list"],
                 ["user", "list", "--json"]):
        got = check(argv, run(gatectl + argv, text=False))
        if argv == ["session", "list", "--all", "--json"]:
            for f in "cm":          # (the peer column is too short)
                assert HOSTILE + f in got, f
        if argv == ["recordings", "--json"]:
            assert f"{recdir}/{HOSTILE}.cast" in got
    # replay prints the session's login and host before playing, and the
    # reason there is no recording when there is none.
    r = run(b.ssh_argv("replay", str(row["id"])), text=False)
    assert r.returncode == 0
    head = assert_inert(r.stdout.split(b"\r\n")[0], "replay")
    assert head.startswith(f"[sshgate] replay of session {row['id']} "
                           f"({SHOWN}") and head.count(SHOWN) == 2
    r = run(b.ssh_argv("replay", "1000000002"), text=False)
    assert r.returncode == 1 and r.stdout == b""
    assert SHOWN in assert_inert(r.stderr, "replay without a recording")


# --- helpers on /proc ---

def uid_gid(name):
    import pwd
    pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid
