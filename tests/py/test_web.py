"""Web terminals in front of idle-watch: the real shellinaboxd (Debian's)
on loopback, a real headless Chromium as the user, DevTools to look at the
page and to type. The watcher reads the terminal's inode times (8-second
windows), hence timeouts of 10 s."""

import subprocess
import time
from pathlib import Path

import pytest

from browser import Chromium
from conftest import TARGET_USER, free_port, stop_process, wait_port


@pytest.fixture
def web(bindir, target_account):
    started = []

    def start(command):
        """shellinaboxd serving command at /, and a browser on it."""
        port = free_port()
        svc = f"/:{TARGET_USER}:{TARGET_USER}:/:{command}"
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
