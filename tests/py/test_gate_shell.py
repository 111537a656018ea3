"""gate-shell run as the gate account the way sshd runs it: as the forced
command, and as the login shell handed the forced command with -c.

Only --key-id is trusted, and only when the key sshd verified
(ExposeAuthInfo) is that key. The user's words come from
SSH_ORIGINAL_COMMAND, are split without a shell, and anything odd is exit
2 before anything happens (THREATS decision 5)."""
import json
import os
import re
import uuid

import pytest

from conftest import INVALIDATIONS, enroll, invalidate


@pytest.fixture
def probe(rundir, accounts):
    """An egress ssh that leaves a mark, then runs the real one: any
    process gate-shell starts toward a target shows up in marks."""
    d = rundir / f"probe-{uuid.uuid4().hex[:8]}"
    d.mkdir(mode=0o755)
    marks = d / "marks"
    marks.mkdir(mode=0o700)
    os.chown(marks, accounts["gate"].pw_uid, accounts["gate"].pw_gid)
    ssh = d / "ssh"
    ssh.write_text(f'#!/bin/sh\n: > {marks}/$$\nexec /usr/bin/ssh "$@"\n')
    os.chmod(ssh, 0o755)
    return {"marks": marks, "config": f"[egress]\nssh = {ssh}\n"}


@pytest.fixture
def gate(make_gate, probe):
    """Every gate in this file starts the probe as its egress ssh, so a
    refusal can be checked to have started nothing (THREATS decision 5)."""
    g = make_gate(extra=probe["config"])
    g.marks = probe["marks"]
    return g


@pytest.fixture
def alice(gate, keygen):
    """alice with one key, two hosts through a group grant, one expired."""
    _, pub = keygen("alice")
    kid = enroll(gate, "alice", pub)
    gate.ctl("host", "add", "web1", "127.0.0.1", "--login", "www")
    gate.ctl("host", "add", "web2", "127.0.0.1", "--login", "www")
    gate.ctl("host", "add", "db1", "127.0.0.1")
    gate.ctl("host", "add", "old", "127.0.0.1", "--login", "x")
    gate.ctl("group", "add", "ops")
    gate.ctl("group", "member", "add", "ops", "alice")
    gate.ctl("group", "add", "web", "--hosts")
    gate.ctl("group", "member", "add", "web", "web1", "web2")
    gate.ctl("grant", "@ops", "@web")
    gate.ctl("grant", "alice", "db1", "--login", "postgres", "--login", "root")
    gate.ctl("grant", "alice", "old", "--until", "+1d")
    gate.sql("UPDATE grants SET expires_at = strftime('%s','now') - 1 "
             "WHERE host_id = (SELECT id FROM hosts WHERE name = 'old')")
    return {"id": kid, "pub": pub}


def test_whoami(gate, alice):
    r = gate.shell("whoami --json", key_id=alice["id"], auth_key=alice["pub"])
    assert r.returncode == 0, r.stderr
    me = json.loads(r.stdout)
    assert me["user"] == "alice" and me["key_id"] == alice["id"]
    assert me["admin"] is False and me["from"] == "127.0.0.9"
    assert me["fingerprint"].startswith("SHA256:")
    r = gate.shell("whoami", key_id=alice["id"], auth_key=alice["pub"])
    assert re.search(r"^alice\s+no\s+%d\s+SHA256:" % alice["id"], r.stdout,
                     re.M), r.stdout


def test_list_shows_only_what_grants_allow(gate, alice):
    r = gate.shell("list --json", key_id=alice["id"], auth_key=alice["pub"])
    assert r.returncode == 0, r.stderr
    assert [(h["host"], h["logins"]) for h in json.loads(r.stdout)] == [
        ("db1", ["postgres", "root"]), ("web1", ["www"]), ("web2", ["www"])]
    r = gate.shell("list", key_id=alice["id"], auth_key=alice["pub"])
    assert re.search(r"^db1\s+postgres,root\s+-$", r.stdout, re.M), r.stdout
    assert "old" not in r.stdout


def test_list_for_a_user_without_grants(gate, keygen):
    _, pub = keygen("nobody")
    kid = enroll(gate, "nobody", pub)
    r = gate.shell("list", key_id=kid, auth_key=pub)
    assert (r.returncode, r.stdout) == (0, "(none)\n")


def test_help_and_version(gate, alice):
    r = gate.shell("help", key_id=alice["id"], auth_key=alice["pub"])
    assert r.returncode == 0 and "list [--json]" in r.stdout
    r = gate.shell("version", key_id=alice["id"], auth_key=alice["pub"])
    assert re.fullmatch(r"sshgate \d+\.\d+\.\d+\n", r.stdout)


def test_no_command_prints_help_and_exits_2(gate, alice):
    r = gate.shell(None, key_id=alice["id"], auth_key=alice["pub"])
    assert r.returncode == 2
    assert "no command given" in r.stderr and "whoami" in r.stderr


def test_login_shell_mode(gate, alice):
    """sshd runs command= through the account's shell: gate-shell -c STR."""
    forced = f"{gate.bindir / 'gate-shell'} -c {gate.config} " \
             f"--key-id {alice['id']}"
    r = gate.shell("whoami --json", argv=[gate.bindir / "gate-shell", "-c",
                                          forced], auth_key=alice["pub"])
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["user"] == "alice"


@pytest.mark.parametrize("argv", [
    ["-c", "whoami"],
    ["-c", "/bin/sh -c id"],
    ["-c", "/usr/bin/gate-shell-x --key-id 1"],
    ["-c", "gate-shell --key-id 1"],
    ["-c", "/x/gate-shell --key-id 1 whoami"],
    ["-c", "/x/gate-shell --key-id 01"],
    ["-c", "/x/gate-shell --key-id 1; id"],
    ["-c", ""],
    [],
    ["--key-id"],
    ["--key-id", "abc"],
    ["--key-id", "-1"],
    ["--key-id", "1", "extra"],
    ["--key-id", "1", "-x"],
    # What a client's command looks like when it reaches the login shell
    # as -c STRING (a key that skipped authkeys-cmd): THREATS rows 1, 5.
    ["-c", "connect -oProxyCommand=sh web1"],
    ["-c", "/x/gate-shell --key-id 1\nid"],
    ["-c", "/x/gate-shell --key-id 1\rid"],
    ["-c", "/x/gate-shell --key-id 1 \udcff"],
    ["-c", "/x/gate-shell\t--key-id\t1\x1b]0;x\x07"],
    ["-c", "/x/gate-shell --key-id 1 " + "w" * (128 * 1024 - 64)],
])
def test_runs_nothing_without_the_forced_command(gate, alice, argv):
    """THREATS row 6: as a login shell given anything but its own forced
    command, or without --key-id, gate-shell refuses."""
    # THREATS rows 1, 5, 6
    r = gate.shell("whoami", argv=[gate.bindir / "gate-shell", *argv],
                   auth_key=alice["pub"])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("gate-shell: ")
    assert list(gate.marks.iterdir()) == []


def test_login_shell_without_a_command(gate, alice):
    # THREATS row 6 (gate-shell as a login shell with no forced command)
    r = gate.shell("whoami", argv=["-gate-shell"], auth_key=alice["pub"],
                   executable=gate.bindir / "gate-shell")
    assert r.returncode == 2 and r.stdout == ""


def test_key_id_must_be_the_key_sshd_verified(gate, alice, keygen):
    """A --key-id that names another key than the one sshd checked (a key
    that reached the account some other way) is refused."""
    # THREATS row 6
    _, mallory = keygen("mallory")
    enroll(gate, "mallory", mallory)
    r = gate.shell("whoami", key_id=alice["id"], auth_key=mallory)
    assert (r.returncode, r.stdout) == (3, "")
    assert "access denied" in r.stderr
    r = gate.shell("whoami", key_id=alice["id"])      # no SSH_USER_AUTH
    assert (r.returncode, r.stdout) == (3, "")


def test_auth_info_file_must_be_private(gate, alice):
    r = gate.shell("whoami", key_id=alice["id"], auth_key=alice["pub"],
                   env={"SSH_USER_AUTH": "/etc/passwd"})
    assert r.returncode == 3


def test_verify_auth_info_can_be_turned_off(make_gate, keygen):
    gate = make_gate(extra="verify_auth_info = no\n")
    _, pub = keygen("ann")
    kid = enroll(gate, "ann", pub)
    r = gate.shell("whoami --json", key_id=kid)
    assert r.returncode == 0 and json.loads(r.stdout)["user"] == "ann"


@pytest.mark.parametrize("change", INVALIDATIONS)
def test_refuses_keys_that_stopped_being_valid(gate, alice, change, syslog):
    """Between authkeys-cmd and gate-shell the admin may act: fail closed."""
    invalidate(gate, "alice", alice["pub"], change)
    r = gate.shell("list", key_id=alice["id"], auth_key=alice["pub"])
    assert (r.returncode, r.stdout) == (3, "")
    assert syslog.wait_for(r"gate-shell: refused key id %d from 127.0.0.9"
                           % alice["id"])


def test_last_used_is_written_by_gate_shell(gate, alice):
    """THREATS decision 4: authkeys-cmd never writes; gate-shell records the
    use once sshd verified the signature."""
    # THREATS row 18; decision 4
    def last_used():
        return json.loads(gate.ctl("key", "list", "--json").stdout)[0][
            "last_used"]
    assert last_used() is None
    gate.shell("version", key_id=alice["id"], auth_key=alice["pub"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", last_used())


@pytest.mark.parametrize("command,says", [
    ("frobnicate", "unknown command 'frobnicate'"),
    ("list -F /etc/passwd", "list: unknown option '-F'"),
    ("list --json --json", "unknown option '--json'"),
    ("list extra", "usage: list [--json]"),
    ("whoami --output=/tmp/x", "unknown option"),
    ("version --json", "unknown option '--json'"),
    ("list$(touch /tmp/sg-p)", "unquoted special character '$'"),
    ("list;id", "unquoted special character ';'"),
    ("list `id`", "'`'"),
    ("list | cat", "'|'"),
    ("list 'open", "unterminated single quote"),
    ("list\nwhoami", "control character \\x0a"),
    ("list\r", "control character \\x0d"),
    ("list\x1b]0;x\x07", "control character \\x1b"),
    ("a" * 9000, "command too long"),
    ("sftp", "unknown command 'sftp'"),
    ("scp -t /tmp/x", "unknown command 'scp'"),
    ("rsync --server -e.Lsfx . /tmp/x", "unknown command 'rsync'"),
    ("internal-sftp", "unknown command 'internal-sftp'"),
    # THREATS rows 1-4: host names and logins that look like ssh options,
    # carry % tokens, a second @, or shell syntax, quoted or not.
    ("connect -oProxyCommand=sh", "unknown option '-oProxyCommand=sh'"),
    ("connect -F/etc/passwd", "unknown option '-F/etc/passwd'"),
    ("connect -F /etc/passwd web1", "unknown option '-F'"),
    ("connect web1 -oProxyCommand=sh", "unknown option '-oProxyCommand=sh'"),
    ("connect web1\t-F\t/etc/passwd", "unknown option '-F'"),
    ("connect -lroot@web1", "unknown option '-lroot@web1'"),
    ("connect --web1", "unknown option '--web1'"),
    ("connect root@-F/etc/passwd", "must not start with '-'"),
    ("connect a@b@web1", "invalid host 'b@web1'"),
    ("connect %h", "invalid host '%h'"),
    ("connect web1%n", "invalid host 'web1%n'"),
    ("connect %n@web1", "invalid login '%n'"),
    ("connect web1;id", "unquoted special character ';'"),
    ("connect web1\\;id", "invalid host 'web1;id'"),
    ("connect web1|id", "unquoted special character '|'"),
    ("connect 'web1|id'", "invalid host 'web1|id'"),
    ("connect web1&", "unquoted special character '&'"),
    ("connect $(id)", "unquoted special character '$'"),
    ("connect '$(id)'", "invalid host '$(id)'"),
    ('connect "web1$(id)"', "unescaped character inside double quotes '$'"),
    ("connect `id`", "unquoted special character '`'"),
    ("connect '`id`'", "invalid host '`id`'"),
    ("connect web1>/tmp/sg-x", "unquoted special character '>'"),
    ("connect 'web1>x'", "invalid host 'web1>x'"),
    ("connect web1<x", "unquoted special character '<'"),
    ("connect ~root@web1", "unquoted word start '~'"),
    ("connect 'web1 id'", "invalid host 'web1 id'"),
    # Quotes left open.
    ("connect 'web1", "unterminated single quote"),
    ('connect "web1', "unterminated double quote"),
    ("connect web1\\", "trailing backslash"),
    # THREATS rows 5, 15: control bytes, C1 controls, non-UTF-8. (A NUL
    # cannot travel: sshd's exec request, the environment and argv are
    # all C strings.)
    ("connect web1\x01", "control character \\x01"),
    ("connect web1\x7f", "control character \\x7f"),
    ("connect \x1b[2Jweb1", "control character \\x1b"),
    ("connect \u009bweb1", "invalid host '\\xc2\\x9bweb1'"),
    ("connect web\udcff1", "command is not valid UTF-8"),
    ("connect \udcc0\udc80web1", "command is not valid UTF-8"),
    # The most an environment variable can carry (test_odd_commands_
    # through_real_ssh has what happens to more), and too many words.
    pytest.param("connect " + "w" * (128 * 1024 - 64), "command too long",
                 id="128KiB"),
    pytest.param("connect web1 -- " + "x " * 300, "too many words",
                 id="300-words"),
    ("connect -- web1", "usage: connect"),
    ("connect web1 --", "nothing after --"),
])
def test_bad_commands_exit_2(gate, alice, command, says):
    # THREATS rows 1-5, 11, 15 and the gitolite row; decision 5
    before = gate.dump()
    r = gate.shell(command, key_id=alice["id"], auth_key=alice["pub"])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stdout == ""
    assert r.stderr.startswith("gate-shell: ") and says in r.stderr, r.stderr
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert but_last_used(gate.dump()) == but_last_used(before)
    assert list(gate.marks.iterdir()) == []


def but_last_used(dump):
    """Rows that a refusal must leave alone: all but the key's, whose "last
    used" is written once sshd verified the key (decision 4)."""
    return [x for x in dump if not x.startswith('INSERT INTO "keys"')]


@pytest.mark.parametrize("words,rc,says", [
    pytest.param(["connect web\udcff1"], 2, "not valid UTF-8", id="non-utf8"),
    pytest.param(["connect web1\x01"], 2, "control character \\x01",
                 id="x01"),
    pytest.param(["connect 'web1\r'"], 2, "control character \\x0d",
                 id="cr"),
    pytest.param(["connect \x1b]0;x\x07web1"], 2, "control character \\x1b",
                 id="osc"),
    pytest.param(["connect", "w" * 120_000], 2, "command too long",
                 id="120KB"),
    # More than an environment variable holds: sshd cannot start the
    # account's shell (E2BIG) and says so itself.
    pytest.param(["connect"] + ["w" * 100_000] * 2, 1,
                 "Argument list too long", id="200KB"),
    # More than an SSH packet holds: sshd drops the connection.
    pytest.param(["connect"] + ["w" * 100_000] * 11, 255, None, id="1MiB"),
])
def test_odd_commands_through_real_ssh(make_bastion, probe, words, rc, says):
    """What really reaches gate-shell through sshd's exec request (as the
    account's login shell with -c and SSH_ORIGINAL_COMMAND): the same
    refusals, and past 128 KiB nothing reaches it at all. Either way no
    row, no process, nothing stored."""
    # THREATS rows 5, 15; decision 5
    b = make_bastion(extra=probe["config"])
    before = b.gate.dump()
    r = b.ssh(*words)
    assert r.returncode == rc, (r.returncode, r.stderr[:500])
    assert r.stdout == ""
    assert len(r.stderr.splitlines()) == 1, r.stderr[:500]
    if says:
        assert says in r.stderr, r.stderr[:500]
    assert b.sessions() == []
    assert but_last_used(b.gate.dump()) == but_last_used(before)
    assert list(probe["marks"].iterdir()) == []


def test_probe_sees_a_connect_that_gets_through(gate, alice):
    """The "nothing started" checks above are worth something only if a
    connect that passes every check does reach the probe (web1 has no
    pinned host key here, so the real ssh then fails)."""
    r = gate.shell("connect web1 -- true", key_id=alice["id"],
                   auth_key=alice["pub"])
    assert r.returncode == 255, r.stderr
    assert len(list(gate.marks.iterdir())) == 1


def test_refusals_are_logged_on_one_escaped_line(gate, alice, syslog):
    """THREATS row 15: a CR or an escape in the command cannot forge or
    split a log line."""
    # THREATS row 15
    for cmd in ("list\rFAKE granted=1", "list\x1b]0;x\x07"):
        r = gate.shell(cmd, key_id=alice["id"], auth_key=alice["pub"])
        assert r.returncode == 2
    line = syslog.wait_for(r"refused command 'list\\x0dFAKE granted=1'")
    assert line, syslog.lines()
    assert syslog.wait_for(r"refused command 'list\\x1b]0;x\\x07'")
    for raw in syslog.raw():
        assert b"\r" not in raw and b"\x1b" not in raw


def test_allowed_commands_are_logged(gate, alice, syslog):
    gate.shell("list", key_id=alice["id"], auth_key=alice["pub"])
    assert syslog.wait_for(r"gate-shell: user alice \(key %d\) from "
                           r"127\.0\.0\.9: list$" % alice["id"])


def test_client_environment_changes_no_answer(gate, alice):
    """THREATS row 8: with variables a client may send (LANG, LC_*) or a
    misconfigured sshd might pass, gate-shell answers as without them.
    That they are gone from the environment is the unit test test-env's
    job; row 8 end to end (the egress ssh's environ) comes with connect."""
    # THREATS row 8
    env = {"LC_ALL": "() { :;}; echo x", "LANG": "xx_XX.bogus",
           "SQLITE_TMPDIR": "/nonexistent", "TZ": "Mars/Olympus"}
    r = gate.shell("list --json", key_id=alice["id"], auth_key=alice["pub"],
                   env=env)
    assert r.returncode == 0, r.stderr
    assert [h["host"] for h in json.loads(r.stdout)] == ["db1", "web1",
                                                          "web2"]
