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


# The commands by what they are for, in the order a user meets them, each with a line for the
# listing: `sqzdse --help` reads as a table of contents of the documentation (docs/guides/, one
# guide per command). `sqzdse COMMAND --help` gives the command's own, longer help.
SECTIONS: dict[str, dict[str, str]] = {
    "Explore": {
        "count": "Count a network exactly: parameters, MACs, int8 memory.",
        "search": "Search a space of networks with Optuna, proxy-trained.",
        "dashboard": "Browse the studies: Pareto fronts, live while they run.",
        "fidelity": "Measure how well the proxy ranks networks.",
    },
    "Train": {
        "train": "Train one network's proxy and report its accuracy.",
        "retrain": "Train chosen networks longer; measure them on test.",
    },
    "Deploy": {
        "export-model": "Write a trial's network as ONNX (fp32 or int8) or .pt.",
        "compress": "Prune, share and Huffman-code a trial's weights.",
        "decompress": "Decode a compressed file back to a network.",
    },
    "Share": {
        "export": "Write a study's trials to CSV, Parquet or JSON; copy it.",
        "studies": "List the studies in a storage.",
    },
}


class LazyGroup(click.Group):
    """A group whose commands are imported only when one is asked for, listed by section."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr = COMMANDS[name].split(":")
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands by section (SECTIONS), names padded so every section lines up."""
        pad = max(len(name) for name in COMMANDS)
        for title, lines in SECTIONS.items():
            with formatter.section(title):
                formatter.write_dl([(name.ljust(pad), line) for name, line in lines.items()])


EPILOG = """\b
Start with:  sqzdse count --preset v1.1;  sqzdse search --space micro
Options:     sqzdse COMMAND --help
Docs:        docs/ (a guide per command, the space file, export columns,
             errors, the Python API); build the site with
             pip install -e '.[docs]' && sphinx-build docs docs/_build/html"""


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EPILOG,
)
@click.version_option(package_name="sqzdse")
def cli() -> None:
    """Design-space exploration for the SqueezeNet family of CNNs.

    Count a network's parameters, multiply-accumulates and int8 memory exactly; search a space of
    networks with Optuna, each trained briefly as a proxy for its accuracy; see the trade-offs in a
    dashboard; then retrain, compress and export the networks you pick. Studies live in an Optuna
    storage: an SQLite file under studies/ by default, PostgreSQL to share one between machines.
    """


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
