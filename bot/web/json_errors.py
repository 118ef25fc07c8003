"""Every error the web server answers, as JSON: `{"error": {"code", "message", "problems"?}}`."""

import logging
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, Field, ValidationError

from bot.services.errors import LISTED_PROBLEMS

log = logging.getLogger(__name__)


class Problem(BaseModel):
    """One thing wrong with a request: where (a dotted path such as `orders[0].lines[1].sku`) and why."""

    field: str
    reason: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    problems: list[Problem] | None = None
    problems_total: int | None = Field(
        None, description=f"How many problems there are, when more than the {LISTED_PROBLEMS} listed."
    )


class ErrorBody(BaseModel):
    error: ErrorDetail


class InvalidRequest(Exception):
    """The request's input is wrong; answered 422 with every problem found. Nothing was changed."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__(f"{len(problems)} problem(s)")
        self.problems = list(problems)


def error_response(
    status: int, code: str, message: str, problems: Sequence[Problem] | None = None, **headers: str
) -> web.Response:
    """The error as JSON; a long list of problems is cut to the first LISTED_PROBLEMS, with the total beside it."""
    listed, total = None, None
    if problems is not None:
        listed = list(problems[:LISTED_PROBLEMS])
        total = len(problems) if len(problems) > LISTED_PROBLEMS else None
    detail = ErrorDetail(code=code, message=message, problems=listed, problems_total=total)
    return web.json_response(
        ErrorBody(error=detail).model_dump(mode="json", exclude_none=True), status=status, headers=headers or None
    )


def invalid_request_response(problems: Sequence[Problem]) -> web.Response:
    noun = "problem" if len(problems) == 1 else "problems"
    listed = f" The first {LISTED_PROBLEMS} are listed." if len(problems) > LISTED_PROBLEMS else ""
    return error_response(
        422,
        "invalid_request",
        f"The request was not accepted, nothing was changed: {len(problems)} {noun}.{listed}",
        problems,
    )


def validation_problems(error: ValidationError, prefix: str = "") -> list[Problem]:
    """Pydantic's errors as problems, with JSON paths like `products[2].price_minor`."""
    problems = []
    for item in error.errors(include_url=False):
        if item["type"] == "json_invalid":
            problems.append(Problem(field=prefix, reason=f"the body is not valid JSON ({item['ctx']['error']})"))
            continue
        reason = str(item["ctx"]["error"]) if item["type"] == "value_error" else item["msg"]  # without "Value error, "
        problems.append(Problem(field=json_path(prefix, item["loc"]), reason=reason))
    return problems


def json_path(prefix: str, loc: Sequence[int | str]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


@web.middleware
async def json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own refusals (404, 405, 413, ...) and unexpected failures, answered in JSON like ours."""
    try:
        return await handler(request)
    except web.HTTPException as refused:
        if refused.status < 400:
            raise
        message = _too_large_message(request) if refused.status == 413 else refused.reason
        headers = {"Allow": refused.headers["Allow"]} if "Allow" in refused.headers else {}
        return error_response(refused.status, _CODES.get(refused.status, "http_error"), message, **headers)
    except Exception:
        log.exception("%s %s failed", request.method, request.path)
        return error_response(500, "internal_error", "Something went wrong on our side; nothing you can fix. Try again later.")


def _too_large_message(request: web.Request) -> str:
    return f"The request body is larger than the {request.client_max_size:,} bytes allowed."
