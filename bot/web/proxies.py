"""Who is asking, and over what, when a TLS-terminating proxy stands in front of the web server.

Only a request whose peer is one of TRUSTED_PROXIES has its forwarding headers believed: RFC 7239's
`Forwarded` if present, else `X-Forwarded-For` and `X-Forwarded-Proto`. The client is then the nearest address
in the chain that is not itself a trusted proxy, and the scheme the one the nearest proxy saw, so a proxy that
terminates TLS makes `request.secure` true (and the console's cookies `Secure`). From any other peer the
headers are ignored: anyone can write them.
"""

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

Network = IPv4Network | IPv6Network


def trusted_networks(addresses: Sequence[str]) -> list[Network]:
    return [ip_network(address, strict=False) for address in addresses]


def behind_proxies(trusted: Sequence[Network]) -> Middleware:
    """A middleware that gives each request its real client address and scheme, as the trusted proxies say."""

    @web.middleware
    async def real_client(request: web.Request, handler: Handler) -> web.StreamResponse:
        if trusted and _is_trusted(request.remote, trusted):
            chain, schemes = _forwarded(request)
            changes: dict[str, str] = {}
            client = _nearest_untrusted(chain, trusted)
            if client is not None:
                changes["remote"] = client
            if schemes and schemes[-1] in ("http", "https"):
                changes["scheme"] = schemes[-1]
            if changes:
                request = request.clone(**changes)  # type: ignore[arg-type]
        return await handler(request)

    return real_client


def _forwarded(request: web.Request) -> tuple[list[str], list[str]]:
    """The addresses the proxies saw, farthest first, and the schemes they saw."""
    if request.forwarded:
        chain = [str(element.get("for", "")) for element in request.forwarded]
        schemes = [str(element["proto"]).lower() for element in request.forwarded if "proto" in element]
        return [_host_only(address) for address in chain], schemes
    chain = [part.strip() for value in request.headers.getall("X-Forwarded-For", []) for part in value.split(",")]
    schemes = [part.strip().lower() for value in request.headers.getall("X-Forwarded-Proto", []) for part in value.split(",")]
    return chain, schemes


def _nearest_untrusted(chain: list[str], trusted: Sequence[Network]) -> str | None:
    """The client: walking back from the nearest proxy, the first address not itself a trusted proxy."""
    for address in reversed(chain):
        parsed = _address(address)
        if parsed is None:
            return None  # a garbled chain names nobody; keep the peer's own address
        if not any(parsed in network for network in trusted):
            return str(parsed)
    return str(_address(chain[0])) if chain else None


def _is_trusted(remote: str | None, trusted: Sequence[Network]) -> bool:
    parsed = _address(remote or "")
    return parsed is not None and any(parsed in network for network in trusted)


def _address(text: str) -> IPv4Address | IPv6Address | None:
    try:
        return ip_address(text)
    except ValueError:
        return None


def _host_only(address: str) -> str:
    """`Forwarded: for=` may carry a port (`192.0.2.1:4711`, `[2001:db8::1]:4711`); the address without it."""
    if address.count(":") == 1:
        return address.split(":", 1)[0]
    if address.startswith("[") and "]" in address:
        return address[1 : address.index("]")]
    return address
