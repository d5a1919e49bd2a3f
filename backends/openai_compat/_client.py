"""One HTTP client for OpenAI-compatible servers: validated config, error mapping, streams.

Every request is tried once. Every failure leaves this module as an audiointeract error
whose message is one line: connection problems, timeouts, 408/429 and 5xx are
:class:`~audiointeract.errors.BackendError` with ``retryable=True``; other 4xx and
answers that cannot be read are ``retryable=False`` and carry what the server said.
Retrying is the caller's job (the session's ``FailurePolicy``), so that every retry
is visible as an event.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio
import attrs
import httpx

from audiointeract.backends.openai_compat import _options
from audiointeract.errors import BackendError, BackendTimeout, ConfigurationError

__all__ = [
    "DEFAULT_BASE_URL",
    "OpenAICompatClient",
    "ServerConfig",
    "client_from_options",
    "error_from_payload",
    "one_line",
]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
"""Where ``vllm serve`` listens by default (the ``/v1`` prefix is part of the base URL)."""

_RETRYABLE_STATUS = frozenset({408, 429})
_MESSAGE_CHARS = 300
_LISTED_MODELS = 5


def one_line(text: str, limit: int = _MESSAGE_CHARS) -> str:
    """``text`` with its whitespace runs collapsed to single spaces, cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _normalise_url(value: object) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(f"base_url must be a string such as {DEFAULT_BASE_URL!r}, got {value!r}")
    try:
        url = httpx.URL(value)
    except httpx.InvalidURL as exc:
        raise ConfigurationError(f"base_url {value!r} is not a valid URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url {value!r} must be an http(s) URL with a host, e.g. {DEFAULT_BASE_URL!r}"
        )
    if url.query or url.fragment:
        raise ConfigurationError(f"base_url {value!r} must not carry a query or fragment")
    return str(url).rstrip("/")


def _seconds(_: object, attribute: attrs.Attribute[float], value: object) -> None:
    _options.number(attribute.name, value, positive=True)


def _optional_text(_: object, attribute: attrs.Attribute[str | None], value: object) -> None:
    _options.optional_text(attribute.name, value)


def _flag(_: object, attribute: attrs.Attribute[bool], value: object) -> None:
    _options.flag(attribute.name, value)


@attrs.frozen(kw_only=True)
class ServerConfig:
    """Where the server is and how long to wait for it; every field is checked on construction.

    ``model`` None means the first model the server lists (``GET {base_url}/models``).
    ``read_timeout`` bounds the wait for each piece of a response (not the whole reply).
    """

    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=_normalise_url)
    api_key: str | None = attrs.field(default=None, repr=False, validator=_optional_text)
    model: str | None = attrs.field(default=None, validator=_optional_text)
    connect_timeout: float = attrs.field(default=5.0, validator=_seconds)
    read_timeout: float = attrs.field(default=60.0, validator=_seconds)
    trust_env: bool = attrs.field(default=True, validator=_flag)


def _server_message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return one_line(response.text) or response.reason_phrase
    return one_line(_payload_message(payload) or response.text)


def _payload_message(payload: Any) -> str:
    if isinstance(payload, dict):
        for key in ("error", "detail", "message"):
            if key in payload:
                return _payload_message(payload[key])
        return ""
    if isinstance(payload, list):
        return "; ".join(filter(None, (_payload_message(item) for item in payload)))
    return str(payload)


def _status_retryable(status: int) -> bool:
    return status in _RETRYABLE_STATUS or status >= 500


def error_from_payload(payload: dict[str, Any], where: str) -> BackendError:
    """The error a server reported in a body or inside a stream (``{"error": ...}``)."""
    error = payload.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    retryable = isinstance(code, int) and _status_retryable(code)
    return BackendError(f"{where} reported an error: {one_line(_payload_message(payload))}", retryable=retryable)


def _body_excerpt(response: httpx.Response) -> str:
    kind = response.headers.get("content-type", "no content-type")
    return f"({kind}) {one_line(response.text, 80)!r}"


class OpenAICompatClient:
    """An ``httpx.AsyncClient`` bound to one server, with the SDK's error rules; each request is tried once."""

    def __init__(self, config: ServerConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        timeout = httpx.Timeout(
            connect=config.connect_timeout,
            read=config.read_timeout,
            write=config.read_timeout,
            pool=config.connect_timeout,
        )
        self._http = httpx.AsyncClient(
            base_url=config.base_url + "/",
            headers=headers,
            timeout=timeout,
            transport=transport,
            trust_env=config.trust_env,
        )
        self._model = config.model

    @property
    def http(self) -> httpx.AsyncClient:
        """The underlying httpx client (for inspection in tests and tools)."""
        return self._http

    def describe(self, path: str) -> str:
        """The full URL of ``path``, for messages."""
        return f"{self.config.base_url}/{path}"

    async def models(self) -> list[str]:
        """Ids of the models the server lists (``GET {base_url}/models``)."""
        payload = await self.get_json("models")
        data = payload.get("data")
        if not isinstance(data, list):
            raise BackendError(f"{self.describe('models')} returned no 'data' list", retryable=False)
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]

    async def model_name(self) -> str:
        """The configured model, else the first one the server lists (asked once)."""
        if self._model is None:
            self._model = self._first_model(await self.models())
        return self._model

    async def check(self) -> str:
        """Reach the server now (``GET /models``) and resolve the model; raise a one-line error if unusable.

        With ``model=`` set, a server that lists models but not that one fails here,
        naming both; a server that lists none is taken at its word.
        """
        where = self.config.base_url
        try:
            served = await self.models()
        except BackendError as exc:
            message = f"OpenAI-compatible server at {where} is not usable: {exc}"
            raise type(exc)(message, retryable=exc.retryable) from exc
        if self._model is None:
            self._model = self._first_model(served)
        elif served and self._model not in served:
            listed = ", ".join(repr(name) for name in served[:_LISTED_MODELS])
            more = f" and {len(served) - _LISTED_MODELS} more" if len(served) > _LISTED_MODELS else ""
            raise ConfigurationError(
                f"model {self._model!r} is not served at {where}; it serves {listed}{more} (set model= to one of them)"
            )
        return self._model

    async def get_json(self, path: str) -> dict[str, Any]:
        """``GET path`` and decode a JSON object."""
        return await self.read_json(await self._send(self._http.build_request("GET", path), path), path)

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST`` a JSON body to ``path`` and decode a JSON object."""
        request = self._http.build_request("POST", path, json=body)
        return await self.read_json(await self._send(request, path), path)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        files: dict[str, tuple[str, bytes, str]] | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """``POST`` and yield the response unread; closing it (always, even when cancelled) ends the request."""
        request = self._http.build_request("POST", path, json=json, data=data, files=files)
        response = await self._send(request, path)
        try:
            yield response
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()

    async def aclose(self) -> None:
        """Close every connection. Safe to call more than once."""
        await self._http.aclose()

    async def read_json(self, response: httpx.Response, path: str) -> dict[str, Any]:
        """Read a whole response body (closing the response) and decode a JSON object (not retryable if it is none)."""
        try:
            await response.aread()
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, path) from exc
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
        try:
            payload = response.json()
        except ValueError as exc:
            raise BackendError(
                f"{self.describe(path)} returned invalid JSON {_body_excerpt(response)}", retryable=False
            ) from exc
        if not isinstance(payload, dict):
            kind = type(payload).__name__
            raise BackendError(f"{self.describe(path)} returned a JSON {kind}, not an object", retryable=False)
        return payload

    def transport_error(self, exc: httpx.HTTPError, path: str) -> BackendError:
        """Map an httpx failure (no HTTP status) onto the SDK's errors; all are retryable."""
        where = self.describe(path)
        if isinstance(exc, httpx.TimeoutException):
            return BackendTimeout(f"{where} did not answer in time: {self._timeout_phrase(exc)}")
        detail = one_line(str(exc)) or type(exc).__name__
        if isinstance(exc, httpx.ConnectError):
            return BackendError(f"cannot connect to {where}: {detail}", retryable=True)
        if isinstance(exc, httpx.RemoteProtocolError):
            return BackendError(f"the connection to {where} broke: {detail}", retryable=True)
        return BackendError(f"request to {where} failed ({type(exc).__name__}): {detail}", retryable=True)

    def _timeout_phrase(self, exc: httpx.TimeoutException) -> str:
        if isinstance(exc, httpx.ConnectTimeout):
            return f"no connection within connect_timeout={self.config.connect_timeout:g} s"
        if isinstance(exc, httpx.PoolTimeout):
            return f"no free connection within connect_timeout={self.config.connect_timeout:g} s"
        if isinstance(exc, httpx.WriteTimeout):
            return f"the request was not sent within read_timeout={self.config.read_timeout:g} s"
        return f"nothing received for read_timeout={self.config.read_timeout:g} s"

    def _first_model(self, served: list[str]) -> str:
        if not served:
            raise ConfigurationError(f"the server at {self.config.base_url} lists no models; set model=")
        return served[0]

    async def _send(self, request: httpx.Request, path: str) -> httpx.Response:
        """Send once; a response with an error status is read, closed and raised as a BackendError."""
        try:
            response = await self._http.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self.transport_error(exc, path) from exc
        if response.status_code < 400:
            return response
        error = await self._status_error(response, path)
        raise error from httpx.HTTPStatusError(error.message, request=response.request, response=response)

    async def _status_error(self, response: httpx.Response, path: str) -> BackendError:
        try:
            await response.aread()
            message = _server_message(response)
        except httpx.HTTPError:
            message = response.reason_phrase
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()
        status = response.status_code
        return BackendError(
            f"{self.describe(path)} answered HTTP {status}: {message}", retryable=_status_retryable(status)
        )


def client_from_options(
    options: Mapping[str, Any],
    *,
    backend: Callable[..., object],
    transport: httpx.AsyncBaseTransport | None = None,
) -> OpenAICompatClient:
    """A client from the :class:`ServerConfig` options left over by ``backend``; an unknown one fails clearly.

    The message lists ``backend``'s own keyword options and the server options, so a
    misspelt option of either kind shows its right spelling.
    """
    known = {field.name for field in attrs.fields(ServerConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        parameters = inspect.signature(backend).parameters.values()
        own = sorted(p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name != "transport")
        raise ConfigurationError(
            f"unknown option(s) {', '.join(unknown)}; {getattr(backend, '__name__', 'the backend')} takes "
            f"{', '.join(own)} and the server options {', '.join(sorted(known))}"
        )
    return OpenAICompatClient(ServerConfig(**options), transport=transport)
