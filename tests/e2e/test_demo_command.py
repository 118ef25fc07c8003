"""`backorder-bot demo` as someone trying the bot runs it: one command prints the address, Ctrl-C stops
everything, and run again on the same file it carries on where it stopped."""

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.i18n import translator
from tests.unit.test_cli_command import without_the_venv_on_path

BACKORDER_BOT = Path(sys.executable).with_name("backorder-bot")
STARTS_WITHIN = 60.0
ANSWERS_WITHIN = 20.0


class RunningDemo:
    """The command in a process of its own, its output read line by line as it comes."""

    def __init__(self, folder: Path) -> None:
        self.process = subprocess.Popen(
            [str(BACKORDER_BOT), "demo", "--port", "0"],
            cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.url = self._wait_for_address()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line)

    def _wait_for_address(self) -> str:
        deadline = time.monotonic() + STARTS_WITHIN
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            if "Backorder Desk demo: open " in line:
                return line.split("open ", 1)[1].split()[0].removesuffix("/sandbox")
        self.process.kill()
        self._close()
        raise AssertionError("the demo printed no address:\n" + "".join(self.output))

    def wait_for_line(self, text: str) -> str:
        """The first line printed from here on that contains `text`."""
        deadline = time.monotonic() + STARTS_WITHIN
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            self.output.append(line)
            if text in line:
                return line
        raise AssertionError(f"the demo printed no line with {text!r}:\n" + "".join(self.output))

    def stop(self, signum: int = signal.SIGINT) -> int:
        """Press Ctrl-C (or send `signum`); the exit code, once everything has stopped."""
        self.process.send_signal(signum)
        code = self.process.wait(timeout=30)
        self._close()
        while not self.lines.empty():
            self.output.append(self.lines.get())
        return code

    def _close(self) -> None:
        """Read the output to its end and close the pipe, which the process left behind."""
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)
        assert self.process.stdout is not None
        self.process.stdout.close()

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path, timeout=ANSWERS_WITHIN + 5) as answer:
            return json.load(answer)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.url + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            return json.load(answer)

    def wait_for_bot_text(self, chat_id: int, found: Callable[[str], bool]) -> str:
        """The first message from the bot in the chat whose text passes `found`, waiting for it to be written."""
        version, deadline = -1, time.monotonic() + ANSWERS_WITHIN
        while time.monotonic() < deadline:
            chat = self.get(f"/sandbox-api/chats/{chat_id}?after_version={version}&wait=5")
            version = chat["version"]
            for entry in chat["messages"]:
                text = entry["message"].get("text", "")
                if entry["from_bot"] and found(text):
                    return str(text)
        raise AssertionError(f"the bot never wrote that in chat {chat_id}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


@pytest.fixture
def demo_folder(tmp_path: Path) -> Iterator[Path]:
    """An empty folder to run the command in, as after a fresh clone (no .env)."""
    yield tmp_path


def test_the_demo_runs_in_one_command_stops_on_ctrl_c_and_carries_on_after_a_restart(demo_folder: Path) -> None:
    german = translator("de")
    first = RunningDemo(demo_folder)
    try:
        anna = first.get("/sandbox/api/cast")["customers"][0]
        first.post(f"/sandbox-api/users/{anna['user_id']}/contact", {"phone": anna["phone"]})
        greeting = first.wait_for_bot_text(anna["user_id"], lambda text: "Anna" in text)
        a_day_later = first.post("/sandbox/api/next-day", {})["clock"]["today"]
    finally:
        code = first.stop()
    assert greeting == german.gettext("Thanks, {name} — you're connected. Here are your orders:").format(name="Anna")
    assert code == 0 and "Demo stopped." in "".join(first.output)
    assert (demo_folder / "backorder-demo.sqlite3").exists()

    again = RunningDemo(demo_folder)
    try:
        cast = again.get("/sandbox/api/cast")
        anna_again = cast["customers"][0]
        # A new sandbox numbers its updates from the start again; the bot must not take them for ones it handled.
        again.post(f"/sandbox-api/users/{anna_again['user_id']}/text", {"text": "/orders"})
        orders = again.wait_for_bot_text(anna_again["user_id"], lambda text: "1042" in text)
    finally:
        code = again.stop(signal.SIGTERM)
    assert anna_again["user_id"] == anna["user_id"]
    assert cast["clock"]["today"] == a_day_later  # the demo's time does not go back behind its database
    assert "Studio Pro Wireless Headset" in orders  # still linked: her order list, not the request to link
    assert code == 0 and "Using the demo store already in the database." in "".join(again.output)


def test_the_console_sign_in_link_and_token_command_the_demo_prints_work_as_printed(
    demo_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    demo = RunningDemo(demo_folder)
    try:
        link = demo.wait_for_line("The merchant console: ").split("The merchant console: ", 1)[1].strip()
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["code"][0]
        with urllib.request.urlopen(link, timeout=ANSWERS_WITHIN) as page:
            assert page.status == 200 and 'name="code"' in page.read().decode()
        sign_in = urllib.request.Request(link.split("?")[0], data=urllib.parse.urlencode({"code": code}).encode())
        with pytest.raises(urllib.error.HTTPError) as signed_in:
            urllib.request.build_opener(_NoRedirects).open(sign_in, timeout=ANSWERS_WITHIN)
        assert signed_in.value.code == 303 and signed_in.value.headers["Location"] == "/console"
        assert "bd_console=" in signed_in.value.headers["Set-Cookie"]
    finally:
        demo.stop()
    [command] = [line.strip() for line in demo.output if " token create " in line]
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    ran = subprocess.run(command, shell=True, cwd=elsewhere, env=without_the_venv_on_path(), capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.startswith("bd_")  # the token, for the console's sign-in page
    assert not list(elsewhere.iterdir())  # it used the demo's database, not a new one where it ran


def test_a_busy_port_is_refused_before_the_database_is_touched(demo_folder: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        ran = subprocess.run(
            [str(BACKORDER_BOT), "demo", "--port", str(port)], cwd=demo_folder, capture_output=True, text=True, timeout=STARTS_WITHIN
        )
    assert ran.returncode == 1
    assert f"Cannot listen on 127.0.0.1 port {port}" in ran.stderr and "Try --port 0" in ran.stderr
    assert not (demo_folder / "backorder-demo.sqlite3").exists()
