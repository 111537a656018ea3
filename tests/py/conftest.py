"""Fixtures for sshgate's integration suite: real programs, real files.

Everything a test needs is made here and taken down after it:
- the built binaries, copied to a root-owned directory (sshd refuses an
  AuthorizedKeysCommand below a group- or world-writable directory);
- the system accounts the gate runs as (a gate account whose login shell
  is gate-shell, and the AuthorizedKeysCommandUser), made once, reused;
- a gate: state directory, gate.ini and database, through gatectl;
- a real OpenSSH sshd on a free loopback port, configured with the shipped
  sshd_config.d/sshgate.conf (paths and account names substituted);
- a syslog catcher on /dev/log, when no syslog daemon owns it.

Run as root with /usr/bin/python3 (Debian's pytest and pexpect).
"""
import base64
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import sqlite3
import stat
import subprocess
import threading
import time
import uuid
from pathlib import Path

import pytest

SRC = Path(os.environ.get("SSHGATE_SOURCE", Path(__file__).resolve().parents[2]))
BUILD = Path(os.environ.get("SSHGATE_BUILD", SRC / "build"))
# SSHGATE_TEST_ACCOUNTS renames the accounts, so two suites can run at once.
_PREFIX = os.environ.get("SSHGATE_TEST_ACCOUNTS", "sgt")

# A run started under nohup ignores SIGHUP, and every child would inherit
# that: the programs under test must meet the default, as sshd gives it.
signal.signal(signal.SIGHUP, signal.SIG_DFL)

GATE_USER = f"{_PREFIX}-gate"
AUTH_USER = f"{_PREFIX}-auth"
TARGET_USER = f"{_PREFIX}-target"
BASE = Path("/var/lib/sshgate-tests")
SSHD = "/usr/sbin/sshd"
PROGRAMS = {
    "authkeys-cmd": "authkeys-cmd/authkeys-cmd",
    "gate-shell": "gate-shell/gate-shell",
    "gatectl": "gatectl/gatectl",
    "idle-watch": "idle-watch/idle-watch",
}


def run(argv, **kw):
    """subprocess.run with text I/O, captured output and a timeout."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 60)
    return subprocess.run([str(a) for a in argv], **kw)


def children(pid):
    """The pids whose parent is pid."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                fields = (d / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d.name))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc=None, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def ensure_account(name, shell, home):
    """Create a system account if missing; (re)set its shell and home, and
    make its password field '*' so sshd (UsePAM no) does not see it locked."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        run(["useradd", "--system", "--no-create-home", "--user-group",
             "--home-dir", home, "--shell", shell, name], check=True)
    # usermod refuses (8) while the account has processes: a previous
    # suite's last session may still be ending on a target.
    for _ in range(50):
        r = run(["usermod", "--shell", shell, "--home", home, "--password",
                 "*", name])
        if r.returncode != 8:
            break
        time.sleep(0.2)
    assert r.returncode == 0, f"usermod {name}: {r.returncode} {r.stderr}"
    return pwd.getpwnam(name)


@pytest.fixture(scope="session")
def rundir():
    """A root-owned 0755 directory for this pytest process, removed after."""
    BASE.mkdir(mode=0o755, exist_ok=True)
    os.chmod(BASE, 0o755)
    d = BASE / f"run-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    d.mkdir(mode=0o755)
    os.chmod(d, 0o755)
    yield d
    if not os.environ.get("SSHGATE_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def bindir(rundir):
    """The binaries under test, copied where sshd accepts them."""
    b = rundir / "bin"
    b.mkdir(mode=0o755)
    for name, rel in PROGRAMS.items():
        src = BUILD / rel
        if not src.exists():
            pytest.fail(f"{src} is missing: build first (meson compile)")
        shutil.copy2(src, b / name)
        os.chmod(b / name, 0o755)
    return b


@pytest.fixture(scope="session")
def accounts(rundir, bindir):
    home = rundir / "gate-home"
    home.mkdir(mode=0o755)
    gate = ensure_account(GATE_USER, str(bindir / "gate-shell"), str(home))
    os.chown(home, gate.pw_uid, gate.pw_gid)
    auth = ensure_account(AUTH_USER, "/usr/sbin/nologin", "/nonexistent")
    return {"gate": gate, "auth": auth, "home": home}


class Syslog:
    """Collects datagrams sent to /dev/log."""

    def __init__(self, path="/dev/log"):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        os.chmod(path, 0o666)
        self.sock.settimeout(0.2)
        self.msgs = []
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stop:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append(data)

    def clear(self):
        with self.lock:
            self.msgs.clear()

    def raw(self):
        with self.lock:
            return list(self.msgs)

    def lines(self):
        return [m.decode("utf-8", "replace") for m in self.raw()]

    def wait_for(self, pattern, timeout=5.0):
        """The first message matching the regex pattern, or None."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines():
                if rx.search(line):
                    return line
            time.sleep(0.05)
        return None

    def close(self):
        self.stop = True
        self.thread.join()
        self.sock.close()
        os.unlink(self.path)


@pytest.fixture(scope="session")
def syslog_session():
    if os.path.exists("/dev/log"):
        pytest.skip("a syslog daemon owns /dev/log; log checks need it free")
    s = Syslog()
    yield s
    s.close()


@pytest.fixture
def syslog(syslog_session):
    syslog_session.clear()
    return syslog_session


class Gate:
    """One gate: its own state_dir, gate.ini and database."""

    def __init__(self, root, bindir, accounts, extra=""):
        self.root = root
        self.bindir = bindir
        self.accounts = accounts
        root.mkdir(mode=0o755)
        os.chmod(root, 0o755)
        self.state = root / "state"
        self.config = root / "gate.ini"
        self.config.write_text(
            "[gate]\n"
            f"account = {GATE_USER}\n"
            f"auth_account = {AUTH_USER}\n"
            f"state_dir = {self.state}\n"
            f"gate_shell = {bindir / 'gate-shell'}\n" + extra)
        os.chmod(self.config, 0o644)
        self.db = self.state / "gate.db"

    def ctl(self, *args, input=None, check=True, config=True):
        argv = [self.bindir / "gatectl"]
        if config:
            argv += ["-c", self.config]
        r = run(argv + list(args), input=input)
        if check and r.returncode != 0:
            raise AssertionError(f"gatectl {' '.join(map(str, args))}: "
                                 f"rc={r.returncode} {r.stderr}")
        return r

    def authkeys(self, *args, as_auth=True, timeout=10):
        kw = {}
        if as_auth:
            kw = {"user": AUTH_USER, "group": AUTH_USER, "extra_groups": []}
        return run([self.bindir / "authkeys-cmd", "-c", self.config, *args],
                   timeout=timeout, **kw)

    def shell(self, command=None, key_id=None, auth_key=None, argv=None,
              env=None, timeout=10, executable=None):
        """Run gate-shell as the gate account the way sshd would: the
        forced command's argv, SSH_ORIGINAL_COMMAND, and an ExposeAuthInfo
        file naming auth_key (a .pub text) when given."""
        e = {"PATH": "/usr/bin:/bin", "SSH_CONNECTION": "127.0.0.9 5555 127.0.0.1 22"}
        if command is not None:
            e["SSH_ORIGINAL_COMMAND"] = command
        if auth_key is not None:
            f = self.root / f"auth-{uuid.uuid4().hex[:8]}"
            f.write_text("publickey " + " ".join(auth_key.split()[:2]) + "\n")
            os.chown(f, self.accounts["gate"].pw_uid, self.accounts["gate"].pw_gid)
            os.chmod(f, 0o600)
            e["SSH_USER_AUTH"] = str(f)
        e.update(env or {})
        if argv is None:
            argv = [self.bindir / "gate-shell", "-c", self.config,
                    "--key-id", str(key_id)]
        return run(argv, env=e, timeout=timeout, user=GATE_USER,
                   group=GATE_USER, extra_groups=[], executable=executable)

    def dump(self):
        """Every row of the database, for 'nothing changed' checks."""
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            return list(con.iterdump())
        finally:
            con.close()

    def sql(self, statement, *params):
        """Change a row behind gatectl's back (to stand in for time)."""
        con = sqlite3.connect(self.db)
        try:
            con.execute(statement, params)
            con.commit()
        finally:
            con.close()


@pytest.fixture
def make_gate(rundir, bindir, accounts):
    def make(extra="", init=True):
        g = Gate(rundir / f"gate-{uuid.uuid4().hex[:8]}", bindir, accounts,
                 extra)
        if init:
            g.ctl("init")
        return g
    return make


@pytest.fixture
def gate(make_gate):
    return make_gate()


@pytest.fixture
def keygen(rundir):
    """keygen(name, type) -> (private key path, public line)."""
    d = rundir / f"keys-{uuid.uuid4().hex[:8]}"
    d.mkdir(mode=0o700)

    def make(name="id", ktype="ed25519", bits=None):
        path = d / name
        argv = ["ssh-keygen", "-q", "-t", ktype, "-N", "", "-C", f"{name}@test",
                "-f", path]
        if bits:
            argv += ["-b", str(bits)]
        run(argv, check=True)
        return path, Path(f"{path}.pub").read_text()
    return make


INVALIDATIONS = ("user_disabled", "key_disabled", "expired", "deleted")


def fingerprint(b64):
    """SHA256:... of a base64 key blob, as ssh-keygen -lf prints it."""
    digest = hashlib.sha256(base64.b64decode(b64)).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def invalidate(gate, user, pub, how):
    """Make user's enrolled key pub stop being valid, one way of
    INVALIDATIONS; "expired" stands in for time passing."""
    fp = fingerprint(pub.split()[1])
    if how == "user_disabled":
        gate.ctl("user", "disable", user)
    elif how == "key_disabled":
        gate.ctl("key", "disable", fp)
    elif how == "expired":
        gate.sql("UPDATE keys SET expires_at = strftime('%s','now') - 1 "
                 "WHERE fingerprint = ?", fp)
    elif how == "deleted":
        gate.ctl("key", "del", fp)
    else:
        raise ValueError(how)


def enroll(gate, user, pub, *opts, admin=False):
    """Add user (if new) and key; returns the key id."""
    users = gate.ctl("user", "list", "--json").stdout
    if f'"name":"{user}"' not in users:
        gate.ctl("user", "add", user, *(["--admin"] if admin else []))
    r = gate.ctl("key", "add", user, "-", *opts, input=pub)
    return int(re.search(r"key id (\d+)", r.stdout).group(1))


def start_sshd(config, log, port):
    """A checked sshd -D on config, logging to log (appended)."""
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    r = run([SSHD, "-t", "-f", config])
    assert r.returncode == 0, r.stderr
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)],
                            stdout=subprocess.DEVNULL,
                            stderr=open(log, "a"))
    wait_port(port, proc)
    return proc


def stop_process(proc):
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Sshd:
    """A private OpenSSH sshd on loopback, wired with the shipped snippet."""

    def __init__(self, gate, extra="", snippet_edit=None):
        self.gate = gate
        self.dir = gate.root / f"sshd-{uuid.uuid4().hex[:6]}"
        self.dir.mkdir(mode=0o755)
        self.port = free_port()
        hostkey = self.dir / "hostkey"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostkey],
            check=True)
        snippet = (SRC / "etc" / "sshd_config.d" / "sshgate.conf").read_text()
        snippet = snippet.replace("Match User gate", f"Match User {GATE_USER}")
        snippet = snippet.replace(
            "/usr/libexec/sshgate/authkeys-cmd",
            f"{gate.bindir / 'authkeys-cmd'} -c {gate.config}")
        snippet = snippet.replace("AuthorizedKeysCommandUser sshgate-auth",
                                  f"AuthorizedKeysCommandUser {AUTH_USER}")
        if snippet_edit:
            snippet = snippet_edit(snippet)
        (self.dir / "sshgate.conf").write_text(snippet)
        self.config = self.dir / "sshd_config"
        self.config.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {hostkey}\n"
            f"PidFile {self.dir / 'sshd.pid'}\n"
            "UsePAM no\n"
            "LogLevel VERBOSE\n"
            "AcceptEnv LANG LC_*\n"
            "Subsystem sftp internal-sftp\n"
            f"Include {self.dir / 'sshgate.conf'}\n" + extra)
        self.log = self.dir / "sshd.log"
        self.proc = start_sshd(self.config, self.log, self.port)

    def ssh_argv(self, key, *args, user=GATE_USER, opts=()):
        return ["ssh", "-F", "/dev/null", "-o", "BatchMode=yes",
                "-o", "StrictHostKeyChecking=no",
                "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
                "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
                "-o", "ConnectTimeout=10",
                "-i", str(key), "-p", str(self.port), *opts,
                f"{user}@127.0.0.1", *args]

    def ssh(self, key, *args, user=GATE_USER, opts=(), input=None, timeout=30):
        return run(self.ssh_argv(key, *args, user=user, opts=opts),
                   input=input, timeout=timeout)

    def stop(self):
        stop_process(self.proc)


@pytest.fixture
def make_sshd():
    started = []

    def make(gate, **kw):
        s = Sshd(gate, **kw)
        started.append(s)
        return s
    yield make
    for s in started:
        s.stop()


class Target:
    """A target host: one more real sshd on loopback, whose account
    TARGET_USER trusts the gate's egress key (and only that)."""

    def __init__(self, gate, accounts, keys=None):
        self.gate = gate
        self.dir = gate.root / f"target-{uuid.uuid4().hex[:6]}"
        self.dir.mkdir(mode=0o755)
        self.port = free_port()
        self.hostkey = self.dir / "hostkey"
        self.new_hostkey()
        self.ak = self.dir / "authorized_keys"
        if keys is None:
            keys = gate.ctl("egress-key").stdout
        self.ak.write_text(keys)
        os.chmod(self.ak, 0o644)
        self.config = self.dir / "sshd_config"
        self.config.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {self.hostkey}\n"
            f"PidFile {self.dir / 'sshd.pid'}\n"
            "UsePAM no\n"
            "LogLevel VERBOSE\n"
            f"AuthorizedKeysFile {self.ak}\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            f"AllowUsers {TARGET_USER}\n"
            "AcceptEnv LANG LC_*\n"
            "PrintMotd no\n"
            "PrintLastLog no\n")
        self.log = self.dir / "sshd.log"
        self.proc = None
        self.start()

    def new_hostkey(self):
        for p in (self.hostkey, Path(f"{self.hostkey}.pub")):
            if p.exists():
                p.unlink()
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
             self.hostkey], check=True)

    def start(self):
        self.proc = start_sshd(self.config, self.log, self.port)

    def stop(self):
        if self.proc is not None:
            stop_process(self.proc)
        self.proc = None


@pytest.fixture(scope="session")
def target_account(rundir):
    home = rundir / "target-home"
    home.mkdir(mode=0o755)
    pw = ensure_account(TARGET_USER, "/bin/bash", str(home))
    os.chown(home, pw.pw_uid, pw.pw_gid)
    return pw


@pytest.fixture
def make_target(accounts, target_account):
    started = []

    def make(gate, **kw):
        t = Target(gate, accounts, **kw)
        started.append(t)
        return t
    yield make
    for t in started:
        t.stop()


class Bastion:
    """A whole gate as users meet it: gate sshd, one target host "web1"
    (login TARGET_USER, host key pinned by --scan), and alice, whose key
    is granted web1."""

    def __init__(self, gate, sshd, target, key, pub, key_id):
        self.gate, self.sshd, self.target = gate, sshd, target
        self.key, self.pub, self.key_id = key, pub, key_id

    def ssh_argv(self, *args, tty=False, opts=()):
        o = ["-tt"] if tty else ["-T"]
        return self.sshd.ssh_argv(self.key, *args, opts=(*o, *opts))

    def ssh(self, *args, tty=False, opts=(), input=None, timeout=60):
        return run(self.ssh_argv(*args, tty=tty, opts=opts), input=input,
                   timeout=timeout)

    def sessions(self):
        con = sqlite3.connect(f"file:{self.gate.db}?mode=ro", uri=True)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(
                "SELECT * FROM sessions ORDER BY started_at, rowid")]
        finally:
            con.close()


@pytest.fixture
def make_bastion(make_gate, make_sshd, make_target, keygen):
    def make(extra="", user="alice", admin=False):
        g = make_gate(extra)
        t = make_target(g)
        g.ctl("host", "add", "web1", "127.0.0.1", "--port", str(t.port),
              "--login", TARGET_USER, "--scan")
        key, pub = keygen(f"{user}-{uuid.uuid4().hex[:4]}")
        kid = enroll(g, user, pub, admin=admin)
        g.ctl("grant", user, "web1")
        s = make_sshd(g)
        return Bastion(g, s, t, key, pub, kid)
    return make


@pytest.fixture
def bastion(make_bastion):
    return make_bastion()


def mode_of(path):
    st = os.lstat(path)
    return stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid
