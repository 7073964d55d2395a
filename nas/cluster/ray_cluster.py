"""Joining an existing Ray cluster by address, and saying in one line why it cannot be joined.

Ray (2.59 and later) starts clusters with token authentication when a token exists: the head's `ray start`
reads it from `RAY_AUTH_TOKEN`, the file named by `RAY_AUTH_TOKEN_PATH` or `~/.ray/auth_token`, and refuses
anyone who does not present it. A driver that joins by `auto` enables token mode itself when it finds a token,
but one that joins by an explicit `HOST:PORT` does not, and so is refused with "Failed to connect" after 20 s of
retries. `join_cluster` does what `auto` does for any address, then asks the head once, directly, so that
"nothing listens there", "no token", "wrong token" and "not a Ray head" each get their own line. `auto` itself is
first resolved to HOST:PORT as Ray resolves it, and then checked the same way.
"""

from __future__ import annotations

import contextlib
import os
import socket
import sys
from pathlib import Path

from ray._private.services import canonicalize_bootstrap_address

from nas.errors import ConfigError

AUTH_MODE = "RAY_AUTH_MODE"
TOKEN_VARIABLE = "RAY_AUTH_TOKEN"
TOKEN_PATH_VARIABLE = "RAY_AUTH_TOKEN_PATH"
TOKEN_HELP = ("copy the head's token (`ray get-auth-token` on the head) into RAY_AUTH_TOKEN or ~/.ray/auth_token "
              "on this machine")
CONNECT_TIMEOUT_S = 5
START_HINT = ("start a cluster with `ray start --head` and join it by HOST:PORT, or leave --ray-address out for a "
              "local Ray of the search's own")


def join_cluster(address: str, init) -> None:
    """Call `init(address)` (ray.init with the search's options) once the cluster at `address` is known to
    accept this driver; otherwise raise ConfigError with the reason and the fix."""
    if address.startswith("ray://"):
        _init_or_explain(init, address)  # Ray Client: Ray finds the token itself
        return
    found_by_auto = address == "auto"
    if found_by_auto:
        address = resolve_auto()
    host, port = split_address(address)
    _check_listening(host, port, found_by_auto)
    token_source = enable_token_if_found()
    _check_head_accepts(address, token_source)
    _init_or_explain(init, address)


def split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"--ray-address must be HOST:PORT (the head's GCS port, 6379 unless `ray start --head "
                          f"--port` chose another), auto or ray://HOST:PORT, got {address!r}")
    return host.strip("[]"), int(port)


def token_source() -> str | None:
    """Where Ray would read this machine's token from, in Ray's order; None when there is none."""
    if os.environ.get(TOKEN_VARIABLE):
        return TOKEN_VARIABLE
    named = os.environ.get(TOKEN_PATH_VARIABLE)
    if named:
        if not Path(named).is_file():
            raise ConfigError(f"{TOKEN_PATH_VARIABLE} names {named}, which is not a file; {TOKEN_HELP}")
        return named
    default = Path.home() / ".ray" / "auth_token"
    return str(default) if default.is_file() else None


def enable_token_if_found() -> str | None:
    """Present this machine's token to the cluster, as `ray.init(address="auto")` would; returns its source."""
    source = token_source()
    if source is not None and AUTH_MODE not in os.environ:
        os.environ[AUTH_MODE] = "token"
        try:  # Ray caches its configuration on import; re-read it so this process sees token mode too
            from ray._raylet import Config  # here, not at the top: a Ray without it is allowed (ImportError below)

            Config.initialize("")
        except ImportError:  # a Ray without token authentication: nothing to enable
            pass
    return source


def resolve_auto() -> str:
    """HOST:PORT of the cluster `auto` means, found as Ray finds it: RAY_ADDRESS, else the last `ray start` on this
    machine, else any Ray running here. That last one may be another program's private Ray (a search's local
    Ray listens on loopback only) which Ray then addresses at the machine's network address, where nothing
    listens: ray.init would retry for minutes, so the address is checked like any HOST:PORT."""
    try:
        resolved = canonicalize_bootstrap_address("auto")
    except ConnectionError:
        resolved = None
    if resolved is None:
        raise ConfigError(f"--ray-address auto: no Ray cluster runs on this machine; {START_HINT}")
    return resolved


def _check_listening(host: str, port: int, found_by_auto: bool = False) -> None:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as error:
        reason = "connection refused" if isinstance(error, ConnectionRefusedError) else (
            str(error) or type(error).__name__)
        if found_by_auto:
            raise ConfigError(f"--ray-address auto: Ray found a Ray at {host}:{port}, but nothing answers there ({reason}; "
                              f"another program's private Ray, or a cluster that stopped); {START_HINT}") from None
        raise ConfigError(f"nothing answers at {host}:{port} ({reason}): start the head with `ray start --head "
                          f"--port {port}` there, or check the address and that the port is open to this "
                          f"machine") from None


def _check_head_accepts(address: str, source: str | None) -> None:
    try:  # here, not at the top: a Ray without token authentication is allowed (ImportError below)
        from ray._raylet import GcsClient
        from ray.exceptions import AuthenticationError, RpcError
    except ImportError:  # another Ray: let ray.init report what is wrong
        return
    try:
        with _native_warnings_silenced():
            GcsClient(address=address)
    except AuthenticationError:
        raise ConfigError(_refused_line(address, source)) from None
    except RpcError as error:
        raise ConfigError(f"something answers at {address} but not as a Ray head ({str(error).splitlines()[0]}): "
                          f"give the port of the head's `ray start --head --port`") from None


@contextlib.contextmanager
def _native_warnings_silenced():
    """Ray's C++ client logs every refused retry to stderr; the refusal is explained in one line instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _refused_line(address: str, source: str | None) -> str:
    if os.environ.get(AUTH_MODE, "").lower() == "disabled":
        return (f"the Ray cluster at {address} requires an authentication token, but {AUTH_MODE}=disabled here: "
                f"unset it and {TOKEN_HELP}")
    if source is None:
        return f"the Ray cluster at {address} requires an authentication token and this machine has none: {TOKEN_HELP}"
    return f"the Ray cluster at {address} refused the token from {source}: {TOKEN_HELP}"


def _init_or_explain(init, address: str) -> None:
    try:
        init(address)
    except (ConnectionError, ValueError, RuntimeError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "version mismatch" in str(error).lower():
            raise ConfigError(f"cannot join the Ray cluster at {address}: Ray or Python differs between this "
                              f"machine and the cluster ({first}); install the same versions on every node") from None
        raise ConfigError(f"cannot join the Ray cluster at {address}: {first}") from None
