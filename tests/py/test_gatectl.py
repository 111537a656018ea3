"""gatectl against real SQLite files: every verb, and every bad input is a
one-line error, exit 2, and changes nothing (the database dump is compared
byte for byte)."""
import grp
import json
import os
import re
import sqlite3

import pytest

from conftest import AUTH_USER, GATE_USER, mode_of, run


def fails_cleanly(gate, *args, input=None, rc=2, says=None):
    """Run a gatectl command that must fail with rc and change nothing."""
    before = gate.dump()
    r = gate.ctl(*args, input=input, check=False)
    assert r.returncode == rc, (args, r.returncode, r.stdout, r.stderr)
    assert r.stdout == "", r.stdout
    msg = r.stderr.strip().splitlines()
    assert msg and msg[-1].startswith("gatectl: "), r.stderr
    if says:
        assert says in r.stderr, r.stderr
    assert gate.dump() == before
    return r


def test_init_creates_state_with_owners_and_modes(make_gate):
    gate = make_gate(init=False)
    r = gate.ctl("init")
    assert r.stdout.splitlines()[0].startswith("created egress key ")
    assert r.stdout.splitlines()[1].startswith("initialised ")
    gid_auth = grp.getgrnam(AUTH_USER).gr_gid
    gate_pw = gate.accounts["gate"]
    assert mode_of(gate.state) == (0o2750, gate_pw.pw_uid, gid_auth)
    for f in ("gate.db", "gate.db-wal", "gate.db-shm"):
        assert mode_of(gate.state / f) == (0o640, gate_pw.pw_uid, gid_auth), f
    for d in ("recordings", "run"):
        assert mode_of(gate.state / d) == (0o700, gate_pw.pw_uid,
                                           gate_pw.pw_gid), d
    for f, m in (("egress_ed25519", 0o600), ("egress_ed25519.pub", 0o644),
                 ("known_hosts", 0o600)):
        assert mode_of(gate.state / f) == (m, gate_pw.pw_uid,
                                           gate_pw.pw_gid), f
    con = sqlite3.connect(f"file:{gate.db}?mode=ro", uri=True)
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert con.execute("PRAGMA user_version").fetchone()[0] == 4
    con.close()


def test_init_is_idempotent_and_repairs(gate):
    before = gate.dump()
    r = gate.ctl("init")
    assert r.stdout.startswith("nothing to change:")
    assert gate.dump() == before
    os.chmod(gate.state / "recordings", 0o777)
    os.chmod(gate.db, 0o666)
    r = gate.ctl("init")
    assert r.stdout.startswith("repaired owners or modes")
    assert mode_of(gate.state / "recordings")[0] == 0o700
    assert mode_of(gate.db)[0] == 0o640
    assert gate.ctl("init").stdout.startswith("nothing to change:")


@pytest.mark.parametrize("victim", ["state", "recordings", "run"])
def test_init_refuses_symlinks(make_gate, tmp_path, victim):
    """THREATS B5, row 24: a planted symlink is never followed, and its
    target's owner and mode stay as they were."""
    # THREATS row 24
    gate = make_gate(init=False)
    target = tmp_path / "target"
    target.mkdir(mode=0o755)
    if victim == "state":
        gate.state.symlink_to(target)
    else:
        gate.state.mkdir()
        (gate.state / victim).symlink_to(target)
    r = gate.ctl("init", check=False)
    assert r.returncode == 1
    assert "symlink" in r.stderr
    assert mode_of(target) == (0o755, 0, 0)


def test_init_needs_the_accounts(make_gate):
    gate = make_gate(init=False, extra="")
    gate.config.write_text(gate.config.read_text().replace(
        f"account = {GATE_USER}\n", "account = sgt-nosuchuser\n", 1))
    r = gate.ctl("init", check=False)
    assert r.returncode == 1
    assert "account 'sgt-nosuchuser'" in r.stderr
    assert not gate.state.exists()


def test_users(gate):
    assert gate.ctl("user", "add", "alice").stdout == "added user alice\n"
    gate.ctl("user", "add", "root-admin", "--admin")
    users = json.loads(gate.ctl("user", "list", "--json").stdout)
    assert [(u["name"], u["admin"], u["disabled"]) for u in users] == [
        ("alice", False, False), ("root-admin", True, False)]
    gate.ctl("user", "disable", "alice")
    table = gate.ctl("user", "list").stdout
    assert re.search(r"^alice\s+no\s+disabled\s+0\s", table, re.M), table
    gate.ctl("user", "enable", "alice")
    gate.ctl("user", "del", "alice")
    users = json.loads(gate.ctl("user", "list", "--json").stdout)
    assert [u["name"] for u in users] == ["root-admin"]


@pytest.mark.parametrize("args,says", [
    (["user", "add", "root-admin"], "user 'root-admin' already exists"),
    (["user", "add", "-x"], None),
    (["user", "add", "a b"], "invalid user name"),
    (["user", "add", "bad\x1bname"], "invalid user name 'bad\\x1bname'"),
    (["user", "add", "x" * 65], "too long"),
    (["user", "del", "nobody"], "no such user 'nobody'"),
    (["user", "disable", "nobody"], "no such user"),
    (["user", "frobnicate", "x"], None),
    (["user", "add"], None),
    (["user", "add", "a", "b"], None),
    (["user", "list", "--xml"], None),
])
def test_user_bad_input(gate, args, says):
    gate.ctl("user", "add", "root-admin", "--admin")
    fails_cleanly(gate, *args, says=says)


KEY_TYPES = [("ed25519", None), ("rsa", 2048), ("rsa", 3072),
             ("ecdsa", 256), ("ecdsa", 384), ("ecdsa", 521)]


def test_key_fingerprints_match_ssh_keygen(gate, keygen):
    gate.ctl("user", "add", "alice")
    for ktype, bits in KEY_TYPES:
        path, pub = keygen(f"k-{ktype}-{bits}", ktype, bits)
        want = run(["ssh-keygen", "-lf", f"{path}.pub"]).stdout.split()
        r = gate.ctl("key", "add", "alice", f"{path}.pub")
        assert want[1] in r.stdout, (r.stdout, want)
        assert f"{want[0]} bits" in r.stdout
    keys = json.loads(gate.ctl("key", "list", "alice", "--json").stdout)
    assert len(keys) == len(KEY_TYPES)
    assert {k["comment"] for k in keys} == {
        f"k-{t}-{b}@test" for t, b in KEY_TYPES}


def test_key_add_from_stdin_with_options(gate, keygen):
    _, pub = keygen("bob")
    gate.ctl("user", "add", "bob")
    gate.ctl("key", "add", "bob", "-", "--from", "192.168.0.0/16",
             "--expires", "2099-12-31", input=pub)
    [k] = json.loads(gate.ctl("key", "list", "--json").stdout)
    assert k["user"] == "bob" and k["from"] == "192.168.0.0/16"
    assert k["expires"] == "2099-12-31T00:00:00Z"
    assert k["last_used"] is None and k["disabled"] is False
    fp = k["fingerprint"]
    gate.ctl("key", "disable", fp)
    assert json.loads(gate.ctl("key", "list", "--json").stdout)[0]["disabled"]
    gate.ctl("key", "del", fp)
    assert json.loads(gate.ctl("key", "list", "--json").stdout) == []


def test_key_bad_input(gate, keygen, tmp_path):
    """THREATS row 13: nothing an admin pastes becomes sshd options."""
    # THREATS row 13
    _, pub = keygen("carol")
    _, pub2 = keygen("carol2")
    gate.ctl("user", "add", "carol")
    gate.ctl("key", "add", "carol", "-", input=pub)
    fp = re.search(r"SHA256:\S+", gate.ctl("key", "list").stdout).group(0)
    cases = [
        (["key", "add", "carol", "-"], pub, "already enrolled"),
        (["key", "add", "nobody", "-"], pub2, "no such user 'nobody'"),
        (["key", "add", "carol", "-"], pub2 + pub, "more than one line"),
        (["key", "add", "carol", "-"], pub2.rstrip("\n") + "\r\n",
         "carriage return"),
        (["key", "add", "carol", "-"], 'command="/bin/sh" ' + pub2,
         "key options are not accepted"),
        (["key", "add", "carol", "-"], "restrict " + pub2, "unsupported key"),
        (["key", "add", "carol", "-"], "", "no key found"),
        (["key", "add", "carol", "-"], "x" * 20000, "larger than"),
        (["key", "add", "carol", "/nonexistent.pub"], None, "cannot open"),
        (["key", "add", "carol", "-", "--from", '1.2.3.4",command="/bin/sh'],
         pub2, "invalid --from item"),
        (["key", "add", "carol", "-", "--from", "999.1.2.3"], pub2,
         "invalid --from item '999.1.2.3'"),
        (["key", "add", "carol", "-", "--from", "example.org"], pub2,
         "expected an IP address"),
        (["key", "add", "carol", "-", "--expires", "2001-01-01"], pub2,
         "is in the past"),
        (["key", "add", "carol", "-", "--expires", "soon"], pub2,
         "invalid date 'soon'"),
        (["key", "del", "SHA256:nope"], None, "invalid fingerprint"),
        (["key", "del", "SHA256:" + "A" * 43], None, "no such key"),
        (["key", "disable", fp + "x"], None, "invalid fingerprint"),
        (["key", "list", "nobody"], None, "no such user"),
    ]
    for args, stdin, says in cases:
        fails_cleanly(gate, *args, input=stdin or "", says=says)


def db_bytes(gate):
    """The database and its WAL as bytes: a refusal must not even rewrite a
    page. (The -shm index is shared memory every writer's open touches.)"""
    return {name: (gate.state / name).read_bytes()
            for name in (gate.db.name, gate.db.name + "-wal")}


# {t} {b}: the key being added; {t2} {b2}: a second one.
@pytest.mark.parametrize("text,says", [
    ("{t} {b} {t2} {b2}\n", "more than one key"),
    ("{t} {b}\r{t2} {b2}\n", "carriage return"),
    ("{t} {b}\n\n{t2} {b2}\n", "more than one line"),
    ("{t} {b}\n{t2} {b2}", "more than one line"),
    ("{t}\r{b}\n", "carriage return"),
    ("{t} {b}\rcomment\n", "carriage return"),
    ("{t} {b} co\rmment\n", "carriage return"),
    ("{t} {b}\r", "carriage return"),
    ('restrict,command="/bin/sh" {t} {b}\n', "key options are not accepted"),
    ('restrict,pty,command="/bin/sh" {t} {b} sshgate:root\n',
     "key options are not accepted"),
    ('from="1.2.3.4" {t} {b}\n', "key options are not accepted"),
    ('environment="LD_PRELOAD=/tmp/x.so" {t} {b}\n',
     "key options are not accepted"),
    ('command="{t} {b}" {t} {b}\n', "key options are not accepted"),
    ("no-pty {t} {b}\n", "unsupported key type 'no-pty'"),
    ("cert-authority {t} {b}\n", "unsupported key type"),
    (' command="/bin/sh" {t} {b}\n', "unsupported key type"),
    ("\t{t} {b}\n", "unsupported key type"),
])
def test_key_text_that_could_become_options(gate, keygen, text, says):
    """THREATS row 13: a pasted .pub with two keys (on two lines or one), a
    CR anywhere, or an options prefix in any spelling is refused, and the
    database files stay byte for byte as they were."""
    # THREATS row 13
    _, pub = keygen("dora")
    _, pub2 = keygen("dora2")
    (t, b), (t2, b2) = pub.split()[:2], pub2.split()[:2]
    gate.ctl("user", "add", "dora")
    before = db_bytes(gate)
    fails_cleanly(gate, "key", "add", "dora", "-", says=says,
                  input=text.format(t=t, b=b, t2=t2, b2=b2))
    assert db_bytes(gate) == before


@pytest.mark.parametrize("value", [
    '"1.2.3.4"', '1.2.3.4"', "1.2.3.4,\"*\"", "'1.2.3.4'", '1.2.3.4\\"',
    '1.2.3.4"\n', '1.2.3.4 ,command="/bin/sh"', '1.2.3.4,no-pty',
])
def test_from_with_quotes_is_refused(gate, keygen, value):
    # THREATS row 13: --from goes into from="..." on the key line.
    _, pub = keygen("ed")
    gate.ctl("user", "add", "ed")
    before = db_bytes(gate)
    fails_cleanly(gate, "key", "add", "ed", "-", "--from", value, input=pub,
                  says="invalid --from")
    assert db_bytes(gate) == before


def test_pub_file_with_two_keys_is_refused(gate, keygen, tmp_path):
    # THREATS row 13: the same from a file as from stdin.
    _, pub = keygen("fay")
    _, pub2 = keygen("fay2")
    gate.ctl("user", "add", "fay")
    f = tmp_path / "fay.pub"
    for text in (pub + pub2, pub.rstrip("\n") + " " + pub2):
        f.write_text(text)
        before = db_bytes(gate)
        fails_cleanly(gate, "key", "add", "fay", f, says="more than one")
        assert db_bytes(gate) == before


def test_hosts(gate):
    gate.ctl("host", "add", "web1", "127.0.0.1", "--port", "2222",
             "--login", "www")
    gate.ctl("host", "add", "db1", "db1.example.org")
    hosts = json.loads(gate.ctl("host", "list", "--json").stdout)
    assert [(h["name"], h["address"], h["port"], h["login"])
            for h in hosts] == [("db1", "db1.example.org", 22, ""),
                                ("web1", "127.0.0.1", 2222, "www")]
    table = gate.ctl("host", "list").stdout
    assert re.search(r"^db1\s+db1.example.org\s+22\s+-\s+0\s+\(the gate's\)$",
                     table, re.M)
    gate.ctl("host", "del", "db1")
    assert len(json.loads(gate.ctl("host", "list", "--json").stdout)) == 1


@pytest.mark.parametrize("args,says", [
    # THREATS row 4: nothing that looks like an ssh option is stored.
    (["host", "add", "--", "-oProxyCommand=x", "127.0.0.1"],
     "must not start with '-'"),
    (["host", "add", "x", "-oProxyCommand=y"], None),
    (["host", "add", "x", "--", "-oProxyCommand=y"], "invalid address"),
    (["host", "add", "x", "a b"], "invalid address"),
    (["host", "add", "x", "host%h"], "invalid address"),
    (["host", "add", "x@y", "127.0.0.1"], "invalid host name"),
    (["host", "add", "web1", "127.0.0.2"], "host 'web1' already exists"),
    (["host", "add", "x", "127.0.0.1", "--port", "0"], "between 1 and 65535"),
    (["host", "add", "x", "127.0.0.1", "--port", "22x"], "not a decimal"),
    (["host", "add", "x", "127.0.0.1", "--login", "-lroot"], "invalid login"),
    (["host", "add", "x", "127.0.0.1", "--login", "ro ot"], "invalid login"),
    (["host", "del", "nope"], "no such host 'nope'"),
])
def test_host_bad_input(gate, args, says):
    gate.ctl("host", "add", "web1", "127.0.0.1")
    fails_cleanly(gate, *args, says=says)


def test_groups_and_grants(gate):
    for u in ("alice", "bob"):
        gate.ctl("user", "add", u)
    for h in ("web1", "web2", "db1"):
        gate.ctl("host", "add", h, "127.0.0.1", "--login", "www")
    gate.ctl("group", "add", "ops")
    gate.ctl("group", "add", "web", "--hosts")
    gate.ctl("group", "member", "add", "ops", "alice", "bob")
    gate.ctl("group", "member", "add", "web", "web1", "web2")
    assert gate.ctl("group", "show", "web").stdout == "web1\nweb2\n"
    groups = json.loads(gate.ctl("group", "list", "--json").stdout)
    assert [(g["name"], g["kind"], g["members"]) for g in groups] == [
        ("ops", "users", 2), ("web", "hosts", 2)]
    gate.ctl("grant", "@ops", "@web")
    gate.ctl("grant", "alice", "db1", "--login", "postgres", "--login", "root",
             "--until", "+1d")
    grants = json.loads(gate.ctl("grants", "--json").stdout)
    assert [(g["subject"], g["object"], g["login"]) for g in grants] == [
        ("@ops", "@web", ""), ("alice", "db1", "postgres"),
        ("alice", "db1", "root")]
    access = json.loads(gate.ctl("access", "alice", "--json").stdout)
    assert [(a["host"], a["login"]) for a in access] == [
        ("db1", "postgres"), ("db1", "root"), ("web1", "www"), ("web2", "www")]
    assert [(a["host"], a["login"]) for a in json.loads(
        gate.ctl("access", "bob", "--json").stdout)] == [
        ("web1", "www"), ("web2", "www")]
    gate.ctl("revoke", "alice", "db1", "--login", "root")
    gate.ctl("group", "member", "del", "ops", "bob")
    assert json.loads(gate.ctl("access", "bob", "--json").stdout) == []
    gate.ctl("revoke", "@ops", "@web")
    assert [(a["host"], a["login"]) for a in json.loads(
        gate.ctl("access", "alice", "--json").stdout)] == [("db1", "postgres")]
    gate.ctl("group", "del", "web")
    assert "web" not in gate.ctl("group", "list").stdout


@pytest.mark.parametrize("args,says", [
    (["grant", "nobody", "web1"], "no such user 'nobody'"),
    (["grant", "alice", "nohost"], "no such host 'nohost'"),
    (["grant", "@nogroup", "web1"], "no such group 'nogroup'"),
    (["grant", "@web", "web1"], "'web' is a group of hosts, not of users"),
    (["grant", "alice", "@ops"], "'ops' is a group of users, not of hosts"),
    (["grant", "alice", "web1", "--login", "-oProxyCommand=x"],
     "invalid login"),
    (["grant", "alice", "web1", "--until", "2001-01-01"], "in the past"),
    (["grant", "alice", "web1", "--login", "a", "--login", "www"],
     "already has a grant"),
    (["grant", "alice"], None),
    (["revoke", "alice", "db1"], "no grant from alice to db1"),
    (["group", "member", "add", "ops", "bob", "nobody"], "no such user"),
    (["group", "member", "add", "web", "alice"], "no such host 'alice'"),
    (["group", "member", "del", "ops", "bob"], "'bob' is not a member"),
    (["group", "add", "ops"], "group 'ops' already exists"),
    (["group", "add", "x", "--users"], None),
    (["grants", "extra"], None),
])
def test_group_and_grant_bad_input(gate, args, says):
    """Multi-row changes are all or nothing: the member list that names
    one unknown user adds no one."""
    for u in ("alice", "bob"):
        gate.ctl("user", "add", u)
    gate.ctl("host", "add", "web1", "127.0.0.1", "--login", "www")
    gate.ctl("host", "add", "db1", "127.0.0.1")
    gate.ctl("group", "add", "ops")
    gate.ctl("group", "add", "web", "--hosts")
    gate.ctl("grant", "alice", "web1", "--login", "www")
    fails_cleanly(gate, *args, says=says)


@pytest.mark.parametrize("args,says", [
    (["token"], "usage: gatectl token list"),
    (["token", "list", "extra"], None),
    (["token", "list", "--user", "nobody"], "no such user 'nobody'"),
    (["token", "list", "--user", "-x"], "invalid user name"),
    (["token", "revoke"], None),
    (["token", "revoke", "--user", "alice", "AAAAAAAAAAAA"], None),
    (["token", "revoke", "AAAAAAAAAAAA", "BBBBBBBBBBBB"], None),
    (["token", "revoke", "--user", "nobody"], "no such user 'nobody'"),
    (["token", "revoke", "AAAAAAAAAAAA"], "no unused web token AAAAAAAAAAAA"),
    (["token", "revoke", "AAAAAAAAAAA"], "invalid selector"),
    (["token", "revoke", "AAAAAAAAAAA/"], "invalid selector"),
    (["token", "revoke", "sgw_" + "A" * 55], "not the whole token"),
])
def test_token_bad_input(gate, args, says):
    """The web token admin verbs (test_web.py has them working)."""
    gate.ctl("user", "add", "alice")
    r = fails_cleanly(gate, *args, says=says)
    assert "A" * 40 not in r.stderr


def test_token_list_empty(gate):
    assert gate.ctl("token", "list", "--json").stdout == "[]\n"
    assert gate.ctl("token", "list").stdout == "(none)\n"
    assert "token list [--user U]" in gate.ctl("help").stdout


def test_deleting_a_user_cascades(gate, keygen):
    _, pub = keygen("dan")
    gate.ctl("user", "add", "dan")
    gate.ctl("key", "add", "dan", "-", input=pub)
    gate.ctl("host", "add", "web1", "127.0.0.1", "--login", "www")
    gate.ctl("group", "add", "ops")
    gate.ctl("group", "member", "add", "ops", "dan")
    gate.ctl("grant", "dan", "web1")
    gate.ctl("user", "del", "dan")
    assert json.loads(gate.ctl("key", "list", "--json").stdout) == []
    assert json.loads(gate.ctl("grants", "--json").stdout) == []
    assert gate.ctl("group", "show", "ops").stdout == ""


def test_upgrade_from_schema_1(make_gate):
    """A version-1 database (issue 2's) is upgraded in place by init, its
    rows kept."""
    gate = make_gate()
    gate.ctl("user", "add", "old")
    gate.ctl("host", "add", "web1", "127.0.0.1")
    con = sqlite3.connect(gate.db)
    downgrade_to_3(con)
    downgrade_to_2(con)
    con.execute("ALTER TABLE hosts DROP COLUMN egress_key")
    for col in ("pid_start", "tty", "command", "peer", "message"):
        con.execute(f"ALTER TABLE sessions DROP COLUMN {col}")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    r = gate.ctl("init")
    assert "upgraded database" in r.stdout and "from schema version 1 to 4" \
        in r.stdout
    assert "old" in gate.ctl("user", "list").stdout
    assert "(the gate's)" in gate.ctl("host", "list").stdout


def downgrade_to_3(con):
    """Undo schema 4 (sharing and web tokens) by hand."""
    for t in ("shares", "attachments", "web_tokens", "web_throttle"):
        con.execute(f"DROP TABLE {t}")


def test_upgrade_from_schema_3(make_gate):
    """Issue 5's database gains shares and web tokens; its history stays."""
    gate = make_gate()
    gate.ctl("user", "add", "old")
    gate.sql("INSERT INTO command_log (created_at, command, source, username,"
             " host_name) VALUES (1, 'uptime', 'typed', 'old', 'web1')")
    con = sqlite3.connect(gate.db)
    downgrade_to_3(con)
    con.execute("PRAGMA user_version = 3")
    con.commit()
    con.close()
    r = gate.ctl("init")
    assert "from schema version 3 to 4" in r.stdout
    assert "uptime" in gate.ctl("history", "--json").stdout
    con = sqlite3.connect(gate.db)
    tables = {r[0] for r in con.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    con.close()
    assert {"shares", "attachments", "web_tokens", "web_throttle"} <= tables


def downgrade_to_2(con):
    """Undo schema 3 (recordings and command history) by hand."""
    for t in ("command_fts", "command_log", "meta"):
        con.execute(f"DROP TABLE {t}")
    con.execute("DROP INDEX sessions_host")
    for col in ("recording", "rec_status", "rec_files", "rec_bytes",
                "rec_lost"):
        con.execute(f"ALTER TABLE sessions DROP COLUMN {col}")


def test_upgrade_from_schema_2(make_gate):
    """Issue 3's database gains recordings and history; its sessions stay."""
    gate = make_gate()
    gate.ctl("user", "add", "old")
    gate.sql("INSERT INTO sessions (user_name, host_name, login, started_at, "
             "ended_at, end_reason) VALUES ('old', 'web1', 'root', 1, 2, "
             "'exit')")
    con = sqlite3.connect(gate.db)
    downgrade_to_3(con)
    downgrade_to_2(con)
    con.execute("PRAGMA user_version = 2")
    con.commit()
    con.close()
    r = gate.ctl("init")
    assert "from schema version 2 to 4" in r.stdout
    assert gate.ctl("session", "list", "--all", "--json").stdout.count(
        '"user":"old"') == 1
    assert gate.ctl("history", "--json").stdout.strip() == "[]"
    assert gate.ctl("recordings", "--json").stdout.strip() == "[]"


def test_schema_versions(make_gate):
    """An empty file is brought to the current schema; a newer database is
    refused and left untouched."""
    gate = make_gate(init=False)
    gate.state.mkdir(mode=0o750)
    gate.db.touch()
    assert gate.ctl("init").stdout.splitlines()[-1].startswith("initialised ")
    gate.ctl("user", "add", "keep")
    gate.sql("PRAGMA user_version = 42")
    before = gate.db.read_bytes()
    for args in (["init"], ["user", "list"], ["user", "add", "x"]):
        r = gate.ctl(*args, check=False)
        assert r.returncode == 1
        assert "schema version 42 is newer than this program's (4): " \
               "upgrade sshgate" in r.stderr
    assert gate.db.read_bytes() == before


def test_config_errors_name_file_and_line(gate):
    gate.config.write_text(gate.config.read_text() + "colour = blue\n")
    r = gate.ctl("user", "list", check=False)
    assert r.returncode == 2
    assert r.stderr.strip() == (f"gatectl: {gate.config}:6: unknown key "
                                "'colour' in [gate]")


def test_usage(gate):
    r = gate.ctl("frobnicate", check=False)
    assert r.returncode == 2 and "unknown command 'frobnicate'" in r.stderr
    r = gate.ctl(check=False)
    assert r.returncode == 2 and "usage: gatectl" in r.stderr
    r = gate.ctl("help")
    assert r.returncode == 0 and "grant USER|@GROUP" in r.stdout


def test_listings_escape_stored_text(gate, keygen):
    """A key comment is the one free text a user controls at enrolment; it
    is stored as given (valid UTF-8, no controls) and every listing prints
    it inert (THREATS B4)."""
    # THREATS row 29
    _, pub = keygen("eve")
    t, b64 = pub.split()[:2]
    gate.ctl("user", "add", "eve")
    r = gate.ctl("key", "add", "eve", "-", check=False,
                 input=f"{t} {b64} \x1b]52;c;cHduZWQ=\x07\n")
    assert r.returncode == 2 and "control character" in r.stderr
    gate.ctl("key", "add", "eve", "-", input=f"{t} {b64} back\\slash \u202e\n")
    out = gate.ctl("key", "list").stdout
    assert "back\\\\slash" in out
    assert "\x1b" not in out
    # A right-to-left override would reorder the rest of the line.
    assert "\u202e" not in out and "\\xe2\\x80\\xae" in out


def test_gate_account_can_run_gatectl(gate):
    """Run as the gate account (not root) it works on the same files and
    leaves them with the same owners."""
    r = run([gate.bindir / "gatectl", "-c", gate.config, "user", "add", "zed"],
            user=GATE_USER, group=GATE_USER, extra_groups=[])
    assert r.returncode == 0, r.stderr
    gid_auth = grp.getgrnam(AUTH_USER).gr_gid
    for f in ("gate.db", "gate.db-wal", "gate.db-shm"):
        assert mode_of(gate.state / f)[2] == gid_auth
