"""Live session sharing (issue 6): share, unshare, attach, sessions.

alice's session is a real terminal session through the gate (pexpect on
the real ssh client); bob, carol and an admin attach with their own keys
through the same sshd. The session's socket is checked from the outside
too: its mode, who may connect, what a hostile peer sends, and links
planted where the socket or its directory should be."""

import concurrent.futures
import json
import os
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pexpect
import pytest

from conftest import GATE_USER, enroll, free_port, run
from test_connect import MARK, live_session, shell_ready, spawn
from test_history import (ATTACKS, HOSTILE, SHOWN, asciinema_cat,
                          assert_inert, cast_lines, json_strings)


class Party:
    """The bastion, alice's live session and a few more users."""

    def __init__(self, bastion, keygen, extra_users=("bob", "carol")):
        self.b = bastion
        self.keys = {"alice": bastion.key}
        for u in extra_users:
            key, pub = keygen(f"{u}-{free_port()}")
            enroll(bastion.gate, u, pub, admin=(u == "root-admin"))
            self.keys[u] = key
        # bob may reach web1 himself: a co-driver needs the grant a
        # connect would (test_co_driver_needs_the_grant drops it).
        if "bob" in extra_users:
            bastion.gate.ctl("grant", "bob", "web1")
        self.owner = spawn(bastion, "connect", "web1")
        shell_ready(self.owner)
        self.sid = live_session(bastion)["id"]

    def argv(self, user, *args, tty=False):
        return self.b.sshd.ssh_argv(self.keys[user], *args,
                                    opts=("-tt",) if tty else ("-T",))

    def ssh(self, user, *args):
        return run(self.argv(user, *args))

    def attach(self, user, sid=None):
        a = self.argv(user, "attach", str(sid or self.sid), tty=True)
        p = pexpect.spawn(a[0], a[1:], dimensions=(24, 80), timeout=20,
                          encoding="utf-8", codec_errors="replace")
        return p

    def close(self):
        if self.owner.isalive():
            self.owner.sendline("exit")
            self.owner.expect(pexpect.EOF)


@pytest.fixture
def party(bastion, keygen):
    p = Party(bastion, keygen)
    yield p
    p.close()


def runtime_dir(gate):
    return gate.state / "run"


def sock_path(gate, sid):
    return runtime_dir(gate) / f"session-{sid}.sock"


def keys_go_nowhere(owner, w, tag):
    """Watcher w types `echo TAG-$((2+5))`; a second later the owner's
    own line comes back with no TAG-7 before it: the keys never reached
    the session."""
    w.send(f"echo {tag}-$((2+5))\r")
    time.sleep(1)
    owner.sendline(f"echo {MARK}-{tag}-$((1+1))")
    owner.expect(f"{MARK}-{tag}-2")
    assert f"{tag}-7" not in owner.before


def commands(gate):
    con = sqlite3.connect(f"file:{gate.db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT username, command, is_blocked, "
                           "blocked_reason FROM command_log ORDER BY id"
                           ).fetchall()
    finally:
        con.close()


def test_read_only_watcher_sees_and_cannot_type(party, syslog):
    b, o = party.b, party.owner
    o.sendline("echo before-$((1+1))")
    o.expect("before-2")
    r = party.ssh("alice", "share", party.sid, "bob")
    assert r.returncode == 0, r.stderr
    assert f"session {party.sid} shared with bob, read-only" in r.stdout
    w = party.attach("bob")
    w.expect("read-only")
    w.expect("before-2")            # the recent output comes first
    o.expect(r"\[sshgate\] bob joined this session \(read-only\)")
    o.sendline("echo live-$((2+3))")
    w.expect("live-5")              # then the live stream
    # bob's keys go nowhere: the target never runs them.
    keys_go_nowhere(o, w, "bobtyped")
    # alice's listing shows who watches.
    r = party.ssh("alice", "sessions", "--json")
    row = [s for s in json.loads(r.stdout) if s["id"] == party.sid][0]
    assert [(x["user"], x["rw"]) for x in row["watchers"]] == [("bob", False)]
    assert "bob" in party.ssh("alice", "sessions").stdout
    # ... and so does gatectl's, for administrators.
    rows = json.loads(b.gate.ctl("session", "list", "--json").stdout)
    row = [s for s in rows if s["id"] == party.sid][0]
    assert [(x["user"], x["rw"]) for x in row["watchers"]] == [("bob", False)]
    assert "bob" in b.gate.ctl("session", "list").stdout
    # Ctrl-] leaves; the owner is told; the session goes on.
    w.sendcontrol("]")
    w.expect(f"left session {party.sid}: detached")
    w.expect(pexpect.EOF)
    o.expect(r"\[sshgate\] bob left this session")
    shell_ready(o)
    r = party.ssh("alice", "sessions", "--json")
    row = [s for s in json.loads(r.stdout) if s["id"] == party.sid][0]
    assert row["watchers"] == []
    assert syslog.wait_for(rf"session {party.sid} of alice: bob joined "
                           r"this session \(read-only\)")
    assert syslog.wait_for(rf"user bob .*attached to session {party.sid} "
                           r"of alice .*read-only")
    assert syslog.wait_for(rf"session {party.sid} of alice: bob left")


# THREATS row 23
def test_co_driver_types_and_is_named_in_history_recording_and_syslog(
        party, syslog):
    b, o = party.b, party.owner
    r = party.ssh("alice", "share", party.sid, "bob", "--rw")
    assert "read-write" in r.stdout, r.stderr
    w = party.attach("bob")
    w.expect("read-write")
    o.expect("bob joined this session")
    w.send("echo cod-$((5+6))\r")
    o.expect("cod-11")              # it ran on the target
    w.expect("cod-11")
    o.sendline(f"echo {MARK}-owner-$((1+1))")
    o.expect(f"{MARK}-owner-2")
    w.sendcontrol("]")
    w.expect(pexpect.EOF)
    party.close()
    row = [s for s in b.sessions() if s["id"] == party.sid][0]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
            "cod-" in (c[1] or "") for c in commands(b.gate)):
        time.sleep(0.2)
    rows = commands(b.gate)
    assert ("bob", "echo cod-$((5+6))", 0, "") in rows
    assert ("alice", f"echo {MARK}-owner-$((1+1))", 0, "") in rows
    # The recording says who joined and whose keys followed, and plays.
    cast = Path(row["recording"])
    markers = [e[2] for e in cast_lines(cast)[1:] if e[1] == "m"]
    assert "bob joined this session (read-write: they can type)" in markers
    assert "keys from bob" in markers and "keys from alice" in markers
    assert markers.index("keys from bob") < markers.index("keys from alice")
    asciinema_cat(cast)
    # So does gate-shell's replay.
    out = party.ssh("alice", "replay", party.sid).stdout
    assert "[sshgate] keys from bob" in out
    assert syslog.wait_for(rf"session {party.sid} of alice: co-driver bob "
                           r"typed: echo cod-\$\(\(5\+6\)\)")


# THREATS decision 1
def test_co_driver_secrets_follow_the_policy(party, syslog):
    """A co-driver's line goes through the same masking as the owner's."""
    party.ssh("alice", "share", party.sid, "bob", "--rw")
    w = party.attach("bob")
    w.expect("read-write")
    w.send("echo mysql -u root -pS3cretCo; echo pw-$((2*3))\r")
    w.expect("pw-6")
    w.sendcontrol("]")
    w.expect(pexpect.EOF)
    party.close()
    time.sleep(1)
    assert syslog.wait_for(rf"co-driver bob typed: \[withheld: ")
    assert not any("S3cretCo" in line for line in syslog.lines())
    assert b"S3cretCo" not in Path(party.b.gate.db).read_bytes()


# THREATS rows 12, 23
def test_who_may_attach_share_and_unshare(party):
    """THREATS row 23: carol (no share) gets the missing-session answer,
    word for word; bob cannot share or unshare alice's session; unshare
    drops a watcher at once; an admin watches read-only."""
    sid = party.sid
    missing = 9999999998 if sid != 9999999998 else 9999999997
    r1 = party.ssh("carol", "attach", sid)
    r2 = party.ssh("carol", "attach", missing)
    assert r1.returncode == r2.returncode == 3
    assert r1.stderr.replace(str(sid), "N") == \
        r2.stderr.replace(str(missing), "N")
    for verb in (("share", sid, "carol"), ("unshare", sid, "carol"),
                 ("share", sid, "carol", "--rw")):
        r = party.ssh("bob", *verb)
        assert r.returncode == 3 and \
            f"no live session {sid} of yours" in r.stderr
        m = party.ssh("bob", verb[0], missing, *verb[2:])
        assert m.returncode == 3
        assert r.stderr.replace(str(sid), "N") == \
            m.stderr.replace(str(missing), "N")
    for bad in (("attach", "../1"), ("attach", "1x"), ("attach", "-1"),
                ("share", sid, "bob", "--ro"), ("share", sid, "-oX"),
                ("share", sid, "no/such"), ("share", sid),
                ("attach", sid, "--rw")):
        assert party.ssh("alice", *bad).returncode == 2, bad
    r = party.ssh("alice", "share", sid, "nobody-here")
    assert r.returncode == 2 and "no such user" in r.stderr
    r = party.ssh("alice", "unshare", sid, "bob")
    assert r.returncode == 2 and "not shared with bob" in r.stderr
    # unshare ends bob's watch within moments.
    party.ssh("alice", "share", sid, "bob")
    w = party.attach("bob")
    w.expect("read-only")
    party.owner.expect("bob joined")
    r = party.ssh("alice", "unshare", sid, "bob")
    assert r.returncode == 0, r.stderr
    w.expect("your access to this session was withdrawn")
    w.expect(pexpect.EOF)
    party.owner.expect("bob left this session")
    assert party.ssh("bob", "attach", sid).returncode == 3


def test_admin_attaches_read_only(bastion, keygen):
    key, pub = keygen(f"admin-{free_port()}")
    enroll(bastion.gate, "root-admin", pub, admin=True)
    o = spawn(bastion, "connect", "web1")
    shell_ready(o)
    sid = live_session(bastion)["id"]
    a = bastion.sshd.ssh_argv(key, "attach", str(sid), opts=("-tt",))
    w = pexpect.spawn(a[0], a[1:], timeout=20, encoding="utf-8")
    w.expect("read-only")
    o.expect("root-admin joined this session .read-only")
    keys_go_nowhere(o, w, "admintyped")
    w.sendcontrol("]")
    w.expect(pexpect.EOF)
    o.sendline("exit")
    o.expect(pexpect.EOF)


def test_slow_watcher_is_dropped_and_the_owner_never_waits(party):
    """bob's client stops reading; alice's session prints 40 MB. bob is
    dropped with a message once his buffers fill, alice gets every byte,
    and her terminal goes on."""
    party.ssh("alice", "share", party.sid, "bob")
    a = party.argv("bob", "attach", str(party.sid))
    stuck = subprocess.Popen(a, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    o = party.owner
    o.expect("bob joined")
    size = 40 * 1000 * 1000
    o.sendline(f"head -c {size} /dev/zero | tr '\\0' x | wc -c; "
               f"head -c {size} /dev/zero | tr '\\0' y; "
               f"echo; echo {MARK}-big-$((1+1))")
    o.expect(str(size))
    # The notice comes somewhere inside alice's output: an exact string
    # is searched for in each new chunk and the few bytes before it.
    o.expect_exact("[sshgate] bob was dropped from this session (fell "
                   "behind)", timeout=120)
    ys = o.before.count("y")
    o.searchwindowsize = 200
    # The session gives a dropped watcher SHARE_DRAIN_MS (5 s) to take
    # its last line: bob's client reads again from now on, as a client
    # that was only slow would, while alice's output goes on.
    reader = concurrent.futures.ThreadPoolExecutor(1).submit(
        stuck.communicate, timeout=120)
    o.expect(f"{MARK}-big-2", timeout=120)
    o.searchwindowsize = None
    # alice got all of it.
    assert ys + o.before.count("y") >= size
    shell_ready(o)
    # bob's client ends with the reason.
    out, err = reader.result(timeout=130)
    assert b"you were dropped: your connection fell behind" in out
    assert stuck.returncode == 0


def test_max_watchers(make_bastion, keygen):
    b = make_bastion("[sessions]\nmax_watchers = 1\n")
    p = Party(b, keygen)
    try:
        p.ssh("alice", "share", p.sid, "bob")
        p.ssh("alice", "share", p.sid, "carol")
        w = p.attach("bob")
        w.expect("read-only")
        r = p.ssh("carol", "attach", p.sid)
        assert r.returncode == 3
        assert f"session {p.sid} already has 1 watchers, the most " \
            "allowed" in r.stderr
        # A refused attach is no watcher: not listed, nothing recorded.
        con = sqlite3.connect(f"file:{b.gate.db}?mode=ro", uri=True)
        names = [r[0] for r in con.execute(
            "SELECT user_name FROM attachments")]
        con.close()
        assert names == ["bob"]
        w.sendcontrol("]")
        w.expect(pexpect.EOF)
        p.owner.expect("bob left")
        w = p.attach("carol")
        w.expect("read-only")
        w.sendcontrol("]")
    finally:
        p.close()


def test_sharing_off(make_bastion, keygen):
    b = make_bastion("[sessions]\nmax_watchers = 0\n")
    p = Party(b, keygen)
    try:
        assert not any(runtime_dir(b.gate).iterdir())
        r = p.ssh("alice", "share", p.sid, "bob")
        assert r.returncode == 2 and "sharing is off" in r.stderr
    finally:
        p.close()


def gate_python(code):
    """Run Python as the gate account (it may reach the socket)."""
    return run(["/usr/bin/python3", "-c", code], user=GATE_USER,
               group=GATE_USER, extra_groups=[], timeout=30)


# THREATS rows 19, 24
def test_socket_mode_and_who_may_connect(party):
    """THREATS rows 19, 24: the socket is 0600 in a 0700 directory of the
    gate's; root is not the gate account and is turned away; a peer that
    announces a 4 GiB frame or sends garbage is dropped while the session
    goes on; a hello for a user without a share is refused."""
    gate = party.b.gate
    path = sock_path(gate, party.sid)
    gate_uid = party.b.gate.accounts["gate"].pw_uid
    st = os.lstat(path)
    assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == gate_uid
    dst = os.lstat(runtime_dir(gate))
    assert stat.S_IMODE(dst.st_mode) == 0o700 and dst.st_uid == gate_uid
    # root may open it (root passes permissions) but is not let in.
    with socket.socket(socket.AF_UNIX) as s:
        s.connect(str(path))
        s.settimeout(5)
        hello = b"1 1 alice"
        try:
            s.sendall(b"H\0\0\0" + len(hello).to_bytes(4, "big") + hello)
            got = s.recv(100)
        except (BrokenPipeError, ConnectionResetError):
            got = b""           # closed at once, before we spoke
        assert got == b""
    # As the gate account: hostile frames are dropped.
    for data in (b"I\0\0\0\xff\xff\xff\xff" + b"x" * 100,
                 b"Z\0\0\0\0\0\0\0", b"\0" * 64):
        r = gate_python(
            "import socket,sys\n"
            "s=socket.socket(socket.AF_UNIX)\n"
            f"s.connect({str(path)!r}); s.settimeout(5)\n"
            "try:\n"
            f"    s.sendall({data!r})\n"
            "    print(len(s.recv(100)))\n"
            "except (BrokenPipeError, ConnectionResetError):\n"
            "    print(0)\n")
        assert r.returncode == 0 and r.stdout.strip() == "0", r.stderr
    # A well-formed hello for carol, who has no share: one line, no data.
    con = sqlite3.connect(f"file:{gate.db}?mode=ro", uri=True)
    carol = con.execute("SELECT id FROM users WHERE name = 'carol'"
                        ).fetchone()[0]
    con.close()
    hello = f"{carol} 0 carol".encode()
    r = gate_python(
        "import socket\n"
        "s=socket.socket(socket.AF_UNIX)\n"
        f"s.connect({str(path)!r}); s.settimeout(5)\n"
        f"s.sendall(b'H\\0\\0\\0'+({len(hello)}).to_bytes(4,'big')+{hello!r})\n"
        "d=b''\n"
        "while True:\n"
        "    c=s.recv(4096)\n"
        "    if not c: break\n"
        "    d+=c\n"
        "print(d)\n")
    assert "session not shared with you" in r.stdout, r.stdout + r.stderr
    # A hello with bob's name and carol's id (bob has a share): refused.
    party.ssh("alice", "share", party.sid, "bob")
    hello = f"{carol} 0 bob".encode()
    r = gate_python(
        "import socket\n"
        "s=socket.socket(socket.AF_UNIX)\n"
        f"s.connect({str(path)!r}); s.settimeout(5)\n"
        f"s.sendall(b'H\\0\\0\\0'+({len(hello)}).to_bytes(4,'big')+{hello!r})\n"
        "print(s.recv(4096))\n")
    assert "refused" in r.stdout, r.stdout + r.stderr
    shell_ready(party.owner)
    party.owner.sendline("exit")
    party.owner.expect(pexpect.EOF)
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not path.exists()        # removed when the session ends


# THREATS row 24
def test_planted_link_at_the_socket_path_is_not_followed(party, rundir):
    """Someone replaces the session's socket with a symlink to a socket of
    theirs: attach refuses and never connects to it."""
    path = sock_path(party.b.gate, party.sid)
    evil_dir = rundir / f"evil-{free_port()}"
    evil_dir.mkdir(mode=0o777)
    os.chmod(evil_dir, 0o777)
    evil = socket.socket(socket.AF_UNIX)
    evil.bind(str(evil_dir / "s"))
    os.chmod(evil_dir / "s", 0o777)
    evil.listen(1)
    evil.settimeout(0.5)
    party.ssh("alice", "share", party.sid, "bob")
    os.rename(path, path.with_name("moved.sock"))
    os.symlink(evil_dir / "s", path)
    r = party.ssh("bob", "attach", party.sid)
    assert r.returncode != 0 and "not the gate's socket" in r.stderr
    with pytest.raises(socket.timeout):
        evil.accept()
    os.unlink(path)
    os.rename(path.with_name("moved.sock"), path)
    evil.close()


# THREATS row 24
@pytest.mark.parametrize("how", ["symlink", "world-writable", "other-owner"])
def test_unsafe_runtime_dir_refuses_sharing(bastion, keygen, rundir, how):
    """THREATS row 24: the runtime directory a symlink (to a directory
    that would take a socket), 0777, or someone else's: the session runs
    unshared and says so; nothing is created there, nothing is chmod'ed
    or chown'ed through the link."""
    rd = runtime_dir(bastion.gate)
    decoy = rundir / f"decoy-{free_port()}"
    decoy.mkdir(mode=0o700)
    os.chown(decoy, bastion.gate.accounts["gate"].pw_uid, -1)
    if how == "symlink":
        os.rmdir(rd)
        os.symlink(decoy, rd)
    elif how == "world-writable":
        os.chmod(rd, 0o777)
    else:
        os.chown(rd, 0, 0)
    before = os.lstat(rd)
    o = spawn(bastion, "connect", "web1")
    o.expect("this session cannot be shared: runtime directory")
    shell_ready(o)
    sid = live_session(bastion)["id"]
    assert list(decoy.iterdir()) == []
    if how != "symlink":
        assert list(rd.iterdir()) == []
    after = os.lstat(rd)
    assert (after.st_mode, after.st_uid) == (before.st_mode, before.st_uid)
    key, pub = keygen(f"bob-{free_port()}")
    enroll(bastion.gate, "bob", pub)
    bastion.ssh("share", sid, "bob")
    r = run(bastion.sshd.ssh_argv(key, "attach", str(sid), opts=("-T",)))
    assert r.returncode == 1 and "sharing is unavailable" in r.stderr
    o.sendline("exit")
    o.expect(pexpect.EOF)


def test_only_terminal_sessions_are_shared(bastion, keygen):
    """A session without a terminal (a data stream: scp-like pipes) opens
    no socket and cannot be shared or attached."""
    key, pub = keygen(f"bob-{free_port()}")
    enroll(bastion.gate, "bob", pub)
    # cat ends with its stdin: nothing is left on the target afterwards.
    p = subprocess.Popen(bastion.ssh_argv("connect", "web1", "--", "cat"),
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    try:
        sid = live_session(bastion)["id"]
        assert not sock_path(bastion.gate, sid).exists()
        r = bastion.ssh("share", sid, "bob")
        assert r.returncode == 2 and "only terminal sessions" in r.stderr
        r = run(bastion.sshd.ssh_argv(key, "attach", str(sid), opts=("-T",)))
        assert r.returncode == 3     # not shared: the missing answer
        r = bastion.ssh("attach", sid)
        assert r.returncode == 2 and "only terminal sessions" in r.stderr
    finally:
        p.communicate(timeout=30)


# THREATS row 12
def test_co_driver_needs_the_grant(party):
    """Keys a co-driver types reach web1 as the session's login, so a
    --rw share gives bob the keyboard only while he holds the grant a
    connect would need: without it he watches read-only, and losing it
    mid-session takes the keyboard back at the next periodic check."""
    g = party.b.gate
    party.ssh("alice", "share", party.sid, "bob", "--rw")
    g.ctl("revoke", "bob", "web1")
    w = party.attach("bob")
    w.expect("read-only")
    party.owner.expect(r"bob joined this session \(read-only\)")
    keys_go_nowhere(party.owner, w, "nogrant")
    w.sendcontrol("]")
    w.expect(pexpect.EOF)

    g.ctl("grant", "bob", "web1")
    w = party.attach("bob")
    w.expect("read-write")
    w.send("echo granted-$((2+6))\r")
    party.owner.expect("granted-8")
    g.ctl("revoke", "bob", "web1")
    # The session checks its watchers every 10 s.
    w.expect("you are read-only now", timeout=30)
    party.owner.expect("bob is now read-only in this session")
    keys_go_nowhere(party.owner, w, "revoked")
    w.sendcontrol("]")
    w.expect(pexpect.EOF)


def test_taking_rw_back_applies_at_once(party):
    """share again without --rw: the attached co-driver is told, and its
    keys stop reaching the session without a new attach."""
    party.ssh("alice", "share", party.sid, "bob", "--rw")
    w = party.attach("bob")
    w.expect("read-write")
    w.send("echo first-$((1+2))\r")
    party.owner.expect("first-3")
    r = party.ssh("alice", "share", party.sid, "bob")
    assert "read-only" in r.stdout
    w.expect("you are read-only now")
    party.owner.expect("bob is now read-only in this session")
    keys_go_nowhere(party.owner, w, "second")
    w.sendcontrol("]")
    w.expect(pexpect.EOF)


# THREATS row 29, decision 2
def test_watchers_never_get_terminal_queries(party):
    """THREATS row 29: the target asks the terminal for its cursor
    position (DSR), device attributes, the title, and writes the
    clipboard (OSC 52): the owner's terminal gets them (as with plain
    ssh), a watcher's never does, so a co-driver's terminal cannot answer
    into the session."""
    party.ssh("alice", "share", party.sid, "bob", "--rw")
    w = party.attach("bob")
    w.expect("read-write")
    o = party.owner
    o.sendline(r"printf 'q1\033[6nq2\033[cq3\033]52;c;cHduZWQ=\007q4"
               r"\033[21tq5\033]0;title\007q6-%s\n' $((3*3))")
    o.expect("q6-9")
    w.expect("q6-9")
    seen = w.before
    assert "q1q2q3q4q5" in seen.replace("\r", "")
    for bad in ("\x1b[6n", "\x1b[c", "\x1b]52", "\x1b[21t", "\x1b]0;"):
        assert bad not in seen
    w.sendcontrol("]")
    w.expect(pexpect.EOF)


# THREATS row 29, decision 2
def test_live_listings_print_stored_sequences_inert(bastion, keygen):
    """THREATS row 29, decision 2: the listings of live sessions (alice's
    sessions, an admin's sessions --all, gatectl session list) print the
    row's names, remote command, peer and watcher names escaped, in text
    and JSON. The row and a watcher are written straight into the
    database: nothing a user can type gets a control character there,
    but the listings must be safe whatever the database holds."""
    p = Party(bastion, keygen, extra_users=("root-admin",))
    try:
        g = bastion.gate
        row = live_session(bastion)
        g.sql("UPDATE sessions SET user_name = ?, host_name = ?, login = ?, "
              "command = ?, peer = ? WHERE id = ?", HOSTILE + "u",
              HOSTILE + "h", HOSTILE + "l", HOSTILE + "c", HOSTILE + "p",
              p.sid)
        # A watcher whose process is alive (the session's own gate-shell),
        # so the listings show it.
        g.sql("INSERT INTO attachments (session_id, user_name, rw, "
              "joined_at, pid, pid_start) VALUES (?, ?, 1, "
              "strftime('%s', 'now'), ?, ?)", p.sid, HOSTILE + "w",
              row["pid"], row["pid_start"])
        gatectl = [g.bindir / "gatectl", "-c", g.config]
        for who, argv in (("alice", ["sessions"]),
                          ("alice", ["sessions", "--json"]),
                          ("root-admin", ["sessions", "--all"]),
                          ("root-admin", ["sessions", "--all", "--json"]),
                          ("gatectl", ["session", "list"]),
                          ("gatectl", ["session", "list", "--json"])):
            a = gatectl + argv if who == "gatectl" else p.argv(who, *argv)
            r = run(a, text=False)
            assert r.returncode == 0, (who, argv, r.stderr)
            out = assert_inert(r.stdout, (who, argv))
            assert_inert(r.stderr, (who, argv))
            if "--json" not in argv:
                # Escaped where it was: the row and its watcher are shown.
                assert out.count(SHOWN) >= 4, (who, argv, out)
                continue
            rows = [x for x in json.loads(out) if x["id"] == p.sid]
            assert len(rows) == 1, (who, argv, out)
            got = list(json_strings(rows[0]))
            assert HOSTILE + "c" in got and HOSTILE + "w" in got, got
            assert all(s.startswith(ATTACKS[0]) for s in
                       (rows[0]["host"], rows[0]["login"], rows[0]["from"]))
        shell_ready(p.owner)            # the session went on meanwhile
    finally:
        p.close()


def test_unshare_says_when_the_session_cannot_confirm(party):
    """A session that does not answer (stopped) cannot drop its watcher
    at once: unshare removes the share and says so, exit 1 - never a
    silent success."""
    party.ssh("alice", "share", party.sid, "bob")
    pid = live_session(party.b)["pid"]
    os.kill(pid, signal.SIGSTOP)
    try:
        r = party.ssh("alice", "unshare", party.sid, "bob")
    finally:
        os.kill(pid, signal.SIGCONT)
    assert r.returncode == 1
    assert f"session {party.sid} did not confirm it: bob may stay " \
        "attached" in r.stderr
    assert party.ssh("bob", "attach", party.sid).returncode == 3


# THREATS row 12
def test_disabled_user_loses_the_session(party):
    """Shares are checked again while someone watches: a watcher whose
    account is disabled is dropped within SHARE_RECHECK_MS (10 s)."""
    party.ssh("alice", "share", party.sid, "bob", "--rw")
    w = party.attach("bob")
    w.expect("read-write")
    party.b.gate.ctl("user", "disable", "bob")
    w.expect("your access to this session was withdrawn", timeout=30)
    w.expect(pexpect.EOF)
    party.owner.expect("bob left this session")


def syncs_of(gate, b, command):
    """gate-shell running command for alice as sshd would, under strace:
    how many fsync/fdatasync calls it made."""
    log = gate.root / f"strace-{uuid.uuid4().hex[:6]}"
    log.touch(mode=0o600)
    os.chown(log, gate.accounts["gate"].pw_uid, gate.accounts["gate"].pw_gid)
    # LeakSanitizer cannot run under ptrace: a sanitizer build would fail.
    r = gate.shell(command, auth_key=b.pub, env={
        "ASAN_OPTIONS": "detect_leaks=0"}, argv=[
        "/usr/bin/strace", "-f", "-qq", "-e", "trace=fsync,fdatasync",
        "-o", str(log), gate.bindir / "gate-shell", "-c", gate.config,
        "--key-id", str(b.key_id)])
    assert r.returncode == 0, r.stderr
    n = len([line for line in log.read_text().splitlines()
             if "sync(" in line])
    log.unlink()
    return n


@pytest.mark.skipif(not shutil.which("strace"), reason="needs strace")
def test_shares_wait_for_the_disk(party):
    """Session bookkeeping commits without waiting for the disk (WAL,
    synchronous NORMAL), so a burst of logins does not queue behind it;
    a share or an unshare the user is told of waits for it. `whoami`
    writes only "last used": no sync."""
    g, b = party.b.gate, party.b
    assert syncs_of(g, b, "whoami") == 0
    assert syncs_of(g, b, f"share {party.sid} carol") >= 1
    assert syncs_of(g, b, f"unshare {party.sid} carol") >= 1
