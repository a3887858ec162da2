"""`CorkedTransport`: the writes of one loop turn leave as one, in order; a close sends what is held
first, an abort drops it; everything else is the wrapped transport's. Driven over a real socket pair
on a real event loop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from webhook.server.transport import CorkedTransport


class Recorder(asyncio.Protocol):
    def __init__(self) -> None:
        self.received = b""
        self.closed = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self.received += data

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()


class Spy:
    """Counts the writes that reach the real transport."""

    def __init__(self, transport: asyncio.Transport) -> None:
        self.writes: list[bytes] = []
        original = transport.write

        def write(data: bytes | bytearray | memoryview) -> None:
            self.writes.append(bytes(data))
            original(data)

        transport.write = write  # type: ignore[method-assign]


Scenario = Callable[[CorkedTransport, Spy, Recorder], Awaitable[None]]


def run(scenario: Scenario) -> None:
    async def main() -> None:
        loop = asyncio.get_running_loop()
        ours, theirs = socket.socketpair()
        transport, _ = await loop.create_connection(asyncio.Protocol, sock=ours)
        spy = Spy(transport)
        recorder = Recorder()
        other, _ = await loop.create_connection(lambda: recorder, sock=theirs)
        try:
            await scenario(CorkedTransport(transport, loop), spy, recorder)
        finally:
            transport.close()
            other.close()
            await asyncio.sleep(0.01)  # both ends release their sockets

    asyncio.run(main())


async def settle(recorder: Recorder, length: int) -> None:
    for _ in range(200):
        if len(recorder.received) >= length:
            return
        await asyncio.sleep(0.005)


def test_the_writes_of_one_turn_leave_as_one_write_in_order() -> None:
    async def scenario(corked: CorkedTransport, spy: Spy, recorder: Recorder) -> None:
        corked.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        corked.write(b"ok")
        assert spy.writes == []  # held until the end of the turn
        assert (
            corked.get_write_buffer_size()
            == len(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n") + 2
        )
        await asyncio.sleep(0)
        assert spy.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"]
        corked.writelines([b"a", b"b"])
        await asyncio.sleep(0)
        corked.write(b"c")
        await asyncio.sleep(0)
        assert spy.writes[1:] == [b"ab", b"c"]
        await settle(recorder, len(b"".join(spy.writes)))
        assert recorder.received.endswith(b"okabc")

    run(scenario)


def test_close_sends_what_is_held_then_closes() -> None:
    async def scenario(corked: CorkedTransport, spy: Spy, recorder: Recorder) -> None:
        corked.write(b"last answer")
        corked.close()
        assert spy.writes == [b"last answer"]
        assert corked.is_closing()
        await asyncio.wait_for(recorder.closed.wait(), 5)
        assert recorder.received == b"last answer"
        await asyncio.sleep(0)  # the flush scheduled by the write finds nothing left
        assert spy.writes == [b"last answer"]

    run(scenario)


def test_abort_drops_what_is_held() -> None:
    async def scenario(corked: CorkedTransport, spy: Spy, recorder: Recorder) -> None:
        corked.write(b"never sent")
        corked.abort()
        await asyncio.wait_for(recorder.closed.wait(), 5)
        await asyncio.sleep(0)
        assert spy.writes == []
        assert recorder.received == b""

    run(scenario)


def test_the_rest_is_the_wrapped_transports() -> None:
    async def scenario(corked: CorkedTransport, _spy: Spy, _recorder: Recorder) -> None:
        assert corked.get_extra_info("socket") is not None
        assert corked.get_extra_info("nothing", "default") == "default"
        assert corked.is_reading()
        corked.pause_reading()
        assert not corked.is_reading()
        corked.resume_reading()
        assert corked.is_reading()
        corked.set_write_buffer_limits(high=1000, low=10)
        assert corked.get_write_buffer_limits() == (10, 1000)
        assert corked.can_write_eof()
        corked.write(b"x")
        corked.write_eof()  # sends what is held first
        corked.close()

    run(scenario)


def test_flush_sends_at_once_and_the_turns_end_finds_nothing() -> None:
    async def scenario(corked: CorkedTransport, spy: Spy, _recorder: Recorder) -> None:
        corked.write(b"head")
        corked.write(b"body")
        corked.flush()  # a response is complete: no need to wait for the turn to end
        assert spy.writes == [b"headbody"]
        await asyncio.sleep(0)
        assert spy.writes == [b"headbody"]

    run(scenario)
