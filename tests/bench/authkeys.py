#!/usr/bin/python3
"""Benchmark: authkeys-cmd with 100,000 enrolled keys, against its peers.

    tests/bench/authkeys.py [--build DIR] [--keys N] [--calls N] [--logins N]
                            [--json-out FILE]

Run as root on Debian 12 after `meson compile -C build` (an optimised
build, not the sanitizer one). It sets up a scratch gate the way the
integration suite does (same accounts, root-owned copies of the binaries),
enrolls N keys (default 100,000: 1,000 users with 100 keys each, written
straight into the database, which gatectl would take minutes to do one
process at a time), then measures, in one run:

  1. per-call latency, one fork+exec per call as sshd makes it (spawnbench),
     run as the AuthorizedKeysCommandUser with an empty environment:
       floor      /bin/true with the same arguments (the cost of any command)
       known      authkeys-cmd for enrolled keys picked at random
       unknown    authkeys-cmd for keys nobody enrolled (what scanners cause)
       grep       grep -F over a 100,000-line authorized_keys file, the
                  usual shell AuthorizedKeysCommand of home-grown bastions
  2. 200 concurrent calls for enrolled keys, 5 rounds: how many failed,
     and each call's latency, beside 200 concurrent /bin/true;
  3. whole logins, `ssh gate version` through a real sshd, interleaved:
       sshgate    AuthorizedKeysCommand authkeys-cmd, 100,000 keys in SQLite
       flat file  AuthorizedKeysFile with the same 100,000 lines authkeys-cmd
                  would print (OpenSSH scans it line by line)
       one line   AuthorizedKeysFile holding only the user's line: the floor

The accounts are the integration suite's, named after SSHGATE_TEST_ACCOUNTS
as in conftest.py (e.g. "sgb" to keep off a suite that runs at the same
time). Timings on a shared machine are noisy: compare the ratios within one
run. --json-out FILE also writes the figures as one JSON object.
Nothing here is a pass/fail test; the exit status is non-zero only when
the set-up fails or a concurrent call fails.
"""
import argparse
import base64
import hashlib
import json
import os
import random
import shutil
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "py"))
import conftest  # noqa: E402  (the integration suite's helpers)
from conftest import (AUTH_USER, GATE_USER, Gate, Sshd, ensure_account,  # noqa
                      run)


def ed25519_blob():
    return (len(b"ssh-ed25519").to_bytes(4, "big") + b"ssh-ed25519" +
            (32).to_bytes(4, "big") + os.urandom(32))


def fingerprint(blob):
    return "SHA256:" + base64.b64encode(
        hashlib.sha256(blob).digest()).decode().rstrip("=")


def populate(gate, nkeys):
    """nkeys random ed25519 keys, 100 per user, in one transaction."""
    now = int(time.time())
    con = sqlite3.connect(gate.db)
    con.execute("PRAGMA foreign_keys = ON")
    nusers = max(1, nkeys // 100)
    con.executemany(
        "INSERT INTO users (name, is_admin, disabled, created_at) "
        "VALUES (?, 0, 0, ?)", [(f"u{i:05d}", now) for i in range(nusers)])
    ids = [r[0] for r in con.execute("SELECT id FROM users ORDER BY id")]
    rows = []
    for i in range(nkeys):
        blob = ed25519_blob()
        rows.append((ids[i % nusers], "ssh-ed25519",
                     base64.b64encode(blob).decode(), fingerprint(blob),
                     f"bench-{i}", now))
    con.executemany(
        "INSERT INTO keys (user_id, type, blob, fingerprint, comment, "
        "created_at) VALUES (?, ?, ?, ?, ?, ?)", rows)
    con.commit()
    con.close()
    # Our writers keep the -wal/-shm files the read-only path relies on;
    # Python's sqlite3 deleted them on close. gatectl init makes them again.
    gate.ctl("init")
    return [(r[1], r[2]) for r in rows]


def spawnbench(build, argfile, argv, user=AUTH_USER, jobs=1, output=False):
    cmd = [str(build / "tests" / "bench" / "spawnbench"), "-u", user,
           "-j", str(jobs)] + (["-o"] if output else []) + \
          [str(argfile), "--"] + [str(a) for a in argv]
    r = run(cmd, timeout=3600)
    if r.returncode != 0:
        raise SystemExit(f"spawnbench failed: {r.stderr}")
    return json.loads(r.stdout)


def time_logins(sshds, key, n):
    """Interleaved: one login through each sshd per round."""
    times = {name: [] for name in sshds}
    for _ in range(n):
        for name, sshd in sshds.items():
            t0 = time.perf_counter()
            r = sshd.ssh(key, "version")
            took = time.perf_counter() - t0
            if r.returncode != 0:
                raise SystemExit(f"login via {name} failed: {r.stderr}")
            times[name].append(took * 1000)
    return times


def p99(xs):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, (len(xs) * 99) // 100)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get(
        "SSHGATE_BUILD", str(conftest.SRC / "build")))
    ap.add_argument("--keys", type=int, default=100_000)
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--logins", type=int, default=30)
    ap.add_argument("--json-out", metavar="FILE",
                    help="also write the figures to FILE as JSON")
    args = ap.parse_args()
    build = Path(args.build).resolve()
    if os.geteuid() != 0:
        raise SystemExit("run as root")

    def on_term(signum, frame):     # take down what we set up
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, on_term)

    root = conftest.BASE / f"bench-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    conftest.BASE.mkdir(mode=0o755, exist_ok=True)
    root.mkdir(mode=0o755)
    sshds = {}
    try:
        bindir = root / "bin"
        bindir.mkdir(mode=0o755)
        for name, rel in conftest.PROGRAMS.items():
            shutil.copy2(build / rel, bindir / name)
        home = root / "home"
        home.mkdir(mode=0o755)
        accounts = {
            "gate": ensure_account(GATE_USER, str(bindir / "gate-shell"),
                                   str(home)),
            "auth": ensure_account(AUTH_USER, "/usr/sbin/nologin",
                                   "/nonexistent"),
            "home": home}
        gate = Gate(root / "gate", bindir, accounts)
        gate.ctl("init")

        t0 = time.perf_counter()
        keys = populate(gate, args.keys)
        print(f"enrolled {len(keys)} keys in "
              f"{time.perf_counter() - t0:.1f} s")

        # The user whose logins we time: a real key, enrolled last.
        keydir = Path(tempfile.mkdtemp(dir=root))
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f",
             keydir / "id"], check=True)
        pub = (keydir / "id.pub").read_text()
        conftest.enroll(gate, "bench", pub)

        # Every line authkeys-cmd would print, as one authorized_keys file.
        flat = root / "authorized_keys_100k"
        lines = []
        con = sqlite3.connect(f"file:{gate.db}?mode=ro", uri=True)
        for kid, ktype, blob, user in con.execute(
                "SELECT k.id, k.type, k.blob, u.name FROM keys k "
                "JOIN users u ON u.id = k.user_id ORDER BY k.id"):
            lines.append(f'restrict,pty,command="{bindir}/gate-shell -c '
                         f'{gate.config} --key-id {kid}" {ktype} {blob} '
                         f'sshgate:{user}\n')
        con.close()
        flat.write_text("".join(lines))
        one = root / "authorized_keys_1"
        one.write_text(lines[-1])
        for f in (flat, one):
            os.chmod(f, 0o644)

        rng = random.Random(1)
        argdir = Path(tempfile.mkdtemp(dir=root))
        os.chmod(argdir, 0o755)
        known = argdir / "known"
        known.write_text("".join(
            f"{GATE_USER} {t} {b}\n"
            for t, b in (rng.choice(keys) for _ in range(args.calls))))
        unknown = argdir / "unknown"
        unknown.write_text("".join(
            f"{GATE_USER} ssh-ed25519 {base64.b64encode(ed25519_blob()).decode()}\n"
            for _ in range(args.calls)))
        greps = argdir / "grep"
        greps.write_text("".join(
            f"{rng.choice(keys)[1]} {flat}\n" for _ in range(args.calls)))
        for f in (known, unknown, greps):
            os.chmod(f, 0o644)

        ak = [bindir / "authkeys-cmd", "-c", gate.config]
        res = {
            "floor": spawnbench(build, known, ["/bin/true"]),
            "known": spawnbench(build, known, ak, output=True),
            "unknown": spawnbench(build, unknown, ak),
            "grep": spawnbench(build, greps, ["/usr/bin/grep", "-F", "-m1",
                                              "--"], output=True),
        }
        conc_file = argdir / "concurrent"
        conc_file.write_text("".join(
            f"{GATE_USER} {t} {b}\n"
            for t, b in (rng.choice(keys) for _ in range(200))))
        os.chmod(conc_file, 0o644)
        # And /bin/true the same way, rounds interleaved: what 200 processes
        # at once cost this machine whatever they run.
        conc, conc_floor = [], []
        for _ in range(5):
            conc_floor.append(spawnbench(build, conc_file, ["/bin/true"],
                                         jobs=200))
            conc.append(spawnbench(build, conc_file, ak, jobs=200,
                                   output=True))

        def flat_sshd(path):
            return Sshd(gate, snippet_edit=lambda s: s.replace(
                "AuthorizedKeysFile none", f"AuthorizedKeysFile {path}").replace(
                "AuthorizedKeysCommand ", "#AuthorizedKeysCommand ").replace(
                "AuthorizedKeysCommandUser ", "#AuthorizedKeysCommandUser "))
        sshds["sshgate"] = Sshd(gate)
        sshds["flat file"] = flat_sshd(flat)
        sshds["one line"] = flat_sshd(one)
        logins = time_logins(sshds, keydir / "id", args.logins)
    finally:
        for s in sshds.values():
            s.stop()
        if not os.environ.get("SSHGATE_KEEP"):
            shutil.rmtree(root, ignore_errors=True)

    floor = res["floor"]["median_us"]
    print(f"\nauthkeys-cmd, {len(keys)} keys, {args.calls} calls each "
          "(fork+exec per call, as the AuthorizedKeysCommandUser)")
    print(f"{'':10} {'median':>9} {'p99':>9} {'failed':>7} {'x floor':>8}")
    for name in ("floor", "known", "unknown", "grep"):
        r = res[name]
        print(f"{name:10} {r['median_us'] / 1000:7.2f}ms "
              f"{r['p99_us'] / 1000:7.2f}ms {r['failures']:7d} "
              f"{r['median_us'] / floor:8.2f}")
    print(f"{'known/grep':10} {res['known']['median_us'] / res['grep']['median_us']:8.2f}"
          "  (median ratio: sshgate against a grep over a flat file)")
    failed = sum(c["failures"] for c in conc)
    print(f"\n200 concurrent calls x 5 rounds: {failed} failed; wall "
          + ", ".join(f"{c['wall_us'] / 1000:.0f}" for c in conc) + " ms")
    for name, cs in (("authkeys-cmd", conc), ("/bin/true", conc_floor)):
        print(f"  {name}, each call, spawn to reaped, per round: median "
              + ", ".join(f"{c['median_us'] / 1000:.1f}" for c in cs)
              + " ms; p99 "
              + ", ".join(f"{c['p99_us'] / 1000:.1f}" for c in cs) + " ms")
    print(f"\nwhole logins (ssh gate version), {args.logins} each, interleaved")
    base = statistics.median(logins["one line"])
    print(f"{'':10} {'median':>9} {'p99':>9} {'x one line':>11}")
    for name, xs in logins.items():
        print(f"{name:10} {statistics.median(xs):7.1f}ms {p99(xs):7.1f}ms "
              f"{statistics.median(xs) / base:11.2f}")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({
            "keys": len(keys), "calls": args.calls,
            "per_call": {n: {f: res[n][f] for f in ("median_us", "p99_us",
                                                     "failures")}
                         for n in res},
            "concurrent": {"calls": 200, "rounds": len(conc),
                           "failed": failed,
                           "wall_ms": [round(c["wall_us"] / 1000, 1)
                                       for c in conc],
                           "median_us": [c["median_us"] for c in conc],
                           "p99_us": [c["p99_us"] for c in conc],
                           "floor_median_us": [c["median_us"]
                                               for c in conc_floor],
                           "floor_p99_us": [c["p99_us"]
                                            for c in conc_floor]},
            "logins": {n: {"n": len(xs),
                           "median_ms": round(statistics.median(xs), 1),
                           "p99_ms": round(p99(xs), 1)}
                       for n, xs in logins.items()}}))
    return 1 if failed or res["known"]["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
