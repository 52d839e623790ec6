"""The ``cxaudit`` command line: a thin Click group whose commands load lazily.

Subcommands live in their own modules and are imported only when invoked, so
``cxaudit --help`` stays instant (no pandas, scikit-learn, shap, GX or MLflow).
Errors carry their exit code: 2 for bad input, 3 for internal errors; a
traceback is shown only with ``--debug``.
"""

from __future__ import annotations

import errno
import importlib
import os
import sys
from typing import Any

import click

from cxaudit import __version__

#: name → (module, attribute, one-line help shown by ``cxaudit --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "audit": ("cxaudit.cli.audit", "audit", "Audit a model and its data against a policy."),
    "demo": ("cxaudit.cli.demo", "demo", "Train a churn model on real data and audit it."),
    "policy": ("cxaudit.cli.policy", "policy", "Validate, list and describe policies."),
    "explain": ("cxaudit.cli.explain", "explain", "Show the documentation of a check type."),
    "report": ("cxaudit.cli.report", "report", "Compare audit reports (report diff)."),
    "verify": ("cxaudit.cli.verify", "verify", "Check a report bundle's hashes and signature."),
    "approve": ("cxaudit.cli.approve", "approve", "Sign off a report (bound to its hashes)."),
    "log": ("cxaudit.cli.log", "log", "Verify or show the hash-chained audit trail."),
    "init": ("cxaudit.cli.init", "init", "Write a starting policy for a model from its data."),
    "remedies": ("cxaudit.cli.remedies", "remedies",
                 "What would make each failing fairness check pass (never changes a verdict)."),
    "gate": ("cxaudit.cli.gate", "gate",
             "Audit an MLflow model version; move an alias only if it passes."),
}


#: Optional extras: the import name of a missing module → the extra that installs it.
EXTRAS = {"mlflow": "mlflow", "weasyprint": "pdf", "duckdb": "fast", "pyspark": "spark"}
#: OS errors about the user's files and folders (exit 2), not bugs in cxaudit.
_USER_ERRNOS = {errno.EACCES, errno.EPERM, errno.ENOSPC, errno.EROFS, errno.EDQUOT,
                errno.ENOTDIR, errno.EISDIR, errno.ENOENT, errno.EEXIST, errno.ENAMETOOLONG,
                errno.ELOOP, errno.EMFILE, errno.EFBIG, errno.EBUSY, errno.ETXTBSY}


class Terminated(KeyboardInterrupt):
    """SIGTERM (a CI runner cancelling the job): a clean exit like Ctrl-C, code 143."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated


def _missing_extra(exc: ImportError) -> str | None:
    """The install command for a missing optional extra, or None when it is not one."""
    name = (exc.name or "").split(".")[0]
    if not name:  # ImportError raised by hand: "No module named 'mlflow'"
        text = str(exc)
        name = next((module for module in EXTRAS if f"'{module}'" in text
                     or text.endswith(f" {module}")), "")
    extra = EXTRAS.get(name)
    return f"pip install 'cxaudit[{extra}]'" if extra else None


class _QuietStdout:
    """stdout that turns a closed pipe (``cxaudit … | head``) into silence.

    The first ``BrokenPipeError`` points file descriptor 1 at /dev/null, so the command
    carries on (reports written, evidence logged) and ends with its own exit code, and
    the interpreter's final flush has nowhere to fail.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.closed_pipe = False

    def _silence(self) -> None:
        self.closed_pipe = True
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def write(self, text: str) -> int:
        if self.closed_pipe:
            return len(text)
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._silence()
            return len(text)

    def flush(self) -> None:
        if self.closed_pipe:
            return
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._silence()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: D102
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:  # noqa: D102
        if cmd_name not in COMMANDS:
            return None
        module_name, attribute, _ = COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module_name), attribute)
        if not ctx.resilient_parsing:
            from cxaudit.config import command_defaults

            defaults = command_defaults(command, cmd_name, os.getcwd())
            if defaults:
                ctx.default_map = {**(ctx.default_map or {}), cmd_name: defaults}
        return command

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Accept the global flags after the command too (``cxaudit audit -q …``): moved
        before it unless the command has an option of that name."""
        flags = {"-q", "--quiet", "-v", "--verbose", "--debug"}
        position = next((i for i, a in enumerate(args) if a in COMMANDS), None)
        if position is not None and flags & set(args[position + 1:]):
            tail = args[position + 1:]
            end = tail.index("--") if "--" in tail else len(tail)
            command = self.get_command(ctx, args[position])
            own = {o for p in (command.params if command else ()) for o in
                   getattr(p, "opts", ()) + getattr(p, "secondary_opts", ())}
            moved = [a for a in tail[:end] if a in flags and a not in own]
            if moved:
                kept = [a for a in tail[:end] if a not in moved] + tail[end:]
                args = [*args[:position], *moved, args[position], *kept]
        return super().parse_args(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """List subcommands from the table, without importing them."""
        rows = [(name, COMMANDS[name][2]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:  # noqa: D102
        from cxaudit.errors import EXIT_INPUT, EXIT_INTERNAL, CxauditError

        try:
            return super().invoke(ctx)
        except CxauditError as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"error: {exc.format()}", err=True)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt as exc:
            click.echo("interrupted: the report folder holds the previous bundle or the new "
                       "one, whole", err=True)
            ctx.exit(143 if isinstance(exc, Terminated) else 130)
        except BrokenPipeError:
            # Output piped into a reader that stopped reading: not an error of the input.
            _QuietStdout(sys.stdout)._silence()
            ctx.exit(0)
        except ImportError as exc:
            install = _missing_extra(exc)
            if install is None or (ctx.obj and ctx.obj.get("debug")):
                raise
            click.echo(f"error: this command needs an optional extra that is not installed "
                       f"({exc})\n  hint: {install}", err=True)
            ctx.exit(EXIT_INPUT)
        except OSError as exc:
            if exc.errno not in _USER_ERRNOS or (ctx.obj and ctx.obj.get("debug")):
                raise
            where = f" {exc.filename}" if exc.filename else ""
            click.echo(f"error: cannot use{where}: {exc.strerror or exc}\n  hint: check the "
                       "path and its permissions", err=True)
            ctx.exit(EXIT_INPUT)
        except RecursionError:
            click.echo("error: an input is nested too deeply to read (a JSON or YAML file "
                       "thousands of levels deep)", err=True)
            ctx.exit(EXIT_INPUT)
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                raise
            click.echo(f"internal error: {type(exc).__name__}: {exc}\n"
                       "  this is a bug in cxaudit, not in your input; rerun with --debug for "
                       "the traceback and report it", err=True)
            ctx.exit(EXIT_INTERNAL)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"],
                                              "auto_envvar_prefix": "CXAUDIT"})
@click.version_option(__version__, "--version", prog_name="cxaudit")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of short error messages.")
@click.option("-q", "--quiet", is_flag=True, help="Print only the verdict and errors.")
@click.option("-v", "--verbose", is_flag=True, help="Log what the audit is doing.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Format of log lines on stderr.")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool, verbose: bool, log_format: str) -> None:
    """Audit customer-experience models for data quality, consent, bias and explainability.

    Exit codes: 0 pass (warnings allowed unless --strict), 1 the gate blocks,
    2 usage error or invalid input, 3 internal error.

    Defaults come from cxaudit.toml or [tool.cxaudit.<command>] in pyproject.toml,
    and from CXAUDIT_<COMMAND>_<OPTION> environment variables. Shell completion:
    eval "$(_CXAUDIT_COMPLETE=bash_source cxaudit)" (or zsh_source, fish_source).
    """
    from cxaudit.logs import configure

    ctx.ensure_object(dict)
    ctx.obj.update(debug=debug, quiet=quiet, verbose=verbose)
    configure(verbosity=-1 if quiet else (1 if verbose else 0), fmt=log_format)


#: True in the console script's process, which runs one command and exits (never in a
#: caller's process, e.g. Click's test runner).
CONSOLE = False


def main() -> None:
    """Console-script entry point: SIGTERM ends like Ctrl-C; a closed stdout or stderr is
    silence."""
    import signal

    global CONSOLE
    CONSOLE = True
    signal.signal(signal.SIGTERM, _on_sigterm)
    if not isinstance(sys.stdout, _QuietStdout) and sys.stdout is not None:
        sys.stdout = _QuietStdout(sys.stdout)
    # `cxaudit … 2>&1 | head`: messages on stderr meet the same closed pipe.
    if not isinstance(sys.stderr, _QuietStdout) and sys.stderr is not None:
        sys.stderr = _QuietStdout(sys.stderr)
    try:
        cli(prog_name="cxaudit")
    finally:
        _before_exit()


def _before_exit() -> None:
    """Spare the interpreter's shutdown its garbage collections (about 1 s of CPU).

    An audit leaves some 400,000 objects alive (pandas, scikit-learn, shap, GX); while
    tearing down modules, Python collects garbage over all of them several times. One
    collection here finalises whatever is already garbage (open files, temporary
    folders), and freezing the survivors keeps the shutdown's collections from scanning
    them again. Everything else about the exit is unchanged: atexit handlers run, threads
    are joined, streams flushed. The console script only, never a caller's process.
    """
    import gc

    gc.collect()
    gc.freeze()
