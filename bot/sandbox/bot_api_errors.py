"""The Bot API's error answers, as the fake server raises and sends them."""

from bot.sandbox.chat_objects import JSON


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, Telegram's description, optional parameters."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(detail: str) -> ApiError:
    """Telegram's 400 answer: "Bad Request: <detail>"."""
    return ApiError(400, f"Bad Request: {detail}")
