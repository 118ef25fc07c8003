"""The merchant API's OpenAPI 3.1 document, built from the same table of operations that registers the routes."""

import inspect
import re
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from bot.services.intake.field_rules import SKU_CHARACTER
from bot.web.json_errors import ErrorBody

API_PREFIX = "/api/v1"
OPENAPI_PATH = "/openapi.json"
_PATH_PARAMETER = re.compile(r"\{(\w+)(?::([^{}]+))?\}")
NUL_FREE = r"^[^\x00]*$"  # no column can hold a NUL character: every text refuses it (422)
_TEXT = {"type": "string", "minLength": 1, "pattern": NUL_FREE}
_PATH_TEXTS = {"sku": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": f"^{SKU_CHARACTER}+$"}}
_ERRORS = {
    401: "The API token is missing, unknown or revoked.",
    404: "Something the request names does not exist.",
    409: "Not allowed in the current state (the message says why), or the Idempotency-Key is in use.",
    413: "The body is larger than 1 MB (1,048,576 bytes).",
    422: "The input is not valid (every problem is listed), or the Idempotency-Key was used for another request.",
    429: "Too many wrong tokens from this address within the hour; `Retry-After` says how many seconds to wait.",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Operation:
    """One route of the API: how it is served and how it is described."""

    method: str
    path: str  # below API_PREFIX, in aiohttp's syntax: `{name}` or `{name:regex}` for path parameters
    handler: Handler
    summary: str
    responses: dict[int, tuple[str, type[BaseModel] | None]]  # the successful answers
    body: type[BaseModel] | None = None
    body_required: bool = True
    query: type[BaseModel] | None = None
    errors: tuple[int, ...] = (401, 422)
    needs_token: bool = True
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def openapi_path(self) -> str:
        """The path as OpenAPI writes it: `{name}` without aiohttp's pattern."""
        return _PATH_PARAMETER.sub(lambda match: "{" + match.group(1) + "}", self.path)


def build_openapi_document(operations: Sequence[Operation], title: str, version: str) -> dict[str, Any]:
    # Request bodies are described as they are read, answers as they are written.
    models: dict[type[BaseModel], JsonSchemaMode] = {ErrorBody: "serialization"}
    for operation in operations:
        models.update((model, "serialization") for _, model in operation.responses.values() if model is not None)
        if operation.body is not None:
            models[operation.body] = "validation"
    _, schemas = models_json_schema(
        sorted(models.items(), key=lambda item: item[0].__name__), ref_template="#/components/schemas/{model}"
    )
    paths: dict[str, dict[str, Any]] = {}
    for operation in operations:
        paths.setdefault(API_PREFIX + operation.openapi_path, {})[operation.method.lower()] = _describe(operation)
    components = schemas.get("$defs", {})
    for name in _read_schemas([operation.body for operation in operations if operation.body is not None], components):
        _nul_free(components[name])
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": (
                "Feed products, stock, orders and supplier purchase orders into Backorder Desk, list what is waiting,"
                " and message customers. Every change is one transaction: all of a batch or none of it."
                " Send `Idempotency-Key` with a POST, PUT or PATCH to make a retry safe."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerToken": []}],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A token from `backorder-bot token create --name NAME`.",
                }
            },
        },
    }


def _describe(operation: Operation) -> dict[str, Any]:
    described: dict[str, Any] = {
        "operationId": operation.handler.__name__,
        "summary": operation.summary,
        "responses": {
            str(status): _response(description, model) for status, (description, model) in operation.responses.items()
        },
    }
    if operation.handler.__doc__:
        described["description"] = inspect.cleandoc(operation.handler.__doc__)
    if operation.tags:
        described["tags"] = list(operation.tags)
    parameters = _path_parameters(operation) + _query_parameters(operation)
    if operation.method in ("POST", "PUT", "PATCH"):
        parameters.append({
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Makes a retry safe: the first answer is kept and given again; nothing changes twice."
            " Printable ASCII; a key that is not, or one reused with another request, is answered 422.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "^[ -~]+$"},
        })
    if parameters:
        described["parameters"] = parameters
    if operation.body is not None:
        described["requestBody"] = {
            "required": operation.body_required,
            "content": {"application/json": {"schema": _ref(operation.body)}},
        }
        errors = (*operation.errors, 413)
    else:
        errors = operation.errors
    if operation.method in ("POST", "PUT", "PATCH"):
        errors = (*errors, 422)  # the Idempotency-Key's own refusals
    if not operation.needs_token:
        described["security"] = []
    errors = (*errors, 429)  # any request bearing a token, from an address that sent too many wrong ones
    for status in sorted(set(errors) - ({401} if not operation.needs_token else set())):
        described["responses"][str(status)] = _response(_ERRORS[status], ErrorBody)
    return described


def _response(description: str, model: type[BaseModel] | None) -> dict[str, Any]:
    if model is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"schema": _ref(model)}}}


def _ref(model: type[BaseModel]) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _read_schemas(bodies: Sequence[type[BaseModel]], components: dict[str, Any]) -> set[str]:
    """The names of the component schemas request bodies use, directly or through others."""
    names: set[str] = set()
    pending = [body.__name__ for body in bodies]
    while pending:
        name = pending.pop()
        if name not in names:
            names.add(name)
            pending.extend(ref.rsplit("/", 1)[1] for ref in _refs(components[name]))
    return names


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "$ref" in node:
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _nul_free(node: Any) -> None:
    """Say of every text a request sends that it holds no NUL character, unless a pattern or a list says more."""
    if isinstance(node, dict):
        if node.get("type") == "string" and not {"pattern", "enum", "format", "anyOf"} & node.keys():
            node["pattern"] = NUL_FREE
        for key, value in node.items():
            if key not in ("examples", "default"):
                _nul_free(value)
    elif isinstance(node, list):
        for value in node:
            _nul_free(value)


def _path_parameters(operation: Operation) -> list[dict[str, Any]]:
    return [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 1} if pattern == r"\d+" else _PATH_TEXTS.get(name, _TEXT),
        }
        for name, pattern in _PATH_PARAMETER.findall(operation.path)
    ]


def _query_parameters(operation: Operation) -> list[dict[str, Any]]:
    if operation.query is None:
        return []
    schema = operation.query.model_json_schema(ref_template="#/components/schemas/{model}")
    required = set(schema.get("required", ()))
    parameters = [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            **({"description": prop["description"]} if "description" in prop else {}),
            "schema": {key: value for key, value in prop.items() if key not in ("description", "title")},
        }
        for name, prop in schema["properties"].items()
    ]
    _nul_free(parameters)
    return parameters
