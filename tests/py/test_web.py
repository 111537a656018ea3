"""Web terminals: one-time tokens (`web-token`, `gate-shell --web`) and the
frontends in front of them. The token tests run gate-shell --web as the
gate account the way a frontend does (stdin the terminal or a pipe). The
browser tests use the real shellinaboxd (Debian's) on loopback, a real
headless Chromium as the user, DevTools to look at the page and to type;
idle-watch reads the terminal's inode times (8-second windows), hence
timeouts of 10 s."""

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pexpect
import pytest

from browser import Chromium
from conftest import (BUILD, GATE_USER, INVALIDATIONS, TARGET_USER, children,
                      ensure_account, fingerprint, free_port, invalidate, run,
                      stop_process, wait_port)
from test_connect import egress_pid, ended, live_session

TOKEN_RX = re.compile(r"\b(sgw_[A-Za-z0-9_-]{55})(?![A-Za-z0-9_-])")


def issue(b, *args):
    """web-token through the real gate sshd: (token, stdout)."""
    r = b.ssh("web-token", *args)
    assert r.returncode == 0, r.stderr
    m = TOKEN_RX.search(r.stdout)
    assert m, r.stdout
    return m.group(1), r.stdout


def web_argv(b, *args):
    return [str(b.gate.bindir / "gate-shell"), "-c", str(b.gate.config),
            "--web", *args]


def web_shell(b, *args, input="", env=None, timeout=60):
    """gate-shell --web as the gate account, stdin a pipe (the prompt
    reads its line from it, the session gets the rest)."""
    e = {"PATH": "/usr/bin:/bin", "TERM": "xterm"}
    e.update(env or {})
    return run(web_argv(b, *args), input=input, env=e, timeout=timeout,
               user=GATE_USER, group=GATE_USER, extra_groups=[])


def rows(b, sql, *params):
    con = sqlite3.connect(f"file:{b.gate.db}?mode=ro", uri=True)
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


# THREATS row 20
# THREATS decision 3
def test_token_opens_one_session_once(make_bastion):
    b = make_bastion()
    tok, out = issue(b, "web1")
    assert f"web token for {TARGET_USER}@web1, valid once until" in out
    assert "(30m)" in out and "paste it at the prompt" in out
    # Prompt mode: the first line is the token, the rest is the session's.
    r = web_shell(b, input=f"{tok}\necho web-$((6*7))\n")
    assert r.returncode == 0, r.stderr
    assert "sshgate web token: " in r.stdout and "web-42" in r.stdout
    (s,) = b.sessions()
    assert s["user_name"] == "alice" and s["host_name"] == "web1"
    assert s["login"] == TARGET_USER
    sid, used, tsid = rows(b, "SELECT s.id, t.used_at, t.session_id FROM "
                              "sessions s, web_tokens t")[0]
    assert used and tsid == sid
    # The session names the key that made the token, as over ssh.
    assert s["peer"] == "web" and s["key_id"] == b.key_id and s["ended_at"]
    # Once: the same token again, in either mode, opens nothing.
    for args, inp in (((), f"{tok}\n"), ((tok,), "")):
        r = web_shell(b, *args, input=inp + "echo again\n")
        assert r.returncode == 3, r.stderr
        assert "not valid (unknown or already used)" in r.stderr
        assert "again" not in r.stdout
    assert len(b.sessions()) == 1


def test_argument_mode_and_history(make_bastion):
    b = make_bastion()
    tok, _ = issue(b, "web1")
    r = web_shell(b, tok, input="echo arg-$((6*7))\n")
    assert r.returncode == 0, r.stderr
    assert "arg-42" in r.stdout and "sshgate web token" not in r.stdout
    (s,) = b.sessions()
    assert s["peer"] == "web"


# THREATS decision 3
def test_expired_token_is_refused(make_bastion):
    b = make_bastion()
    tok, out = issue(b, "web1", "--ttl", "1m")
    assert "(1m)" in out
    b.gate.sql("UPDATE web_tokens SET expires_at = strftime('%s','now') - 1")
    r = web_shell(b, tok)
    assert r.returncode == 3 and "has expired" in r.stderr
    assert b.sessions() == []
    assert rows(b, "SELECT used_at FROM web_tokens") == [(None,)]


# THREATS decision 3
@pytest.mark.parametrize("ttl", ["30s", "59", "25h", "0", "-1m", "1x"])
def test_ttl_is_bounded(bastion, ttl):
    r = bastion.ssh("web-token", "web1", "--ttl", ttl)
    assert r.returncode == 2 and "from 1m to 24h" in r.stderr
    assert rows(bastion, "SELECT count(*) FROM web_tokens") == [(0,)]


def test_garbage_is_refused_before_the_database(make_bastion):
    b = make_bastion()
    tok, _ = issue(b, "web1")
    before = b.gate.dump()
    for bad in ("", "x", tok[:-1], tok + "A", tok.upper(), tok[:-1] + "=",
                tok.replace("sgw_", "sgx_"), tok[:20] + "+" + tok[21:],
                "sgw_" + "A" * 54 + "B", "A" * 300, tok + " " + tok):
        r = web_shell(b, input=bad + "\n")
        assert r.returncode == 3, (bad, r.stderr)
        assert "not an sshgate web token" in r.stderr
        assert tok not in r.stderr and tok not in r.stdout
    # Refused before the database: not even the throttle counted them.
    assert b.gate.dump() == before
    r = web_shell(b, "sgw_" + "A" * 55)           # right shape, no such token
    assert r.returncode == 3 and "not valid" in r.stderr
    # Only the throttle row changed: it is new, and nothing else moved.
    after = b.gate.dump()
    throttle = [ln for ln in after if "web_throttle" in ln]
    assert [ln for ln in after if ln not in throttle] == \
        [ln for ln in before if "web_throttle" not in ln]
    assert len([ln for ln in throttle if ln.startswith("INSERT")]) == 1
    assert rows(b, "SELECT failures FROM web_throttle") == [(1,)]
    assert rows(b, "SELECT used_at FROM web_tokens") == [(None,)]
    assert b.sessions() == []
    # Padding blanks around a pasted token are not part of it.
    r = web_shell(b, input=f"  {tok}\t\necho ok-$((1+1))\n")
    assert r.returncode == 0 and "ok-2" in r.stdout, r.stderr


# THREATS rows 20, 27
# THREATS decision 3
@pytest.mark.parametrize("shape", [
    ["{t}", "--key-id", "2"], ["{t}", "{t}"], ["{t}", "extra"],
    ["{t}", "-c", "/tmp/other.ini"], ["-c", "/tmp/other.ini", "{t}"],
    ["--key-id", "2", "{t}"], ["--web", "{t}"], ["{t}", "--"]])
def test_extra_words_exit_2_and_keep_the_token(make_bastion, shape):
    """THREATS row 27 and decision 3: ttyd -a appends URL arguments; any
    more than the one token is a usage error that does not use it up."""
    b = make_bastion()
    tok, _ = issue(b, "web1")
    argv = [w.replace("{t}", tok) for w in shape]
    r = web_shell(b, *argv)
    assert r.returncode == 2, r.stderr
    assert rows(b, "SELECT used_at FROM web_tokens") == [(None,)]
    pre = [str(b.gate.bindir / "gate-shell"), "--key-id", "2", "-c",
           str(b.gate.config), "--web", tok]
    r = run(pre, user=GATE_USER, group=GATE_USER, extra_groups=[])
    assert r.returncode == 2
    r = web_shell(b, tok, input="echo still-$((2*3))\n")
    assert r.returncode == 0 and "still-6" in r.stdout, r.stderr


# THREATS rows 20, 28
def test_token_is_bound_to_its_row(make_bastion, keygen):
    """THREATS row 20: user, host and login come from the row; the
    frontend's environment and the words cannot change them."""
    b = make_bastion()
    b.gate.ctl("host", "add", "web2", "127.0.0.1", "--port",
               str(b.target.port), "--login", TARGET_USER)
    # No grant for web2, nor for another login on web1: nothing issued.
    for target in ("web2", "root@web1", "nosuch", "web1;id", "-oX=y"):
        r = b.ssh("web-token", target)
        assert r.returncode in (2, 3), (target, r.stderr)
    assert rows(b, "SELECT count(*) FROM web_tokens") == [(0,)]
    tok, _ = issue(b, f"{TARGET_USER}@web1")
    env = {"SHELLINABOX_URL": "http://x/?u=bob&h=web2",
           "SHELLINABOX_REALIP": "6.6.6.6", "SSH_CONNECTION": "6.6.6.6 1 2 3",
           "SSH_ORIGINAL_COMMAND": "connect web2", "X_REAL_IP": "6.6.6.6",
           "SSH_USER_AUTH": "/nonexistent"}
    r = web_shell(b, tok, input="echo bound\n", env=env)
    assert r.returncode == 0 and "bound" in r.stdout, r.stderr
    (s,) = b.sessions()
    assert s["host_name"] == "web1" and s["user_name"] == "alice"
    assert s["peer"] == "web" and s["login"] == TARGET_USER
    assert rows(b, "SELECT u.name FROM sessions s JOIN users u ON "
                   "u.id = s.user_id") == [("alice",)]


# THREATS row 12
@pytest.mark.parametrize("how", ["revoked", "disabled", "host_deleted"])
def test_access_lost_after_issue_wins(make_bastion, how):
    b = make_bastion()
    tok, _ = issue(b, "web1")
    if how == "revoked":
        b.gate.ctl("revoke", "alice", "web1")
    elif how == "disabled":
        b.gate.ctl("user", "disable", "alice")
    else:
        b.gate.ctl("host", "del", "web1")
    r = web_shell(b, tok, input="echo nope\n")
    assert r.returncode == 3, r.stderr
    assert "nope" not in r.stdout
    assert [s for s in b.sessions() if s["ended_at"] is None] == []


# THREATS row 12
@pytest.mark.parametrize("how", INVALIDATIONS)
def test_key_revoked_after_issue_wins(make_bastion, keygen, how):
    """A token is worth no more than the key that made it: a stolen key
    disabled, expired or deleted takes its tokens with it, as identify()
    refuses the key itself over ssh. Another key of the same user, still
    valid, keeps its own tokens."""
    b = make_bastion()
    key2, pub2 = keygen("alice-second")
    kid2 = b.gate.ctl("key", "add", "alice", "-", input=pub2).stdout
    kid2 = int(re.search(r"key id (\d+)", kid2).group(1))
    tok, _ = issue(b, "web1")
    r = b.gate.shell("web-token web1", key_id=kid2, auth_key=pub2)
    assert r.returncode == 0, r.stderr
    tok2 = TOKEN_RX.search(r.stdout).group(1)
    assert sorted(rows(b, "SELECT key_id FROM web_tokens")) == \
        sorted([(b.key_id,), (kid2,)])
    invalidate(b.gate, "alice", b.pub, how)
    if how == "deleted":
        # ON DELETE CASCADE: the stolen key's token is gone with it.
        assert rows(b, "SELECT key_id FROM web_tokens") == [(kid2,)]
    r = web_shell(b, tok, input="echo nope\n")
    assert r.returncode == 3, r.stderr
    assert "nope" not in r.stdout
    assert b.sessions() == []
    r = web_shell(b, tok2, input="echo other-$((2*4))\n")
    if how == "user_disabled":
        assert r.returncode == 3 and "other-8" not in r.stdout
        assert b.sessions() == []
    else:
        assert r.returncode == 0 and "other-8" in r.stdout, r.stderr
        (s,) = b.sessions()
        assert s["key_id"] == kid2 and s["peer"] == "web"


def test_gatectl_token_list_and_revoke(make_bastion):
    """gatectl token list shows selectors and bindings, never a secret;
    revoke deletes unused tokens, which are then refused."""
    b = make_bastion()
    tok1, _ = issue(b, "web1")
    tok2, _ = issue(b, "web1", "--ttl", "10m")
    tok3, _ = issue(b, "web1")
    r = web_shell(b, tok3, input="echo used\n")
    assert r.returncode == 0, r.stderr
    out = b.gate.ctl("token", "list").stdout
    js = b.gate.ctl("token", "list", "--user", "alice", "--json").stdout
    for t in (tok1, tok2, tok3):
        assert t[4:16] in out and t[4:16] in js
        for text in (out, js):
            assert t[16:] not in text and t[16:30] not in text
    assert f"{TARGET_USER}@web1" in out and "unused" in out and "used" in out
    lst = json.loads(js)
    assert [t["selector"] for t in lst] == [tok1[4:16], tok2[4:16], tok3[4:16]]
    assert {t["state"] for t in lst} == {"unused", "used"}
    assert all(t["user"] == "alice" and t["host"] == "web1" and
               t["login"] == TARGET_USER and t["key_id"] == b.key_id and
               set(t) >= {"created", "expires", "used"} for t in lst)
    assert lst[2]["session"] == b.sessions()[0]["id"]
    assert "hash" not in js
    # Revoke one by its selector; the whole token is refused as input.
    r = b.gate.ctl("token", "revoke", tok1[4:16])
    assert "revoked 1 unused web token" in r.stdout
    r = web_shell(b, tok1, input="echo nope\n")
    assert r.returncode == 3 and "nope" not in r.stdout
    for bad in (tok2, "short", tok2[4:16] + "x", "../etc/passw"):
        r = b.gate.ctl("token", "revoke", bad, check=False)
        assert r.returncode == 2, (bad, r.stderr)
        assert tok2[16:] not in r.stderr
    r = b.gate.ctl("token", "revoke", tok3[4:16], check=False)
    assert r.returncode == 2 and "no unused web token" in r.stderr
    for args in ((), ("--user", "alice", tok2[4:16]), ("--user", "nobody")):
        r = b.gate.ctl("token", "revoke", *args, check=False)
        assert r.returncode == 2, (args, r.stderr)
    # Revoke all of a user's: the used one stays (it names its session).
    r = b.gate.ctl("token", "revoke", "--user", "alice")
    assert "revoked 1 unused web token" in r.stdout
    r = web_shell(b, tok2, input="echo nope\n")
    assert r.returncode == 3 and "nope" not in r.stdout
    assert rows(b, "SELECT count(*) FROM web_tokens") == [(1,)]
    r = b.gate.ctl("token", "revoke", "--user", "alice")
    assert "revoked 0 unused web tokens" in r.stdout


# THREATS decision 3
def test_token_pasted_as_a_command_is_not_logged(make_bastion, syslog):
    """A token given to `ssh gate` by mistake is an unknown command: the
    refusal is logged, but the policy blocks the token's text."""
    b = make_bastion()
    tok, _ = issue(b, "web1")
    syslog.clear()
    for cmd in ((tok,), ("echo", tok), (" " + tok,)):
        r = b.ssh(*cmd)
        assert r.returncode == 2, r.stderr
    line = syslog.wait_for(r"refused command '\[blocked: sshgate-web-token\]'")
    assert line, syslog.lines()
    # Pasted at the sshgate> prompt (not the web terminal's): the same.
    argv = b.ssh_argv(tty=True)
    p = pexpect.spawn(argv[0], [str(a) for a in argv[1:]], encoding="utf-8",
                      timeout=30)
    p.expect("sshgate> ")
    p.sendline(tok)
    p.expect("unknown command")
    p.expect("sshgate> ")
    p.sendline("exit")
    p.expect(pexpect.EOF)
    p.close()
    assert syslog.wait_for(r"refused command '\[blocked: sshgate-web-token\]'"
                           r" at the prompt: \[blocked: sshgate-web-token\]")
    for line in syslog.lines():
        assert tok[16:] not in line and tok[30:] not in line, line
    r = b.gate.ctl("policy", "test", tok)
    assert "sshgate-web-token" in r.stdout and tok[16:] not in r.stdout
    # The token still works: nothing used it up.
    r = web_shell(b, tok, input="echo fine\n")
    assert r.returncode == 0 and "fine" in r.stdout, r.stderr


def test_throttle_slows_repeated_failures(make_bastion):
    b = make_bastion()
    times = []
    for i in range(4):
        start = time.monotonic()
        r = web_shell(b, "sgw_" + "A" * 54 + "QAEIMU"[i % 6])
        times.append(time.monotonic() - start)
        assert r.returncode == 3
    assert times[0] < 0.9, times
    assert 1.0 <= times[1] < 1.9 and 2.0 <= times[2] < 2.9, times
    assert times[3] >= 3.0, times
    assert rows(b, "SELECT id, failures FROM web_throttle") == [(1, 4)]
    # A quiet minute forgets one (stands in for time passing).
    b.gate.sql("UPDATE web_throttle SET last_at = last_at - 121")
    start = time.monotonic()
    web_shell(b, "sgw_" + "A" * 55)
    assert 2.0 <= time.monotonic() - start < 2.9


# THREATS row 30
# THREATS decision 3
def test_tokens_distinct_hashed_and_capped(make_bastion):
    """THREATS row 30 (lib/token's unit test makes 1000)."""
    b = make_bastion()
    toks = []
    for _ in range(20):
        r = b.gate.shell("web-token web1", key_id=b.key_id, auth_key=b.pub)
        assert r.returncode == 0, r.stderr
        toks.append(TOKEN_RX.search(r.stdout).group(1))
    assert len(set(toks)) == 20 and all(len(t) == 59 for t in toks)
    r = b.gate.shell("web-token web1", key_id=b.key_id, auth_key=b.pub)
    assert r.returncode == 3 and "20 unused web tokens" in r.stderr
    raw = b"".join(p.read_bytes() for p in b.gate.state.glob("gate.db*"))
    for t in toks:
        assert t[16:].encode() not in raw and t.encode() not in raw
    # The search itself finds what is there: the public selectors.
    assert sum(t[4:16].encode() in raw for t in toks) == 20
    assert all(len(h) == 32 for (h,) in rows(b, "SELECT hash FROM web_tokens"))


def test_web_url_link(make_bastion):
    b = make_bastion(extra="[web]\nurl = https://gate.example/t?arg={token}\n"
                           "token_ttl = 2h\n")
    tok, out = issue(b, "web1")
    assert f"open: https://gate.example/t?arg={tok}\n" in out
    assert "(2h)" in out
    b2 = make_bastion(extra="[web]\nurl = https://gate.example/\n")
    tok, out = issue(b2, "web1")
    assert "open: https://gate.example/ and paste the token at the prompt" \
        in out


def test_prompt_restores_the_terminal(make_bastion):
    """Echo is off while the token is typed and back on after: a bad
    token, a SIGTERM at the prompt, a hang-up, and a whole session."""
    b = make_bastion()
    tok, _ = issue(b, "web1")
    for end in ("bad", "sigterm", "sighup", "ok"):
        argv = as_gate("sh", "-c", " ".join(web_argv(b)) + "; stty -a")
        p = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", timeout=30, env={"TERM": "xterm",
                                               "PATH": "/usr/bin:/bin"})
        p.expect("sshgate web token: ")
        if end in ("sigterm", "sighup"):
            p.send("typed-but-not-sent")
            time.sleep(0.3)
            (gs,) = children(p.pid)
            os.kill(gs, signal.SIGTERM if end == "sigterm" else signal.SIGHUP)
        elif end == "bad":
            p.sendline("hidden-secret-text")
        else:
            p.sendline(tok)
            p.sendline("echo in-$((6*7)); exit")
            p.expect("in-42")
        p.expect(pexpect.EOF)
        out = p.before
        p.close()
        assert "hidden-secret-text" not in out and "typed-but" not in out
        assert re.search(r"(?<![-\w])echo\b", out), (end, out)
        assert not re.search(r"-echo\b", out), (end, out)



def as_gate(*argv):
    """argv run as the gate account (setpriv execs it: same pid)."""
    return ["setpriv", f"--reuid={GATE_USER}", f"--regid={GATE_USER}",
            "--clear-groups", *map(str, argv)]


def secret_in_cmdlines(secret):
    """pids whose /proc/PID/cmdline holds secret; and how many
    gate-shell --web processes were looked at (the scan must see them)."""
    hits, seen = [], 0
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            argv = (d / "cmdline").read_bytes()
        except OSError:
            continue
        if secret.encode() in argv:
            hits.append(int(d.name))
        if b"gate-shell" in argv and b"--web" in argv:
            seen += 1
    return hits, seen


def watched_web_session(b, word, front=()):
    """`gate-shell --web WORD` behind idle-watch, as a frontend runs it,
    on a real terminal (started through front, if given)."""
    argv = [*front, *as_gate(b.gate.bindir / "idle-watch", "-t", "10m", "--",
                             *web_argv(b, word))]
    return pexpect.spawn(argv[0], argv[1:],
                         env={"TERM": "xterm", "PATH": "/usr/bin:/bin"},
                         encoding="utf-8", timeout=30)


# THREATS row 30
# THREATS decision 3
def test_token_never_in_cmdline_or_syslog(make_bastion, syslog):
    """THREATS row 30: argument mode under idle-watch, as the ttyd unit
    would run it: while the session runs no /proc/*/cmdline holds the
    token (gate-shell wipes its argv, idle-watch's watcher its copy), and
    syslog names the selector only."""
    b = make_bastion()
    tok, _ = issue(b, "web1")
    secret = tok[16:]
    p = watched_web_session(b, tok)
    p.sendline("echo live-$((6*7))")
    p.expect("live-42")
    hits, seen = secret_in_cmdlines(secret)
    assert seen >= 2        # gate-shell, its recorder, the watcher
    assert hits == []
    r = b.ssh("sessions")
    assert r.returncode == 0 and "web1" in r.stdout, r.stderr
    p.sendline("exit")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0
    r = web_shell(b, tok)                   # used: refused, and logged
    assert r.returncode == 3
    sel = tok[4:16]
    assert syslog.wait_for(rf"web: token {sel} redeemed by alice for "
                           rf"{TARGET_USER}@web1")
    assert syslog.wait_for(rf"web: token {sel} refused: already used")
    assert syslog.wait_for(rf"web token {sel} for {TARGET_USER}@web1")
    assert syslog.wait_for(r"from web: connect .* allowed")
    for line in syslog.lines():
        assert secret not in line and secret[:20] not in line, line


def test_padded_token_not_in_watcher_cmdline(make_bastion):
    """A token word with a blank in front (gate-shell trims it, so it
    works) is wiped from idle-watch's watcher too, not just words that
    start with sgw_."""
    b = make_bastion()
    tok, _ = issue(b, "web1")
    p = watched_web_session(b, " " + tok)
    p.sendline("echo pad-$((6*7))")
    p.expect("pad-42")
    hits, seen = secret_in_cmdlines(tok[16:])
    assert seen >= 2 and hits == []
    p.sendline("exit")
    p.expect(pexpect.EOF)
    p.close()
    assert p.exitstatus == 0


# A frontend of our own: it holds the terminal's master side and copies
# it to and from its own stdin and stdout, as shellinaboxd or ttyd does.
FRONTEND = [sys.executable, "-c", "import pty, sys; pty.spawn(sys.argv[1:])"]


# THREATS row 25
@pytest.mark.parametrize("how", ["sighup", "frontend_killed"])
def test_losing_the_frontend_closes_the_row_within_5s(make_bastion, how):
    """warpgate #2049: a web session stayed live after the browser left.
    Here the frontend's child (gate-shell, which idle-watch became) is
    sent SIGHUP, or the frontend itself is SIGKILLed, which closes the
    terminal's master: either way the row is closed within 5 s as lost,
    and the egress ssh, the recorder and idle-watch's watcher are
    gone."""
    b = make_bastion()
    tok, _ = issue(b, "web1")
    p = watched_web_session(b, tok,
                            front=FRONTEND if how == "frontend_killed" else ())
    p.sendline("echo live-$((6*7))")
    p.expect("live-42")
    row = live_session(b)
    ssh = egress_pid(row)
    kids = children(row["pid"])
    assert sorted(Path(f"/proc/{k}/comm").read_text().strip()
                  for k in kids) == ["gate-recorder", "ssh"]
    (watcher,) = web_watchers(b)
    procs = [Path(f"/proc/{pid}") for pid in (*kids, watcher)]
    if how == "sighup":
        assert row["pid"] == p.pid      # the frontend's own child
        os.kill(row["pid"], signal.SIGHUP)
    else:
        assert row["pid"] in children(p.pid)
        os.kill(p.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    done = ended(b, row["id"], timeout=5)
    assert done["end_reason"] == "lost", done
    while any(d.exists() for d in procs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [d for d in procs if d.exists()]
    assert not Path(f"/proc/{ssh}").exists()
    p.expect(pexpect.EOF)
    p.close()


def web_watchers(b):
    """idle-watch watchers in front of this gate's `gate-shell --web`."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit() and _cmdline(d).startswith(
                str(b.gate.bindir / "idle-watch").encode()) and \
                f"{b.gate.config}\0--web".encode() in _cmdline(d):
            out.append(int(d.name))
    return out


def test_watcher_wipes_every_word_after_web(bindir):
    """idle-watch wipes the words after --web whatever they look like
    (what gate-shell accepts as a token is not for it to guess), and
    words holding sgw_ anywhere; other words stay. The command execs
    sleep, so the watcher is the only process left with the words."""
    word = f"not-like-a-token-{free_port()}"
    argv = [str(bindir / "idle-watch"), "-t", "10m", "--", "sh", "-c",
            "exec sleep 30", "keep-this-word", "--web", word, "x sgw_y"]
    p = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", timeout=30)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            # Not the command: listed just before its exec, it would
            # still read as idle-watch.
            watchers = [d for d in Path("/proc").iterdir() if d.name.isdigit()
                        and d.name != str(p.pid)
                        and _cmdline(d).startswith(str(bindir / "idle-watch")
                                                   .encode())]
            if watchers and _cmdline(Path(f"/proc/{p.pid}")) == \
                    b"sleep\x0030\x00":
                break
            time.sleep(0.1)
        assert len(watchers) == 1, watchers
        line = _cmdline(watchers[0])
        assert b"keep-this-word" in line and b"--web" in line
        assert word.encode() not in line and b"sgw_" not in line
    finally:
        p.terminate(force=True)


def _cmdline(d):
    try:
        return (d / "cmdline").read_bytes()
    except OSError:
        return b""


@pytest.fixture
def web(bindir, target_account):
    started = []

    def start(command, user=TARGET_USER, home="/"):
        """shellinaboxd serving command at / as user, and a browser on
        it."""
        port = free_port()
        svc = f"/:{user}:{user}:{home}:{command}"
        log = open(Path(bindir).parent / f"shellinabox-{port}.log", "w")
        proc = subprocess.Popen(
            ["shellinaboxd", "--disable-ssl", "--localhost-only",
             "--no-beep", "-p", str(port), "-s", svc],
            stdout=log, stderr=log)
        started.append(proc)
        wait_port(port, proc)
        browser = Chromium(free_port())
        started.append(browser)
        browser.open(f"http://127.0.0.1:{port}/")
        return browser
    yield start
    for thing in reversed(started):
        if isinstance(thing, Chromium):
            thing.close()
        else:
            stop_process(thing)


def alive(marker):
    """Is the command (not shellinaboxd, whose argv holds it too) alive?"""
    return subprocess.run(["pgrep", "-f", f"^sh -c .*{marker}"],
                          capture_output=True).returncode == 0


def test_idle_browser_session_is_closed(web, bindir):
    marker = f"sg-web-{free_port()}"
    b = web(f"{bindir}/idle-watch -t 10 -w 0 -- sh -c "
            f"'echo web-$((6*7)); sleep 1000; : {marker}'")
    b.wait_text("web-42", 30)
    assert alive(marker)
    start = time.monotonic()
    b.wait_text("Session closed", 40)
    assert 8 <= time.monotonic() - start <= 25
    assert not alive(marker)


def test_typing_in_the_browser_keeps_it_alive(web, bindir):
    b = web(f"{bindir}/idle-watch -t 10 -w 0 --input-only -- cat")
    time.sleep(2)
    b.type("hello-from-chromium\n")
    b.wait_text("hello-from-chromium", 20)
    start = time.monotonic()
    while time.monotonic() - start < 25:
        b.type("typing\n")
        time.sleep(2)
        assert "Session closed" not in b.text()
    # Then nobody types: closed even though cat is still there.
    b.wait_text("Session closed", 40)


def test_browser_web_token_session(web, make_bastion, accounts, rundir,
                                   request):
    """The whole web path: shellinaboxd on loopback runs idle-watch in
    front of `gate-shell --web` as the gate account; Chromium loads the
    page, the token is typed at the prompt, a command's output appears,
    and the session is in `sessions` and its command in the history."""
    b = make_bastion()
    tok, _ = issue(b, "web1")
    # The build directory outlives the run directory: CI keeps them.
    shots = BUILD / "test-output" / "screenshots" / request.node.name
    shots.mkdir(parents=True, exist_ok=True)
    print(f"screenshots: {shots}")
    bin_ = b.gate.bindir
    browser = web(f"{bin_}/idle-watch -t 15m -- {bin_}/gate-shell -c "
                  f"{b.gate.config} --web", user=GATE_USER,
                  home=str(accounts["home"]))
    browser.wait_text("sshgate web token:", 30)
    browser.screenshot(shots / "1-prompt.png")
    browser.type(tok + "\n")
    time.sleep(2)
    browser.type("echo web-$((6*7))\n")
    page = browser.wait_text("web-42", 30)
    browser.screenshot(shots / "2-output.png")
    assert tok not in page and tok[16:] not in page    # echo was off
    live = [s for s in b.sessions() if s["ended_at"] is None]
    assert len(live) == 1 and live[0]["peer"] == "web"
    assert live[0]["user_name"] == "alice" and live[0]["host_name"] == "web1"
    r = b.ssh("sessions")
    assert r.returncode == 0 and str(live[0]["id"]) in r.stdout, r.stderr
    browser.type("exit\n")
    browser.wait_text("Session closed", 30)
    browser.screenshot(shots / "3-closed.png")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        h = b.gate.ctl("history", "--user", "alice", check=False).stdout
        if "echo web-$((6*7))" in h:
            break
        time.sleep(0.5)
    assert "echo web-$((6*7))" in h, h
    (s,) = b.sessions()
    assert s["ended_at"] and s["end_reason"] == "exit"
    assert rows(b, "SELECT session_id FROM web_tokens") == [(s["id"],)]
    for png in ("1-prompt.png", "2-output.png", "3-closed.png"):
        assert (shots / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# THREATS rows 27, 28
# THREATS decision 3
def test_shipped_frontend_units_keep_request_data_out():
    """THREATS rows 27, 28: the contrib units listen on loopback only,
    ttyd checks Origin, and nothing from the request (${url}, ${peer},
    ${realip}, ttyd's URL arguments) reaches the command line."""
    src = Path(__file__).resolve().parents[2] / "contrib"
    sib = (src / "shellinabox" / "sshgate-shellinabox.service").read_text()
    ttyd = (src / "ttyd" / "sshgate-ttyd.service").read_text()
    sib_exec = sib[sib.index("ExecStart="):sib.index("Restart=")]
    ttyd_exec = ttyd[ttyd.index("ExecStart="):ttyd.index("Restart=")]
    assert "--localhost-only" in sib_exec and "${" not in sib_exec
    assert "idle-watch" in sib_exec and "idle-watch" in ttyd_exec
    assert "--interface 127.0.0.1" in ttyd_exec
    assert "--check-origin" in ttyd_exec
    assert "--url-arg" not in ttyd_exec and " -a " not in ttyd_exec
    # ttyd's parser faces the network: not as the gate account (nor
    # root); it reaches gate only through sudo, for the one command line.
    (user,) = re.findall(r"(?m)^User=(.*)$", ttyd)
    assert user.strip() not in ("gate", "root", "")
    # sudo must be able to switch users (comments may name these).
    assert not re.search(r"(?m)^(DynamicUser|NoNewPrivileges)=", ttyd)
    sudo_rx = r"/usr/bin/sudo -n -u gate -- (/\S+/idle-watch .*--web)\n"
    command = re.search(sudo_rx, ttyd_exec.replace("\\\n", " ")).group(1)
    rules = [ln for ln in ttyd_sudoers().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert rules == [f"{user.strip()} ALL = (gate) NOPASSWD: {command}"]
    assert "*" not in rules[0] and "," not in rules[0] and "ALL:" not in \
        rules[0] and not command.endswith("--web ")


def ttyd_sudoers():
    return (Path(__file__).resolve().parents[2] / "contrib" / "ttyd" /
            "sshgate-ttyd.sudoers").read_text()


# THREATS row 27
@pytest.mark.skipif(not Path("/usr/bin/sudo").exists(),
                    reason="sudo is not installed (tests/run installs it)")
def test_ttyd_sudo_rule_allows_only_the_exact_line(make_bastion, bindir):
    """The shipped sudoers rule, with the test gate's accounts and paths
    put in: the unprivileged frontend account runs the web entry as the
    gate account with it, and nothing else: not with a token appended,
    not another command, not as root."""
    b = make_bastion()
    tok, _ = issue(b, "web1")
    front = GATE_USER[:-len("gate")] + "ttyd"
    ensure_account(front, "/usr/sbin/nologin", "/nonexistent")
    iw, gs = str(bindir / "idle-watch"), str(bindir / "gate-shell")
    text = ttyd_sudoers().replace("sshgate-ttyd ALL", f"{front} ALL") \
        .replace("(gate)", f"({GATE_USER})") \
        .replace("/usr/local/bin/idle-watch", iw) \
        .replace("/usr/local/libexec/sshgate/gate-shell",
                 f"{gs} -c {b.gate.config}")
    assert text.count(front) == 1 and text.count(iw) == 1
    drop = Path(f"/etc/sudoers.d/{front}-test")
    drop.write_text(text)
    os.chmod(drop, 0o440)
    try:
        r = run(["visudo", "-c", "-f", str(drop)])
        assert r.returncode == 0, r.stdout + r.stderr
        exact = [iw, "-t", "15m", "--", gs, "-c", str(b.gate.config), "--web"]

        def sudo(*words, runas=GATE_USER):
            return ["setpriv", f"--reuid={front}", f"--regid={front}",
                    "--clear-groups", "/usr/bin/sudo", "-n", "-u", runas,
                    "--", *words]
        for words, runas in (((*exact, tok), GATE_USER),
                             ((*exact, "-c", "/tmp/x.ini"), GATE_USER),
                             (exact, "root"), (("/bin/sh", "-c", "id"), GATE_USER),
                             ((iw, "-t", "15m", gs, "-c", str(b.gate.config),
                               "--web"), GATE_USER)):
            r = run(sudo(*words, runas=runas), input="")
            assert r.returncode == 1 and "sudo:" in r.stderr, (words, r)
        assert rows(b, "SELECT used_at FROM web_tokens") == [(None,)]
        argv = sudo(*exact)
        p = pexpect.spawn(argv[0], argv[1:], encoding="utf-8", timeout=30,
                          env={"TERM": "xterm", "PATH": "/usr/bin:/bin"})
        p.expect("sshgate web token: ")
        p.sendline(tok)
        p.sendline("echo ttyd-$((6*7)); exit")
        p.expect("ttyd-42")
        p.expect(pexpect.EOF)
        p.close()
        (s,) = b.sessions()
        assert s["peer"] == "web" and s["user_name"] == "alice"
    finally:
        drop.unlink()
