"""The command line: ``graphcheck [check] PATH...``, ``explain``, ``rules``, ``rule``."""

from __future__ import annotations

import atexit
import gc
import os
import sys
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from graphcheck import __version__
from graphcheck.cli_output import (
    COLORS,
    emit,
    exit_code,
    partial_baseline,
    show_settings,
    statistics,
    stopped_by,
    use_color,
)
from graphcheck.config_cli import (
    apply_baseline,
    config_options,
    fail_threshold,
    prepare,
    request_for,
    walk_for,
    with_options,
)
from graphcheck.findings import Severity

if TYPE_CHECKING:  # reporters are imported when a command runs: --help stays fast
    from graphcheck.reporters import CheckReporter, Command

SEVERITIES = [str(s) for s in Severity]
GROUP_OPTIONS = ("--help", "-h", "--version", "-V")


def one_blas_thread(environ: MutableMapping[str, str] = os.environ) -> None:
    """Ask OpenBLAS for one thread if numpy is yet to load it: graphcheck multiplies no matrices.

    numpy starts OpenBLAS's worker threads when it is imported (h5py imports it), and an idle
    worker spins before it sleeps: on the 2-core machine that added a quarter to a half to the
    CPU time of a bare parse of a .keras file. A value the user set is kept.
    """
    if "numpy" not in sys.modules:
        environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def leave_heap_at_exit() -> None:
    """Freeze the heap when the interpreter exits, so its last collections skip what we leave.

    At exit Python walks every object several times looking for garbage cycles: after a check
    that is ~34,000 objects (modules, rules, shape functions) and it found none, for ~20 ms on
    the 2-core machine. Frozen, they are left to the operating system, as the memory is.
    Handlers registered after this one (h5py's, a process pool's) still run before it.
    """
    atexit.unregister(gc.freeze)
    atexit.register(gc.freeze)


class DefaultGroup(click.Group):
    """A group that treats ``graphcheck PATH`` as ``graphcheck check PATH``."""

    def main(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command line: one BLAS thread for numpy, no collection of the heap at exit."""
        one_blas_thread()
        leave_heap_at_exit()
        return super().main(*args, **kwargs)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert ``check`` when the first argument is not a command or a group option."""
        if args and args[0] not in self.commands and args[0] not in GROUP_OPTIONS:
            args = ["check", *args]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; a plugin that cannot be loaded is one message and exit 2."""
        from graphcheck.plugins import PluginError

        try:
            return super().invoke(ctx)
        except PluginError as error:  # like flake8's FailedToLoadPlugin: name it, no traceback
            click.echo(f"graphcheck: {error}", err=True)
            ctx.exit(2)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        """Show both forms: ``graphcheck PATH...`` (a check) and ``graphcheck COMMAND``."""
        return ["[OPTIONS] PATH... | COMMAND [ARGS]..."]


class FormatOption(click.Option):
    """``--format``: the reporters serving this command, listed in help and checked on use."""

    def __init__(self, *args: Any, command: Command = "check", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.command: Command = command

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        """Name every format serving the command (plugins included), loading reporters only now."""
        self.help = f"Output format: {', '.join(sorted(self.known()))}."
        return super().get_help_record(ctx)

    def known(self) -> dict[str, Any]:
        """Return the registered reporters serving this option's command, by name."""
        from graphcheck.reporters import reporters

        return dict(reporters(self.command))

    def process_value(self, ctx: click.Context, value: Any) -> Any:
        """Refuse a format no registered reporter serves for this command."""
        from graphcheck.reporters import reporter

        value = super().process_value(ctx, value)
        if reporter(value, self.command) is None:  # only the chosen format is imported
            known = self.known()
            raise click.BadParameter(f"unknown format {value!r}; choose from "
                                     f"{', '.join(sorted(known))}", ctx=ctx, param=self)
        return value


class PathArgument(click.Path):
    """An existing path; a missing one that looks like an option says why it was taken as a file."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        """Check that the path exists, with a hint for option-like names after ``--``."""
        try:
            return super().convert(value, param, ctx)
        except click.BadParameter as error:
            if not str(value).startswith("-"):
                raise
            # A new error rather than editing this one: click 8.5 makes ``message`` final.
            raise click.BadParameter(error.message.rstrip(".") + (
                "; arguments after `--` are file names (the pre-commit hook ends its options "
                "with `--`: set options in [tool.graphcheck], or in the hook's `entry:` "
                "before the `--`)"), ctx=ctx, param=param) from None


@click.group("graphcheck", cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]},
             epilog="`graphcheck PATH...` is short for `graphcheck check PATH...`; "
                    "`graphcheck COMMAND --help` describes a command.")
@click.version_option(__version__, "-V", "--version", prog_name="graphcheck")
def main() -> None:
    """Check saved Keras and ONNX models without running them."""


def _walk_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the options for choosing files and running in parallel (check and explain)."""
    return with_options(
        command,
        click.option("--exclude", multiple=True, metavar="PATTERN",
                     help="Skip paths matching PATTERN (gitignore syntax, relative to the working "
                          "directory; repeatable). Replaces the configured and default excludes."),
        click.option("--extend-exclude", multiple=True, metavar="PATTERN",
                     help="Like --exclude, but added to the configured and default excludes."),
        click.option("--force-exclude", is_flag=True,
                     help="Apply excludes to files named on the command line too (pre-commit)."),
        click.option("--respect-gitignore/--no-respect-gitignore", "gitignore", default=True,
                     show_default=True, help="Skip what .gitignore files ignore when walking folders."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                     help="Files analysed in parallel  [default: CPUs available]."),
    )


def _targets(paths: Sequence[str], walk: Any, quiet: bool = False) -> list[Any]:
    """Return the models the paths name or hold (folders are walked), sorted."""
    from graphcheck.discovery import discover

    targets = discover(paths, walk)
    if not targets and not quiet:
        click.echo("warning: no model files found in the given paths", err=True)
    return targets


def _check_all(targets: Sequence[Any], jobs: int | None, settings: Any, fmt: str) -> list[Any]:
    """Check every target (in parallel when there are many); findings, and reports to draw."""
    from graphcheck.runner import check_all, default_jobs

    pictures = bool(getattr(_reporter(fmt), "pictures", False))
    return check_all(targets, settings, jobs or default_jobs(), pictures=pictures)


def _reporter(fmt: str) -> CheckReporter:
    """Return the reporter ``--format`` chose for check (FormatOption made sure there is one)."""
    from graphcheck.reporters import reporter

    chosen = reporter(fmt)
    assert chosen is not None, f"--format {fmt} was not checked"
    return chosen


def _paired(paths: Sequence[str], weights: str | None) -> list[Any]:
    """Return the one architecture file that ``--weights`` pairs with, as a target."""
    from graphcheck.discovery import Target

    if len(paths) != 1 or Path(paths[0]).is_dir():
        raise click.UsageError("--weights pairs with exactly one architecture file "
                               "(model.to_json()), e.g. `graphcheck check arch.json --weights "
                               "model.weights.h5`")
    return [Target(path=Path(paths[0]), display=paths[0], weights=Path(str(weights)))]


@main.command(epilog="Arguments after `--` are paths, even when they look like options.")
@click.argument("paths", nargs=-1, required=True, type=PathArgument(exists=True), metavar="PATH...")
@click.option("--format", "fmt", default="text", show_default=True, metavar="FORMAT",
              cls=FormatOption)
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the report to this file (its folders are created); `-` is stdout.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default=None,
              help="Exit 1 when a finding is at least this severe  [default: the "
                   "configuration's fail-on, else warning].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--color", type=click.Choice(COLORS), default="auto", show_default=True,
              help="Colour text output; auto: on a terminal, unless NO_COLOR is set "
                   "(FORCE_COLOR forces it).")
@click.option("--quiet", "-q", is_flag=True,
              help="Print findings only: no summary, nothing at all on a clean run.")
@click.option("--statistics", is_flag=True,
              help="Print the number of findings per rule instead of the findings.")
@click.option("--verbose", "-v", is_flag=True,
              help="Text format: print the traceback under each internal-error finding.")
@click.option("--show-files", is_flag=True, help="List the files that would be checked, and exit.")
@click.option("--show-settings", is_flag=True,
              help="Print the configuration that applies to each file, and exit.")
@click.option("--weights", type=click.Path(exists=True, dir_okay=False), metavar="FILE",
              help="Check the architecture file PATH (model.to_json()) against the weights "
                   "saved in FILE (save_weights).")
@_walk_options
@config_options
def check(paths: tuple[str, ...], fmt: str, output: str | None, fail_on: str | None,
          exit_zero: bool, color: str, quiet: bool, jobs: int | None, weights: str | None,
          verbose: bool, **options: Any) -> None:
    """Check model files for shape, weight and design problems."""
    from graphcheck.reporters import RenderOptions

    request = request_for(options)
    targets = (_paired(paths, weights) if weights
               else _targets(paths, walk_for(request, options), quiet))
    settings = prepare(request, targets)
    if _shown(options, request, settings, targets, output):
        return
    results = _check_all(targets, jobs, settings, fmt)
    stopped = stopped_by()
    results, _ = apply_baseline(results, partial_baseline(options, stopped), quiet)
    if options["statistics"]:
        emit(statistics(results, fmt), output)
    else:
        shown = RenderOptions(color=use_color(color, fmt, output), version=__version__, quiet=quiet,
                              verbose=verbose, partial=stopped is not None)
        emit(_reporter(fmt).render(results, shown), output, shown.color)
    threshold = fail_threshold(request, fail_on)
    failed = any(request.fails(f, threshold) for r in results for f in r.findings)
    sys.exit(exit_code(stopped, failed and not exit_zero))


def _shown(options: Mapping[str, Any], request: Any, settings: Any, targets: Sequence[Any],
           output: str | None) -> bool:
    """Handle --show-files and --show-settings; return True when one of them ran."""
    if options["show_files"]:
        from graphcheck.reporters.escape import terminal
        from graphcheck.runner import listed

        emit("".join(terminal(f"# {t.display}: {t.note}" if t.note else t.display) + "\n"
                     for t in listed(targets, settings)), output)
    elif options["show_settings"]:
        emit("\n".join(show_settings(request, settings, t) for t in targets), output)
    return bool(options["show_files"] or options["show_settings"])


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", default="text", show_default=True, metavar="FORMAT",
              cls=FormatOption, command="explain")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the report to this file (its folders are created); `-` is stdout.")
@_walk_options
def explain(paths: tuple[str, ...], fmt: str, output: str | None, jobs: int | None,
            **options: Any) -> None:
    """Explain every layer: output shapes, parameters, and what each recurrent layer does."""
    from graphcheck.engine import load_plugins
    from graphcheck.reporters import RenderOptions, reporter
    from graphcheck.runner import default_jobs, explain_all
    from graphcheck.settings import Settings

    load_plugins()
    targets = _targets(paths, walk_for(None, options))
    reports = explain_all(targets, Settings(), jobs or default_jobs())
    stopped = stopped_by()
    shown = RenderOptions(version=__version__, command="explain", partial=stopped is not None)
    chosen = reporter(fmt, "explain")
    assert chosen is not None, f"--format {fmt} was not checked"
    emit(chosen.explain(reports, shown), output)
    if stopped is not None:
        sys.exit(exit_code(stopped, False))


@main.command("diff")
@click.argument("reference", type=click.Path(exists=True))
@click.argument("candidate", type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--atol", type=click.FloatRange(min=0.0), default=None,
              help="Accept weights that differ by at most this much  [default: 0, exact].")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default="warning", show_default=True,
              help="Exit 1 when a finding is at least this severe.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, allow_dash=True),
              help="Write the report to this file (its folders are created); `-` is stdout.")
def diff_command(reference: str, candidate: str, fmt: str, atol: float | None, fail_on: str,
                 output: str | None) -> None:
    """Verify an export statically: CANDIDATE (ONNX) against REFERENCE (the Keras model).

    Two ONNX files (before and after an optimiser) or two Keras files (a re-save) are
    compared like with like. Nothing is run. Exit 0 when equivalent, 1 when a difference
    is at least --fail-on, 2 when the files cannot be compared.
    """
    from graphcheck.compare import DiffError, run
    from graphcheck.reporters.diff import render_json, render_text

    try:
        report = run(Path(reference), Path(candidate), atol=atol, display=candidate)
    except DiffError as error:
        raise click.UsageError(str(error)) from None
    except Exception as error:  # a bug, or input no check foresaw: say so, never pass or fail it
        click.echo(f"error: diff failed: {type(error).__name__}: {error}", err=True)
        sys.exit(2)
    emit(render_json(report, __version__) if fmt == "json" else render_text(report), output)
    sys.exit(report.exit_code(Severity[fail_on.upper()]))


@main.command("rules")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "markdown"]), default="text")
def list_rules(fmt: str) -> None:
    """List every rule with its code, name, severity and summary (markdown: docs/rules.md)."""
    from graphcheck.rules.docs import as_json, as_markdown
    from graphcheck.rules.registry import all_rules

    rules = all_rules()
    if fmt != "text":
        click.echo(as_json(rules) if fmt == "json" else as_markdown(rules), nl=fmt == "json")
        return
    for r in rules:
        click.echo(f"{r.code}  {r.name:<30} {r.severity!s:<8} {r.summary}")


@main.command("rule")
@click.argument("key")
def show_rule(key: str) -> None:
    """Print one rule's documentation (by code or name)."""
    from graphcheck.config import suggest
    from graphcheck.rules.registry import all_rules, find_rule

    rule = find_rule(key)
    if rule is None:
        keys = [name for r in all_rules() for name in (r.code, r.name)]
        raise click.BadParameter(f"no rule {key!r}{suggest(key, keys)}; `graphcheck rules` "
                                 "lists them", param_hint="KEY")
    click.echo(rule.documentation(), nl=False)
