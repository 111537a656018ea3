"""The whole entry path with real OpenSSH: a private sshd on loopback wired
with the shipped sshd_config.d/sshgate.conf, the real ssh client, and the
gate account whose login shell is gate-shell.

A registered key reaches gate-shell and nothing else does; forwarding of
every kind is tried for real and fails (THREATS rows 6, 7, 10, 11)."""
import json
import os
import socket
import subprocess
import threading
import time

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
    r = world["sshd"].ssh(world["key"],
                          opts=["-W", f"127.0.0.1:{target.port}"], input="")
    assert r.returncode != 0
    assert "REACHED" not in r.stdout
    assert target.accepted == 0


def test_forwarding_L(world, target):
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
    rp = free_port()
    r = world["sshd"].ssh(world["key"], opts=[
        "-N", "-o", "ExitOnForwardFailure=yes",
        "-R", f"127.0.0.1:{rp}:127.0.0.1:{target.port}"], timeout=20)
    assert r.returncode != 0
    assert "remote port forwarding failed" in r.stderr
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", rp), timeout=1).close()
    assert target.accepted == 0


def test_planted_authorized_keys_file_is_ignored(world, keygen):
    """THREATS row 6: a key in ~gate/.ssh/authorized_keys skips
    authkeys-cmd; the shipped snippet says AuthorizedKeysFile none."""
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
