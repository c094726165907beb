"""Where and how ``check`` writes: colour choice, ``--output`` (``-`` is stdout), statistics."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

COLORS = ("auto", "always", "never")


def use_color(choice: str, fmt: str, output: str | None,
              environ: Mapping[str, str] | None = None) -> bool:
    """Decide on ANSI colour: the flag first, then NO_COLOR and FORCE_COLOR, then a terminal."""
    environ = os.environ if environ is None else environ
    if fmt != "text" or choice == "never":
        return False
    if choice == "always":
        return True
    if environ.get("NO_COLOR"):  # https://no-color.org: set and not empty
        return False
    if environ.get("FORCE_COLOR"):
        return True
    return to_stdout(output) and sys.stdout.isatty()


def to_stdout(output: str | None) -> bool:
    """Return True when the report goes to standard output (no ``--output``, or ``-``)."""
    return output in (None, "-")


def emit(text: str, output: str | None, color: bool = False) -> None:
    """Write to ``--output`` (creating its folders) or stdout; a write that fails exits 2."""
    from graphcheck.reporters.escape import surrogates

    text = surrogates(text)  # the last guard: whatever a reporter missed still encodes
    if to_stdout(output):
        click.echo(text, nl=False, color=color or None)  # None: click's own terminal check
        return
    assert output is not None
    path = Path(output)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        click.echo(f"error: cannot write the report to {output}: {error.strerror or error}", err=True)
        sys.exit(2)


def stopped_by() -> int | None:
    """Return the signal that cut the run short, if any; a second one then exits quietly.

    The partial report is written after the run's own handlers are gone: without this, a
    second Ctrl-C while it is written would be a KeyboardInterrupt traceback.
    """
    import signal

    from graphcheck.runner import interrupted

    stopped = interrupted()
    if stopped is not None and _in_main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _leave)
    return stopped


def _in_main_thread() -> bool:
    """Return True in the main thread, the only one that may set signal handlers."""
    import threading

    return threading.current_thread() is threading.main_thread()


def _leave(signum: int, frame: object) -> None:
    """Exit 128 + the signal, without a traceback."""
    raise SystemExit(128 + signum)


def exit_code(stopped: int | None, failed: bool) -> int:
    """Return the exit status: 128 + the signal that cut the run short, else 1 on failure."""
    if stopped is not None:
        return 128 + stopped
    return 1 if failed else 0


def partial_baseline(options: Mapping[str, Any], stopped: int | None) -> Mapping[str, Any]:
    """Return the options with no baseline to write when the run was cut short.

    A baseline written from a partial run would accept the "not checked" findings and miss
    every finding in the files that were not checked; applying an existing one is fine.
    """
    if stopped is None or not options.get("baseline"):
        return options
    if options.get("write_baseline") or not Path(options["baseline"]).exists():
        click.echo("graphcheck: the run was interrupted; the baseline was not written", err=True)
        return {**options, "baseline": None}
    return options


def statistics(results: Sequence[Any], fmt: str) -> str:
    """Return the count of findings per rule, as JSON for ``--format json`` and a table otherwise."""
    from graphcheck.reporters.text import render_statistics
    from graphcheck.reporters.text import statistics as rows

    if fmt != "json":
        return render_statistics(results)
    import json

    return json.dumps([{"code": code, "rule": rule, "severity": str(severity), "count": count}
                       for count, code, rule, severity in rows(results)], indent=2) + "\n"


def show_settings(request: Any, settings: Any, target: Any) -> str:
    """Describe the configuration that governs one file, as ``--show-settings`` prints it."""
    config = request.config_for(target.path)
    chosen = settings.for_file(target.path)
    lines = [f"file: {target.display}",
             f"configuration: {config.source or '(none: defaults)'}",
             f"fail-on: {request.fail_on(None)}",
             "rules: " + ", ".join(_rules(chosen)),
             f"exclude: {list(config.exclude) if config.exclude is not None else '(defaults)'}",
             f"extend-exclude: {list(config.extend_exclude)}"]
    lines += [f"rules.{rule}.{key}: {value!r}" for rule, table in sorted(chosen.options.items())
              for key, value in sorted(table.items())]
    lines += [f"per-layer-ignores: {pattern} -> {', '.join(sorted(rules))}"
              for pattern, rules in sorted(chosen.selection.layer_ignores.items())]
    lines.append(f"limits: {chosen.limits}")
    return "\n".join(lines) + "\n"


def _rules(settings: Any) -> list[str]:
    """Name the rules a file's settings select by code and name, in code order."""
    from graphcheck.engine import enabled_rules

    return [f"{r.code} {r.name}" for r in enabled_rules(settings)]
