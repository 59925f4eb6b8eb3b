"""The ZeroMQ transport: every socket option and ZeroMQ detail lives here (SPEC.md section 5).

The collector binds a ROUTER (``ZmqSource``); emitters connect DEALERs (``dealer``). What travels
is decided in delivery.py; this module only opens sockets the way the protocol needs them and
moves frames.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

from .delivery import IncomingMessage
from .errors import ConfigurationError, LocalError, ProtocolError, Refused
from .record import MAX_RECORD_BYTES
from .source import Arrivals

#: ZMQ-1: the first seed's port, on loopback.
DEFAULT_ENDPOINT = "tcp://127.0.0.1:5570"
#: ZMQ-9: a dead peer is noticed within HEARTBEAT_TIMEOUT_MS.
HEARTBEAT_IVL_MS = 1_000
HEARTBEAT_TIMEOUT_MS = 3_000
#: What a receiver takes from its socket in one turn of the collector's loop, at most: messages,
#: and bytes of records (a message more may end a turn past it). The bytes keep a turn's worth of
#: records as small as a batch's (collector.BATCH_BYTES_LIMIT), where 256 messages of ZMQ-12's
#: largest would be 256 MiB.
_MESSAGES_PER_TURN = 256
_BYTES_PER_TURN = 1 << 20
#: Messages ZeroMQ queues per connected emitter before it stops reading that emitter's connection:
#: 4,096 records in full messages, half a reference emitter's largest window (ZMQ-13), the rest of
#: which waits in TCP's buffers; what a peer can park in the collector's memory stays bounded
#: (ZMQ-12). Measured here: 64 gave the same ZeroMQ end to end figure (3 interleaved pairs).
RECEIVE_QUEUE_MESSAGES = 16
_TCP = re.compile(r"tcp://(?:\[(?P<v6>[^\]]+)\]|(?P<host>[^:]+)):(?P<port>\d+|\*)")


def check_bind_endpoint(endpoint: str, *, allow_remote: bool) -> None:
    """ZMQ-1: a collector binds loopback unless told otherwise."""
    if endpoint.startswith(("ipc://", "inproc://")):
        return
    match = _TCP.fullmatch(endpoint)
    if match is None:
        raise ConfigurationError("ZMQ-1", f"cannot read endpoint {endpoint!r}; expected tcp://HOST:PORT or ipc://PATH")
    host = match["v6"] or match["host"]
    if allow_remote or host == "localhost":
        return
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        loopback = False  # an interface name or "*": not loopback
    else:
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        loopback = (mapped or address).is_loopback  # ::ffff:127.0.0.1 is 127.0.0.1
    if not loopback:
        raise ConfigurationError("ZMQ-1", f"{endpoint} is not a loopback address; pass --allow-remote to bind it "
                            "(and consider --curve-secret-key)")


@dataclass(frozen=True)
class Curve:
    """ZMQ-10: a CURVE key pair, as Z85 text. The server's public key is what emitters must know."""

    secret_key: bytes
    public_key: bytes


def load_curve_keys(path: str | Path) -> Curve:
    """A key pair from a ``.key_secret`` file written by ``zmq.auth.create_certificates``."""
    public, secret = zmq.auth.load_certificate(str(path))
    if secret is None:
        raise ConfigurationError("ZMQ-10", f"{path} holds no secret key")
    return Curve(secret_key=secret, public_key=public)


def load_public_key(path: str | Path) -> bytes:
    """The public key of a ``.key`` (or ``.key_secret``) certificate file."""
    public, _ = zmq.auth.load_certificate(str(path))
    return public


def _common_options(socket: zmq.Socket[bytes]) -> None:
    socket.setsockopt(zmq.IPV6, 1)  # tcp://[::1]:PORT binds and connects; IPv4 endpoints work as before
    # ZMQ-9: ZMTP heartbeats, so that a dead peer is noticed within seconds.
    socket.setsockopt(zmq.HEARTBEAT_IVL, HEARTBEAT_IVL_MS)
    socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, HEARTBEAT_TIMEOUT_MS)
    socket.setsockopt(zmq.HEARTBEAT_TTL, HEARTBEAT_TIMEOUT_MS)


class ZmqSource:
    """A collector's bound ROUTER socket as a ``Source``: each message a group of numbered records."""

    transport = "zmq"

    def __init__(self, context: zmq.Context[zmq.Socket[bytes]], endpoint: str, *, allow_remote: bool = False,
                 curve: Curve | None = None, authorized_keys: Path | None = None) -> None:
        check_bind_endpoint(endpoint, allow_remote=allow_remote)
        self.name = endpoint
        self._authenticator: ThreadAuthenticator | None = None
        if curve is not None:
            if authorized_keys is None or not authorized_keys.is_dir():
                raise ConfigurationError("ZMQ-10", "CURVE needs a directory of the emitters' public keys (.key files)")
            # ZMQ-10: only emitters whose public key is in the directory complete the handshake.
            self._authenticator = ThreadAuthenticator(context)
            self._authenticator.start()
            self._authenticator.configure_curve(domain="*", location=str(authorized_keys))
        self.socket: zmq.Socket[bytes] = context.socket(zmq.ROUTER)
        # ZMQ-2: an emitter restarted under the same identity is heard at once.
        self.socket.setsockopt(zmq.ROUTER_HANDOVER, 1)
        # ZMQ-8, the collector's side: a frame larger than a record can be is refused, its sender
        # disconnected (the emitter's side: ZmqEmitter.send_line refuses such a record).
        self.socket.setsockopt(zmq.MAXMSGSIZE, MAX_RECORD_BYTES)
        self.socket.setsockopt(zmq.RCVHWM, RECEIVE_QUEUE_MESSAGES)
        _common_options(self.socket)
        self.socket.setsockopt(zmq.LINGER, 1_000)  # acknowledgements still queued at exit get a second
        if curve is not None:
            self.socket.curve_server = True
            self.socket.curve_secretkey = curve.secret_key
            self.socket.curve_publickey = curve.public_key
        try:
            self.socket.bind(endpoint)
        except zmq.ZMQError as error:
            self.close()
            raise LocalError(None, f"cannot bind {endpoint}: {error}") from None

    def describe(self) -> str:
        return f"ZeroMQ {self.name}{' with CURVE' if self._authenticator else ''}"

    def poll_target(self) -> zmq.Socket[bytes]:
        return self.socket

    def receive(self) -> list[Arrivals]:
        """The messages waiting now. Frames are taken one at a time (each at most MAXMSGSIZE, ZMQ-8)
        and kept only within ZMQ-12's bounds, so that an oversized message costs no more memory
        here than a legal one."""
        arrivals = []
        taken = 0
        recv = self.socket.recv  # a record is a frame: arguments by position and no attribute lookups
        for _ in range(_MESSAGES_PER_TURN):
            try:
                identity = recv(zmq.NOBLOCK)
            except zmq.Again:
                break
            incoming = IncomingMessage()
            add = incoming.add
            more = self.socket.getsockopt(zmq.RCVMORE)
            while more:  # the rest of a message is there at once
                frame = recv(0, False)  # copy=False: a Frame says whether more follow, no getsockopt
                more = frame.more
                add(frame.bytes)
            arrivals.append(self._arrivals(identity, incoming))
            taken += incoming.record_bytes
            if taken >= _BYTES_PER_TURN:
                break
        return arrivals

    def _arrivals(self, identity: bytes, incoming: IncomingMessage) -> Arrivals:
        sender = identity_text(identity)
        try:
            message = incoming.parse()
        except ProtocolError as error:  # ZMQ-11, ZMQ-12: quarantined whole, never acknowledged
            return Arrivals(sender, (), refused=[Refused(error, incoming.quarantined())])
        # ZMQ-4: the acknowledgement, to be sent once every record of the message is committed.
        acknowledge = functools.partial(self._send, identity, message.ack())
        return Arrivals(sender, message.records, message.deliveries(), acknowledge=acknowledge)

    def _send(self, identity: bytes, frames: list[bytes]) -> None:
        """Send to one emitter; if it is gone, drop: it resends what it has not seen acknowledged."""
        try:
            self.socket.send_multipart([identity, *frames], zmq.NOBLOCK)
        except zmq.Again:
            pass

    def stop_reading(self) -> list[Arrivals]:
        # COL-4: what ZeroMQ holds unread was not acknowledged, so its emitters send it again (ZMQ-5).
        return []

    def close(self) -> None:
        self.socket.close()
        if self._authenticator is not None:
            self._authenticator.stop()


def dealer(context: zmq.Context[zmq.Socket[bytes]], endpoints: list[str], *, identity: bytes | None = None,
           server_key: bytes | None = None, curve: Curve | None = None) -> zmq.Socket[bytes]:
    """An emitter's DEALER, connected to every endpoint (ZMQ-1, ZMQ-2, ZMQ-9, ZMQ-10)."""
    socket: zmq.Socket[bytes] = context.socket(zmq.DEALER)
    if identity is not None:
        if not 1 <= len(identity) <= 255 or identity.startswith(b"\x00"):
            socket.close(0)
            raise ConfigurationError("ZMQ-2", "an identity is 1 to 255 bytes and does not begin with a zero byte")
        socket.setsockopt(zmq.ROUTING_ID, identity)
    # Queue only to peers that are connected: with two collectors, a dead one gets nothing; with
    # none, sends wait in the emitter's own window, which retransmits anyway (ZMQ-5).
    socket.setsockopt(zmq.IMMEDIATE, 1)
    socket.setsockopt(zmq.LINGER, 0)  # what is unacknowledged at close is counted, not flushed blind
    socket.setsockopt(zmq.RECONNECT_IVL, 100)
    socket.setsockopt(zmq.RECONNECT_IVL_MAX, 1_000)
    _common_options(socket)
    if server_key is not None:
        own = curve or _ephemeral_curve()
        socket.curve_serverkey = server_key
        socket.curve_secretkey = own.secret_key
        socket.curve_publickey = own.public_key
    for endpoint in endpoints:
        socket.connect(endpoint)
    return socket


def identity_text(identity: bytes) -> str:
    """A routing identity fit to print: text if the emitter chose one, hex if ROUTER made it up."""
    if identity and not identity.startswith(b"\x00"):
        try:
            return identity.decode()
        except UnicodeDecodeError:
            pass
    return "0x" + identity.hex()


def _ephemeral_curve() -> Curve:
    public, secret = zmq.curve_keypair()
    return Curve(secret_key=secret, public_key=public)
