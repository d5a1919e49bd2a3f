"""One HTTP client for OpenAI-compatible servers: validated config, retries, error mapping, streams.

Every failure leaves this module as an audiointeract error: connection problems,
timeouts, 408/429 and 5xx are :class:`~audiointeract.errors.BackendError` with
``retryable=True`` (and are retried here with exponential backoff before the first
byte of a response); other 4xx are ``retryable=False`` and carry the server's message.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import anyio
import attrs
import httpx

from audiointeract.clock import Clock, LoopClock
from audiointeract.errors import BackendError, BackendTimeout, ConfigurationError

__all__ = ["DEFAULT_BASE_URL", "OpenAICompatClient", "ServerConfig", "client_from_options", "error_from_payload"]

DEFAULT_BASE_URL = "http://127.0.0.1:8000/v1"
"""Where ``vllm serve`` listens by default (the ``/v1`` prefix is part of the base URL)."""

_RETRYABLE_STATUS = frozenset({408, 429})
_MESSAGE_CHARS = 500


def _normalise_url(value: str) -> str:
    try:
        url = httpx.URL(value)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"base_url {value!r} is not a valid URL: {exc}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"base_url {value!r} must be an http(s) URL with a host, e.g. {DEFAULT_BASE_URL!r}"
        )
    if url.query or url.fragment:
        raise ConfigurationError(f"base_url {value!r} must not carry a query or fragment")
    return str(url).rstrip("/")


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be > 0, got {value}")


def _non_negative(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not (math.isfinite(value) and value >= 0):
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be >= 0, got {value}")


def _non_negative_int(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if value < 0:
        raise ConfigurationError(f"{type(instance).__name__}.{attribute.name} must be >= 0, got {value}")


@attrs.frozen(kw_only=True)
class ServerConfig:
    """Where the server is and how to talk to it; the URL shape is checked on construction.

    ``model`` None means the first model the server lists (``GET {base_url}/models``).
    ``read_timeout`` bounds the wait for each piece of a response (not the whole reply).
    A request is tried ``1 + max_retries`` times, waiting ``backoff * 2**k`` seconds between.
    """

    base_url: str = attrs.field(default=DEFAULT_BASE_URL, converter=_normalise_url)
    api_key: str | None = attrs.field(default=None, repr=False)
    model: str | None = None
    connect_timeout: float = attrs.field(default=5.0, validator=_positive)
    read_timeout: float = attrs.field(default=60.0, validator=_positive)
    max_retries: int = attrs.field(default=2, validator=_non_negative_int)
    backoff: float = attrs.field(default=0.25, validator=_non_negative)
    trust_env: bool = True


def _server_message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text.strip()[:_MESSAGE_CHARS] or response.reason_phrase
    return _payload_message(payload) or response.text.strip()[:_MESSAGE_CHARS]


def _payload_message(payload: Any) -> str:
    if isinstance(payload, dict):
        for key in ("error", "detail", "message"):
            if key in payload:
                return _payload_message(payload[key])
        return ""
    if isinstance(payload, list):
        return "; ".join(filter(None, (_payload_message(item) for item in payload)))
    return str(payload)[:_MESSAGE_CHARS]


def _status_retryable(status: int) -> bool:
    return status in _RETRYABLE_STATUS or status >= 500


def error_from_payload(payload: dict[str, Any], where: str) -> BackendError:
    """The error a server reported inside a stream (``{"error": ...}``)."""
    error = payload.get("error")
    code = error.get("code") if isinstance(error, dict) else None
    retryable = isinstance(code, int) and _status_retryable(code)
    return BackendError(f"{where} reported an error mid-stream: {_payload_message(payload)}", retryable=retryable)


class OpenAICompatClient:
    """An ``httpx.AsyncClient`` bound to one server, with the SDK's retry and error rules."""

    def __init__(
        self,
        config: ServerConfig,
        *,
        clock: Clock | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self._clock = clock or LoopClock()
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
        """``POST``-able URL of ``path`` for messages."""
        return f"{self.config.base_url}/{path}"

    async def models(self) -> list[str]:
        """Ids of the models the server lists."""
        payload = await self.get_json("models")
        data = payload.get("data")
        if not isinstance(data, list):
            raise BackendError(f"{self.describe('models')} returned no 'data' list", retryable=False)
        return [str(item["id"]) for item in data if isinstance(item, dict) and "id" in item]

    async def model_name(self) -> str:
        """The configured model, else the first one the server lists (asked once)."""
        if self._model is None:
            served = await self.models()
            if not served:
                raise ConfigurationError(f"the server at {self.config.base_url} lists no models; set model=")
            self._model = served[0]
        return self._model

    async def check(self) -> str:
        """Reach the server now and resolve the model name; raise a clear error if that fails."""
        try:
            return await self.model_name()
        except BackendError as exc:
            raise type(exc)(
                f"OpenAI-compatible server at {self.config.base_url} is not usable: {exc}", retryable=exc.retryable
            ) from exc

    async def get_json(self, path: str) -> dict[str, Any]:
        """``GET path`` and decode a JSON object."""
        return await self._json(lambda: self._http.build_request("GET", path), path)

    async def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """``POST`` a JSON body to ``path`` and decode a JSON object."""
        return await self._json(lambda: self._http.build_request("POST", path, json=body), path)

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
        response = await self._send(
            lambda: self._http.build_request("POST", path, json=json, data=data, files=files), path
        )
        try:
            yield response
        finally:
            with anyio.CancelScope(shield=True):
                await response.aclose()

    async def aclose(self) -> None:
        """Close every connection. Safe to call more than once."""
        await self._http.aclose()

    async def read_json(self, response: httpx.Response, path: str) -> dict[str, Any]:
        """Read a whole response body (closing the response) and decode a JSON object."""
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
            raise BackendError(f"{self.describe(path)} returned invalid JSON: {exc}", retryable=False) from exc
        if not isinstance(payload, dict):
            kind = type(payload).__name__
            raise BackendError(f"{self.describe(path)} returned {kind}, not an object", retryable=False)
        return payload

    async def _json(self, build: Callable[[], httpx.Request], path: str) -> dict[str, Any]:
        return await self.read_json(await self._send(build, path), path)

    async def _send(self, build: Callable[[], httpx.Request], path: str) -> httpx.Response:
        attempt = 0
        while True:
            try:
                response = await self._http.send(build(), stream=True)
            except httpx.HTTPError as exc:
                error: BackendError = self.transport_error(exc, path)
                cause: BaseException = exc
            else:
                if response.status_code < 400:
                    return response
                error = await self._status_error(response, path)
                cause = httpx.HTTPStatusError(error.message, request=response.request, response=response)
            if not error.retryable or attempt >= self.config.max_retries:
                raise error from cause
            await self._clock.sleep(self.config.backoff * 2**attempt)
            attempt += 1

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

    def transport_error(self, exc: httpx.HTTPError, path: str) -> BackendError:
        """Map an httpx failure (no HTTP status) onto the SDK's errors; all are retryable."""
        where = self.describe(path)
        if isinstance(exc, httpx.TimeoutException):
            return BackendTimeout(f"{where} timed out ({type(exc).__name__}): {exc}")
        if isinstance(exc, httpx.ConnectError):
            return BackendError(f"cannot connect to {where}: {exc}", retryable=True)
        if isinstance(exc, httpx.RemoteProtocolError):
            return BackendError(f"the connection to {where} broke: {exc}", retryable=True)
        return BackendError(f"request to {where} failed ({type(exc).__name__}): {exc}", retryable=True)


def client_from_options(
    options: Mapping[str, Any], *, clock: Clock | None = None, transport: httpx.AsyncBaseTransport | None = None
) -> OpenAICompatClient:
    """A client from :class:`ServerConfig` keyword options; an unknown option fails clearly."""
    known = {field.name for field in attrs.fields(ServerConfig)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ConfigurationError(
            f"unknown option(s) {', '.join(unknown)}; server options are: {', '.join(sorted(known))}"
        )
    return OpenAICompatClient(ServerConfig(**options), clock=clock, transport=transport)
