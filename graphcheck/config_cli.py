"""The ``check`` command's configuration, suppression and baseline options, kept out of cli.py."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from graphcheck.findings import Severity

Command = Callable[..., None]


def with_options(command: Command, *options: Callable[[Command], Command]) -> Command:
    """Apply click option decorators so that --help lists them in the order given."""
    for option in reversed(options):  # decorators apply bottom-up
        command = option(command)
    return command


def config_options(command: Command) -> Command:
    """Add --select, --ignore, --extend-select, --config, --no-config and the baseline options."""
    return with_options(
        command,
        click.option("--select", multiple=True, metavar="RULES",
                     help="Only these rules: codes, code prefixes (GC3) or names, comma-separated; "
                          "replaces the configuration's select."),
        click.option("--ignore", multiple=True, metavar="RULES",
                     help="Skip these rules (added to the configuration's ignore)."),
        click.option("--extend-select", multiple=True, metavar="RULES",
                     help="Add these rules to the selection."),
        click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
                     help="Use this pyproject.toml or graphcheck.toml for every file."),
        click.option("--no-config", is_flag=True, help="Ignore every configuration file."),
        click.option("--trust-config", is_flag=True,
                     help="Let configuration found in the checked folders silence unsafe-code "
                          "and lfs-pointer (off: a pull request could add such a file)."),
        click.option("--baseline", type=click.Path(dir_okay=False), metavar="FILE",
                     help="Report only findings not in FILE; when FILE does not exist, write "
                          "today's findings to it and exit 0."),
        click.option("--write-baseline", is_flag=True,
                     help="With --baseline: (re)write FILE from today's findings."),
    )


def request_for(options: Mapping[str, Any]) -> Any:
    """Return the run's configuration request from the command line (validated)."""
    from graphcheck.config import ConfigError, Request, clear_caches, cli_selectors

    clear_caches()
    try:
        select = cli_selectors(options["select"], "--select") if options["select"] else None
        request = Request(select=select, ignore=cli_selectors(options["ignore"], "--ignore"),
                          extend_select=cli_selectors(options["extend_select"], "--extend-select"),
                          config_file=Path(options["config_file"]) if options["config_file"] else None,
                          use_config=not options["no_config"],
                          trust_config=options["trust_config"])
        request.config_for(None)
    except ConfigError as error:
        raise click.UsageError(str(error)) from error
    if options["write_baseline"] and not options["baseline"]:
        raise click.UsageError("--write-baseline needs --baseline FILE")
    return request


def walk_for(request: Any, options: Mapping[str, Any]) -> Any:
    """Return how to walk the paths: the configuration's excludes, then the command line's."""
    from graphcheck.config import ConfigError, Request
    from graphcheck.discovery import Patterns, Walk

    try:
        config = (request or Request()).config_for(None)
    except ConfigError as error:
        raise click.UsageError(str(error)) from error
    cwd = Path.cwd()
    excludes: list[Patterns] = []
    if options["exclude"]:  # like ruff and flake8, --exclude replaces the configured exclude
        excludes.append(Patterns(patterns=tuple(options["exclude"]), base=cwd))
    elif config.exclude is not None:
        excludes.append(Patterns(patterns=config.exclude, base=config.root))
    excludes += [Patterns(patterns=config.extend_exclude, base=config.root),
                 Patterns(patterns=tuple(options["extend_exclude"]), base=cwd)]
    replaced = bool(options["exclude"]) or config.exclude is not None
    return Walk(excludes=tuple(excludes), defaults=not replaced, gitignore=options["gitignore"],
                force_exclude=options["force_exclude"])


def prepare(request: Any, targets: Sequence[Any]) -> Any:
    """Return the run's settings after validating the configuration of every target."""
    from graphcheck.config import ConfigError
    from graphcheck.engine import load_plugins
    from graphcheck.settings import Settings

    load_plugins()  # a broken plugin stops the run here, not as a finding per file
    settings = Settings(config=request)
    try:
        for target in targets:
            settings.for_file(target.path)
    except ConfigError as error:
        raise click.UsageError(str(error)) from error
    return settings


def fail_threshold(request: Any, flag: str | None) -> Severity:
    """Return the severity that makes the run fail: --fail-on, the configuration's, or warning."""
    threshold: Severity = request.fail_on(flag)
    return threshold


def apply_baseline(results: list[Any], options: Mapping[str, Any],
                   quiet: bool = False) -> tuple[list[Any], bool]:
    """Write or apply --baseline; return the results to report and whether it was written."""
    if not options["baseline"]:
        return results, False
    from graphcheck import baseline

    path = Path(options["baseline"])
    if options["write_baseline"] or not path.exists():
        count = baseline.write(path, results)
        if not quiet:
            click.echo(f"wrote {count} finding{'s' if count != 1 else ''} to baseline {path}; "
                       "later runs with --baseline report only new findings", err=True)
        return [_without_findings(r) for r in results], True
    try:
        kept, dropped = baseline.only_new(results, path)
    except baseline.BaselineError as error:
        raise click.UsageError(str(error)) from error
    if dropped and not quiet:
        click.echo(f"{dropped} finding{'s' if dropped != 1 else ''} hidden by baseline {path}",
                   err=True)
    return kept, False


def _without_findings(result: Any) -> Any:
    """Return a result with its findings accepted (they are now in the baseline)."""
    from dataclasses import replace

    return replace(result, findings=[])
