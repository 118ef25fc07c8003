"""JSON from outside (a request body, a form field): a body nested too deep for the parser is malformed too."""

import json
from typing import Any


def loads_json(raw: bytes | str) -> Any:
    """json.loads, with a body nested too deep for the parser refused like any other malformed one (ValueError)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("the JSON is nested too deeply") from None
