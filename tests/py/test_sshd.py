"""The whole entry path with real OpenSSH: a private sshd on loopback wired
with the shipped sshd_config.d/sshgate.conf, the real ssh client, and the
gate account whose login shell is gate-shell.

A registered key reaches gate-shell and nothing else does; forwarding of
every kind is tried for real and fails (THREATS rows 6, 7, 10, 11)."""
import json
import os
import pwd
import random
import selectors
import shlex
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import (GATE_USER, INVALIDATIONS, enroll, free_port, invalidate,
                      run, wait_port)

DENIED = "Permission denied (publickey)"


@pytest.fixture
def world(gate, keygen, make_sshd):
    key, pub = keygen("alice")
    kid = enroll(gate, "alice", pub)
    gate.ctl("host", "add", "web1", "127.0.0.1", "--login", "www")
    gate.ctl("grant", "alice", "web1")
    return {"gate": gate, "sshd": make_sshd(gate), "key": key, "pub": pub,
            "id": kid}


def test_registered_key_reaches_gate_shell(world):
    r = world["sshd"].ssh(world["key"], "whoami", "--json")
    assert r.returncode == 0, r.stderr
    me = json.loads(r.stdout)
    assert me["user"] == "alice" and me["key_id"] == world["id"]
    assert me["from"] == "127.0.0.1"
    r = world["sshd"].ssh(world["key"], "list")
    assert r.returncode == 0 and "web1" in r.stdout


def test_with_a_pty(world):
    r = world["sshd"].ssh(world["key"], "whoami", opts=["-tt"])
    assert r.returncode == 0, r.stderr
    assert "alice" in r.stdout


def test_errors_and_exit_status_reach_the_client(world):
    # THREATS row 5 and the gitolite row (option and newline refused)
    r = world["sshd"].ssh(world["key"], "list -F /etc/passwd")
    assert r.returncode == 2
    assert "gate-shell: list: unknown option '-F'" in r.stderr
    r = world["sshd"].ssh(world["key"])             # no command, no pty
    assert r.returncode == 2 and "no command given" in r.stderr
    # THREATS row 5: a newline smuggled into the command.
    r = world["sshd"].ssh(world["key"], "list\nwhoami")
    assert r.returncode == 2 and r.stdout == ""


@pytest.mark.parametrize("case", ("unknown",) + INVALIDATIONS)
def test_refused_keys_cannot_log_in(world, keygen, case):
    key = world["key"]
    if case == "unknown":
        key, _ = keygen("stranger")
    else:
        invalidate(world["gate"], "alice", world["pub"], case)
    r = world["sshd"].ssh(key, "whoami")
    assert r.returncode == 255 and r.stdout == ""
    assert DENIED in r.stderr


def test_other_accounts_are_not_served(world):
    r = world["sshd"].ssh(world["key"], "id", user="root")
    assert r.returncode == 255 and "Permission denied" in r.stderr


def test_key_works_until_its_expiry(world, keygen):
    """A key enrolled with --expires logs in until then and not after
    (authkeys-cmd stops printing it, and the expiry-time= it printed
    makes sshd refuse it too; test_authkeys checks that option)."""
    key, pub = keygen("brief")
    enroll(world["gate"], "brief", pub, "--expires", "+2s")
    r = world["sshd"].ssh(key, "whoami")
    assert r.returncode == 0, r.stderr
    time.sleep(2.5)
    r = world["sshd"].ssh(key, "whoami")
    assert r.returncode == 255


class Target:
    """A TCP listener standing in for anything a forward could reach."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.stop = False
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()

    def loop(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            c.sendall(b"REACHED\n")
            c.close()

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()


@pytest.fixture
def target():
    t = Target()
    yield t
    t.close()


def background_ssh(sshd, key, *opts):
    return subprocess.Popen(sshd.ssh_argv(key, opts=["-N", *opts]),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def stop(p):
    p.terminate()
    try:
        return p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.communicate()


def recv_all(s):
    data = b""
    s.settimeout(5)
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    return data


def test_forwarding_W(world, target):
    # THREATS rows 7, 10
    r = world["sshd"].ssh(world["key"],
                          opts=["-W", f"127.0.0.1:{target.port}"], input="")
    assert r.returncode != 0
    assert "REACHED" not in r.stdout
    assert target.accepted == 0


def test_forwarding_L(world, target):
    # THREATS rows 7, 10
    lp = free_port()
    p = background_ssh(world["sshd"], world["key"],
                       "-L", f"127.0.0.1:{lp}:127.0.0.1:{target.port}")
    try:
        wait_port(lp, p)
        with socket.create_connection(("127.0.0.1", lp), timeout=5) as s:
            assert b"REACHED" not in recv_all(s)
    finally:
        stop(p)
    assert target.accepted == 0


def test_forwarding_D(world, target):
    # THREATS rows 7, 10
    lp = free_port()
    p = background_ssh(world["sshd"], world["key"], "-D", f"127.0.0.1:{lp}")
    try:
        wait_port(lp, p)
        with socket.create_connection(("127.0.0.1", lp), timeout=5) as s:
            s.sendall(b"\x05\x01\x00")                  # SOCKS5, no auth
            assert s.recv(2) == b"\x05\x00"
            s.sendall(b"\x05\x01\x00\x01" + socket.inet_aton("127.0.0.1") +
                      target.port.to_bytes(2, "big"))
            reply = recv_all(s)
            assert b"REACHED" not in reply
            assert reply[:2] != b"\x05\x00"            # not "succeeded"
    finally:
        stop(p)
    assert target.accepted == 0


def test_forwarding_R(world, target):
    # THREATS rows 7, 10
    rp = free_port()
    r = world["sshd"].ssh(world["key"], opts=[
        "-N", "-o", "ExitOnForwardFailure=yes",
        "-R", f"127.0.0.1:{rp}:127.0.0.1:{target.port}"], timeout=20)
    assert r.returncode != 0
    assert "remote port forwarding failed" in r.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", rp), timeout=1).close()
    assert target.accepted == 0


def links():
    """Names of the network interfaces on this host (the gate's)."""
    out = run(["ip", "-o", "link", "show"]).stdout
    return {line.split(":")[1].strip().split("@")[0]
            for line in out.splitlines()}


def tun_holders(sshd):
    """Processes of sshd (the master and all below it) holding
    /dev/net/tun open, that is, attached to a tun/tap device."""
    def parent(pid):
        try:
            return int(Path(f"/proc/{pid}/stat").read_text()
                       .rsplit(")", 1)[1].split()[1])
        except OSError:
            return 0
    pids = set()
    for fd in Path("/proc").glob("[0-9]*/fd/*"):
        try:
            if os.readlink(fd) != "/dev/net/tun":
                continue
        except OSError:
            continue
        pid = up = int(fd.parts[2])
        while up > 1 and up != sshd.proc.pid:
            up = parent(up)
        if up == sshd.proc.pid:
            pids.add(pid)
    return pids


@pytest.mark.parametrize("mode", ["point-to-point", "ethernet"])
def test_forwarding_w(world, mode):
    """-w: the client opens a tun/tap device of its own and asks sshd for
    one on the gate. The unit asked for exists and belongs to the gate
    account, so only sshd's policy stands between it and the session:
    no process but the client attaches a device, none appears."""
    # THREATS rows 7, 10. (Not "-w N:any": sshd would have to create a
    # device, which the gate account may not, so it would fail whatever
    # the policy; a fixed unit shows a lapse.)
    unit = random.randrange(1000, 9000)
    kind = "tap" if mode == "ethernet" else "tun"
    ours, theirs = f"{kind}{unit}", f"{kind}{unit + 1}"
    r = run(["ip", "tuntap", "add", "dev", theirs, "mode", kind, "user",
             GATE_USER])
    if r.returncode != 0:
        pytest.skip("cannot make tun/tap devices here: " + r.stderr)
    try:
        before = links()
        p = subprocess.Popen(world["sshd"].ssh_argv(world["key"], opts=[
            "-v", "-N", "-o", "ExitOnForwardFailure=yes", "-o",
            f"Tunnel={mode}", "-w",
            f"{unit}:{unit + 1}"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # Refused, the client exits at once; granted, it would stay
            # up with the gate's end attached, which is what is looked at.
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        during, holders = links(), tun_holders(world["sshd"])
        _, err = stop(p)
    finally:
        run(["ip", "tuntap", "del", "dev", theirs, "mode", kind])
    if "Tunnel device open failed" in err:
        pytest.skip("the client cannot open a tun device here")
    assert holders == set(), holders
    assert {n for n in during - before if n != ours} == set()
    assert p.returncode == 255, (p.returncode, err[-2000:])
    assert "Tunnel forwarding failed" in err, err[-2000:]


def live_connect(bastion, script, opts=(), env=None, agent=None):
    """ssh -T gate connect web1 -- sh -c SCRIPT, kept running while a test
    looks at the gate: returns the client and the lines the target printed
    before "sg-ready"; the session is live. agent: the client's
    agent socket, in place of the fixture's IdentityAgent=none."""
    script = shlex.quote(script + "; echo sg-ready; read x")
    argv = bastion.ssh_argv(f"connect web1 -- sh -c {script}", opts=opts)
    if agent:
        argv = [f"IdentityAgent={agent}" if a == "IdentityAgent=none" else a
                for a in argv]
    p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=env)
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    out, deadline = b"", time.monotonic() + 30
    while b"sg-ready\n" not in out and time.monotonic() < deadline:
        if sel.select(timeout=1):
            chunk = os.read(p.stdout.fileno(), 4096)
            if not chunk:
                break
            out += chunk
    sel.close()
    if b"sg-ready\n" not in out:
        stop(p)
        raise AssertionError(f"no sg-ready from the target: {out!r}")
    lines = out.decode(errors="replace").split("sg-ready\n")[0].splitlines()
    live = [s for s in bastion.sessions() if s["ended_at"] is None]
    assert len(live) == 1, live
    return p, lines


def finish(p):
    """End a live_connect session: the target's read gets EOF."""
    p.stdin.close()
    p.wait(timeout=30)
    return p.stderr.read().decode(errors="replace")


def x11_listeners():
    """TCP ports listening where sshd puts forwarded X11 displays
    (6000 + X11DisplayOffset, 10 by default, and up)."""
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == "0A" and 6010 <= port < 7000:
                ports.add(port)
    return ports


def agent_dirs(uid):
    """sshd's agent socket directories (/tmp/ssh-XXXXXXXXXX) owned by uid."""
    dirs = set()
    for p in Path("/tmp").glob("ssh-*"):
        try:
            if p.lstat().st_uid == uid:
                dirs.add(p)
        except OSError:
            pass            # another session's, gone meanwhile
    return dirs


def test_forwarding_A(bastion, keygen, tmp_path):
    """-A with a real agent holding a key: nothing of it reaches sshd's
    session on the gate (no agent socket), the egress ssh or the target.
    (gate-shell's own environment cannot tell: it rewrites what /proc
    shows of it, lib/env.c.)"""
    # THREATS rows 7, 10
    key, _ = keygen("held-by-agent")
    sock = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(sock)],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        run(["ssh-add", key], env=dict(os.environ, SSH_AUTH_SOCK=str(sock)),
            check=True)
        uid = pwd.getpwnam(GATE_USER).pw_uid
        before = agent_dirs(uid)
        # The client drops -A without an agent of its own: give it one.
        p, lines = live_connect(
            bastion, 'echo "agent=${SSH_AUTH_SOCK-none}"; ssh-add -l 2>&1',
            opts=["-v", "-A"], agent=sock)
        try:
            assert agent_dirs(uid) == before
        finally:
            err = finish(p)
    finally:
        stop(agent)
    assert "Requesting authentication agent forwarding" in err, err
    assert lines[0] == "agent=none", lines
    assert "Could not open a connection to your authentication agent" in \
        lines[1], lines


@pytest.mark.parametrize("flag", ["-X", "-Y"])
def test_forwarding_X(bastion, flag):
    """THREATS row 5's test: `ssh -X gate connect web1 -- printenv DISPLAY`
    prints nothing. The target would print nothing even if the gate's
    sshd granted X11 (gate-shell drops DISPLAY, the egress ssh asks for
    no X11), so the gate is looked at too: the client asks (its own
    DISPLAY is enough; it sends a made-up cookie) and is refused, sshd
    runs no xauth for the gate account and listens on no display port."""
    # THREATS rows 5, 7, 10
    # Without xauth sshd refuses X11 anyway; with it, only policy can.
    assert Path("/usr/bin/xauth").exists(), "tests/run installs xauth"
    env = dict(os.environ, DISPLAY=":0")
    r = run(bastion.ssh_argv("connect web1 -- printenv DISPLAY",
                             opts=[flag]), env=env)
    assert (r.returncode, r.stdout) == (1, "")
    assert "X11 forwarding request failed" in r.stderr, r.stderr
    xauthority = Path(pwd.getpwnam(GATE_USER).pw_dir) / ".Xauthority"
    before = x11_listeners()
    p, lines = live_connect(bastion, "printenv DISPLAY", opts=[flag],
                                 env=env)
    try:
        assert x11_listeners() <= before
        assert not xauthority.exists()
    finally:
        err = finish(p)
    assert lines == []
    assert "X11 forwarding request failed" in err, err


def test_planted_authorized_keys_file_is_ignored(world, keygen):
    """THREATS row 6: a key in ~gate/.ssh/authorized_keys skips
    authkeys-cmd; the shipped snippet says AuthorizedKeysFile none."""
    # THREATS row 6
    key, pub = keygen("planted")
    home = world["gate"].accounts["home"]
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(pub)
    uid = world["gate"].accounts["gate"].pw_uid
    gid = world["gate"].accounts["gate"].pw_gid
    os.chown(ssh_dir, uid, gid)
    os.chown(ssh_dir / "authorized_keys", uid, gid)
    try:
        r = world["sshd"].ssh(key, "whoami")
        assert r.returncode == 255 and DENIED in r.stderr
    finally:
        (ssh_dir / "authorized_keys").unlink()


def test_gate_shell_holds_even_if_sshd_reads_authorized_keys(
        world, keygen, make_sshd):
    """Second belt for row 6: with the snippet's AuthorizedKeysFile line
    removed, a planted key logs in and its client's command reaches the
    login shell; gate-shell still runs nothing, and a forged --key-id
    fails because the key sshd verified is not that key."""
    # THREATS row 6
    key, pub = keygen("planted2")
    gate = world["gate"]
    home = gate.accounts["home"]
    ssh_dir = home / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    (ssh_dir / "authorized_keys").write_text(pub)
    uid, gid = gate.accounts["gate"].pw_uid, gate.accounts["gate"].pw_gid
    os.chown(ssh_dir, uid, gid)
    os.chown(ssh_dir / "authorized_keys", uid, gid)
    weak = make_sshd(gate, snippet_edit=lambda s: s.replace(
        "AuthorizedKeysFile none", "AuthorizedKeysFile .ssh/authorized_keys"))
    try:
        r = weak.ssh(key, "id")
        assert r.returncode == 2 and "uid=" not in r.stdout
        forged = f"{gate.bindir / 'gate-shell'} -c {gate.config} " \
                 f"--key-id {world['id']}"
        r = weak.ssh(key, forged)
        assert r.returncode == 3 and r.stdout == ""
        assert "access denied" in r.stderr
        # The enrolled key still works through the same sshd.
        r = weak.ssh(world["key"], "whoami")
        assert r.returncode == 0 and "alice" in r.stdout
    finally:
        (ssh_dir / "authorized_keys").unlink()


def test_file_transfer_does_nothing_on_the_gate(world, tmp_path):
    """THREATS row 11: scp, sftp (also as -s sftp) and rsync reach
    gate-shell as unknown commands; no file appears on the gate."""
    # THREATS row 11
    sshd, key = world["sshd"], world["key"]
    src = tmp_path / "payload"
    src.write_text("data\n")
    dest = f"/tmp/sg-transfer-{os.getpid()}"
    base = sshd.ssh_argv(key)[:-1]      # ssh ... options, no destination
    opts = base[1:]
    r = run(["scp", "-O", *opts[:-2], "-P", str(sshd.port), src,
             f"{GATE_USER}@127.0.0.1:{dest}"])
    assert r.returncode != 0
    r = run(["scp", "-s", *opts[:-2], "-P", str(sshd.port), src,
             f"{GATE_USER}@127.0.0.1:{dest}"])
    assert r.returncode != 0
    r = run(["sftp", "-b", "-", *opts[:-2], "-P", str(sshd.port),
             f"{GATE_USER}@127.0.0.1"], input=f"put {src} {dest}\n")
    assert r.returncode != 0
    r = sshd.ssh(key, "sftp", opts=["-s"], input="")
    assert r.returncode != 0
    ssh_cmd = " ".join(base[:-2] + ["-p", str(sshd.port)])
    r = run(["rsync", "-e", ssh_cmd, src, f"{GATE_USER}@127.0.0.1:{dest}"])
    assert r.returncode != 0
    assert not os.path.exists(dest)
