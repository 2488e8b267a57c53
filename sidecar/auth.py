"""Optional bearer-token check: a server interceptor that answers UNAUTHENTICATED unless the
call carries `authorization: Bearer <token>`. Health checks are exempt (probes carry none)."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import grpc

EXEMPT_PREFIXES = ("/grpc.health.v1.Health/",)


class BearerTokenInterceptor(grpc.aio.ServerInterceptor):
    def __init__(self, token: str) -> None:
        if not token:
            raise ValueError("an empty token would let everyone in")
        self._expected = f"Bearer {token}".encode()

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if details.method.startswith(EXEMPT_PREFIXES):
            return handler
        # An unknown method is checked too: without the token a caller learns nothing, not
        # even which methods exist (UNIMPLEMENTED comes only after the token matched).
        got = None
        for key, value in details.invocation_metadata or ():
            if key == "authorization":
                got = value
                break
        if got is None:
            return _deny(handler, "missing 'authorization: Bearer <token>' metadata")
        raw = got.encode() if isinstance(got, str) else bytes(got)
        # Constant-time comparison: response timing must not reveal how much of a guess matched.
        if not hmac.compare_digest(raw, self._expected):
            return _deny(handler, "invalid bearer token")
        return handler


def _deny(handler: grpc.RpcMethodHandler | None, message: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that only aborts (unary for an unknown
    method, whose requests are never parsed)."""

    async def abort(_request: Any, context: grpc.aio.ServicerContext) -> None:
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    if handler is None:
        return grpc.unary_unary_rpc_method_handler(abort)

    kw = {"request_deserializer": handler.request_deserializer,
          "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(abort, **kw)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(abort, **kw)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(abort, **kw)
    return grpc.unary_unary_rpc_method_handler(abort, **kw)
