"""The command line: ``graphcheck [check] PATH...``, ``explain``, ``rules``, ``rule``."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click

from graphcheck import __version__
from graphcheck.config_cli import apply_baseline, config_options, fail_threshold, prepare
from graphcheck.findings import Severity

SEVERITIES = [str(s) for s in Severity]


class DefaultGroup(click.Group):
    """A group that treats ``graphcheck PATH`` as ``graphcheck check PATH``."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Insert ``check`` when the first argument is not a command or a group option."""
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h", "--version"):
            args = ["check", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="graphcheck")
def main() -> None:
    """Check saved Keras and ONNX models without running them."""


def _emit(text: str, output: str | None) -> None:
    """Write to ``--output`` or stdout."""
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


def _walk_options(command: Callable[..., None]) -> Callable[..., None]:
    """Add the options for walking folders and running in parallel (check and explain)."""
    for option in (
        click.option("--exclude", multiple=True, metavar="GLOB",
                     help="Skip files and folders matching GLOB when walking folders (repeatable)."),
        click.option("--respect-gitignore/--no-respect-gitignore", "gitignore", default=True,
                     show_default=True, help="Skip what .gitignore files ignore when walking folders."),
        click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
                     help="Files analysed in parallel  [default: CPUs available]."),
    ):
        command = option(command)
    return command


def _targets(paths: Sequence[str], exclude: Sequence[str], gitignore: bool) -> list[Any]:
    """Return the models the paths name or hold (folders are walked), sorted."""
    from graphcheck.discovery import Walk, discover

    targets = discover(paths, Walk(exclude=tuple(exclude), gitignore=gitignore))
    if not targets:
        click.echo("warning: no model files found in the given paths", err=True)
    return targets


def _check_all(targets: Sequence[Any], jobs: int | None, settings: Any = None) -> list[Any]:
    """Check every target (in parallel when there are many); findings only, no graphs."""
    from graphcheck.engine import Settings
    from graphcheck.runner import check_all, default_jobs

    return check_all(targets, settings or Settings(), jobs or default_jobs())


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", default="text", show_default=True,
              help="Output format (text, json, or any registered reporter).")
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option("--fail-on", type=click.Choice(SEVERITIES), default=None,
              help="Exit 1 when a finding is at least this severe  [default: the "
                   "configuration's fail-on, else warning].")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@_walk_options
@config_options
def check(paths: tuple[str, ...], fmt: str, output: str | None, fail_on: str | None,
          exit_zero: bool, exclude: tuple[str, ...], gitignore: bool, jobs: int | None,
          **configuration: Any) -> None:
    """Check model files for shape, weight and design problems."""
    from graphcheck.reporters import RenderOptions, reporters

    known = reporters()
    if fmt not in known:
        raise click.BadParameter(f"unknown format {fmt!r}; choose from {', '.join(sorted(known))}",
                                 param_hint="--format")
    targets = _targets(paths, exclude, gitignore)
    request, settings = prepare(configuration, targets)
    results, _ = apply_baseline(_check_all(targets, jobs, settings), configuration)
    color = output is None and fmt == "text" and sys.stdout.isatty()
    _emit(known[fmt].render(results, RenderOptions(color=color, version=__version__)), output)
    threshold = fail_threshold(request, fail_on)
    failed = any(f.severity >= threshold for r in results for f in r.findings)
    sys.exit(1 if failed and not exit_zero else 0)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False), help="Write the report here.")
@_walk_options
def explain(paths: tuple[str, ...], fmt: str, output: str | None, exclude: tuple[str, ...],
            gitignore: bool, jobs: int | None) -> None:
    """Explain every layer: output shapes, parameters, and what each recurrent layer does."""
    from graphcheck.engine import Settings
    from graphcheck.runner import default_jobs, explain_all

    done = explain_all(_targets(paths, exclude, gitignore), Settings(), jobs or default_jobs(), fmt)
    if fmt == "json":  # the same document as reporters.explain.render_json
        _emit(json.dumps(done, indent=2) + "\n", output)
    else:
        _emit("\n".join(done), output)


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
    from graphcheck.rules.registry import find_rule

    rule = find_rule(key)
    if rule is None:
        raise click.BadParameter(f"no rule {key!r}; `graphcheck rules` lists them",
                                 param_hint="KEY")
    click.echo(rule.documentation(), nl=False)
