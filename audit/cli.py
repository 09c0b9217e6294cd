"""The ``nexus-audit`` command line: parse options, call the library, choose an exit code.

Exit codes: 0 nothing at or above ``--fail-on``; 1 findings (or, for ``can-i``, a denial);
2 the command could not run (bad input, connection, authentication, ...).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import click

from audit import __version__, access_report, rolegen, snapshot
from audit.access import (
    ACTIONS,
    MAX_PATHS_PER_ENTRY,
    AccessReport,
    DiffSide,
    Exclusions,
    build_report,
    diff_sides,
    side_from_document,
    side_from_report,
)
from audit.apply import apply_changes
from audit.checks import AuditResult, AuthMode, Finding, Severity, audit, can_i
from audit.client import ConnectionSettings, Credentials, NexusClient
from audit.errors import AuditError, ExitCode, UsageError
from audit.files import write_new_file
from audit.model import Instance, parse_instance
from audit.probe import (
    ProbeContext,
    ProbeSettings,
    ProbeTarget,
    RepositoryProbe,
    audit_for_probe,
    diagnose,
    merge_findings,
    probe_targets,
    run_probes,
    targets_of,
    unaudited,
)
from audit.report import FORMATS, render, render_can_i, render_probe_report, render_proof
from audit.rolegen import Profile

F = TypeVar("F", bound=Callable[..., Any])


class AuditGroup(click.Group):
    """Maps every :class:`AuditError` to a one-line message and exit code 2."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except AuditError as exc:
            if ctx.meta.get("verbose"):
                raise
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            ctx.exit(130)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            # A bug, not bad input: still one line, and -v shows the traceback to report.
            if ctx.meta.get("verbose"):
                raise
            click.echo(
                f"error: internal error ({type(exc).__name__}: {exc}); please report it, "
                "with the output of -v",
                err=True,
            )
            ctx.exit(ExitCode.ERROR)


@dataclass(frozen=True)
class SourceOptions:
    """Where the data comes from: a live Nexus (``--url``) or a snapshot file."""

    url: str | None
    snapshot_path: str | None
    username: str | None
    password_stdin: bool
    user_token: bool
    no_auth: bool
    ca_bundle: str | None
    insecure: bool
    timeout: float
    retries: int


def source_options(command: F) -> F:
    """The options every command that reads Nexus shares."""
    options = [
        click.option(
            "--url",
            envvar="NEXUS_URL",
            metavar="URL",
            help="Nexus base URL, with or without context path. [env: NEXUS_URL]",
        ),
        click.option(
            "--snapshot",
            "snapshot_path",
            metavar="FILE",
            help="Read a saved snapshot instead of a live Nexus ('-' for stdin).",
        ),
        click.option(
            "-u",
            "--username",
            envvar="NEXUS_USERNAME",
            metavar="NAME",
            help="Login name (or a user token's name code). [env: NEXUS_USERNAME]",
        ),
        click.option(
            "--password-stdin",
            is_flag=True,
            help="Read the password (or pass code) from the first line of stdin. "
            "Otherwise NEXUS_PASSWORD, else a prompt.",
        ),
        click.option(
            "--user-token",
            is_flag=True,
            help="Log in with a user token: name code as username, pass code as password.",
        ),
        click.option("--no-auth", is_flag=True, help="Send no credentials (anonymous)."),
        click.option(
            "--ca-bundle",
            type=click.Path(exists=True, dir_okay=False),
            help="PEM file of CA certificates to trust for Nexus's TLS certificate.",
        ),
        click.option(
            "--insecure", is_flag=True, help="Do not verify Nexus's TLS certificate (unsafe)."
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=30.0,
            show_default=True,
            help="Seconds to wait for each response.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(0, 10),
            default=3,
            show_default=True,
            help="Retries on 429/502/503/504 and dropped connections.",
        ),
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        url = kwargs.pop("url")
        source = click.get_current_context().get_parameter_source("url")
        if kwargs["snapshot_path"] and source is click.core.ParameterSource.ENVIRONMENT:
            url = None  # An explicit --snapshot wins over NEXUS_URL from the environment.
        kwargs["source"] = SourceOptions(
            url=url,
            snapshot_path=kwargs.pop("snapshot_path"),
            username=kwargs.pop("username"),
            password_stdin=kwargs.pop("password_stdin"),
            user_token=kwargs.pop("user_token"),
            no_auth=kwargs.pop("no_auth"),
            ca_bundle=kwargs.pop("ca_bundle"),
            insecure=kwargs.pop("insecure"),
            timeout=kwargs.pop("timeout"),
            retries=kwargs.pop("retries"),
        )
        return command(*args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper  # type: ignore[return-value]


def _credentials(source: SourceOptions) -> Credentials:
    """Credentials from the environment, stdin or a prompt; never from argv alone."""
    if source.no_auth:
        if source.password_stdin or source.user_token:
            raise UsageError("--no-auth cannot be combined with --password-stdin or --user-token")
        return Credentials("none")
    kind = "token" if source.user_token else "password"
    what = "user token name code" if source.user_token else "username"
    interactive = sys.stdin.isatty()
    username = source.username
    if not username:
        if not interactive or source.password_stdin:
            raise UsageError(
                f"no {what}: set NEXUS_USERNAME or pass --username (or --no-auth for anonymous)"
            )
        username = click.prompt(f"Nexus {what}", err=True)
    secret: str | None
    if source.password_stdin:
        secret = sys.stdin.readline().rstrip("\r\n")
        if not secret:
            raise UsageError("--password-stdin: standard input was empty")
    else:
        secret = os.environ.get("NEXUS_PASSWORD")
        if not secret:
            if not interactive:
                raise UsageError("no password: set NEXUS_PASSWORD or pipe it with --password-stdin")
            label = "pass code" if source.user_token else f"password for {username}"
            secret = click.prompt(f"Nexus {label}", hide_input=True, err=True)
    return Credentials(kind, username, secret)


def _client(source: SourceOptions, credentials: Credentials | None = None) -> NexusClient:
    """A client for ``--url``; ``credentials`` when the caller already asked for them."""
    assert source.url is not None
    if source.insecure and source.ca_bundle:
        raise UsageError("use either --insecure or --ca-bundle, not both")
    verify: bool | str = source.ca_bundle or not source.insecure
    settings = ConnectionSettings(
        base_url=source.url,
        credentials=credentials or _credentials(source),
        verify=verify,
        timeout=source.timeout,
        retries=source.retries,
    )
    return NexusClient(settings)


def _check_source(source: SourceOptions) -> None:
    if source.url and source.snapshot_path:
        raise UsageError("use either --url or --snapshot, not both")
    if not source.url and not source.snapshot_path:
        raise UsageError("say where to read from: --url (or NEXUS_URL) or --snapshot FILE")


def load_instance(
    source: SourceOptions,
    user_id: str | None,
    self_audit: bool,
    credentials: Credentials | None = None,
) -> Instance:
    """Read the instance live or from a snapshot; both go through the same parser."""
    _check_source(source)
    if source.snapshot_path:
        document = snapshot.load(source.snapshot_path)
    else:
        with _client(source, credentials) as client:
            document = client.capture(user_id=user_id, require_security=not self_audit)
    return parse_instance(document)


@contextmanager
def _output(path: str | None, force: bool) -> Iterator[Callable[[str], None]]:
    """Where rendered text goes: stdout, or a new file (never overwritten without --force)."""

    def emit(text: str) -> None:
        if path is None or path == "-":
            click.echo(text, nl=False)
            return
        if os.path.exists(path) and not force and sys.stdin.isatty():
            if not click.confirm(f"{path} exists. Overwrite?", default=False, err=True):
                raise UsageError(f"{path} left unchanged")
            write_new_file(path, text, force=True)
        else:
            write_new_file(path, text, force)
        click.echo(f"wrote {path}", err=True)

    yield emit


_FORMAT = click.Choice(sorted(FORMATS))
DEMO_TARGETS = ("docker-hosted", "docker-group")
_SEVERITY = click.Choice([s.value for s in Severity])
_AUTH = click.Choice([a.value for a in AuthMode])


@click.group(cls=AuditGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nexus-audit")
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks for errors.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Can this account really pull from and list these Nexus Docker registries?

    Audits Sonatype Nexus Repository 3 security for an image scanner's account: effective
    permissions with the path that grants each, missing and excessive rights, realms, tokens,
    anonymous access and registry connectors.
    """
    ctx.meta["verbose"] = verbose


def _check_options(command: F) -> F:
    options = [
        click.option(
            "--user",
            "user_id",
            metavar="USERID",
            help="The account the scanner will use (default: the one you log in as).",
        ),
        click.option(
            "--repo",
            "repos",
            multiple=True,
            metavar="NAME",
            help="Target Docker repository (repeatable; default: all Docker repos).",
        ),
        click.option(
            "--auth",
            "auth",
            type=_AUTH,
            default="password",
            show_default=True,
            help="How the scanner will log in to the registry.",
        ),
        click.option(
            "--host",
            metavar="HOST",
            help="Host name for registry addresses (default: the URL's host).",
        ),
        click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True),
        click.option(
            "--fail-on",
            type=_SEVERITY,
            default="error",
            show_default=True,
            help="Exit 1 when a finding is at or above this severity.",
        ),
        click.option("-o", "--output", metavar="FILE", help="Write the report to FILE."),
        click.option("--force", is_flag=True, help="Overwrite --output if it exists."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_check(
    instance: Instance,
    user_id: str | None,
    repos: tuple[str, ...],
    auth: str,
    host: str | None,
    fmt: str,
    fail_on: str,
    output: str | None,
    force: bool,
) -> int:
    threshold = Severity(fail_on)
    result = audit(
        instance, user_id=user_id, auth=AuthMode(auth), repositories=repos or None, host=host
    )
    with _output(output, force) as emit:
        emit(render(result, fmt, threshold))
    return ExitCode.OK if result.passed(threshold) else ExitCode.FINDINGS


@main.command()
@source_options
@_check_options
@click.option(
    "--probe",
    "with_probe",
    is_flag=True,
    help="Also probe each registry live with the login credentials (see 'probe').",
)
def check(
    source: SourceOptions,
    user_id: str | None,
    repos: tuple[str, ...],
    auth: str,
    host: str | None,
    fmt: str,
    fail_on: str,
    output: str | None,
    force: bool,
    with_probe: bool,
) -> None:
    """Preflight: can the scanner's account pull (read) and list (browse) each Docker repo?

    \b
    nexus-audit check --url https://nexus.example.com --user scanner
    nexus-audit check --snapshot acme.json --user scanner --repo docker-hosted --format json
    nexus-audit check --url https://nexus.example.com --user scanner --probe
    """
    self_audit = user_id is None and auth != AuthMode.ANONYMOUS.value
    if with_probe:
        sys.exit(_check_and_probe(source, user_id, repos, auth, host, fmt, fail_on, output, force))
    instance = load_instance(source, user_id, self_audit)
    sys.exit(_run_check(instance, user_id, repos, auth, host, fmt, fail_on, output, force))


@main.command("can-i")
@source_options
@click.option("--user", "user_id", metavar="USERID", help="Whose permissions (default: yours).")
@click.option("--anonymous", is_flag=True, help="Ask for the anonymous user.")
@click.option("--format", "fmt", type=_FORMAT, default="table", show_default=True)
@click.argument("permissions", nargs=-1, required=True)
def can_i_command(
    source: SourceOptions,
    user_id: str | None,
    anonymous: bool,
    fmt: str,
    permissions: tuple[str, ...],
) -> None:
    """Does the principal hold each PERMISSION (a Shiro permission string)?

    \b
    nexus-audit can-i --snapshot acme.json --user scanner \\
        nexus:repository-view:docker:docker-hosted:read
    Exit 0 when all are allowed, 1 otherwise.
    """
    auth = AuthMode.ANONYMOUS if anonymous else AuthMode.PASSWORD
    instance = load_instance(source, user_id, user_id is None and not anonymous)
    principal, answers = can_i(instance, permissions, user_id=user_id, auth=auth)
    click.echo(render_can_i(principal, answers, fmt), nl=False)
    sys.exit(ExitCode.OK if all(allowed for _, allowed, _ in answers) else ExitCode.FINDINGS)


@main.command("snapshot")
@source_options
@click.option(
    "-o",
    "--output",
    required=True,
    metavar="FILE",
    help="Where to save the snapshot ('-' for stdout).",
)
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def snapshot_command(source: SourceOptions, output: str, force: bool) -> None:
    """Save everything an audit needs from a live Nexus into one JSON file.

    Needs nx-users-read, nx-roles-read and nx-privileges-read; settings, capabilities,
    selectors and repository settings are saved when readable. No password or token is saved.
    """
    if source.snapshot_path:
        raise UsageError("snapshot reads a live Nexus: use --url, not --snapshot")
    _check_source(source)
    if output != "-" and os.path.exists(output) and not force:
        # Fail before spending requests on a capture that could not be saved.
        raise UsageError(f"{output} already exists; use --force to overwrite it")
    with _client(source) as client:
        document = client.capture()
    snapshot.save(document, output, force)
    instance = parse_instance(document)
    unavailable = ", ".join(f"{k}: {v}" for k, v in instance.unavailable.items())
    click.echo(
        f"saved {output}: {len(instance.users or ())} users, {len(instance.roles or {})} roles, "
        f"{len(instance.privileges or {})} privileges, {len(instance.repositories or ())} "
        f"repositories from {instance.server or 'Nexus'}"
        + (f" (not readable: {unavailable})" if unavailable else ""),
        err=True,
    )


@main.command()
@source_options
@click.option(
    "--profile",
    type=click.Choice([p.value for p in Profile]),
    default=Profile.HARBORGUARD_SCAN.value,
    show_default=True,
    help="What the role's holder does.",
)
@click.option(
    "--repo", "repos", multiple=True, metavar="NAME", help="Target Docker repository (repeatable)."
)
@click.option("--all-hosted", is_flag=True, help="Target every hosted Docker repository.")
@click.option("--all-docker", is_flag=True, help="Target every Docker repository.")
@click.option(
    "--push-repo",
    metavar="NAME",
    help="harborguard-export: the hosted repository the scanner pushes to.",
)
@click.option("--id", "role_id", metavar="ID", help="Role id (default: the profile's name).")
@click.option("--name", metavar="NAME", help="Role name (default: the id).")
@click.option("--description", metavar="TEXT", help="Role description.")
@click.option(
    "--wildcard",
    is_flag=True,
    help="Use nx-repository-view-docker-*-* privileges: also every future repository.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(rolegen.FORMATS),
    default="json",
    show_default=True,
    help="json: the POST /v1/security/roles body; plan; curl; terraform.",
)
@click.option(
    "--provider",
    type=click.Choice(rolegen.TERRAFORM_PROVIDERS),
    default="datadrivers",
    show_default=True,
    help="Terraform provider.",
)
@click.option(
    "--for-user",
    metavar="USERID",
    help="Prove the role on this user (with its other roles) and show the least-privilege diff.",
)
@click.option("--assign-to", metavar="USERID", help="Also add the role to this user.")
@click.option(
    "--apply", "apply_now", is_flag=True, help="Make the changes in Nexus (default: dry run)."
)
@click.option("--yes", is_flag=True, help="With --apply: do not ask for confirmation.")
@click.option("-o", "--output", metavar="FILE", help="Write the output to FILE.")
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
def role(
    source: SourceOptions,
    profile: str,
    repos: tuple[str, ...],
    all_hosted: bool,
    all_docker: bool,
    push_repo: str | None,
    role_id: str | None,
    name: str | None,
    description: str | None,
    wildcard: bool,
    fmt: str,
    provider: str,
    for_user: str | None,
    assign_to: str | None,
    apply_now: bool,
    yes: bool,
    output: str | None,
    force: bool,
) -> None:
    """Generate the minimal custom role a scanner needs, prove it, and (with --apply) create it.

    \b
    nexus-audit role --snapshot acme.json --repo docker-hosted --repo docker-group
    nexus-audit role --url https://nexus.example.com --all-hosted --format terraform
    nexus-audit role --url https://nexus.example.com --repo docker-hosted --apply \\
        --assign-to scanner
    nexus-audit role --profile auditor
    The role body goes to stdout; warnings, the what-if proof and the changes go to stderr.
    """
    chosen = Profile(profile)
    if apply_now and not source.url:
        raise UsageError("--apply changes a live Nexus: give --url (or NEXUS_URL)")
    instance: Instance | None = None
    if source.url or source.snapshot_path:
        instance = load_instance(source, for_user or assign_to, self_audit=False)
    elif chosen is not Profile.AUDITOR:
        raise UsageError("say where the repositories are: --url (or NEXUS_URL) or --snapshot")
    if chosen is Profile.AUDITOR:
        targets = list(instance.docker_repositories) if instance is not None else []
        notes: list[str] = []
        if repos or all_hosted or all_docker:
            raise UsageError("the auditor profile covers every Docker repository; drop --repo")
    else:
        targets, notes = rolegen.select_targets(instance, repos, all_hosted, all_docker)
    plan = rolegen.plan_role(
        instance,
        chosen,
        targets,
        role_id=role_id,
        name=name,
        description=description,
        wildcard=wildcard,
        push_repository=push_repo,
        assign_to=assign_to,
        warnings=notes,
    )
    for warning in plan.warnings:
        click.echo(f"warning: {warning}", err=True)
    if not plan.verified:
        click.echo("note: no Nexus was read; built-in privileges are assumed to exist", err=True)
    for spec in plan.privileges_to_create:
        click.echo(
            f"must be created first: privilege {spec.name} ({spec.type}, "
            f"{', '.join(spec.actions)} on {spec.repository})",
            err=True,
        )
    proof = rolegen.prove(instance, plan, for_user)
    click.echo(render_proof(plan, proof), err=True, nl=False)
    steps = rolegen.changes(plan) if instance is not None else []
    if not apply_now:
        with _output(output, force) as emit:
            emit(rolegen.render(plan, fmt, provider))
        if source.url:
            _describe_changes(steps, dry_run=True)
        sys.exit(ExitCode.OK if proof.holds else ExitCode.FINDINGS)
    if not proof.holds:
        raise UsageError("the what-if proof failed; nothing was applied")
    if not steps:
        click.echo(f"Nothing to change: role {plan.role.id} is already in place.", err=True)
        return
    _describe_changes(steps, dry_run=False)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError("--apply without a terminal needs --yes")
        if not click.confirm("Make these changes?", default=False, err=True):
            raise UsageError("nothing was changed")
    with _client(source) as client:
        apply_changes(client, steps, lambda done: click.echo(f"done: {done}", err=True))
    click.echo(f"Applied {len(steps)} change(s); running this again changes nothing.", err=True)


def _demo_role(instance: Instance, user_id: str, repos: tuple[str, ...]) -> None:
    """The second half of the job: the minimal role that fixes it, proven on the user."""
    if not instance.find_users(user_id):
        return
    targets, _ = rolegen.select_targets(instance, repos)
    plan = rolegen.plan_role(instance, Profile.HARBORGUARD_SCAN, targets)
    proof = rolegen.prove(instance, plan, for_user=user_id)
    click.echo(
        f"\nThe minimal role for this scanner (nexus-audit role --repo "
        f"{' --repo '.join(plan.targets)} --for-user {user_id}):\n"
    )
    click.echo(render_proof(plan, proof))
    click.echo(rolegen.render(plan, "json"), nl=False)


def _describe_changes(steps: list[rolegen.Change], dry_run: bool) -> None:
    if not steps:
        click.echo("Nexus already matches: nothing to change.", err=True)
        return
    click.echo("Dry run; --apply would:" if dry_run else "Changes:", err=True)
    for step in steps:
        click.echo(f"  {step.method} /service/rest{step.path}: {step.description}", err=True)


# --------------------------------------------------------------------------- access review


def _read_exclusions(path: str | None) -> Exclusions | None:
    """The exclusions file (JSON, see :class:`audit.access.Exclusions`), if one was given."""
    if path is None:
        return None
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot read exclusions file {path}: {reason}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"exclusions file {path} is not valid JSON ({exc})") from None
    return Exclusions.from_document(document, path)


def _emit_chunks(output: str | None, force: bool, chunks: Iterable[str]) -> None:
    """Like :func:`_output`, for text made in chunks (a large report is never held whole)."""
    if output is None or output == "-":
        try:
            for chunk in chunks:
                click.echo(chunk, nl=False)
        except BrokenPipeError:
            # The reader (head, less) has gone: stop quietly, and keep Python's own flush at
            # exit from failing on the closed pipe too.
            with contextlib.suppress(OSError, ValueError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    if os.path.exists(output) and not force:
        if not sys.stdin.isatty():
            raise UsageError(f"{output} already exists; use --force to overwrite it")
        if not click.confirm(f"{output} exists. Overwrite?", default=False, err=True):
            raise UsageError(f"{output} left unchanged")
        force = True
    write_new_file(output, chunks, force)
    click.echo(f"wrote {output}", err=True)


def _html(review: AccessReport, max_paths: int) -> Iterable[str]:
    """The HTML page, written straight from the review, never from the whole document."""
    from audit.access_html import iter_html_report  # Jinja2 templates load only when asked.

    return iter_html_report(review, max_paths)


@main.command("report")
@source_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice([*access_report.REPORT_FORMATS, "html"]),
    default="table",
    show_default=True,
    help="json: the documented document; csv: the principal x repository access matrix.",
)
@click.option("-o", "--output", metavar="FILE", help="Write the report to FILE.")
@click.option("--force", is_flag=True, help="Overwrite --output if it exists.")
@click.option(
    "--exclusions",
    metavar="FILE",
    help="JSON file of rules silencing findings (silenced findings are still counted).",
)
@click.option(
    "--fail-on",
    type=_SEVERITY,
    default=None,
    help="Exit 1 when an unsilenced finding is at or above this severity (default: never).",
)
@click.option("--host", metavar="HOST", help="Host name for registry addresses.")
@click.option(
    "--max-paths",
    type=click.IntRange(0, MAX_PATHS_PER_ENTRY),
    default=MAX_PATHS_PER_ENTRY,
    show_default=True,
    help="Grant paths kept per entry; 'paths' still counts them all.",
)
def report_command(
    source: SourceOptions,
    fmt: str,
    output: str | None,
    force: bool,
    exclusions: str | None,
    fail_on: str | None,
    host: str | None,
    max_paths: int,
) -> None:
    """Access review: who can read, browse, push, delete and administer every Docker repository.

    \b
    nexus-audit report --snapshot acme.json --format html -o report.html
    nexus-audit report --url https://nexus.example.com --format json
    Also: anonymous exposure, risky grants and registry posture, each with a remedy.
    """
    rules = _read_exclusions(exclusions)
    review = build_report(load_instance(source, None, self_audit=False), rules, host)
    if fmt == "html":
        chunks: Iterable[str] = _html(review, max_paths)
    else:
        chunks = access_report.render_report(review, fmt, max_paths)
    _emit_chunks(output, force, chunks)
    failing = review.failing(Severity(fail_on)) if fail_on else []
    sys.exit(ExitCode.FINDINGS if failing else ExitCode.OK)


@main.command("who-can")
@source_options
@click.option("--repo", "repository", required=True, metavar="NAME", help="Docker repository.")
@click.option("--action", required=True, type=click.Choice(ACTIONS), help="push = add + edit.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(access_report.WHO_CAN_FORMATS),
    default="table",
    show_default=True,
)
def who_can_command(source: SourceOptions, repository: str, action: str, fmt: str) -> None:
    """Every principal who can do ACTION on one Docker repository, with the grant paths.

    \b
    nexus-audit who-can --snapshot acme.json --repo docker-hosted --action read
    Users of every source, and the anonymous user when anonymous access is on.
    """
    review = build_report(load_instance(source, None, self_audit=False))
    entries = review.entries(repository, action)
    click.echo(access_report.render_who_can(repository, action, entries, fmt), nl=False)


def _diff_side(path: str) -> DiffSide:
    """A snapshot (reviewed here) or a JSON access report, whichever the file holds."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot read {path}: {reason}") from None
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"{path} is not valid JSON ({exc})") from None
    if isinstance(document, dict) and "nexus_audit_access_report" in document:
        return side_from_document(document, path)
    if not isinstance(document, dict) or "nexus_audit_snapshot" not in document:
        raise UsageError(
            f"{path} is neither a snapshot nor a JSON access report "
            "(nexus-audit snapshot, nexus-audit report --format json)"
        )
    return side_from_report(build_report(parse_instance(snapshot.loads(text, path))))


@main.command("diff")
@click.argument("old", metavar="OLD")
@click.argument("new", metavar="NEW")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(access_report.DIFF_FORMATS),
    default="table",
    show_default=True,
)
def diff_command(old: str, new: str, fmt: str) -> None:
    """What changed in who can do what: access gained and lost, risky findings new and gone.

    \b
    nexus-audit diff old.json new.json
    OLD and NEW are snapshots or JSON access reports. Exit 1 when any access was gained.
    """
    changes = diff_sides(_diff_side(old), _diff_side(new))
    click.echo(access_report.render_diff(changes, fmt), nl=False)
    sys.exit(ExitCode.FINDINGS if changes.gained else ExitCode.OK)


@main.command()
@_check_options
def demo(
    user_id: str | None,
    repos: tuple[str, ...],
    auth: str,
    host: str | None,
    fmt: str,
    fail_on: str,
    output: str | None,
    force: bool,
) -> None:
    """Run the whole preflight against the bundled demo Nexus; no Nexus needed.

    Starts the bundled Nexus emulator (the "Acme" instance) on a free loopback port, reads it
    over HTTP as its administrator, exactly as against a real server, and audits the account
    HarborGuard would use ('scanner' unless --user says otherwise). Exits 0 when the demo ran.
    """
    from audit.emulator import NexusEmulator, load_dataset

    dataset = load_dataset("demo")
    login = dataset["emulator"]["passwords"]
    # The registries HarborGuard would be connected to; --repo picks others.
    repos = repos or DEMO_TARGETS
    if auth == AuthMode.ANONYMOUS.value:
        user_id = None
    elif user_id is None:
        user_id = "scanner"
    with NexusEmulator(dataset) as emulator:
        click.echo(
            f"Demo: emulated {dataset.get('server', 'Nexus')} at {emulator.url}; reading it as "
            f"'admin', auditing {'the anonymous user' if user_id is None else repr(user_id)}.",
            err=True,
        )
        settings = ConnectionSettings(
            base_url=emulator.url, credentials=Credentials("password", "admin", login["admin"])
        )
        with NexusClient(settings) as client:
            document = client.capture(user_id=user_id)
        # The registry addresses a scanner would use are those of the demo's public name.
        document["base_url"] = dataset.get("base_url", document["base_url"])
        instance = parse_instance(document)
    _run_check(instance, user_id, repos, auth, host, fmt, fail_on, output, force)
    if user_id is not None and fmt != "json" and output is None:
        _demo_role(instance, user_id, repos)
    click.echo(
        "\nTry also: nexus-audit demo --user harbor-ok | --user alice | --user bob.sso | "
        "--auth anonymous | --repo docker-internal | --format json",
        err=True,
    )


# --------------------------------------------------------------------------- probe


def _probe_credentials(source: SourceOptions, anonymous: bool) -> Credentials:
    """The scanner's login for the registries (and the REST read): asked for once."""
    if anonymous:
        if source.password_stdin or source.user_token:
            raise UsageError("--anonymous sends no credentials: drop --password-stdin/--user-token")
        return Credentials("none")
    return _credentials(source)


def _probe_and_diagnose(
    instance: Instance,
    targets: list[ProbeTarget],
    settings: ProbeSettings,
    explain: AuditResult | None,
) -> list[RepositoryProbe]:
    """Run the probes (a progress bar on a terminal only) and map each to findings."""
    if settings.insecure:
        click.echo(
            "warning: --insecure: registry certificates are not verified, and credentials are "
            "sent over plain HTTP where a registry has no TLS",
            err=True,
        )
    if sys.stderr.isatty() and targets:
        with click.progressbar(
            length=len(targets), label="Probing registries", file=sys.stderr
        ) as bar:
            results = run_probes(targets, settings, on_done=lambda _: bar.update(1))
    else:
        results = run_probes(targets, settings)
    return [
        diagnose(result, ProbeContext(target.repository, explain, instance, settings.catalog_limit))
        for target, result in zip(targets, results, strict=True)
    ]


def _probe_findings(probes: list[RepositoryProbe]) -> list[Finding]:
    return [finding for probe in probes for finding in probe.findings]


@main.command("probe")
@source_options
@click.option(
    "--repo", "repos", multiple=True, metavar="NAME", help="Docker repository (repeatable)."
)
@click.option(
    "--anonymous",
    is_flag=True,
    help="Probe as an anonymous scanner: no credentials, for the REST read too.",
)
@click.option("--host", metavar="HOST", help="Host name for the registries (a tunnel, a VPN).")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True
)
@click.option(
    "--fail-on",
    type=_SEVERITY,
    default="error",
    show_default=True,
    help="Exit 1 when a finding is at or above this severity.",
)
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=4,
    show_default=True,
    help="Registries probed at the same time.",
)
@click.option(
    "--step-timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds each step may take (the whole catalog listing is one step).",
)
@click.option(
    "--catalog-limit",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Stop listing a catalog after this many images.",
)
def probe_command(
    source: SourceOptions,
    repos: tuple[str, ...],
    anonymous: bool,
    host: str | None,
    fmt: str,
    fail_on: str,
    concurrency: int,
    step_timeout: float,
    catalog_limit: int,
) -> None:
    """Try the scanner's real path through each Docker registry and explain every failure.

    \b
    NEXUS_USERNAME=scanner nexus-audit probe --url https://nexus.example.com --repo docker-hosted
    nexus-audit probe --url https://nexus.example.com --anonymous
    nexus-audit probe --snapshot acme.json --ca-bundle corp-ca.pem --format json

    Per repository: TCP and TLS, GET /v2/ and its challenge, the login (Basic, or a token from
    the Bearer realm), the catalog (paged, up to --catalog-limit), then one image's tags and
    manifest. The scanner's credentials come from NEXUS_USERNAME and NEXUS_PASSWORD,
    --password-stdin or a prompt (--user-token for a user token); the REST read of the
    repositories uses them too, unless --snapshot gives the repositories. Credentials are never
    sent over plain HTTP without --insecure.
    """
    anonymous = anonymous or source.no_auth
    _check_source(source)
    if source.insecure and source.ca_bundle:
        raise UsageError("use either --insecure or --ca-bundle, not both")
    credentials = _probe_credentials(source, anonymous)
    instance = load_instance(source, None, True, credentials)
    threshold = Severity(fail_on)
    settings = ProbeSettings(
        credentials,
        insecure=source.insecure,
        ca_bundle=source.ca_bundle,
        concurrency=concurrency,
        step_timeout=step_timeout,
        catalog_limit=catalog_limit,
    )
    explained = audit_for_probe(instance, credentials, repos, host, bool(source.snapshot_path))
    if explained is not None:
        targets = targets_of(explained.repositories)
        base = explained
    else:
        targets = probe_targets(instance, repos, host)
        auth = AuthMode.ANONYMOUS if credentials.kind == "none" else AuthMode(credentials.kind)
        who = {"none": "anonymous", "token": "(user token)"}.get(
            credentials.kind, credentials.username or "?"
        )
        base = unaudited(instance, targets, who, auth)
    probes = _probe_and_diagnose(instance, targets, settings, explained)
    result = replace(base, findings=merge_findings((), _probe_findings(probes)))
    audited = explained is not None
    click.echo(render_probe_report(result, probes, settings, fmt, threshold, audited), nl=False)
    sys.exit(ExitCode.OK if result.passed(threshold) else ExitCode.FINDINGS)


def _check_and_probe(
    source: SourceOptions,
    user_id: str | None,
    repos: tuple[str, ...],
    auth: str,
    host: str | None,
    fmt: str,
    fail_on: str,
    output: str | None,
    force: bool,
) -> int:
    """``check --probe``: the audit and the live probe of the same registries, in one report."""
    _check_source(source)
    self_audit = user_id is None and auth != AuthMode.ANONYMOUS.value
    login = None if source.snapshot_path else _credentials(source)
    instance = load_instance(source, user_id, self_audit, login)
    threshold = Severity(fail_on)
    result = audit(
        instance, user_id=user_id, auth=AuthMode(auth), repositories=repos or None, host=host
    )
    if auth == AuthMode.ANONYMOUS.value:
        scanner = Credentials("none")
    else:
        scanner = login or _credentials(source)
    # REST causes explain the probe only when the probe logged in as the audited account.
    audited = result.principal.user_id.lower()
    same = (scanner.kind == "none" and result.principal.anonymous) or (
        scanner.kind == "password" and (scanner.username or "").lower() == audited
    )
    if scanner.kind == "password" and not same:
        click.echo(
            f"note: the probe logs in as '{scanner.username}', not '{result.principal.user_id}' "
            "(it has no password for that account)",
            err=True,
        )
    settings = ProbeSettings(scanner, insecure=source.insecure, ca_bundle=source.ca_bundle)
    probes = _probe_and_diagnose(
        instance, targets_of(result.repositories), settings, result if same else None
    )
    combined = replace(result, findings=merge_findings(result.findings, _probe_findings(probes)))
    with _output(output, force) as emit:
        emit(render_probe_report(combined, probes, settings, fmt, threshold))
    return ExitCode.OK if combined.passed(threshold) else ExitCode.FINDINGS
