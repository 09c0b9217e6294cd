"""``python -m audit.emulator``: serve a dataset as an emulated Nexus until Ctrl-C.

Prints one line with the URL and the user names that can log in; passwords are never printed
(the demo's are in the dataset's ``emulator`` block). Binds to loopback unless ``--host`` names
another address, since the emulator hands out known passwords to whoever can reach it.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import sys
import threading
from collections.abc import Sequence

from audit.emulator.server import NexusEmulator, load_dataset
from audit.errors import AuditError, ExitCode

LOOPBACK_HOST = "127.0.0.1"


def _login(text: str) -> tuple[str, str]:
    user, separator, password = text.partition(":")
    if not separator or not user or not password:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m audit.emulator",
        description="Serve a Nexus Repository 3 emulator (REST API, Nexus's auth rules) for "
        "demos and tests. Stops on Ctrl-C.",
    )
    parser.add_argument(
        "--dataset",
        default="demo",
        metavar="demo|PATH",
        help="bundled dataset name or a nexus-audit snapshot file (default: demo)",
    )
    parser.add_argument(
        "--host",
        default=None,
        help=f"address to bind (default: {LOOPBACK_HOST}); anything but loopback must be asked "
        "for explicitly",
    )
    parser.add_argument(
        "--port", type=int, default=8081, help="port to bind, 0 for any free port (default: 8081)"
    )
    parser.add_argument(
        "--context-path", default="", help="serve under a context path, e.g. /nexus"
    )
    parser.add_argument(
        "--login",
        action="append",
        type=_login,
        default=[],
        metavar="USER:PASSWORD",
        help="accept this password for USER (repeatable); needed to log in to a plain snapshot",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request to stderr")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Parse, serve until interrupted; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    # Only an explicit --host can move the emulator off loopback.
    host = args.host or LOOPBACK_HOST
    try:
        dataset = load_dataset(args.dataset)
        emulator = NexusEmulator(dataset, context_path=args.context_path, host=host, port=args.port)
    except (AuditError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return int(ExitCode.ERROR)
    known = {str(u.get("userId", "")).lower() for u in dataset.get("users") or []}
    for user, password in args.login:
        emulator.passwords[user] = password
        if user.lower() not in known:
            print(f"warning: --login {user}: no such user in the dataset", file=sys.stderr)
    if not _is_loopback(host):
        print(
            f"warning: serving on {host}: anyone who can reach it can log in with the dataset's "
            "passwords",
            file=sys.stderr,
        )
    emulator.log_requests = args.verbose
    logins = ", ".join(sorted(emulator.passwords)) or "none (add some with --login USER:PASSWORD)"
    where = 'in the dataset\'s "emulator" block' if "emulator" in dataset else "as given"
    stopped = threading.Event()
    with emulator:
        print(
            f"Nexus emulator ({emulator.server_header}, dataset {args.dataset}) at {emulator.url}"
            f" - logins: {logins} (passwords {where}); Ctrl-C stops",
            flush=True,
        )
        with contextlib.suppress(KeyboardInterrupt):
            stopped.wait()
    return int(ExitCode.OK)


if __name__ == "__main__":
    sys.exit(main())
