"""``dispatch-server`` plugins: sub-commands added through the ``dispatch_server.commands``
entry-point group, without the server importing them (server/cli.py's docstring)."""

from __future__ import annotations

import argparse
import sys
import types
from collections.abc import Callable
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from server import cli
from server.cli import COMMANDS_GROUP, Subcommands, main

AddCommands = Callable[[Subcommands], dict[str, cli.Handler]]


def _hello(commands: Subcommands) -> dict[str, cli.Handler]:
    sub = commands.add_parser("hello", help="say hello from a plugin")
    sub.add_argument("--code", type=int, default=0)

    def run(args: argparse.Namespace) -> int:
        print("hello from the plugin")
        return int(args.code)

    return {"hello": run}


def _install(monkeypatch: pytest.MonkeyPatch, **plugins: AddCommands | str) -> None:
    """Entry points named after the keywords: a function (in a fake module) or a raw value."""
    points = []
    for name, plugin in plugins.items():
        if isinstance(plugin, str):
            value = plugin
        else:
            module = types.ModuleType(f"fake_plugin_{name}")
            module.add_commands = plugin  # type: ignore[attr-defined]
            monkeypatch.setitem(sys.modules, module.__name__, module)
            value = f"{module.__name__}:add_commands"
        points.append(EntryPoint(name=name, value=value, group=COMMANDS_GROUP))
    monkeypatch.setattr(
        cli, "entry_points", lambda group: points if group == COMMANDS_GROUP else []
    )


def _help(capsys: pytest.CaptureFixture[str]) -> tuple[str, str]:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def test_a_plugin_adds_a_sub_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(monkeypatch, greet=_hello)
    out, err = _help(capsys)
    assert "hello" in out and "say hello from a plugin" in out and err == ""
    assert main(["hello", "--code", "3"]) == 3
    assert capsys.readouterr().out == "hello from the plugin\n"


def test_a_plugin_that_is_not_installed_is_not_offered(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _install(monkeypatch, demo="no_such_plugin_package.cli:add_commands", greet=_hello)
    out, err = _help(capsys)
    assert err == ""  # a server installed alone: nothing to warn about
    assert "hello" in out and "serve" in out and "no_such_plugin" not in out
    with pytest.raises(SystemExit) as done:
        main(["demo"])
    assert done.value.code == 2  # argparse: invalid choice


def test_a_broken_plugin_is_skipped_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def broken(commands: Subcommands) -> dict[str, cli.Handler]:
        raise RuntimeError("plugin bug")

    def takes_serve(commands: Subcommands) -> dict[str, cli.Handler]:
        commands.add_parser("serve")
        return {"serve": lambda args: 99}

    def missing_dependency(commands: Subcommands) -> dict[str, cli.Handler]:
        import no_such_dependency_of_the_plugin  # type: ignore[import-not-found]  # noqa: F401

        return {}

    _install(
        monkeypatch,
        a=broken,
        b=takes_serve,
        c=missing_dependency,
        d="fake_module_without:add_commands",
        greet=_hello,
    )
    monkeypatch.setitem(sys.modules, "fake_module_without", types.ModuleType("without"))
    out, err = _help(capsys)
    warnings = err.splitlines()
    assert len(warnings) == 4 and all(
        "warning: ignoring the commands of plugin" in w for w in warnings
    )
    assert "plugin bug" in err and "conflicting subparser: serve" in err
    assert "no_such_dependency_of_the_plugin" in err  # a missing dependency is not "not installed"
    assert "hello" in out
    # the server's own commands still work, and a plugin cannot replace one
    assert main(["users", "list", "--db", str(tmp_path / "none.sqlite")]) == 2
    assert "no database" in capsys.readouterr().err
