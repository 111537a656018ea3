"""contrib/quickstart, the README's first command, run for real but moved
into a scratch prefix, configuration directory, state directory, ports and
account names, so it cannot touch the machine's own gate. It must bring up
a gate that answers the printed ssh line, and a second run must change
nothing and say so."""
import os
import re
import subprocess

from conftest import SRC, free_port, run

ACCOUNTS = {"ACCOUNT": "sgt-qs-gate", "AUTH_ACCOUNT": "sgt-qs-auth",
            "DEMO_ACCOUNT": "sgt-qs-demo"}


def test_quickstart_brings_up_a_gate_and_is_idempotent(rundir, keygen):
    qs = rundir / "qs"
    qs.mkdir(mode=0o755)
    key, _ = keygen("qs-user")
    env = dict(os.environ)
    env.update({f"SSHGATE_QS_{k}": v for k, v in ACCOUNTS.items()})
    gate_port, target_port = free_port(), free_port()
    env.update({
        "SSHGATE_QS_PREFIX": str(qs / "usr"),
        "SSHGATE_QS_SYSCONFDIR": str(qs / "etc"),
        "SSHGATE_QS_STATE": str(qs / "state"),
        "SSHGATE_QS_GATE_HOME": str(qs / "home"),
        "SSHGATE_QS_BUILD": str(qs / "build"),
        "SSHGATE_QS_RUNDIR": str(qs),
        "SSHGATE_QS_PORT": str(gate_port),
        "SSHGATE_QS_TARGET_PORT": str(target_port),
        "SSHGATE_QS_USER_KEY": str(key),
    })
    env.pop("SUDO_USER", None)
    quickstart = [SRC / "contrib" / "quickstart"]
    try:
        first = run(quickstart, env=env, timeout=600)
        assert first.returncode == 0, first.stdout + first.stderr
        assert "The gate is up." in first.stdout
        assert "connect demo -- id -un: sgt-qs-demo" in first.stdout
        line = re.search(r"^  (ssh -p \d+ -i \S+ \S+@127\.0\.0\.1 list)$",
                         first.stdout, re.M)
        assert line, first.stdout
        # The line it prints works (known_hosts kept out of root's home).
        argv = line.group(1).split()
        argv[1:1] = ["-F", "/dev/null", "-o", "BatchMode=yes",
                     "-o", "StrictHostKeyChecking=no",
                     "-o", "UserKnownHostsFile=/dev/null"]
        r = run(argv)
        assert r.returncode == 0, r.stderr
        assert re.search(r"^demo\s+sgt-qs-demo\s+-$", r.stdout, re.M), r.stdout
        argv[-1:] = ["connect demo -- printf %s 'a;b'"]
        r = run(argv)
        assert (r.returncode, r.stdout) == (0, "a;b"), r.stderr

        second = run(quickstart, env=env, timeout=600)
        assert second.returncode == 0, second.stdout + second.stderr
        assert "Nothing changed: the gate was already up." in second.stdout
        assert "  * " not in second.stdout, second.stdout
        # Its configuration and state have the modes the docs promise.
        assert os.stat(qs / "etc" / "sshgate" / "gate.ini").st_mode & 0o777 \
            == 0o644
        assert os.stat(qs / "state").st_mode & 0o7777 == 0o2750
    finally:
        r = run(quickstart + ["stop"], env=env)
        assert r.returncode == 0, r.stderr
    for port in (gate_port, target_port):
        assert subprocess.run(["ss", "-Hltn", f"sport = :{port}"],
                              capture_output=True, text=True).stdout == ""
