"""Refuses a URL whose path or query holds a NUL character, on every route, before anything reads it.

No field of ours may hold one (PostgreSQL cannot store it in text), so such a request is a field error, like
any other bad input, instead of reaching the database and failing there.
"""

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.web.json_errors import Problem, invalid_request_response

NUL = "\x00"
NUL_REASON = "must not contain a NUL character (U+0000)"


@web.middleware
async def refuse_nul_characters(request: web.Request, handler: Handler) -> web.StreamResponse:
    problems = url_problems(request)
    if problems:
        return invalid_request_response(problems)
    return await handler(request)


def url_problems(request: web.Request) -> list[Problem]:
    """The path parameters and query parameters (by name) that hold a NUL, or the path itself."""
    problems = [Problem(field=name, reason=NUL_REASON) for name, value in request.match_info.items() if NUL in value]
    problems += [
        Problem(field=name.replace(NUL, "") or "query", reason=NUL_REASON)
        for name, value in request.query.items()
        if NUL in name or NUL in value
    ]
    if not problems and NUL in request.path:
        problems.append(Problem(field="path", reason=NUL_REASON))
    return problems
