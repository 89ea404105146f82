#!/usr/bin/env python3
"""RFC 6455 conformance of novita-proxy's WebSocket framing, checked by an independent
implementation: the Python `websockets` library (pinned in requirements.txt) as client
against `novita-proxy serve` and as server for the `novita-proxy` client, plus raw frames
over plain TCP sockets for everything a library refuses to send. Frames the kit sends are
parsed here by this file's own parser or by `websockets`, never by the kit's code.

    python3 rfc6455.py serve|client /path/to/novita-proxy

Prints one line per case (PASS/FAIL name: detail), then "N passed, M failed"; exits 1 if
any case failed, 2 if `websockets` is missing (never skips).
"""

import asyncio
import base64
import hashlib
import os
import re
import sys
import time

try:
    import websockets
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve as ws_serve
    from websockets.exceptions import ConnectionClosed
except ImportError:
    print(
        "missing Python package websockets: "
        "python3 -m pip install -r tests/conformance/requirements.txt",
        file=sys.stderr,
    )
    sys.exit(2)

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
# Every bound on the peer's answer: exceeding it is a failure, not a slow pass.
BOUND = 5.0
SIZES = [1, 2, 125, 126, 127, 1000, 65535, 65536, 65537, 100_000, 500_000, 1 << 20]
NEVER_ON_WIRE = {1005, 1006, 1015}
# Close codes a peer may send (RFC 6455 7.4, IANA registry) and codes it may not.
VALID_CODES = [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
               3000, 3999, 4000, 4999]
INVALID_CODES = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
# Invalid UTF-8: a stray byte, a bad continuation, a surrogate, above U+10FFFF, overlong.
BAD_UTF8 = {
    "ff": b"abc\xff",
    "bad-continuation": b"ok\xc3\x28",
    "surrogate": b"\xed\xa0\x80",
    "above-10ffff": b"\xf4\x90\x80\x80",
    "overlong": b"\xc0\xaf",
    "truncated": b"euro \xe2\x82",
}

OP_CONT, OP_TEXT, OP_BIN, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10

results = []


def record(name, ok, detail=""):
    results.append((name, ok))
    print(f"{'PASS' if ok else 'FAIL'} {name}{': ' + detail if detail else ''}", flush=True)


class Fail(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Fail(why)


async def case(name, coro):
    try:
        detail = await asyncio.wait_for(coro, 60)
        record(name, True, detail if isinstance(detail, str) else "")
    except Fail as e:
        record(name, False, str(e))
    except Exception as e:  # noqa: BLE001 - every surprise is a failed case
        record(name, False, f"{type(e).__name__}: {e}")


def xor(data, key):
    n = len(data)
    if n == 0:
        return b""
    stream = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(n, "big")


def frame(op, payload=b"", fin=True, rsv=0, mask=True, length=None):
    """A frame; `mask` True for a client's, False for a server's (or the wrong way round)."""
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | (rsv << 4) | op
    m = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([b0, m | 127]) + n.to_bytes(8, "big")
    if mask:
        key = os.urandom(4)
        return head + key + xor(payload, key)
    return head + payload


def close_payload(code, reason=b""):
    return code.to_bytes(2, "big") + reason


async def read_frame(reader):
    b0, b1 = await reader.readexactly(2)
    n = b1 & 0x7F
    if n == 126:
        n = int.from_bytes(await reader.readexactly(2), "big")
    elif n == 127:
        n = int.from_bytes(await reader.readexactly(8), "big")
    key = await reader.readexactly(4) if b1 & 0x80 else None
    payload = await reader.readexactly(n)
    if key:
        payload = xor(payload, key)
    return {"fin": bool(b0 & 0x80), "rsv": (b0 >> 4) & 7, "op": b0 & 0x0F,
            "masked": key is not None, "payload": payload}


async def frames_until_close(reader, masked):
    """The peer's frames up to its Close, then its TCP end: each within BOUND seconds.
    Checks every frame for the mask bit the peer's role requires, RSV bits and codes that
    must never be sent."""
    got = []
    while True:
        try:
            f = await asyncio.wait_for(read_frame(reader), BOUND)
        except asyncio.IncompleteReadError as e:
            check(not e.partial, f"connection ended inside a frame: {e.partial!r}")
            return got, False
        check(f["masked"] == masked, f"frame with mask bit {f['masked']}: {f}")
        check(f["rsv"] == 0, f"RSV bits set: {f}")
        got.append(f)
        if f["op"] == OP_CLOSE:
            p = f["payload"]
            check(len(p) != 1, "Close with a 1-byte payload")
            if len(p) >= 2:
                code = int.from_bytes(p[:2], "big")
                check(code not in NEVER_ON_WIRE, f"sent close code {code}")
                p[2:].decode("utf-8")
            # After a Close, the TCP connection must end, within the bound.
            try:
                rest = await asyncio.wait_for(reader.read(), BOUND)
            except asyncio.TimeoutError:
                raise Fail("the TCP connection stayed open after the Close") from None
            check(rest == b"", f"bytes after the Close: {rest[:40]!r}")
            return got, True


def close_code_of(frames):
    closes = [f for f in frames if f["op"] == OP_CLOSE]
    check(closes, f"no Close frame (got {[f['op'] for f in frames]})")
    p = closes[-1]["payload"]
    return int.from_bytes(p[:2], "big") if len(p) >= 2 else None, p[2:]


# Invalid frames, as (name, frames to send, the Close code expected, bytes that may reach
# the other side: the valid frames before the failing one). `mask`: the sender's role.
def invalid_cases(mask):
    f = lambda *a, **k: frame(*a, mask=mask, **k)  # noqa: E731
    cases = [
        ("wrong-mask-bit", [frame(OP_BIN, b"secret", mask=not mask)], 1002, b""),
        ("rsv1", [f(OP_BIN, b"x", rsv=4)], 1002, b""),
        ("rsv2", [f(OP_BIN, b"x", rsv=2)], 1002, b""),
        ("rsv3", [f(OP_BIN, b"x", rsv=1)], 1002, b""),
        ("ping-rsv1", [f(OP_PING, b"x", rsv=4)], 1002, b""),
    ]
    cases += [(f"opcode-{op:x}", [f(op, b"x")], 1002, b"")
              for op in [3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF]]
    cases += [
        ("fragmented-ping", [f(OP_PING, b"x", fin=False)], 1002, b""),
        ("fragmented-close", [f(OP_CLOSE, close_payload(1000), fin=False)], 1002, b""),
        ("ping-126-bytes", [f(OP_PING, b"p" * 126)], 1002, b""),
        ("pong-126-bytes", [f(OP_PONG, b"p" * 126)], 1002, b""),
        ("close-126-bytes", [f(OP_CLOSE, close_payload(1000, b"r" * 124))], 1002, b""),
        ("continuation-without-message", [f(OP_CONT, b"x")], 1002, b""),
        ("binary-inside-fragmented", [f(OP_BIN, b"ab", fin=False), f(OP_BIN, b"cd")], 1002,
         b"ab"),
        ("text-inside-fragmented", [f(OP_BIN, b"ab", fin=False), f(OP_TEXT, b"cd")], 1002,
         b"ab"),
        ("length-top-bit", [f(OP_BIN, b"", length=1 << 63)], 1002, b""),
        ("close-1-byte", [f(OP_CLOSE, b"\x03")], 1002, b""),
        ("close-reason-not-utf8", [f(OP_CLOSE, close_payload(1000, b"bye \xff"))], 1007, b""),
    ]
    cases += [(f"close-code-{code}", [f(OP_CLOSE, close_payload(code))], 1002, b"")
              for code in INVALID_CODES]
    for name, bad in BAD_UTF8.items():
        cases.append((f"text-not-utf8-{name}", [f(OP_TEXT, bad)], 1007, b""))
    cases += [
        ("text-not-utf8-second-fragment",
         [f(OP_TEXT, b"hello ", fin=False), f(OP_CONT, b"w\xffrld")], 1007, b"hello "),
        ("text-not-utf8-after-ping",
         [f(OP_TEXT, b"hi ", fin=False), f(OP_PING, b"p"), f(OP_CONT, b"\xc0\xaf")], 1007,
         b"hi "),
        ("text-ends-inside-code-point",
         [f(OP_TEXT, b"\xe2", fin=False), f(OP_CONT, b"\x82")], 1007, b"\xe2"),
        ("text-ends-inside-code-point-empty-final",
         [f(OP_TEXT, b"\xe2\x82", fin=False), f(OP_CONT, b"")], 1007, b"\xe2\x82"),
    ]
    return cases


# ---------------------------------------------------------------------------------------
# serve: novita-proxy serve between this file's clients and a recording echo target.


class Target:
    """TCP target: records what each connection received; echoes (or, quiet, never
    answers) and closes at the end of its input."""

    def __init__(self, quiet=False):
        self.conns = []
        self.quiet = quiet

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def handle(self, reader, writer):
        conn = {"data": bytearray(), "done": asyncio.Event()}
        self.conns.append(conn)
        try:
            while chunk := await reader.read(65536):
                conn["data"] += chunk
                if not self.quiet:
                    writer.write(chunk)
                    await writer.drain()
            if self.quiet:
                await asyncio.sleep(3600)
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            conn["done"].set()
            writer.close()

    async def received(self, index):
        """What connection `index` received, once serve has closed it."""
        deadline = time.monotonic() + BOUND
        while len(self.conns) <= index:
            check(time.monotonic() < deadline, "serve never connected to the target")
            await asyncio.sleep(0.01)
        conn = self.conns[index]
        try:
            await asyncio.wait_for(conn["done"].wait(), BOUND)
        except asyncio.TimeoutError:
            if not self.quiet:
                raise Fail("serve kept the target connection open") from None
        return bytes(conn["data"])


async def start_serve(binary, target_port):
    proc = await asyncio.create_subprocess_exec(
        binary, "serve", "--listen", "127.0.0.1:0", "--to", f"127.0.0.1:{target_port}", "-v",
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE)
    line = await asyncio.wait_for(proc.stderr.readline(), 20)
    m = re.search(rb"listening on 127\.0\.0\.1:(\d+)", line)
    if not m:
        raise SystemExit(f"serve did not start: {line!r}")
    log = []

    async def drain():
        while line := await proc.stderr.readline():
            log.append(line.decode(errors="replace").rstrip())

    proc.log, proc.drain = log, asyncio.ensure_future(drain())
    return proc, int(m.group(1))


async def raw_connect(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16))
    writer.write(b"GET /raw HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Key: " + key +
                 b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), BOUND)
    check(head.startswith(b"HTTP/1.1 101 "), f"no upgrade: {head!r}")
    accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
    m = re.search(rb"(?i)\r\nsec-websocket-accept: *([^\r]+)", head)
    check(m and m.group(1).strip() == accept, f"bad accept key: {head!r}")
    return reader, writer


async def serve_suite(binary):
    target, quiet = Target(), Target(quiet=True)
    proc, port = await start_serve(binary, await target.start())
    quiet_proc, quiet_port = await start_serve(binary, await quiet.start())
    url = f"ws://127.0.0.1:{port}/"

    def lib():
        return connect(url, compression=None, max_size=None, ping_interval=None,
                       close_timeout=BOUND, open_timeout=BOUND)

    async def echoed(send, expect):
        index = len(target.conns)
        async with lib() as ws:
            await ws.send(send)
            got = b""
            while len(got) < len(expect):
                msg = await asyncio.wait_for(ws.recv(), BOUND)
                check(isinstance(msg, bytes), "serve sent a text message")
                got += msg
            check(got == expect, f"echo differs ({len(got)} bytes)")
            t0 = time.monotonic()
        check(time.monotonic() - t0 < BOUND, "close handshake too slow")
        check(ws.protocol.close_rcvd and ws.protocol.close_rcvd.code == 1000,
              f"close answered with {ws.protocol.close_rcvd}")
        check(await target.received(index) == expect, "the target got other bytes")
        return f"{len(expect)} bytes"

    for size in SIZES:
        data = os.urandom(size)
        await case(f"serve/lib/binary-{size}-bytes", echoed(data, data))
    for size in [1, 125, 65536, 1 << 20]:
        text = ("a\u00e9\u20ac\U0001F600" * size)[: size // 4 or 1]
        text += "x" * (size - len(text.encode()))
        encoded = text.encode()
        await case(f"serve/lib/text-{len(encoded)}-bytes-utf8", echoed(text, encoded))
    fragments = ["h\u00e9", "\u20ac", "", "\U0001F600 ok"]
    await case("serve/lib/text-fragmented", echoed(fragments, "".join(fragments).encode()))
    await case("serve/lib/binary-fragmented", echoed([b"ab", b"", b"cdef"], b"abcdef"))

    async def too_big():
        index = len(target.conns)
        async with lib() as ws:
            try:
                # serve may close with 1009 while the message is still being sent: the
                # send then raises, with the Close received.
                await ws.send(os.urandom((1 << 20) + 1))
                await asyncio.wait_for(ws.recv(), BOUND)
                raise Fail("no close")
            except ConnectionClosed as e:
                check(e.rcvd and e.rcvd.code == 1009, f"closed with {e.rcvd}")
        check(await target.received(index) == b"", "part of the message reached the target")
        return "1009"

    await case("serve/lib/message-over-1MiB-is-1009", too_big())

    async def ping(size):
        async with lib() as ws:
            pong = await ws.ping(os.urandom(size))
            await asyncio.wait_for(pong, BOUND)
        return "pong with the same payload"

    await case("serve/lib/ping-0-bytes", ping(0))
    await case("serve/lib/ping-125-bytes", ping(125))

    async def close_echo(code, reason, via_port=None):
        conn_url = f"ws://127.0.0.1:{via_port or port}/"
        async with connect(conn_url, compression=None, ping_interval=None,
                           close_timeout=BOUND) as ws:
            await ws.send(b"before close")
            t0 = time.monotonic()
            await ws.close(code, reason)
            took = time.monotonic() - t0
        rcvd = ws.protocol.close_rcvd
        check(rcvd is not None, "no Close received")
        check((rcvd.code, rcvd.reason) == (code, reason), f"echoed {rcvd}, sent {code}")
        check(took < BOUND, f"close took {took:.1f} s")
        return f"echoed in {took:.2f} s"

    for code in [1000, 1001, 1002, 1003, 1011, 3000, 4999]:
        await case(f"serve/lib/close-{code}-echoed",
                   close_echo(code, f"reason for {code} \u20ac"))
    await case("serve/lib/close-echoed-when-target-stays-quiet",
               close_echo(1000, "done", quiet_port))

    async def raw_invalid(frames_, code, reaches):
        index = len(target.conns)
        reader, writer = await raw_connect(port)
        for raw in frames_:
            writer.write(raw)
            await writer.drain()
        got, _ = await frames_until_close(reader, masked=False)
        writer.close()
        sent, _ = close_code_of(got)
        check(sent == code, f"closed with {sent}, expected {code}")
        data = await target.received(index)
        check(data == reaches, f"the target got {data!r}, expected {reaches!r}")
        return f"{code}, target got {len(data)} bytes"

    for name, frames_, code, reaches in invalid_cases(mask=True):
        await case(f"serve/raw/{name}", raw_invalid(frames_, code, reaches))

    async def slow(coro_frames):
        # One text frame whose last byte is not UTF-8, arriving in two reads: nothing of
        # it may reach the target.
        index = len(target.conns)
        reader, writer = await raw_connect(port)
        for raw in coro_frames:
            writer.write(raw)
            await writer.drain()
            await asyncio.sleep(0.2)
        got, _ = await frames_until_close(reader, masked=False)
        writer.close()
        sent, _ = close_code_of(got)
        check(sent == 1007, f"closed with {sent}")
        data = await target.received(index)
        check(data == b"", f"the target got {len(data)} bytes of the failing frame")
        return "1007, nothing reached the target"

    raw = frame(OP_TEXT, b"A" * 100_000 + b"\xff")
    await case("serve/raw/text-frame-over-two-reads-not-utf8", slow([raw[:50_000], raw[50_000:]]))

    async def raw_valid(frames_, expect_target, expect_pongs=()):
        index = len(target.conns)
        reader, writer = await raw_connect(port)
        for raw in frames_:
            if raw is None:
                await writer.drain()
                await asyncio.sleep(0.2)
            else:
                writer.write(raw)
        writer.write(frame(OP_CLOSE, close_payload(1000, b"end")))
        await writer.drain()
        got, _ = await frames_until_close(reader, masked=False)
        writer.close()
        pongs = [f["payload"] for f in got if f["op"] == OP_PONG]
        check(pongs == list(expect_pongs), f"pongs {pongs!r}")
        data = b"".join(f["payload"] for f in got if f["op"] in (OP_BIN, OP_TEXT, OP_CONT))
        check(data == expect_target, f"echo {data[:60]!r}")
        code, reason = close_code_of(got)
        check((code, reason) == (1000, b"end"), f"close answered with {code} {reason!r}")
        check(await target.received(index) == expect_target, "the target got other bytes")
        return f"{len(expect_target)} bytes"

    await case("serve/raw/text-code-point-split-over-fragments",
               raw_valid([frame(OP_TEXT, b"\xe2\x82", fin=False), frame(OP_CONT, b"\xac")],
                         "\u20ac".encode()))
    await case("serve/raw/binary-not-utf8-is-data",
               raw_valid([frame(OP_BIN, b"\xff\xfe\x00")], b"\xff\xfe\x00"))
    await case("serve/raw/ping-0-and-125-bytes-inside-a-fragmented-message",
               raw_valid([frame(OP_BIN, b"ab", fin=False), frame(OP_PING, b""), None,
                          frame(OP_PING, b"P" * 125), None, frame(OP_CONT, b"cd")],
                         b"abcd", [b"", b"P" * 125]))
    await case("serve/raw/empty-text-and-binary-messages",
               raw_valid([frame(OP_TEXT, b""), frame(OP_BIN, b""), frame(OP_BIN, b"z")], b"z"))

    async def raw_close(payload):
        reader, writer = await raw_connect(port)
        writer.write(frame(OP_CLOSE, payload))
        await writer.drain()
        got, _ = await frames_until_close(reader, masked=False)
        writer.close()
        check(got[-1]["payload"] == payload, f"answered {got[-1]['payload']!r}")
        return "echoed"

    await case("serve/raw/close-empty-echoed-empty", raw_close(b""))
    for code in VALID_CODES:
        await case(f"serve/raw/close-{code}-echoed", raw_close(close_payload(code, b"why")))

    for p in (proc, quiet_proc):
        p.terminate()
        await p.wait()
    never = [line for line in proc.log if "panic" in line]
    check_all = not never
    record("serve/no-panic-in-log", check_all, "; ".join(never))


# ---------------------------------------------------------------------------------------
# client: the novita-proxy client against this file's servers.


def client_env():
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()
           and not k.startswith("NOVITA_")}
    return env


async def run_client(binary, url, stdin=None):
    """Runs the client; `stdin` None keeps its input open until it exits."""
    proc = await asyncio.create_subprocess_exec(
        binary, "--url", url, "--ping-interval", "0", "--no-proxy",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, env=client_env())
    if stdin is not None:
        proc.stdin.write(stdin)
        await proc.stdin.drain()
        proc.stdin.close()
    try:
        out, err, code = await asyncio.wait_for(
            asyncio.gather(proc.stdout.read(), proc.stderr.read(), proc.wait()), 30)
    except asyncio.TimeoutError:
        proc.kill()
        raise Fail("the client did not exit within 30 s") from None
    finally:
        if stdin is None:
            proc.stdin.close()
    return code, out, err.decode(errors="replace")


async def client_suite(binary):
    handlers, outcomes = {}, {}

    async def dispatch(ws):
        path = ws.request.path.strip("/")
        try:
            outcomes[path] = await handlers[path](ws)
        except Exception as e:  # noqa: BLE001
            outcomes[path] = e

    server = await ws_serve(dispatch, "127.0.0.1", 0, compression=None, max_size=None,
                            ping_interval=None, close_timeout=BOUND)
    port = server.sockets[0].getsockname()[1]

    async def lib_case(path, handler, stdin=None, exit_code=0, stdout=b""):
        handlers[path] = handler
        code, out, err = await run_client(binary, f"ws://127.0.0.1:{port}/{path}", stdin)
        for _ in range(100):
            if path in outcomes:
                break
            await asyncio.sleep(0.05)
        outcome = outcomes.get(path, Fail("the server handler did not finish"))
        if isinstance(outcome, Exception):
            raise outcome
        check(code == exit_code, f"exit {code}, expected {exit_code}; stderr {err!r}")
        check(out == stdout, f"stdout {len(out)} bytes {out[:40]!r}, expected {len(stdout)}")
        check(exit_code == 0 or len(err.strip().splitlines()) == 1, f"stderr {err!r}")
        return outcome, err

    def download(messages):
        async def handler(ws):
            for m in messages:
                await ws.send(m)
            await ws.close(1000)
            check(ws.protocol.close_rcvd.code == 1000, f"answer {ws.protocol.close_rcvd}")
            return None
        return handler

    for size in SIZES:
        data = os.urandom(size)
        await case(f"client/lib/download-binary-{size}-bytes",
                   lib_case(f"down-{size}", download([data]), stdout=data))
    text = "a\u00e9\u20ac\U0001F600" * (1 << 18)
    await case("client/lib/download-text-1MiB-utf8",
               lib_case("down-text", download([text]), stdout=text.encode()))
    frags = ["h\u00e9", "\u20ac", "", "\U0001F600"]
    await case("client/lib/download-text-fragmented",
               lib_case("down-frag", download([frags, "x"]), stdout=("".join(frags) + "x").encode()))

    def upload(expect):
        async def handler(ws):
            got = b""
            try:
                while True:
                    msg = await asyncio.wait_for(ws.recv(), BOUND)
                    check(isinstance(msg, bytes), "the client sent text")
                    got += msg
            except ConnectionClosed as e:
                check(e.rcvd and e.rcvd.code == 1000, f"client closed with {e.rcvd}")
            check(got == expect, f"received {len(got)} bytes, expected {len(expect)}")
            return None
        return handler

    for size in [1, 125, 65536, 65537, 1 << 20]:
        data = os.urandom(size)
        await case(f"client/lib/upload-{size}-bytes-then-close-1000",
                   lib_case(f"up-{size}", upload(data), stdin=data))

    def pinger(size):
        async def handler(ws):
            pong = await ws.ping(os.urandom(size))
            await asyncio.wait_for(pong, BOUND)
            await ws.close(1000)
        return handler

    await case("client/lib/ping-0-bytes", lib_case("ping-0", pinger(0)))
    await case("client/lib/ping-125-bytes", lib_case("ping-125", pinger(125)))

    def closer(code, reason):
        async def handler(ws):
            t0 = time.monotonic()
            await ws.close(code, reason)
            took = time.monotonic() - t0
            rcvd = ws.protocol.close_rcvd
            check(rcvd is not None, "no Close answer")
            check((rcvd.code, rcvd.reason) == (code, reason), f"answered {rcvd}")
            check(took < BOUND, f"close took {took:.1f} s")
            return took
        return handler

    for code in VALID_CODES:
        expect = 0 if code in (1000, 1001) else 16

        async def close_case(code=code, expect=expect):
            _, err = await lib_case(f"close-{code}", closer(code, f"why {code} \u20ac"),
                                    exit_code=expect)
            if expect:
                check(f"code {code}" in err, f"stderr does not name the code: {err!r}")
            return f"echoed, exit {expect}"

        await case(f"client/lib/close-{code}-echoed-exit-{expect}", close_case())
    await case("client/lib/end-of-input-closes-with-1000",
               lib_case("eof", upload(b""), stdin=b""))
    server.close()

    # Raw server: hand-made frames the library will not send.
    scripts, seen = {}, {}

    async def raw_server(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        path = head.split(b" ")[1].decode().strip("/")
        key = re.search(rb"(?i)sec-websocket-key: *([^\r]+)", head).group(1).strip()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                     b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        try:
            for raw in scripts[path]:
                if raw is None:
                    await asyncio.sleep(0.2)
                else:
                    writer.write(raw)
                    await writer.drain()
            seen[path] = await frames_until_close(reader, masked=True)
        except Exception as e:  # noqa: BLE001
            seen[path] = e
        writer.close()

    raw_srv = await asyncio.start_server(raw_server, "127.0.0.1", 0)
    raw_port = raw_srv.sockets[0].getsockname()[1]
    counter = [0]

    async def raw_case(frames_, exit_code, stdout, close_code=None, close_payload_=None):
        counter[0] += 1
        path = f"raw-{counter[0]}"
        scripts[path] = frames_
        code, out, err = await run_client(binary, f"ws://127.0.0.1:{raw_port}/{path}")
        for _ in range(100):
            if path in seen:
                break
            await asyncio.sleep(0.05)
        got = seen.get(path, Fail("the server saw nothing"))
        if isinstance(got, Exception):
            raise got
        frames_got, _ = got
        data = [f for f in frames_got if f["op"] in (OP_BIN, OP_TEXT, OP_CONT)]
        check(not data, f"the client sent data {data[:2]}")
        if close_payload_ is not None:
            check(frames_got and frames_got[-1]["payload"] == close_payload_,
                  f"answered {frames_got[-1:]}")
        if close_code is not None:
            sent, _ = close_code_of(frames_got)
            check(sent == close_code, f"closed with {sent}, expected {close_code}")
        check(out == stdout, f"stdout {out[:60]!r}, expected {stdout[:60]!r}")
        check(code == exit_code, f"exit {code}, expected {exit_code}; stderr {err!r}")
        check(exit_code == 0 or len(err.strip().splitlines()) == 1, f"stderr {err!r}")
        return f"exit {code}" + (f", Close {close_code}" if close_code else "")

    for name, frames_, code, reaches in invalid_cases(mask=False):
        await case(f"client/raw/{name}", raw_case(frames_, 9, reaches, close_code=code))
    raw = frame(OP_TEXT, b"A" * 100_000 + b"\xff", mask=False)
    await case("client/raw/text-frame-over-two-reads-not-utf8",
               raw_case([raw[:50_000], None, raw[50_000:]], 9, b"", close_code=1007))
    end = frame(OP_CLOSE, close_payload(1000), mask=False)
    await case("client/raw/text-code-point-split-over-fragments",
               raw_case([frame(OP_TEXT, b"\xe2\x82", fin=False, mask=False),
                         frame(OP_CONT, b"\xac", mask=False), end], 0, "\u20ac".encode(),
                        close_code=1000))
    await case("client/raw/binary-not-utf8-is-data",
               raw_case([frame(OP_BIN, b"\xff\xfe", mask=False), end], 0, b"\xff\xfe",
                        close_code=1000))

    async def pongs():
        counter[0] += 1
        path = f"raw-{counter[0]}"
        scripts[path] = [frame(OP_BIN, b"ab", fin=False, mask=False),
                         frame(OP_PING, b"", mask=False), None,
                         frame(OP_PING, b"P" * 125, mask=False),
                         frame(OP_CONT, b"cd", mask=False), None,
                         frame(OP_CLOSE, close_payload(1000), mask=False)]
        code, out, err = await run_client(binary, f"ws://127.0.0.1:{raw_port}/{path}")
        for _ in range(100):
            if path in seen:
                break
            await asyncio.sleep(0.05)
        got, _ = seen[path]
        ps = [f["payload"] for f in got if f["op"] == OP_PONG]
        check(ps == [b"", b"P" * 125], f"pongs {ps!r}")
        check(out == b"abcd" and code == 0, f"exit {code}, stdout {out!r}, {err!r}")
        return "both answered, masked"

    await case("client/raw/ping-0-and-125-bytes-inside-a-fragmented-message", pongs())
    await case("client/raw/close-empty-echoed-empty",
               raw_case([frame(OP_CLOSE, b"", mask=False)], 0, b"", close_payload_=b""))
    for code in VALID_CODES:
        payload = close_payload(code, b"why")
        expect = 0 if code in (1000, 1001) else 16
        await case(f"client/raw/close-{code}-echoed-exit-{expect}",
                   raw_case([frame(OP_CLOSE, payload, mask=False)], expect, b"",
                            close_payload_=payload))
    raw_srv.close()


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("serve", "client"):
        raise SystemExit(__doc__)
    end, binary = sys.argv[1], sys.argv[2]
    print(f"websockets {websockets.__version__}, {binary} as {end}", flush=True)
    asyncio.run(serve_suite(binary) if end == "serve" else client_suite(binary))
    failed = sum(1 for _, ok in results if not ok)
    print(f"{len(results) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
