"""Many sessions at once through one gate: real ssh clients on real
terminals (pexpect, one thread each), the gate's sshd, gate-shells with
their recorders and watchers, one SQLite database, one target sshd.
What is checked is what a busy gate must not lose: session rows,
recordings and history rows (issue 9, "Concurrency")."""

import re
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pexpect

from conftest import start_sshd
from test_history import asciinema, cast_lines

SESSIONS = 100
COMMANDS = 3
# sshd drops unauthenticated connections beyond MaxStartups (10:30:100
# by default): 100 clients at once would be refused by sshd itself, on
# the gate and on the target, before sshgate sees them.
STARTUPS = "MaxStartups 300:30:400\n"
# Anything a user could see when the database was busy or a part of the
# gate failed: SQLite's words, and gate-shell's own prefix.
TROUBLE = re.compile(r"database is locked|SQLITE_BUSY|busy|gate-shell:|"
                     r"sshgate\]|error|not recorded", re.I)


def command(i, k):
    return f"echo sess-{i}-cmd-{k}-$(({k}+40))"


def output(i, k):
    return f"sess-{i}-cmd-{k}-{k + 40}"


class Client:
    """One user at one terminal: connects, types, waits for everyone to
    be connected, exits. Everything the terminal showed is kept."""

    def __init__(self, b, i, all_live, go):
        self.b, self.i = b, i
        self.all_live, self.go = all_live, go
        self.seen = []
        self.status = None
        self.failure = None

    def run(self):
        try:
            self._run()
        except Exception as e:        # reported by the test, with the text
            self.failure = f"{type(e).__name__}: {e}"
            self.all_live.abort()

    def _run(self):
        argv = self.b.ssh_argv("connect", "web1", tty=True)
        p = pexpect.spawn(argv[0], argv[1:], dimensions=(24, 80),
                          timeout=120, encoding="utf-8",
                          codec_errors="replace")
        p.logfile_read = self
        try:
            p.sendline("echo ready-$((40+2))")
            p.expect("ready-42")
            for k in range(COMMANDS):
                p.sendline(command(self.i, k))
                p.expect(output(self.i, k))
            self.all_live.wait(timeout=300)
            self.go.wait(timeout=300)
            p.sendline("exit")
            p.expect(pexpect.EOF)
        finally:
            p.close()
        self.status = p.exitstatus

    # pexpect's logfile interface
    def write(self, s):
        self.seen.append(s)

    def flush(self):
        pass

    def text(self):
        return "".join(self.seen)


def stress_bastion(make_bastion):
    b = make_bastion(f"[sessions]\nmax_sessions_per_user = {SESSIONS}\n")
    b.sshd.stop()
    with open(b.sshd.config, "r+") as f:
        conf = f.read()
        f.seek(0)
        # Before the Include: the snippet ends inside a Match block.
        f.write(conf.replace("Include ", STARTUPS + "Include ", 1))
    b.sshd.proc = start_sshd(b.sshd.config, b.sshd.log, b.sshd.port)
    b.target.stop()
    with open(b.target.config, "a") as f:
        f.write(STARTUPS)
    b.target.start()
    return b


def test_hundred_sessions_at_once_lose_nothing(make_bastion):
    """100 terminal sessions of one user, all live at the same moment,
    each typing its own commands, recorded and with history on (the
    shipped defaults, but for the session cap): afterwards
    every row is closed cleanly, every recording is valid asciicast
    holding its own session's output and no other's, every command is
    in the history exactly once under its own session, and no user saw
    a busy database or any error."""
    b = stress_bastion(make_bastion)
    all_live = threading.Barrier(SESSIONS + 1)
    go = threading.Event()
    clients = [Client(b, i, all_live, go) for i in range(SESSIONS)]
    threads = [threading.Thread(target=c.run, daemon=True) for c in clients]
    start = time.monotonic()
    for t in threads:
        t.start()
    try:
        try:
            all_live.wait(timeout=300)
        except threading.BrokenBarrierError:
            pass
        failed = [(c.i, c.failure, c.text()[-400:]) for c in clients
                  if c.failure]
        assert not failed, failed[:5]
        # Every client has typed its commands and is still connected:
        # all 100 sessions are live together.
        live = [s for s in b.sessions() if s["ended_at"] is None]
        assert len(live) == SESSIONS, len(live)
        connected = time.monotonic() - start
    finally:
        go.set()        # and the clients exit, all at once
    # One deadline for all: inside meson's 600 s for the whole file.
    end = time.monotonic() + 300
    for t in threads:
        t.join(timeout=max(0.0, end - time.monotonic()))
    assert not any(t.is_alive() for t in threads)
    failed = [(c.i, c.failure, c.text()[-400:]) for c in clients if c.failure]
    assert not failed, failed[:5]
    print(f"{SESSIONS} sessions connected and typed in {connected:.0f}s, "
          f"all done in {time.monotonic() - start:.0f}s")

    for c in clients:
        assert c.status == 0, (c.i, c.status, c.text()[-400:])
        found = TROUBLE.search(c.text())
        assert not found, (c.i, found.group(0), c.text()[-400:])

    # Rows: 100, each closed as a clean exit with status 0, recorded
    # whole.
    rows = b.sessions()
    assert len(rows) == SESSIONS
    for r in rows:
        assert r["ended_at"] is not None and r["end_reason"] == "exit", r
        assert r["exit_status"] == 0 and r["message"] == "", r
        # Not "partial", nor "; N command rows could not be stored".
        assert r["rec_status"] == "ok; output only", r
        assert r["rec_lost"] == 0, r
        assert r["rec_files"] == 1 and r["tty"] == 1, r
    assert len({r["id"] for r in rows}) == SESSIONS

    # Recordings: each parses as asciicast v2 and holds its own
    # session's output, and nobody else's. Which session is client i is
    # read from the recording; history must agree with it below.
    who = {}
    for r in rows:
        events = cast_lines(r["recording"])
        head = events[0]
        assert head["version"] == 2 and head["width"] == 80, head
        assert all(isinstance(e, list) and len(e) == 3 and
                   e[1] in ("o", "i", "r", "m") for e in events[1:])
        text = "".join(e[2] for e in events[1:] if e[1] == "o")
        mine = set(re.findall(r"sess-(\d+)-cmd-\d+-4\d", text))
        assert len(mine) == 1, (r["id"], mine)
        i = int(mine.pop())
        for k in range(COMMANDS):
            assert output(i, k) in text, (r["id"], i, k)
        who[r["id"]] = i
    assert sorted(who.values()) == list(range(SESSIONS))

    # asciinema itself accepts every file (a few at a time: each run is
    # a Python start-up).
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda r: asciinema("cat", r["recording"]), rows))

    # History: every typed command exactly once, under the session that
    # typed it, and nothing else typed.
    con = sqlite3.connect(f"file:{b.gate.db}?mode=ro", uri=True)
    try:
        hist = con.execute("SELECT session_id, command, source, is_blocked "
                           "FROM command_log ORDER BY id").fetchall()
    finally:
        con.close()
    got = {}
    for sid, cmd, source, blocked in hist:
        assert source == "typed" and blocked == 0, (sid, cmd, source)
        got.setdefault(sid, []).append(cmd)
    assert set(got) == set(who), set(who) ^ set(got)
    for sid, i in who.items():
        want = ["echo ready-$((40+2))"] + \
            [command(i, k) for k in range(COMMANDS)] + ["exit"]
        assert got[sid] == want, (sid, i, got[sid])
