"""gate-shell connect: a real gate sshd, real target sshds, the real ssh
client driven through real terminals (pexpect). Nothing is mocked."""

import hashlib
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import termios
import time
import uuid
from pathlib import Path

import pexpect
import pytest

from conftest import GATE_USER, TARGET_USER, children, enroll, run
from test_history import asciinema_cat, cast_lines

MARK = "sg-mark"


def spawn(bastion, *args, rows=24, cols=80, opts=()):
    argv = bastion.ssh_argv(*args, tty=True, opts=opts)
    return pexpect.spawn(argv[0], argv[1:], dimensions=(rows, cols),
                         timeout=20, encoding="utf-8", codec_errors="replace")


def shell_ready(p):
    """Wait for the remote bash to take commands; computed output proves
    it ran a command rather than echoed our typing."""
    p.sendline(f"echo {MARK}$((40+2))")
    p.expect(f"{MARK}42")


def live_session(bastion, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        live = [s for s in bastion.sessions() if s["ended_at"] is None]
        if live:
            return live[-1]
        time.sleep(0.05)
    raise AssertionError("no live session row")


def ended(bastion, sid, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = [s for s in bastion.sessions() if s["id"] == sid][0]
        if row["ended_at"] is not None:
            return row
        time.sleep(0.05)
    raise AssertionError(f"session {sid} still open")


def egress_pid(row):
    kids = [c for c in children(row["pid"])
            if Path(f"/proc/{c}/exe").resolve().name == "ssh"]
    assert len(kids) == 1, kids
    return kids[0]


def session_forks(row):
    """The recorder and the idle watcher of a live session: forks of its
    gate-shell, told apart by name."""
    names = {c: comm(c) for c in children(row["pid"])}
    recorder = [c for c, n in names.items() if n == "gate-recorder"]
    watcher = [c for c, n in names.items() if n == "gate-shell"]
    assert len(recorder) == len(watcher) == 1, names
    return recorder[0], watcher[0]


def comm(pid):
    """The name of pid, or "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def descendants(pid):
    out, todo = [], children(pid)
    while todo:
        c = todo.pop()
        out.append(c)
        todo += children(c)
    return out


def gone(pid, timeout=10):
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not Path(f"/proc/{pid}").exists()


# --- interactive sessions through a real PTY ---

def test_interactive_shell_echo_exit_status(bastion, syslog):
    p = spawn(bastion, "connect", "web1")
    shell_ready(p)
    p.sendline("typed-text-echoes")
    p.expect("typed-text-echoes")
    p.sendline("whoami")
    p.expect(TARGET_USER)
    row = live_session(bastion)
    assert row["tty"] == 1 and row["login"] == TARGET_USER
    assert re.fullmatch(r"[1-9]\d{9}", str(row["id"]))
    p.sendline("exit 5")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 5
    row = ended(bastion, row["id"])
    assert row["end_reason"] == "exit" and row["exit_status"] == 5
    assert row["bytes_in"] > 0 and row["bytes_out"] > 0
    assert syslog.wait_for(rf"connect {TARGET_USER}@web1 .* allowed, "
                           rf"session {row['id']}")
    assert syslog.wait_for(rf"session {row['id']} of alice .* ended: exit, "
                           r"exit 5")


def test_window_size_initial_and_resized(bastion):
    p = spawn(bastion, "connect", "web1", rows=31, cols=103)
    shell_ready(p)
    p.sendline("stty size")
    p.expect("31 103")
    p.setwinsize(47, 132)
    time.sleep(0.3)
    p.sendline("stty size")
    p.expect("47 132")
    p.sendline("exit")
    p.expect(pexpect.EOF)


def test_ctrl_c_interrupts_remote_sleep(bastion):
    p = spawn(bastion, "connect", "web1")
    shell_ready(p)
    p.sendline("sleep 60; echo not-interrupted")
    time.sleep(0.5)
    start = time.monotonic()
    p.sendcontrol("c")
    p.sendline(f"echo {MARK}-status-$?")
    p.expect(f"{MARK}-status-130")
    assert time.monotonic() - start < 10
    assert "\nnot-interrupted" not in p.before    # only its echo
    p.sendline("exit")
    p.expect(pexpect.EOF)


def test_full_screen_program(bastion):
    p = spawn(bastion, "connect", "web1", rows=30, cols=90)
    shell_ready(p)
    p.sendline("vim -u NONE -N /tmp/sg-vim-test-$$")
    p.expect(r"\x1b\[\?1049h")          # vim took the alternate screen
    p.send("ihello from vim")
    p.expect("hello from vim")
    p.send("\x1b:q!\r")
    p.expect(r"\x1b\[\?1049l")          # and gave it back
    shell_ready(p)
    p.sendline("exit 0")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


# THREATS row 26
def test_escape_character_is_off_on_both_hops(bastion, target_account):
    """~? ~C ~. ~& right after a newline are data for the target: neither
    the user's ssh (-e none) nor the gate's (EscapeChar none) acts on
    them, and the target reads them byte for byte."""
    got = Path(target_account.pw_dir) / f"escapes-{uuid.uuid4().hex[:6]}"
    p = spawn(bastion, "connect", "web1", opts=("-e", "none"))
    shell_ready(p)
    # cat starts after bash has given the terminal back: no key below can
    # be taken by the shell's line editor instead.
    p.sendline(f"sh -c 'echo {MARK}-cat-$((2+3)); exec cat > {got.name}'")
    p.expect(f"{MARK}-cat-5")
    for keys in ("\r~?\r", "\r~C\r", "\r~.\r", "\r~&\r"):
        p.send(keys)
    p.sendcontrol("d")
    p.sendline(f"echo {MARK}-alive-$((6*7))")
    p.expect(f"{MARK}-alive-42")
    assert "Supported escape sequences" not in p.before
    assert "ssh>" not in p.before
    # The terminal on the target turned each CR into a newline (icrnl).
    assert got.read_bytes() == b"\n~?\n\n~C\n\n~.\n\n~&\n"
    got.unlink()
    assert live_session(bastion)["ended_at"] is None
    p.sendline("exit")
    p.expect(pexpect.EOF)


# --- commands without a terminal ---

# THREATS row 14
# THREATS decision 6
def test_remote_words_keep_their_boundaries(bastion):
    """Decision 6: connect web1 -- ARGS does what ssh web1 ARGS does."""
    r = bastion.ssh("connect web1 -- printf '%s\\n' 'a;b'")
    assert (r.returncode, r.stdout) == (0, "a;b\n"), r.stderr
    r = bastion.ssh("connect web1 -- sh -c 'exit 7'")
    assert r.returncode == 7
    r = bastion.ssh("connect web1 -- echo 'two  spaces' \"it's\" '$HOME'")
    assert r.stdout == "two  spaces it's $HOME\n"


# THREATS row 3
def test_dash_words_after_double_dash_are_remote(bastion, rundir):
    """THREATS row 3: never options of the local ssh."""
    flag = rundir / f"pwned-{uuid.uuid4().hex[:6]}"
    r = bastion.ssh(f"connect web1 -- -oProxyCommand=touch\\ {flag}")
    assert not flag.exists()
    assert r.returncode != 0
    r = bastion.ssh("connect web1 -- -v true")
    assert "debug1" not in r.stderr
    assert "-v true" in [s["command"] for s in bastion.sessions()]


def test_exit_status_and_stderr_pass_through(bastion):
    r = bastion.ssh("connect web1 -- sh -c 'echo out; echo err >&2; exit 3'")
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")


def test_binary_round_trip_100_mib(bastion, rundir):
    data = rundir / f"blob-{uuid.uuid4().hex[:6]}"
    with open(data, "wb") as f:
        f.write(os.urandom(100 * 1024 * 1024))
    want = hashlib.sha256(data.read_bytes()).hexdigest()
    with open(data, "rb") as f:
        r = subprocess.run(bastion.ssh_argv("connect web1 -- cat"),
                           stdin=f, capture_output=True, timeout=300)
    data.unlink()
    assert r.returncode == 0, r.stderr
    assert len(r.stdout) == 100 * 1024 * 1024
    assert hashlib.sha256(r.stdout).hexdigest() == want
    row = bastion.sessions()[-1]
    assert row["bytes_in"] == row["bytes_out"] == 100 * 1024 * 1024


# THREATS decision 6
def test_eof_passes_through_for_tar_pipes(bastion, rundir, target_account):
    src = rundir / f"tree-{uuid.uuid4().hex[:6]}"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "file").write_bytes(bytes(range(256)) * 1000)
    dest = Path(target_account.pw_dir) / f"untar-{uuid.uuid4().hex[:6]}"
    tar = subprocess.Popen(["tar", "c", "-C", src, "."],
                           stdout=subprocess.PIPE)
    r = subprocess.run(bastion.ssh_argv(
        f"connect web1 -- mkdir {dest.name} && tar x -C {dest.name}"),
        stdin=tar.stdout, capture_output=True, timeout=60)
    tar.wait()
    assert r.returncode != 0  # && was quoted: mkdir got "&&" as a name
    r = subprocess.run(bastion.ssh_argv(f"connect web1 -- mkdir {dest.name}"),
                       capture_output=True, timeout=60)
    assert r.returncode == 0, r.stderr
    tar = subprocess.Popen(["tar", "c", "-C", src, "."],
                           stdout=subprocess.PIPE)
    r = subprocess.run(bastion.ssh_argv(
        f"connect web1 -- tar x -C {dest.name}"),
        stdin=tar.stdout, capture_output=True, timeout=60)
    tar.wait()
    assert r.returncode == 0, r.stderr
    assert (dest / "sub" / "file").read_bytes() == bytes(range(256)) * 1000


# --- access ---

# THREATS row 12
def test_denied_host_login_and_unknown_host_look_the_same(bastion, syslog):
    g = bastion.gate
    g.ctl("host", "add", "web2", "127.0.0.1", "--port",
          str(bastion.target.port), "--login", TARGET_USER)
    answers = set()
    for target in ("web2", "root@web1", "nosuchhost", "nobody@nosuchhost"):
        r = bastion.ssh("connect", target)
        assert r.returncode == 3, (target, r.stderr)
        answers.add(r.stderr)
    assert answers == {"gate-shell: access denied\n"}
    assert syslog.wait_for(r"connect web2 denied: no grant for host web2")
    assert syslog.wait_for(r"connect root@web1 denied: no grant for login "
                           r"root on web1")
    assert syslog.wait_for(r"connect nosuchhost denied: no such host")
    assert bastion.sessions() == []


# THREATS row 2
def test_grant_for_a_login_is_exact(bastion):
    g = bastion.gate
    g.ctl("revoke", "alice", "web1")
    g.ctl("grant", "alice", "web1", "--login", TARGET_USER)
    r = bastion.ssh(f"connect {TARGET_USER}@web1 -- id -un")
    assert (r.returncode, r.stdout) == (0, TARGET_USER + "\n"), r.stderr
    r = bastion.ssh(f"connect {TARGET_USER}x@web1 -- id -un")
    assert r.returncode == 3


# THREATS row 12
def test_expired_grant_denies(bastion):
    g = bastion.gate
    g.sql("UPDATE grants SET expires_at = strftime('%s','now') - 1")
    r = bastion.ssh("connect web1 -- true")
    assert r.returncode == 3


# THREATS row 12
def test_terminal_and_prompt_connect_are_denied_alike(bastion):
    """ssh -tt gate connect HOST and connect typed at the prompt pass the
    same grant check as connect without a terminal: the same answer and
    exit 3, no session row, nothing reaches the target."""
    g, t = bastion.gate, bastion.target
    # Pinned, so that a connect let through would really reach it.
    g.ctl("host", "add", "web2", "127.0.0.1", "--port", str(t.port),
          "--login", TARGET_USER, "--scan")
    target_log = t.log.read_text()
    denied = "gate-shell: access denied\n"
    for target in ("web2", "root@web1"):
        r = bastion.ssh("connect", target)
        assert (r.returncode, r.stderr) == (3, denied), (target, r.stderr)
        p = spawn(bastion, "connect", target)
        p.expect(pexpect.EOF)
        p.close()
        assert p.exitstatus == 3, target
        assert p.before.replace("\r\n", "\n") == denied, target
    p = spawn(bastion)
    p.expect("sshgate> ")
    for target in ("web2", "root@web1"):
        p.sendline(f"connect {target}")
        p.expect("sshgate> ")
        # The terminal's echo of the line, then the same answer.
        assert p.before.replace("\r\n", "\n") == \
            f"connect {target}\n{denied}", target
    p.sendline("exit")
    p.expect(pexpect.EOF)
    assert bastion.sessions() == []
    assert t.log.read_text() == target_log


TOKEN_RX = re.compile(r"\b(sgw_[A-Za-z0-9_-]{55})(?![A-Za-z0-9_-])")


# THREATS row 12
def test_revoked_grant_on_every_entry_path(bastion, keygen, target_account):
    """bob holds a grant for web1, a web token made with it and a share of
    alice's session on web1; then the grant is revoked. A terminal
    connect, a connect with a command and the web token all meet the
    grant check again and open nothing; attach to the --rw share joins
    read-only, his keys never reaching web1."""
    b, g = bastion, bastion.gate
    bkey, bpub = keygen(f"bob-{uuid.uuid4().hex[:6]}")
    enroll(g, "bob", bpub)
    g.ctl("grant", "bob", "web1")
    r = run(b.sshd.ssh_argv(bkey, "web-token", "web1"))
    assert r.returncode == 0, r.stderr
    token = TOKEN_RX.search(r.stdout).group(1)
    owner = spawn(b, "connect", "web1")
    shell_ready(owner)
    sid = live_session(b)["id"]
    assert b.ssh("share", str(sid), "bob", "--rw").returncode == 0

    g.ctl("revoke", "bob", "web1")
    t_logins = b.target.log.read_text().count("Accepted publickey")
    flag = Path(target_account.pw_dir) / f"revoked-{uuid.uuid4().hex[:6]}"
    a = b.sshd.ssh_argv(bkey, "connect", "web1", opts=("-tt",))
    p = pexpect.spawn(a[0], a[1:], timeout=20, encoding="utf-8",
                      codec_errors="replace")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 3
    assert p.before.replace("\r\n", "\n") == "gate-shell: access denied\n"
    r = run(b.sshd.ssh_argv(bkey, f"connect web1 -- touch {flag.name}",
                            opts=("-T",)))
    assert (r.returncode, r.stderr) == (3, "gate-shell: access denied\n")
    # A web frontend runs gate-shell --web as the gate account; the
    # token is the first line of its input, the rest is the session's.
    r = run([g.bindir / "gate-shell", "-c", g.config, "--web"],
            input=f"{token}\ntouch {flag}\n",
            env={"PATH": "/usr/bin:/bin", "TERM": "xterm"},
            user=GATE_USER, group=GATE_USER, extra_groups=[])
    assert (r.returncode, r.stderr) == (3, "gate-shell: access denied\n")
    assert not flag.exists()
    assert [s for s in b.sessions() if s["user_name"] == "bob"] == []
    assert b.target.log.read_text().count("Accepted publickey") == t_logins

    a = b.sshd.ssh_argv(bkey, "attach", str(sid), opts=("-tt",))
    w = pexpect.spawn(a[0], a[1:], timeout=20, encoding="utf-8",
                      codec_errors="replace")
    w.expect("read-only")
    owner.expect(r"bob joined this session \(read-only\)")
    w.send(f"touch {flag}\r")
    time.sleep(1)
    owner.sendline("echo owner-$((3+4))")
    owner.expect("owner-7")
    assert not flag.exists()
    w.sendcontrol("]")
    w.expect(pexpect.EOF)
    owner.sendline("exit")
    owner.expect(pexpect.EOF)


# THREATS rows 1, 2, 4
# THREATS decision 5
@pytest.mark.parametrize("word", [
    "web1$(touch /tmp/sg-p)", "a`id`@web1", "web1;id", "-oProxyCommand=x",
    "x@-oProxyCommand=y", "%n@web1", "sgtarget@web1%h", "root\x01@web1",
    "web1 extra", "a@b@web1", "@web1", "web1@", "../web1", "w" * 300,
])
def test_injection_as_host_names_refused_before_any_process(bastion, word,
                                                            syslog):
    quoted = "'" + word.replace("'", "'\\''") + "'"
    r = bastion.ssh(f"connect {quoted}")
    assert r.returncode == 2, (word, r.stderr)
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert bastion.sessions() == []
    assert not Path("/tmp/sg-p").exists()
    # Only this suite's gate: /dev/log also hears suites run in parallel.
    assert not syslog.wait_for(rf"connect {re.escape(TARGET_USER)}@\S+ "
                               r".*allowed, session", timeout=0.2)


# THREATS row 4
def test_host_add_refuses_option_like_names(gate):
    for args in (["--", "-oProxyCommand=x", "127.0.0.1"],
                 ["web1", "-oProxyCommand=x"], ["web1", "a b"]):
        r = gate.ctl("host", "add", *args, check=False)
        assert r.returncode == 2, (args, r.stderr)


# THREATS rows 1, 3
def test_egress_reads_no_config_or_known_hosts_of_the_gate_home(bastion):
    """The egress ssh reads no ssh_config at all (-F /dev/null) and only
    the gate's pinned known_hosts: a config and a known_hosts planted in
    the gate account's ~/.ssh change nothing. The config would run a
    ProxyCommand and turn the escape character back on; the known_hosts
    holds a wrong key for the target's alias, which would stop ssh."""
    home = Path(pwd.getpwnam(GATE_USER).pw_dir)
    dot = home / ".ssh"
    mark = home / f"proxied-{uuid.uuid4().hex[:6]}"
    # The gate account has no ~/.ssh of its own (AuthorizedKeysFile none).
    dot.mkdir(mode=0o700)
    try:
        (dot / "config").write_text(
            f"Host *\n  ProxyCommand /usr/bin/touch {mark}\n"
            "  EscapeChar ~\n  LocalCommand /usr/bin/touch "
            f"{mark}\n  PermitLocalCommand yes\n")
        wrong = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
                     str(dot / "wrong")])
        assert wrong.returncode == 0, wrong.stderr
        pub = (dot / "wrong.pub").read_text().split()
        (dot / "known_hosts").write_text(
            f"web1 {pub[0]} {pub[1]}\n"
            f"[127.0.0.1]:{bastion.target.port} {pub[0]} {pub[1]}\n")
        st = home.stat()
        for f in [dot, *dot.iterdir()]:
            os.chown(f, st.st_uid, st.st_gid)
        r = bastion.ssh("connect web1 -- id -un")
        assert (r.returncode, r.stdout) == (0, TARGET_USER + "\n"), r.stderr
        assert not mark.exists()
    finally:
        shutil.rmtree(dot, ignore_errors=True)


def hostile_client(b):
    """alice's terminal session to web1 from a client that sends what it
    should not: a Shellshock function in LC_ALL and LANG (SendEnv, as
    Debian's sshd accepts them), LD_PRELOAD and BASH_ENV (SetEnv)."""
    env = dict(os.environ, LC_ALL="() { :;}; touch /tmp/sg-shock",
               LANG="C.UTF-8", TERM="xterm-256color")
    argv = b.ssh_argv("connect", "web1", tty=True, opts=(
        "-o", "SendEnv=LC_ALL LANG", "-o", "SetEnv=LD_PRELOAD=/x.so "
        "BASH_ENV=/tmp/x"))
    p = pexpect.spawn(argv[0], argv[1:], env=env, timeout=20,
                      encoding="utf-8", codec_errors="replace")
    shell_ready(p)
    return p


# THREATS rows 1, 2, 3, 8, 9, 10, 26
# THREATS decision 5
def test_egress_environment_is_an_allowlist(bastion):
    """THREATS rows 8, 9: nothing the client sends reaches the egress."""
    p = hostile_client(bastion)
    row = live_session(bastion)
    ssh = egress_pid(row)
    environ = Path(f"/proc/{ssh}/environ").read_bytes().split(b"\0")
    assert sorted(e for e in environ if e) == [
        b"PATH=/usr/bin:/bin", b"TERM=xterm-256color"]
    cmdline = Path(f"/proc/{ssh}/cmdline").read_bytes().split(b"\0")
    i = cmdline.index(b"--")
    assert cmdline[i + 1] == b"127.0.0.1" and cmdline[i + 2:] == [b""]
    for opt in (b"EscapeChar=none", b"ClearAllForwardings=yes",
                b"StrictHostKeyChecking=yes", b"IdentitiesOnly=yes",
                b"ForwardAgent=no", b"PermitLocalCommand=no", b"BatchMode=yes"):
        assert opt in cmdline
    assert cmdline[cmdline.index(b"-F") + 1] == b"/dev/null"
    assert cmdline[cmdline.index(b"-l") + 1] == TARGET_USER.encode()
    p.sendline("exit")
    p.expect(pexpect.EOF)
    assert not Path("/tmp/sg-shock").exists()


# THREATS row 8
def test_hostile_term_is_dropped(bastion):
    env = dict(os.environ, TERM='xterm","x":"\x1b')
    argv = bastion.ssh_argv("connect", "web1", tty=True)
    p = pexpect.spawn(argv[0], argv[1:], env=env, timeout=20,
                      encoding="utf-8", codec_errors="replace")
    shell_ready(p)
    ssh = egress_pid(live_session(bastion))
    environ = Path(f"/proc/{ssh}/environ").read_bytes().split(b"\0")
    assert [e for e in environ if e] == [b"PATH=/usr/bin:/bin"]
    p.sendline("exit")
    p.expect(pexpect.EOF)


# THREATS rows 8, 9
def test_session_forks_hold_only_the_reset_environment(make_bastion):
    """The recorder and the idle watcher are forks of gate-shell, not
    programs it starts: /proc/PID/environ shows what exec gave gate-shell
    unless it was overwritten. It must show the allowlist only, not the
    client's variables nor SSH_ORIGINAL_COMMAND (which may hold a
    secret history masks)."""
    b = make_bastion("[sessions]\nidle_timeout = 1h\n")
    p = hostile_client(b)
    row = live_session(b)
    recorder, watcher = session_forks(row)
    for pid in (row["pid"], recorder, watcher):
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert sorted(e for e in environ if e) == [
            b"PATH=/usr/sbin:/usr/bin:/sbin:/bin",
            b"TERM=xterm-256color"], (pid, environ)
    p.sendline("exit")
    p.expect(pexpect.EOF)
    assert not Path("/tmp/sg-shock").exists()


# --- host keys ---

def test_changed_host_key_refuses_with_a_clear_message(bastion, syslog):
    t = bastion.target
    t.stop()
    t.new_hostkey()
    t.start()
    r = bastion.ssh("connect web1 -- true")
    assert r.returncode == 255
    assert ("gate-shell: the target's host key has changed and does not "
            "match the key the gate pinned; connection refused") in r.stderr
    row = bastion.sessions()[-1]
    assert row["end_reason"] == "error" and "changed" in row["message"]
    # Re-pinning (an admin's decision) lets it through again.
    bastion.gate.ctl("host", "pin", "web1", "--scan")
    assert bastion.ssh("connect web1 -- true").returncode == 0


def test_unpinned_host_is_refused(bastion):
    g = bastion.gate
    g.ctl("host", "add", "web3", "127.0.0.1", "--port",
          str(bastion.target.port), "--login", TARGET_USER)
    g.ctl("grant", "alice", "web3")
    r = bastion.ssh("connect web3 -- true")
    assert r.returncode == 255
    assert "no pinned host key" in r.stderr


def test_pin_with_hostkey_option(bastion):
    g = bastion.gate
    pub = Path(f"{bastion.target.hostkey}.pub").read_text().split()
    g.ctl("host", "add", "web4", "127.0.0.1", "--port",
          str(bastion.target.port), "--login", TARGET_USER, "--hostkey",
          f"{pub[0]} {pub[1]}")
    g.ctl("grant", "alice", "web4")
    assert bastion.ssh("connect web4 -- true").returncode == 0
    kh = (g.state / "known_hosts").read_text()
    assert f"web4 {pub[0]} {pub[1]}\n" in kh
    st = os.stat(g.state / "known_hosts")
    assert (st.st_mode & 0o777, st.st_uid) == (0o600,
                                               g.accounts["gate"].pw_uid)
    g.ctl("host", "del", "web4")
    assert "web4 " not in (g.state / "known_hosts").read_text()
    r = g.ctl("host", "pin", "web1", "--hostkey", "ssh-ed25519 AAAAnope",
              check=False)
    assert r.returncode == 2


def test_target_down_is_a_clear_error(bastion):
    bastion.target.stop()
    r = bastion.ssh("connect web1 -- true")
    assert r.returncode == 255
    assert "gate-shell: the target refused the connection" in r.stderr
    row = bastion.sessions()[-1]
    assert row["end_reason"] == "error" and row["ended_at"]


def test_target_refusing_the_gate_key(bastion):
    bastion.target.ak.write_text("")
    r = bastion.ssh("connect web1 -- true")
    assert r.returncode == 255
    assert "refused the gate's key" in r.stderr


def test_egress_key_is_made_by_init_and_printed(gate):
    key = gate.state / "egress_ed25519"
    st = os.stat(key)
    assert (st.st_mode & 0o777, st.st_uid) == (0o600,
                                               gate.accounts["gate"].pw_uid)
    line = gate.ctl("egress-key").stdout
    assert line.startswith("ssh-ed25519 AAAA")
    assert line.split()[:2] == Path(f"{key}.pub").read_text().split()[:2]
    before = key.read_bytes()
    gate.ctl("init")
    assert key.read_bytes() == before


def test_per_host_egress_key(bastion, keygen):
    g = bastion.gate
    key, pub = keygen("web5-egress")
    os.chown(key, g.accounts["gate"].pw_uid, g.accounts["gate"].pw_gid)
    os.chown(key.parent, g.accounts["gate"].pw_uid, g.accounts["gate"].pw_gid)
    os.chmod(key.parent, 0o755)
    g.ctl("host", "add", "web5", "127.0.0.1", "--port",
          str(bastion.target.port), "--login", TARGET_USER, "--scan",
          "--egress-key", str(key))
    g.ctl("grant", "alice", "web5")
    assert g.ctl("egress-key", "web5").stdout.split()[:2] == pub.split()[:2]
    # The target trusts only the gate's main key so far.
    assert bastion.ssh("connect web5 -- true").returncode == 255
    bastion.target.ak.write_text(pub)
    assert bastion.ssh("connect web5 -- true").returncode == 0
    assert bastion.ssh("connect web1 -- true").returncode == 255


# --- sessions, limits, kill ---

def test_session_limit(make_bastion, syslog):
    b = make_bastion("[sessions]\nmax_sessions_per_user = 1\n")
    p = spawn(b, "connect", "web1")
    shell_ready(p)
    r = b.ssh("connect web1 -- true")
    assert r.returncode == 3
    assert "you already have 1 live sessions, the most allowed" in r.stderr
    rows = sorted(b.sessions(), key=lambda s: s["end_reason"] or "")
    assert [s["end_reason"] for s in rows] == [None, "limit"]
    assert syslog.wait_for(r"refused: 1 live sessions is the limit")
    p.sendline("exit")
    p.expect(pexpect.EOF)
    ended(b, rows[0]["id"])
    assert b.ssh("connect web1 -- true").returncode == 0


def test_a_burst_of_connects_gets_exactly_the_limit(make_bastion, make_sshd):
    """50 connects by one user at the same moment (issue 9, limits and
    faults): max_sessions_per_user of them run, every other one is
    refused with the limit message and leaves a closed 'limit' row; no
    database error reaches anyone."""
    limit, burst = 5, 50
    b = make_bastion(f"[sessions]\nmax_sessions_per_user = {limit}\n")
    # sshd drops unauthenticated connections beyond MaxStartups (10 by
    # default) at random: let all of them reach gate-shell.
    b.sshd = make_sshd(b.gate, snippet_edit=lambda s:
                       "MaxStartups 100:30:200\n" + s)
    procs = [subprocess.Popen(b.ssh_argv("connect web1 -- cat"),
                              stdin=subprocess.PIPE,
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE)
             for _ in range(burst)]
    try:
        # Until each connect has ended or holds a live session.
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = [p for p in procs if p.poll() is not None]
            rows = b.sessions()
            live = [s for s in rows if s["ended_at"] is None]
            if len(live) + len(done) == burst:
                break
            time.sleep(0.2)
        refused = [(p.returncode, p.stderr.read().decode()) for p in done]
        assert len(live) == limit, (len(live), refused[:3])
        assert len(rows) == burst, refused
        assert [s["end_reason"] for s in rows].count("limit") == \
            burst - limit, refused
        assert len(refused) == burst - limit
        for rc, err in refused:
            assert rc == 3 and err == (
                f"gate-shell: you already have {limit} live sessions, "
                "the most allowed; end one first (see: sessions, kill "
                "ID)\n"), (rc, err)
        for p in procs:
            if p.returncode is None:
                p.stdin.close()
                assert p.wait(timeout=60) == 0, p.stderr.read()
                assert p.stderr.read() == b""
        # Only now is every login the target saw in its log.
        assert b.target.log.read_text().count("Accepted publickey") == \
            limit
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    reasons = sorted(s["end_reason"] for s in b.sessions())
    assert reasons == ["exit"] * limit + ["limit"] * (burst - limit)


# THREATS row 23
def test_sessions_and_kill(make_bastion, keygen):
    b = make_bastion()
    p = spawn(b, "connect", "web1")
    shell_ready(p)
    row = live_session(b)
    ssh = egress_pid(row)
    r = b.ssh("sessions")
    assert str(row["id"]) in r.stdout and f"{TARGET_USER}@web1" in r.stdout
    out = b.ssh("sessions --json").stdout
    assert f'"id":{row["id"]}' in out

    # bob sees nothing and gets the same answer as for a made-up id.
    bkey, bpub = keygen("bob")
    enroll(b.gate, "bob", bpub)
    bob = b.sshd.ssh_argv(bkey, "kill", str(row["id"]))
    r1 = run(bob)
    r2 = run(b.sshd.ssh_argv(bkey, "kill", "1234567890"))
    assert r1.returncode == r2.returncode == 3
    assert r1.stderr.replace(str(row["id"]), "N") == \
        r2.stderr.replace("1234567890", "N")
    assert str(row["id"]) not in run(b.sshd.ssh_argv(bkey, "sessions")).stdout
    assert run(b.sshd.ssh_argv(bkey, "sessions", "--all")).returncode == 3
    for bad in ("../1", "1x", "-1", "0x10", ""):
        assert b.ssh(f"kill '{bad}'").returncode == 2

    r = b.ssh("kill", str(row["id"]))
    assert r.returncode == 0, r.stderr
    p.expect(pexpect.EOF)
    done = ended(b, row["id"])
    assert done["end_reason"] == "killed"
    assert not Path(f"/proc/{ssh}").exists()


def test_admin_sees_and_kills_everyones_sessions(make_bastion, keygen):
    b = make_bastion()
    p = spawn(b, "connect", "web1")
    shell_ready(p)
    row = live_session(b)
    akey, apub = keygen("root-admin")
    enroll(b.gate, "carol", apub, admin=True)
    r = run(b.sshd.ssh_argv(akey, "sessions", "--all"))
    assert str(row["id"]) in r.stdout and "alice" in r.stdout
    r = run(b.sshd.ssh_argv(akey, "kill", str(row["id"])))
    assert r.returncode == 0, r.stderr
    p.expect(pexpect.EOF)
    assert ended(b, row["id"])["end_reason"] == "killed"


def test_gatectl_session_list_and_kill(bastion):
    p = spawn(bastion, "connect", "web1")
    shell_ready(p)
    row = live_session(bastion)
    out = bastion.gate.ctl("session", "list").stdout
    assert str(row["id"]) in out and "live" in out
    bastion.gate.ctl("session", "kill", str(row["id"]))
    p.expect(pexpect.EOF)
    assert ended(bastion, row["id"])["end_reason"] == "killed"
    r = bastion.gate.ctl("session", "kill", str(row["id"]), check=False)
    assert r.returncode == 2


# THREATS row 25
def test_dead_gate_shell_leaves_a_lost_row_and_no_egress(make_bastion,
                                                         rundir):
    """gate-shell SIGKILLed mid-session (issue 9, limits and faults): it
    cannot close its row or clean up, so the rest must follow on their
    own: the egress ssh (SIGHUP on its parent's death) and the idle
    watcher go, the recorder finishes its file, the user's ssh client
    ends and leaves its terminal as it found it, and the next look closes
    the row as lost."""
    b = make_bastion("[sessions]\nidle_timeout = 1h\n")
    before = rundir / f"stty-{uuid.uuid4().hex[:6]}"
    after = Path(f"{before}-after")
    # The terminal's settings before the client makes it raw and after
    # it is gone, read by the same shell on the same terminal.
    client = shlex.join(b.ssh_argv("connect", "web1", tty=True))
    p = pexpect.spawn("/bin/sh", ["-c", f"stty -a > {before}; {client}; "
                      f"echo client-exit-$?; stty -a > {after}"],
                      dimensions=(24, 80), timeout=20, encoding="utf-8",
                      codec_errors="replace")
    shell_ready(p)
    row = live_session(b)
    ssh = egress_pid(row)
    recorder, watcher = session_forks(row)
    os.kill(row["pid"], signal.SIGKILL)
    p.expect(r"client-exit-\d+")
    p.expect(pexpect.EOF)
    assert after.read_text() == before.read_text()
    assert "-icanon" not in after.read_text()
    for pid in (ssh, watcher, recorder):
        assert gone(pid), pid
    assert [s["ended_at"] for s in b.sessions()] == [None]
    b.ssh("sessions")
    row = b.sessions()[0]
    assert row["end_reason"] == "lost"
    assert row["rec_status"].startswith("ok"), row["rec_status"]
    assert MARK in "".join(e[2] for e in cast_lines(row["recording"])[1:]
                           if e[1] == "o")


@pytest.mark.parametrize("tty", [True, False], ids=["terminal", "pipes"])
@pytest.mark.parametrize("what", ["connection", "sshd"])
def test_target_dying_mid_session_ends_it_with_the_reason(bastion, tty,
                                                           what):
    """The target's side of the session (its sshd for this connection, or
    the whole sshd) is SIGKILLed (issue 9, limits and faults): the user's
    client ends at once with exit 255 and one line from the gate saying
    why, the row is closed with that reason, the recording is complete
    and plays."""
    t = bastion.target
    if tty:
        p = spawn(bastion, "connect", "web1")
        shell_ready(p)
    else:
        p = subprocess.Popen(bastion.ssh_argv("connect web1 -- sleep 600"),
                             stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "sleep" not in [
                comm(c) for c in descendants(t.proc.pid)]:
            time.sleep(0.05)
    try:
        row = live_session(bastion)
        doomed = descendants(t.proc.pid)
        assert "sleep" in map(comm, doomed) or tty, doomed
        if what == "sshd":
            doomed.append(t.proc.pid)
        for pid in doomed:
            os.kill(pid, signal.SIGKILL)
        if tty:
            p.expect(pexpect.EOF, timeout=30)
            p.close()
            status, err = p.exitstatus, p.before.replace("\r\n", "\n")
        else:
            _, err = p.communicate(timeout=30)
            status = p.returncode
    finally:
        # A client left behind would keep the test accounts busy.
        if tty:
            p.close(force=True)
        elif p.poll() is None:
            p.kill()
            p.wait()
    if what == "sshd":
        t.proc.wait()
    done = ended(bastion, row["id"])
    assert done["end_reason"] == "error"
    assert done["exit_status"] == 255 and status == 255
    assert done["message"] in ("the target closed the connection",
                               "the connection to the target was reset",
                               "the connection to the target was lost")
    said = [ln for ln in err.splitlines() if ln.startswith("gate-shell:")]
    assert said == [f"gate-shell: {done['message']}"], err
    assert done["rec_status"].startswith("ok"), done["rec_status"]
    cast_lines(done["recording"])
    asciinema_cat(done["recording"])


# THREATS row 25
def test_client_disconnect_closes_the_row(bastion):
    p = spawn(bastion, "connect", "web1")
    shell_ready(p)
    row = live_session(bastion)
    ssh = egress_pid(row)
    p.close(force=True)
    done = ended(bastion, row["id"])
    assert done["end_reason"] == "lost"
    assert not Path(f"/proc/{ssh}").exists()


def test_max_session_time(make_bastion):
    b = make_bastion("[sessions]\nmax_session_time = 3s\n")
    p = spawn(b, "connect", "web1")
    p.expect(r"\[sshgate\] this session ends in \d+ seconds")
    p.expect("reached max_session_time")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 1
    row = b.sessions()[-1]
    assert row["end_reason"] == "ttl"


# --- the prompt ---

def test_prompt_lists_hosts_and_runs_verbs(bastion):
    p = spawn(bastion)
    p.expect("you are alice")
    p.expect("web1")
    p.expect("sshgate> ")
    p.sendline("whoami")
    p.expect("alice")
    p.expect("sshgate> ")
    p.sendline("connect 'web1;id'")
    p.expect("gate-shell: ")
    p.expect("sshgate> ")
    # A terminal line is at most 4095 bytes (canonical mode), so the
    # 8192-byte limit is tested through SSH_ORIGINAL_COMMAND elsewhere.
    p.sendline("list" + " a" * 300)
    p.expect("gate-shell: .*words")
    p.expect("sshgate> ")
    p.sendline("exit")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


def test_prompt_connect_then_gate_shell_ends(bastion):
    p = spawn(bastion)
    p.expect("sshgate> ")
    p.sendline("connect web1")
    shell_ready(p)
    p.sendline("exit 4")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 4


def test_prompt_ctrl_d_ends_ctrl_c_and_ctrl_z_do_not(bastion):
    p = spawn(bastion)
    p.expect("sshgate> ")
    p.send("half a line")
    p.sendcontrol("c")
    p.expect("sshgate> ")
    p.sendcontrol("z")
    p.sendcontrol("\\")
    p.sendline("whoami")
    p.expect("alice")
    p.expect("sshgate> ")
    p.sendeof()
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


def test_no_command_without_terminal_is_usage(bastion):
    r = bastion.ssh()
    assert r.returncode == 2 and "no command given" in r.stderr


# --- the terminal is restored on every way out ---

@pytest.mark.parametrize("how", ["exit", "sigterm", "sighup", "kill-verb",
                                 "sigsegv"])
def test_terminal_restored(bastion, how):
    """gate-shell run directly on a terminal we hold, as sshd would run
    it; the terminal's settings afterwards must equal those before."""
    g = bastion.gate
    auth = g.root / f"auth-{uuid.uuid4().hex[:6]}"
    auth.write_text("publickey " + " ".join(bastion.pub.split()[:2]) + "\n")
    os.chown(auth, g.accounts["gate"].pw_uid, g.accounts["gate"].pw_gid)
    env = {"PATH": "/usr/bin:/bin", "TERM": "xterm",
           "SSH_CONNECTION": "127.0.0.9 5555 127.0.0.1 22",
           "SSH_USER_AUTH": str(auth), "SSH_ORIGINAL_COMMAND": "connect web1"}
    argv = ["setpriv", f"--reuid={GATE_USER}", f"--regid={GATE_USER}",
            "--clear-groups", str(g.bindir / "gate-shell"), "-c",
            str(g.config), "--key-id", str(bastion.key_id)]
    p = pexpect.spawn(argv[0], argv[1:], env=env, timeout=20,
                      encoding="utf-8", codec_errors="replace")
    before = termios.tcgetattr(p.child_fd)
    shell_ready(p)
    during = termios.tcgetattr(p.child_fd)
    assert during != before            # raw while relaying
    row = live_session(bastion)
    if how == "exit":
        p.sendline("exit")
    elif how == "sigterm":
        os.kill(row["pid"], signal.SIGTERM)
    elif how == "sighup":
        os.kill(row["pid"], signal.SIGHUP)
    elif how == "sigsegv":
        os.kill(row["pid"], signal.SIGSEGV)   # a crash: no row written
    else:
        bastion.ssh("kill", str(row["id"]))
    deadline = time.monotonic() + 10
    while Path(f"/proc/{row['pid']}").exists() and \
            time.monotonic() < deadline:
        time.sleep(0.05)
    assert termios.tcgetattr(p.child_fd) == before
    p.close(force=True)
    if how == "sigsegv":
        bastion.ssh("sessions")             # the next lister reaps it
    assert ended(bastion, row["id"])["end_reason"] == {
        "exit": "exit", "sigterm": "killed", "sighup": "lost",
        "kill-verb": "killed", "sigsegv": "lost"}[how]


# --- found in review: each a test that fails if the hole comes back ---

def test_init_never_follows_a_planted_pub_symlink(make_gate, rundir):
    """A gate account that removes its egress key and plants
    egress_ed25519.pub -> a root file must not get root's file written
    when an admin runs init."""
    g = make_gate()
    victim = rundir / f"victim-{uuid.uuid4().hex[:6]}"
    victim.write_text("root's own\n")
    (g.state / "egress_ed25519").unlink()
    (g.state / "egress_ed25519.pub").unlink()
    os.symlink(victim, g.state / "egress_ed25519.pub")
    r = g.ctl("init", check=False)
    assert r.returncode == 1 and "egress_ed25519.pub" in r.stderr
    assert victim.read_text() == "root's own\n"
    assert not (g.state / "egress_ed25519").exists()


# THREATS row 17
def test_gatectl_session_kill_never_signals_a_forged_pid(bastion):
    """Rows are data the gate account can write: root must not be made to
    signal init (or anything that is not a gate-shell)."""
    g = bastion.gate
    start = open("/proc/1/stat").read().rsplit(")", 1)[1].split()[19]
    g.sql("INSERT INTO sessions (id, user_id, user_name, host_name, login, "
          "started_at, pid, pid_start) VALUES (1234567890, 1, 'alice', "
          "'web1', 'x', strftime('%s','now'), 1, ?)", int(start))
    # pid 1 lives with that start time, so the reaper keeps the row; kill
    # finds no gate-shell there and closes the row as lost, signalling
    # nothing.
    r = g.ctl("session", "kill", "1234567890", check=False)
    assert r.returncode == 0, r.stderr
    row = [s for s in bastion.sessions() if s["id"] == 1234567890][0]
    assert row["end_reason"] == "lost"
    assert Path("/proc/1").exists()


def test_remote_stderr_is_not_taken_for_ssh_errors(bastion):
    r = bastion.ssh("connect web1 -- sh -c 'echo Permission denied >&2; "
                    "echo Connection refused >&2; exit 255'")
    assert r.returncode == 255
    assert "gate-shell:" not in r.stderr
    row = bastion.sessions()[-1]
    assert row["end_reason"] == "exit" and row["message"] == ""
