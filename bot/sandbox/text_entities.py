"""Message text as Telegram stores it: markup (`parse_mode`) turned into plain text plus entities.

Offsets and lengths are in UTF-16 code units, as in the Bot API. Errors carry Telegram's wording after
"Bad Request: can't parse entities: ", so a bot that sends broken markup fails here as it would live.
"""

import re
from dataclasses import dataclass, field
from html import unescape
from typing import Any

Entity = dict[str, Any]


class EntityParseError(ValueError):
    """The markup is not valid for its parse mode."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def parse_markup(text: str, parse_mode: str | None) -> tuple[str, list[Entity]]:
    """Plain text and entities for `text` sent with `parse_mode` (None: the text is already plain)."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return _HtmlMarkup(text).parse()
    if mode == "markdownv2":
        return _MarkdownV2(text).parse()
    if mode == "markdown":
        return _LegacyMarkdown(text).parse()
    raise EntityParseError(f"Unsupported parse_mode {parse_mode!r}")


@dataclass
class _Builder:
    """Collects plain text and the entities that cover it."""

    parts: list[str] = field(default_factory=list)
    length: int = 0
    entities: list[Entity] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.length += utf16_len(text)

    def close(self, entity: Entity, start: int) -> None:
        if self.length > start:
            self.entities.append({**entity, "offset": start, "length": self.length - start})

    def result(self) -> tuple[str, list[Entity]]:
        ordered = sorted(enumerate(self.entities), key=lambda item: (item[1]["offset"], -item[1]["length"], item[0]))
        return "".join(self.parts), [entity for _, entity in ordered]


_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>")
_HTML_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>]+))?")
_HTML_CHARREF = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_HTML_SIMPLE = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline", "ins": "underline",
    "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
    "code": "code", "pre": "pre",
}


class _HtmlMarkup:
    def __init__(self, text: str) -> None:
        self.text = text
        self.out = _Builder()
        self.open: list[tuple[str, Entity, int]] = []

    def parse(self) -> tuple[str, list[Entity]]:
        i = 0
        while i < len(self.text):
            char = self.text[i]
            if char == "<":
                i = self._tag(i)
            elif char == "&":
                ref = _HTML_CHARREF.match(self.text, i)
                end = ref.end() if ref else i + 1
                self.out.add(unescape(self.text[i:end]))
                i = end
            else:
                end = min((p for p in (self.text.find("<", i), self.text.find("&", i)) if p != -1), default=len(self.text))
                self.out.add(self.text[i:end])
                i = end
        if self.open:
            tag = self.open[-1][0]
            raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{tag}"')
        return self.out.result()

    def _tag(self, i: int) -> int:
        match = _HTML_TAG.match(self.text, i)
        if not match:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(self.text, i)}")
        closing, name, raw_attrs = match.group(1) == "/", match.group(2).lower(), match.group(3)
        if closing:
            if not self.open:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(self.text, i)}")
            open_name, entity, start = self.open.pop()
            if open_name != name:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {_byte_offset(self.text, i)}, expected "</{open_name}>", found "</{name}>"'
                )
            self.out.close(entity, start)
            return match.end()
        attrs = {key.lower(): (value or "").strip("\"'") for key, value in _HTML_ATTR.findall(raw_attrs)}
        self.open.append((name, self._entity(name, attrs, i), self.out.length))
        return match.end()

    def _entity(self, name: str, attrs: dict[str, str], i: int) -> Entity:
        if name == "a":
            return {"type": "text_link", "url": unescape(attrs.get("href", ""))}
        if name == "span" and attrs.get("class") == "tg-spoiler":
            return {"type": "spoiler"}
        if name == "blockquote":
            return {"type": "expandable_blockquote" if "expandable" in attrs else "blockquote"}
        if name == "tg-emoji":
            return {"type": "custom_emoji", "custom_emoji_id": attrs.get("emoji-id", "")}
        if name == "code" and self.open and self.open[-1][0] == "pre" and attrs.get("class", "").startswith("language-"):
            self.open[-1][1]["language"] = attrs["class"].removeprefix("language-")
        if name in _HTML_SIMPLE:
            return {"type": _HTML_SIMPLE[name]}
        raise EntityParseError(f'Unsupported start tag "{name}" at byte offset {_byte_offset(self.text, i)}')


_MARKDOWN_V2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MARKDOWN_V2_TOGGLES = (("||", "spoiler"), ("__", "underline"), ("*", "bold"), ("_", "italic"), ("~", "strikethrough"))


class _MarkdownV2:
    def __init__(self, text: str) -> None:
        self.text = text
        self.out = _Builder()
        self.open: list[tuple[str, int, int]] = []  # (kind, start in output, index in input)
        self.quote_start: int | None = None

    def parse(self) -> tuple[str, list[Entity]]:
        i = 0
        while i < len(self.text):
            i = self._step(i)
        self._end_quote()
        if self.open:
            kind, _, index = self.open[-1]
            name = "TextUrl" if kind == "link" else kind.title()
            raise EntityParseError(f"Can't find end of {name} entity at byte offset {_byte_offset(self.text, index)}")
        return self.out.result()

    def _step(self, i: int) -> int:
        text, char = self.text, self.text[i]
        at_line_start = i == 0 or text[i - 1] == "\n"
        if at_line_start and char == ">":
            if self.quote_start is None:
                self.quote_start = self.out.length
            return i + 1
        if char == "\\":
            if i + 1 >= len(text):
                raise EntityParseError("Character '\\' is reserved and must be escaped with the preceding '\\'")
            self.out.add(text[i + 1])
            return i + 2
        if char == "`":
            return self._code(i)
        for marker, kind in _MARKDOWN_V2_TOGGLES:
            if text.startswith(marker, i):
                self._toggle(kind, i)
                return i + len(marker)
        if char == "[":
            self.open.append(("link", self.out.length, i))
            return i + 1
        if char == "]" and self.open and self.open[-1][0] == "link":
            return self._link_url(i)
        if char == "\n" and self.quote_start is not None and not text.startswith(">", i + 1):
            self._end_quote()
        if char in _MARKDOWN_V2_RESERVED:
            raise EntityParseError(f"Character '{char}' is reserved and must be escaped with the preceding '\\'")
        self.out.add(char)
        return i + 1

    def _toggle(self, kind: str, i: int) -> None:
        for position in range(len(self.open) - 1, -1, -1):
            if self.open[position][0] == kind:
                _, start, _ = self.open.pop(position)
                self.out.close({"type": kind}, start)
                return
        self.open.append((kind, self.out.length, i))

    def _code(self, i: int) -> int:
        fence = "```" if self.text.startswith("```", i) else "`"
        body_start = i + len(fence)
        entity: Entity = {"type": "pre" if fence == "```" else "code"}
        if fence == "```":
            first_line_end = self.text.find("\n", body_start)
            language = self.text[body_start:first_line_end] if first_line_end != -1 else ""
            if language and re.fullmatch(r"[\w+#-]+", language):
                entity["language"] = language
                body_start = first_line_end + 1
        start, j = self.out.length, body_start
        while j < len(self.text):
            if self.text[j] == "\\" and j + 1 < len(self.text):
                self.out.add(self.text[j + 1])
                j += 2
            elif self.text.startswith(fence, j):
                self.out.close(entity, start)
                return j + len(fence)
            else:
                self.out.add(self.text[j])
                j += 1
        name = "Pre" if fence == "```" else "Code"
        raise EntityParseError(f"Can't find end of {name} entity at byte offset {_byte_offset(self.text, i)}")

    def _link_url(self, i: int) -> int:
        if not self.text.startswith("(", i + 1):
            raise EntityParseError("Character ']' is reserved and must be escaped with the preceding '\\'")
        url, j = [], i + 2
        while j < len(self.text) and self.text[j] != ")":
            if self.text[j] == "\\" and j + 1 < len(self.text):
                j += 1
            url.append(self.text[j])
            j += 1
        if j >= len(self.text):
            raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(self.text, i + 1)}")
        _, start, _ = self.open.pop()
        self.out.close({"type": "text_link", "url": "".join(url)}, start)
        return j + 1

    def _end_quote(self) -> None:
        if self.quote_start is not None:
            self.out.close({"type": "blockquote"}, self.quote_start)
            self.quote_start = None


class _LegacyMarkdown:
    _MARKERS = {"*": "bold", "_": "italic", "`": "code"}

    def __init__(self, text: str) -> None:
        self.text = text
        self.out = _Builder()

    def parse(self) -> tuple[str, list[Entity]]:
        i, text = 0, self.text
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text) and text[i + 1] in "_*`[":
                self.out.add(text[i + 1])
                i += 2
            elif text.startswith("```", i):
                i = self._span(i, "```", {"type": "pre"})
            elif char in self._MARKERS:
                i = self._span(i, char, {"type": self._MARKERS[char]})
            elif char == "[":
                i = self._link(i)
            else:
                self.out.add(char)
                i += 1
        return self.out.result()

    def _span(self, i: int, marker: str, entity: Entity) -> int:
        end = self.text.find(marker, i + len(marker))
        if end == -1:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(self.text, i)}")
        start = self.out.length
        self.out.add(self.text[i + len(marker) : end])
        self.out.close(entity, start)
        return end + len(marker)

    def _link(self, i: int) -> int:
        match = re.compile(r"\[([^\]]*)\]\(([^)]*)\)").match(self.text, i)
        if not match:
            raise EntityParseError(f"Can't find end of the entity starting at byte offset {_byte_offset(self.text, i)}")
        start = self.out.length
        self.out.add(match.group(1))
        self.out.close({"type": "text_link", "url": match.group(2)}, start)
        return match.end()


_AUTO_ENTITIES = (
    ("bot_command", re.compile(r"(?<![\w/])/[a-zA-Z0-9_]{1,32}(?:@[a-zA-Z0-9_]{3,32})?(?![\w/])")),
    ("email", re.compile(r"(?<![\w.@])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}(?![\w@])")),
    ("url", re.compile(
        r"(?<![\w@/])(?:https?://(?:[\w-]+\.)*[\w-]+|(?:www\.)?(?:[\w-]+\.)+(?:com|org|net|de|eu|io|shop|info|uk|fr|nl|at|ch))"
        r"(?::\d+)?(?:/[^\s]*)?(?![\w@])"
    )),
    ("mention", re.compile(r"(?<![\w@])@[a-zA-Z][a-zA-Z0-9_]{3,31}(?!\w)")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
)


def detect_entities(text: str) -> list[Entity]:
    """The entities Telegram's clients and servers mark in a user's plain text: commands, mentions, links."""
    entities: list[tuple[int, int, str]] = []
    for kind, pattern in _AUTO_ENTITIES:
        for match in pattern.finditer(text):
            start, end = match.span()
            if any(start < taken_end and taken_start < end for taken_start, taken_end, _ in entities):
                continue
            entities.append((start, end, kind))
    return [
        {"type": kind, "offset": utf16_len(text[:start]), "length": utf16_len(text[start:end])}
        for start, end, kind in sorted(entities)
    ]
