"""Reading an API request's body and query as pydantic models, and answering with one."""

import json
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.services.intake.field_rules import no_nul
from bot.services.unit_of_work import UnitOfWork
from bot.web.app_keys import DEPS
from bot.web.json_errors import InvalidRequest, Problem, json_path, validation_problems

M = TypeVar("M", bound=BaseModel)


async def read_body(request: web.Request, model: type[M], *, optional: bool = False) -> M:
    """The JSON body as `model`; InvalidRequest listing every problem if it is not one."""
    raw = await request.read()
    if optional and not raw.strip():
        raw = b"{}"
    try:
        body = model.model_validate_json(raw)
    except ValidationError as invalid:
        raise InvalidRequest(validation_problems(invalid)) from None
    if b"\\u0000" in raw:  # JSON can only spell a NUL character escaped
        problems = _nul_problems(json.loads(raw))
        if problems:
            raise InvalidRequest(problems)
    return body


def _nul_problems(value: object, path: str = "") -> list[Problem]:
    """A problem for every text of a JSON value (keys included) holding a NUL character, which no column can."""
    if isinstance(value, str):
        try:
            no_nul(value)
        except ValueError as bad:
            return [Problem(field=path, reason=str(bad))]
        return []
    if isinstance(value, list):
        return [
            problem for index, item in enumerate(value) for problem in _nul_problems(item, json_path(path, [index]))
        ]
    if isinstance(value, dict):
        return [
            problem
            for key, item in value.items()
            for problem in _nul_problems(key, json_path(path, [key])) + _nul_problems(item, json_path(path, [key]))
        ]
    return []


def read_query(request: web.Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as invalid:
        raise InvalidRequest(validation_problems(invalid)) from None


def json_answer(answer: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(answer.model_dump(mode="json"), status=status)


def request_uow(request: web.Request) -> UnitOfWork:
    return request.config_dict[DEPS].uow()
