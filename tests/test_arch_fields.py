"""The architecture-field table (`arch.ARCH_FIELDS`): every list of fields elsewhere derives
from it, so a field added to ArchConfig appears everywhere its metadata says."""

import dataclasses

import pytest
from click.testing import CliRunner

from sqzdse.arch import ARCH_FIELDS, DESIGN_GROUPS, PRESETS, ArchConfig, Group, arch_field
from sqzdse.cli import cli
from sqzdse.cli.options import ARCH_OPTION_NAMES, arch_from_options
from sqzdse.dashboard import details, figures
from sqzdse.records import ARCH_COLUMNS, DESIGN_COLUMNS, TRIAL_COLUMNS
from sqzdse.space import METAPARAMETERS

COLUMNS = [f for f in ARCH_FIELDS if f.column]
FLAGS = [f for f in ARCH_FIELDS if f.flag]


def test_every_archconfig_field_is_in_the_table_with_its_python_type():
    assert [f.name for f in ARCH_FIELDS] == [f.name for f in dataclasses.fields(ArchConfig)]
    cfg = ArchConfig()
    for f in ARCH_FIELDS:
        assert isinstance(getattr(cfg, f.name), f.type), f.name
        assert f.meaning and f.label and f.short, f.name


def test_columns_come_from_the_table_in_group_order():
    by_name = {c.name: c for c in TRIAL_COLUMNS}
    for f in COLUMNS:
        assert (by_name[f.name].dtype, by_name[f.name].meaning) == (f.dtype, f.meaning)
    assert [f.name for f in ARCH_FIELDS if not f.column] == ["in_channels", "dropout"]
    assert list(ARCH_COLUMNS) == sorted(
        (f.name for f in COLUMNS), key=lambda n: list(Group).index(arch_field(n).group)
    )
    assert list(DESIGN_COLUMNS) == [n for n in ARCH_COLUMNS if arch_field(n).design]
    assert {arch_field(n).group for n in DESIGN_COLUMNS} == set(DESIGN_GROUPS)


def test_the_paper_metaparameters_are_a_group():
    assert METAPARAMETERS == ("base_e", "incr_e", "pct_3x3", "freq", "sr")
    assert [f.name for f in ARCH_FIELDS if f.group is Group.METAPARAMETER] == list(METAPARAMETERS)


def test_every_flag_field_is_a_flag_of_count_and_train():
    assert list(ARCH_OPTION_NAMES) == [f.name for f in FLAGS]
    for command in ("count", "train"):
        text = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output
        for f in FLAGS:
            assert f.flag_name in text, (command, f.name)
    assert "--in-channels" not in text


@pytest.mark.parametrize("f", FLAGS, ids=lambda f: f.name)
def test_each_flag_sets_its_field(f):
    v11 = getattr(PRESETS["v1.1"], f.name)
    value = ",".join(v11) if f.type is tuple else v11
    assert getattr(arch_from_options("v1.0", **{f.name: value}), f.name) == v11


def test_the_train_command_of_the_dashboard_names_every_flag_field():
    named = [name for name, _ in (*details.ARCH_FLAGS, *details.PRESET_FLAGS)]
    assert sorted(named) == sorted(f.name for f in FLAGS)
    assert all(flag == arch_field(name).flag_name for name, flag in details.ARCH_FLAGS)


def test_the_dashboard_colours_and_tabulates_every_design_field():
    headers = [column for column, _, _ in figures.TABLE_COLUMNS]
    for name in DESIGN_COLUMNS:
        assert name in figures.COLOR_COLUMNS and name in headers, name
    assert next(iter(figures.COLOR_COLUMNS)) == "bypass"  # the default colour
