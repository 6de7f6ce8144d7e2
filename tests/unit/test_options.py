"""One table of search options: the magic's parser, the Python keywords, the checks and the README agree with it."""

from __future__ import annotations

import inspect
import re

import pytest
from helpers import ROOT

from nnhp_magics import api
from nnhp_magics.errors import NnhpError
from nnhp_magics.search.options import SEARCH_OPTIONS, check_values


def readme_defaults() -> dict[str, str]:
    """Each flag of the README's options table with the text of its row's default cell."""
    section = ROOT.joinpath("README.md").read_text().split("## Options of `%%hpsearch", 1)[1].split("\n#", 1)[0]
    defaults = {}
    for row in section.splitlines():
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        if len(cells) == 3 and cells[0].startswith("`"):
            for flag in re.findall(r"`(--[a-z-]+)", cells[0]):
                defaults[flag] = cells[2]
    return defaults


def test_every_option_is_a_keyword_of_hpsearch_with_the_same_default():
    parameters = inspect.signature(api.hpsearch).parameters
    for option in SEARCH_OPTIONS:
        assert option.name in parameters, option.name
        assert parameters[option.name].default == option.default, option.name


def test_the_readme_table_lists_every_option_with_its_default():
    shown = readme_defaults()
    for option in SEARCH_OPTIONS:
        assert shown.get(option.flag) == option.shown_default, option.flag


def test_the_magic_parses_every_option_to_its_default():
    from IPython.core.magic_arguments import parse_argstring

    from nnhp_magics.magics.hpsearch import NnhpMagics

    args = parse_argstring(NnhpMagics.hpsearch, "build X y")
    for option in SEARCH_OPTIONS:
        assert getattr(args, option.name) == option.default, option.name


def test_the_magic_converts_each_option_with_its_type():
    from IPython.core.magic_arguments import parse_argstring

    from nnhp_magics.magics.hpsearch import NnhpMagics

    args = parse_argstring(NnhpMagics.hpsearch, "build X y --cv 3 --timeout 2.5 --jit --batch-size 64")
    assert (args.cv, args.timeout, args.jit, args.batch_size) == (3, 2.5, True, 64)
    assert parse_argstring(NnhpMagics.hpsearch, "build X y --no-jit").jit is False
    assert parse_argstring(NnhpMagics.hpsearch, "build X y").jit is None


@pytest.mark.parametrize("option", [o for o in SEARCH_OPTIONS if o.valid is not None], ids=lambda o: o.flag)
def test_a_value_outside_an_options_rule_names_the_flag_and_the_rule(option):
    bad = -1 if option.kind is int else -1.0
    with pytest.raises(NnhpError, match=re.escape(f"{option.flag} must be {option.rule}, got {bad!r}.")):
        check_values({option.name: bad})


def test_values_inside_the_rules_and_unset_options_pass():
    check_values({"cv": 2, "trials": 1, "patience": 0, "timeout": 0.5, "pack": None, "warmup": 0})
