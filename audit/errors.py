"""Every error nexus-audit raises on purpose, and the exit codes the CLI maps them to.

::

    AuditError                      anything that stops a command; exit code 2
    ├── UsageError                  bad option values, unknown repository or principal names
    ├── NexusError                  talking to a Nexus instance failed
    │   ├── NexusConnectionError    refused, DNS, reset, timeout
    │   ├── NexusTLSError           certificate verification failed
    │   ├── NexusAuthError          401: the credentials were not accepted
    │   ├── NexusPermissionError    403: the caller lacks a named privilege
    │   ├── NexusEndpointMissing    404: endpoint absent in this version or edition
    │   └── NexusResponseError      HTML, malformed JSON, unexpected shape, 5xx
    ├── ApplyError                  a change to Nexus failed part-way; says what was done
    ├── SnapshotError               a snapshot file cannot be read, written or understood
    └── TemplateRenderError         a template could not render its data

Messages are written for the person at the terminal: one line, the cause, and the fix.
They never contain passwords or tokens.
"""

from __future__ import annotations

from enum import IntEnum
from typing import ClassVar


class ExitCode(IntEnum):
    """Process exit codes; ``1`` means "ran and found problems", ``2`` means "could not run"."""

    OK = 0
    FINDINGS = 1
    ERROR = 2


class AuditError(Exception):
    """Base for every error raised on purpose; ``str(error)`` is the user-facing message."""

    exit_code: ClassVar[ExitCode] = ExitCode.ERROR


class UsageError(AuditError):
    """The user asked for something that cannot be done with what they gave."""


class NexusError(AuditError):
    """A request to Nexus failed; the message names the request and what to do."""


class NexusConnectionError(NexusError):
    """The server could not be reached, or stopped answering."""


class NexusTLSError(NexusError):
    """The server's certificate could not be verified."""


class NexusAuthError(NexusError):
    """Nexus answered 401: no credentials, or the ones given were refused."""


class NexusPermissionError(NexusError):
    """Nexus answered 403: the caller is authenticated but lacks a privilege."""

    def __init__(self, message: str, privilege: str | None = None) -> None:
        super().__init__(message)
        self.privilege = privilege


class NexusEndpointMissing(NexusError):
    """Nexus answered 404 for an endpoint: absent in this version or edition, or a wrong URL."""


class NexusResponseError(NexusError):
    """Nexus answered, but not with the JSON this endpoint returns."""


class ApplyError(AuditError):
    """Applying a generated role failed; the message names what was and was not changed."""


class SnapshotError(AuditError):
    """A snapshot is missing, unreadable, of another format version, or would be overwritten."""


class TemplateRenderError(AuditError):
    """A bundled template failed to render; a bug, reported without a traceback."""
