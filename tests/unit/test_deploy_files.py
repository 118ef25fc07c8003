"""The deploy files (Dockerfile, compose.yaml, the Caddyfile, the systemd units, the README's "Deploy") use only
commands and settings that exist: container tooling is not available where the tests run, so what they run is
checked against the command line's parser and the settings instead."""

import json
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

from bot.cli import build_parser
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = {name.upper() for name in Settings.model_fields}
COMMAND = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
IMAGE = "backorder-desk"


def assert_runs(argv: list[str]) -> None:
    """`backorder-bot ARGV` is a command the parser accepts, flags and all."""
    try:
        build_parser().parse_args(argv)
    except SystemExit as refused:
        raise AssertionError(f"backorder-bot {shlex.join(argv)} is not a command: exit {refused.code}") from None


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def bot_services() -> dict[str, dict]:
    return {name: service for name, service in compose()["services"].items() if service.get("image") == IMAGE}


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    return [tuple(line.split(None, 1)) for line in lines]  # type: ignore[misc]


def test_the_image_runs_the_installed_command_with_serve_by_default_as_a_user_of_its_own() -> None:
    instructions = dockerfile_instructions()
    entrypoint = [json.loads(args) for op, args in instructions if op == "ENTRYPOINT"]
    cmd = [json.loads(args) for op, args in instructions if op == "CMD"]
    assert entrypoint == [list(COMMAND)] and COMMAND == {"backorder-bot": "bot.cli:main"}
    assert_runs(cmd[-1])
    assert instructions[0][0] == "FROM" and instructions[0][1].endswith("-slim")
    users = [args for op, args in instructions if op == "USER"]
    assert users and users[-1] not in {"root", "0"}


def test_the_image_sets_only_settings_the_bot_reads_and_checks_its_health_at_healthz() -> None:
    for op, args in dockerfile_instructions():
        if op == "ENV":
            names = re.findall(r"([A-Z_]+)=", args)
            bot_names = [name for name in names if not name.startswith(("PYTHON", "PIP_"))]
            assert set(bot_names) <= SETTINGS, bot_names
    [healthcheck] = [args for op, args in dockerfile_instructions() if op == "HEALTHCHECK"]
    assert "/healthz" in healthcheck and "WEB_PORT" in healthcheck


def test_every_bot_service_in_compose_runs_a_command_with_settings_that_exist() -> None:
    services = bot_services()
    assert {"migrate", "serve", "deliver"} <= set(services)
    for name, service in services.items():
        assert_runs(service["command"])
        assert set(service.get("environment", {})) <= SETTINGS, name
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert services["serve"]["deploy"]["replicas"] >= 2
    json.loads(services["serve"]["environment"]["TRUSTED_PROXIES"])  # a JSON list, as Settings reads it
    for role in ("serve", "deliver"):  # the schema is migrated before any instance starts
        assert services[role]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_puts_postgresql_under_the_bot_and_a_tls_proxy_in_front_of_serve() -> None:
    services = compose()["services"]
    serve = services["serve"]["environment"]
    assert serve["DATABASE_URL"].startswith("postgresql+asyncpg://") and "@postgres:5432/" in serve["DATABASE_URL"]
    assert serve["OUTBOX_WORKERS"] == "0" and int(services["deliver"]["environment"]["OUTBOX_WORKERS"]) > 0
    assert "443:443" in services["caddy"]["ports"]
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    assert re.search(r"name serve\s+port (\d+)", caddyfile).group(1) == serve["WEB_PORT"]  # type: ignore[union-attr]
    mounted = [volume.split(":")[0] for volume in services["caddy"]["volumes"]]
    assert all((ROOT / path).exists() for path in mounted if path.startswith("./"))


@pytest.mark.parametrize("unit", sorted((ROOT / "deploy" / "systemd").glob("*.service")), ids=lambda path: path.name)
def test_every_systemd_unit_runs_a_command_with_settings_that_exist(unit: Path) -> None:
    lines = unit.read_text().splitlines()
    [exec_start] = [line.split("=", 1)[1] for line in lines if line.startswith("ExecStart=")]
    program, *argv = shlex.split(exec_start)
    assert Path(program).name == "backorder-bot"
    assert_runs(argv)
    names = [line.split("=", 2)[1] for line in lines if line.startswith("Environment=")]
    assert set(names) <= SETTINGS, names


def test_the_readmes_deploy_section_names_only_commands_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Deploy", 1)[1].split("\n## ", 1)[0]
    shown = re.findall(r"```sh\n(.*?)```", section, re.S) + re.findall(r"`([^`]*backorder-bot [^`]*)`", section)
    commands = [
        shlex.split(part.split("backorder-bot ", 1)[1])
        for text in shown
        for part in re.split(r"&&|\n", text)
        if "backorder-bot " in part
    ]
    assert len(commands) >= 4, "the Deploy section shows the commands to run"
    for argv in commands:
        assert_runs(argv)
    named = set(re.findall(r"`([A-Z][A-Z_]{3,})`", section))
    assert named - {"POSTGRES_PASSWORD", "SITE_ADDRESS"} <= SETTINGS
    assert {"db", "upgrade"} <= {word for argv in commands for word in argv}
