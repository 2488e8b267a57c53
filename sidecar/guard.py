"""Defences at the edge of the server: a message that does not parse is INVALID_ARGUMENT on
every RPC (not UNKNOWN with a Python class name), a client that stops reading is cut off
(RESOURCE_EXHAUSTED) instead of holding its place for ever, and rejections are logged at a
bounded rate (a flood of bad requests must not become a flood of log lines)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from text2lips import Text2LipsError


class MalformedMessage(Text2LipsError):
    """Bytes that are not the message the method takes (INVALID_ARGUMENT)."""


def _parser(deserialize: Callable[[bytes], Any] | None, method: str) -> Callable[[bytes], Any]:
    name = method.rsplit("/", 1)[-1]

    def parse(raw: bytes) -> Any:
        if deserialize is None:
            return raw
        try:
            return deserialize(raw)
        except Exception:  # noqa: BLE001 -- DecodeError and friends: the bytes are bad
            raise MalformedMessage(
                f"malformed {name} request: {len(raw)} bytes that are not a valid message"
            ) from None

    return parse


class GuardInterceptor(grpc.aio.ServerInterceptor):
    """Parse requests inside the call instead of in gRPC's deserializer, so bad bytes become
    INVALID_ARGUMENT with a plain message. Streamed requests raise MalformedMessage from the
    request iterator; the servicer reports it (Converse ends with INVALID_ARGUMENT).

    Streamed responses are written with a deadline: a write the client's flow control holds
    for `send_timeout_s` ends the call with RESOURCE_EXHAUSTED, so a reader that stalls
    stalls only itself, and only for that long (its frames are bounded by the work budget).
    """

    def __init__(self, send_timeout_s: float = 10.0) -> None:
        self.send_timeout_s = send_timeout_s

    async def _send_all(self, responses: AsyncIterator[Any],
                        context: grpc.aio.ServicerContext) -> None:
        # One watchdog per call rather than a timeout per write: wait_for would make a task
        # for every frame, and frames are most of what the event loop does.
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        assert me is not None
        pending_since: list[float | None] = [None]
        stalled = [False]

        async def watchdog() -> None:
            while True:
                await asyncio.sleep(self.send_timeout_s / 4)
                since = pending_since[0]
                if since is not None and loop.time() - since >= self.send_timeout_s:
                    stalled[0] = True
                    me.cancel()
                    return

        dog = asyncio.create_task(watchdog())
        # aclosing: when the call is cancelled mid-write, the servicer's generator is closed
        # now (its finally gives the capacity back), not whenever it is garbage-collected.
        try:
            async with contextlib.aclosing(responses):  # type: ignore[type-var]
                async for response in responses:
                    pending_since[0] = loop.time()
                    await context.write(response)
                    pending_since[0] = None
        except asyncio.CancelledError:
            if not stalled[0]:
                raise
            if hasattr(me, "uncancel"):  # Python >= 3.11: our own cancel, handled here
                me.uncancel()
        finally:
            dog.cancel()
        if stalled[0]:
            await context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"the client read nothing for {self.send_timeout_s:g} s; call cut off",
            )

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or handler.request_deserializer is None:
            return handler
        parse = _parser(handler.request_deserializer, details.method)
        out = handler.response_serializer

        async def parsed(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
            try:
                return parse(raw)
            except MalformedMessage as exc:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(exc))

        async def stream_of(requests: AsyncIterator[bytes]) -> AsyncIterator[Any]:
            async for raw in requests:
                yield parse(raw)

        if not handler.request_streaming and not handler.response_streaming:
            inner_uu = handler.unary_unary

            async def unary_unary(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
                return await inner_uu(await parsed(raw, context), context)

            return grpc.unary_unary_rpc_method_handler(unary_unary, response_serializer=out)
        if not handler.request_streaming:
            inner_us = handler.unary_stream

            async def unary_stream(raw: bytes, context: grpc.aio.ServicerContext) -> None:
                request = await parsed(raw, context)
                await self._send_all(inner_us(request, context), context)

            return grpc.unary_stream_rpc_method_handler(unary_stream, response_serializer=out)
        if not handler.response_streaming:
            inner_su = handler.stream_unary

            async def stream_unary(requests: AsyncIterator[bytes],
                                   context: grpc.aio.ServicerContext) -> Any:
                return await inner_su(stream_of(requests), context)

            return grpc.stream_unary_rpc_method_handler(stream_unary, response_serializer=out)
        inner_ss = handler.stream_stream

        async def stream_stream(requests: AsyncIterator[bytes],
                                context: grpc.aio.ServicerContext) -> None:
            await self._send_all(inner_ss(stream_of(requests), context), context)

        return grpc.stream_stream_rpc_method_handler(stream_stream, response_serializer=out)


class RateLimitedLog:
    """At most `per_second` events through (a token bucket); the rest are counted, and the
    next event let through says how many were suppressed."""

    def __init__(self, per_second: float = 20.0, burst: int = 50,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = burst
        self._clock = clock
        self._tokens = float(burst)
        self._last = clock()
        self.suppressed = 0
        """Events dropped since the last one let through."""

    def allow(self) -> int | None:
        """None: drop this event. Otherwise the number suppressed before it (then reset)."""
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.per_second)
        self._last = now
        if self._tokens < 1.0:
            self.suppressed += 1
            return None
        self._tokens -= 1.0
        n, self.suppressed = self.suppressed, 0
        return n
