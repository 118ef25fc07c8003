"""Every setting the bot reads is documented for the operator: in .env.example and in the README."""

import re
from pathlib import Path

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _setting_names() -> set[str]:
    return {name.upper() for name in Settings.model_fields}


def test_env_example_lists_every_setting_with_a_comment() -> None:
    lines = (ROOT / ".env.example").read_text().splitlines()
    listed = {}
    for index, line in enumerate(lines):
        match = re.match(r"([A-Z_]+)=", line)
        if match:
            listed[match.group(1)] = index > 0 and lines[index - 1].startswith("#")
    assert set(listed) == _setting_names()
    assert all(listed.values()), [name for name, commented in listed.items() if not commented]


def test_readme_configuration_table_names_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    missing = [name for name in _setting_names() if f"`{name}`" not in table]
    assert missing == []
