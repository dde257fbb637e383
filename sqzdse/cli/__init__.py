"""The `sqzdse` command. Subcommands load lazily so `sqzdse count` never imports torch or Dash."""

from __future__ import annotations

import importlib
import sys
import warnings

import click

from sqzdse.errors import SqzdseError

# name -> "module:attribute"; each subcommand lives in its own module.
COMMANDS = {
    "compress": "sqzdse.cli.compress:compress",
    "count": "sqzdse.cli.count:count",
    "decompress": "sqzdse.cli.compress:decompress",
    "train": "sqzdse.cli.train:train",
    "search": "sqzdse.cli.search:search",
    "export": "sqzdse.cli.export:export",
    "export-model": "sqzdse.cli.export_model:export_model",
    "studies": "sqzdse.cli.export:studies",
    "dashboard": "sqzdse.cli.dashboard:dashboard",
    "fidelity": "sqzdse.cli.fidelity:fidelity",
    "retrain": "sqzdse.cli.retrain:retrain",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sqzdse")
def cli() -> None:
    """Design-space exploration for the SqueezeNet family of CNNs."""


def main(argv: list[str] | None = None) -> int:
    """Entry point: user errors become one message on stderr and a non-zero exit code."""
    warnings.filterwarnings("ignore", category=FutureWarning, module="optuna")
    try:
        cli.main(args=argv, prog_name="sqzdse", standalone_mode=False)
    except SqzdseError as err:
        click.echo(f"sqzdse: error: {err}", err=True)
        return err.exit_code
    except click.exceptions.Abort:
        click.echo("sqzdse: aborted", err=True)
        return 130
    except click.ClickException as err:
        err.show()
        return err.exit_code
    except click.exceptions.Exit as err:
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
