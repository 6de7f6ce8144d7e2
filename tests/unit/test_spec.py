"""Tests for nnhp_magics.core.spec: every form of the spec (README "The spec, form by form") and every spec error."""

from __future__ import annotations

import ast
import math

import numpy as np
import optuna
import pytest
from helpers import ROOT
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from nnhp_magics.core.space import Categorical, Fixed, FloatRange, IntRange, ScipyPpf
from nnhp_magics.core.spec import parse_spec, space_from_dict
from nnhp_magics.errors import NnhpError, SpecError

optuna.logging.set_verbosity(optuna.logging.WARNING)


def dist(line: str, namespace: dict | None = None):
    """The distribution of a one-line spec."""
    (param,) = parse_spec(line, namespace).params
    return param.dist


def error(text: str, namespace: dict | None = None) -> SpecError:
    """The SpecError a spec raises."""
    with pytest.raises(SpecError) as info:
        parse_spec(text, namespace)
    return info.value


def caret_at(err: SpecError) -> str:
    """The original text from the caret on."""
    return err.text[err.col :]


class _NoSuggestion:
    suggestion = None


NS = {"np": np, "stats": stats, "lr": _NoSuggestion(), "lo": 2, "hi": np.int64(8)}


# --- forms ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("act = choice('relu', 'tanh')", Categorical(("relu", "tanh"))),
        ('act = ["relu", "tanh"]', Categorical(("relu", "tanh"))),
        ("x = [-1, 0, 2.5, +3]", Categorical((-1, 0, 2.5, 3))),
        ("x = choice(True, False, None)", Categorical((True, False, None))),
        ("sizes = [(64, 32), (128,), ()]", Categorical(((64, 32), (128,), ()))),
        ("x = [{lo}, {lo * 10}]", Categorical((2, 20))),
        ("x = choice({'a' + 'b'}, 'c')", Categorical(("ab", "c"))),
        ("x = [1, 1.5]", Categorical((1, 1.5))),
    ],
)
def test_choice_forms(line, expected):
    assert dist(line, NS) == expected


def test_numpy_scalars_in_a_choice_become_python_scalars():
    d = dist("x = [{np.int64(3)}, {np.float32(0.5)}]", NS)
    assert d.choices == (3, 0.5)
    assert all(type(c) in (int, float) for c in d.choices)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("n = int(1, 99)", IntRange(1, 99)),
        ("n = int(-5, 5)", IntRange(-5, 5)),
        ("n = int(0, 100, step=10)", IntRange(0, 100, step=10)),
        ("n = int(1, 1024, log=True)", IntRange(1, 1024, log=True)),
        ("n = int(1, 10, log=False, step=3)", IntRange(1, 10, step=3)),
        ("n = int({lo}, {hi})", IntRange(2, 8)),
        ("n = int(1.0, 4)", IntRange(1, 4)),
    ],
)
def test_int_forms(line, expected):
    d = dist(line, NS)
    assert d == expected
    assert type(d.low) is int and type(d.high) is int


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("x = float(0, 1)", FloatRange(0.0, 1.0)),
        ("x = uniform(-1.5, 2)", FloatRange(-1.5, 2.0)),
        ("x = float(0, 0.5, step=0.1)", FloatRange(0.0, 0.5, step=0.1)),
        ("lr = loguniform(1e-4, 1e-1)", FloatRange(1e-4, 1e-1, log=True)),
        ("lr = reciprocal(3e-4, 3e-2)", FloatRange(3e-4, 3e-2, log=True)),
        ("lr = float(1e-4, 1, log=True)", FloatRange(1e-4, 1.0, log=True)),
        ("lr = float({lo}, {hi})", FloatRange(2.0, 8.0)),
    ],
)
def test_float_forms(line, expected):
    d = dist(line, NS)
    assert d == expected
    assert type(d.low) is float and type(d.high) is float


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("1, 10", IntRange(1, 9)),
        ("10", IntRange(0, 9)),
        ("0, 100, 10", IntRange(0, 90, step=10)),
        ("0, 101, 10", IntRange(0, 100, step=10)),
        ("10, 0, -3", IntRange(1, 10, step=3)),
        ("-5, 5, 5", IntRange(-5, 0, step=5)),
    ],
)
def test_range_is_exactly_pythons_range(args, expected):
    d = dist(f"n = range({args})")
    assert d == expected
    assert d.values() == sorted(eval(f"range({args})"))


@pytest.mark.parametrize(
    ("line", "value"),
    [
        ("x = 5", 5),
        ("x = -5", -5),
        ("x = 3e-3", 3e-3),
        ('x = "relu"', "relu"),
        ("x = True", True),
        ("x = None", None),
        ("x = fixed([8])", [8]),
        ("x = fixed((64, 32))", (64, 32)),
        ("x = fixed({'a': 1, 'b': [2, 3]})", {"a": 1, "b": [2, 3]}),
        ("x = fixed({ {'a': 1} })", {"a": 1}),
        ("x = fixed(7)", 7),
        ("x = {5}", 5),
        ("x = {lo * 1.5}", 3.0),
        ("x = {'relu'}", "relu"),
    ],
)
def test_constants(line, value):
    d = dist(line, NS)
    assert isinstance(d, Fixed)
    assert d.value == value and type(d.value) is type(value)


def test_fixed_passes_any_evaluated_object_unchanged():
    marker = object()
    assert dist("x = fixed({marker})", {"marker": marker}).value is marker
    assert list(dist("x = fixed({np.arange(3)})", NS).value) == [0, 1, 2]


def test_a_dict_as_a_whole_value_needs_fixed():
    err = error("x = {'a': 1}")
    assert "of type dict" in err.message
    assert err.hint == "to pass it unchanged, write fixed({'a': 1})"


def test_comments_blank_lines_and_line_numbers():
    text = "# a comment\n\nn = int(1, 3)  # trailing comment\n   \nact = ['a#b', \"if x\"]\n"
    space = parse_spec(text)
    assert space.names == ["n", "act"]
    assert [p.line for p in space] == [3, 5]
    assert space["n"].text == "n = int(1, 3)  # trailing comment"
    assert space["act"].dist == Categorical(("a#b", "if x"))
    assert space["act"].condition is None


def test_empty_spec_is_an_empty_space():
    assert len(parse_spec("\n# nothing\n")) == 0


def test_namespace_is_not_modified():
    ns = {"k": 3}
    parse_spec("x = {k}", ns)
    assert ns == {"k": 3}


def test_notebook_namespace_with_builtins_is_used_as_is():
    ns = {"__builtins__": __builtins__, "values": [1, 2, 4]}
    assert dist("x = {values}", ns) == Categorical((1, 2, 4))


# --- {expr} as the whole right-hand side ------------------------------------------------


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("np.arange(1, 100)", IntRange(1, 99)),
        ("np.arange(0, 100, 5)", IntRange(0, 95, step=5)),
        ("list(range(2, 12, 2))", IntRange(2, 10, step=2)),
        ("range(3, 6)", IntRange(3, 5)),
        ("[1, 2, 4, 8]", Categorical((1, 2, 4, 8))),
        ("[3, 2, 1]", Categorical((3, 2, 1))),
        ("['relu', 'selu']", Categorical(("relu", "selu"))),
        ("np.array([0.1, 0.2])", Categorical((0.1, 0.2))),
        ("((64,), (32, 32))", Categorical(((64,), (32, 32)))),
        ("stats.reciprocal(3e-4, 3e-2)", FloatRange(3e-4, 3e-2, log=True)),
        ("stats.loguniform(a=1e-3, b=1)", FloatRange(1e-3, 1.0, log=True)),
        ("stats.uniform(1, 2)", FloatRange(1.0, 3.0)),
        ("stats.uniform(loc=-1, scale=0.5)", FloatRange(-1.0, -0.5)),
        ("stats.randint(1, 10)", IntRange(1, 9)),
        ("stats.randint(low=0, high=3)", IntRange(0, 2)),
    ],
)
def test_expression_values(expr, expected):
    d = dist(f"x = {{{expr}}}", NS)
    assert d == expected
    if isinstance(d, IntRange):
        assert all(type(v) is int for v in (d.low, d.high, d.step))
    if isinstance(d, Categorical):
        assert all(not isinstance(v, np.generic) for v in d.choices)


@pytest.mark.parametrize(
    "expr", ["stats.norm(0, 1)", "stats.expon(scale=2)", "stats.loguniform(1e-3, 1, loc=1)"]
)
def test_other_continuous_scipy_families_sample_through_ppf(expr):
    d = dist(f"x = {{{expr}}}", NS)
    assert isinstance(d, ScipyPpf)
    frozen = eval(expr, dict(NS))
    assert d.name == frozen.dist.name
    assert d.value_at(0.5) == pytest.approx(frozen.ppf(0.5))


@pytest.mark.parametrize(
    ("expr", "fragment", "hint"),
    [
        ("stats.poisson(3)", "discrete family", "randint"),
        ("object()", "of type object", "fixed({object()})"),
        ("np.zeros((2, 2))", "2-D array", None),
        ("[]", "empty list", None),
        ("[1, 1.0]", "duplicate value 1.0", None),
        ("np.arange(4, 5)", "a choice of one value", "`4` alone"),
        ("stats.uniform(0, -1)", "not a range", "lo must be < hi"),
    ],
)
def test_expression_values_that_are_errors(expr, fragment, hint):
    err = error(f"x = {{{expr}}}", NS)
    assert f"`{{{expr}}}`" in err.message and fragment in err.message
    assert (err.line, err.col) == (1, 4)
    if hint:
        assert hint in err.hint


def test_expression_evaluating_to_none_says_so():
    err = error("n = 3\nlr = {lr.suggestion}", NS)
    assert err.message == "`{lr.suggestion}` evaluated to None"
    assert "%lrfind" in err.hint
    assert (err.line, err.col) == (2, 5)


def test_expression_raising_on_none_names_the_expression_and_the_exception():
    err = error("lr = loguniform({lr.suggestion / 10}, 1)", NS)
    assert "`{lr.suggestion / 10}` raised TypeError" in err.message
    assert "NoneType" in err.message
    assert "%lrfind" in err.hint
    assert caret_at(err).startswith("{lr.suggestion / 10}")


def test_expression_raising_name_error():
    err = error("x = [1, {missing_name}]", NS)
    assert "`{missing_name}` raised NameError" in err.message
    assert "missing_name" in err.message
    assert caret_at(err).startswith("{missing_name}")


def test_expression_with_invalid_python():
    err = error("x = {1 +}", NS)
    assert "not a Python expression" in err.message and err.col == 4


def test_none_from_an_expression_inside_a_choice_is_an_error():
    err = error("x = [1, {None}]")
    assert "evaluated to None" in err.message and err.col == 8


def test_expression_columns_after_earlier_expressions():
    err = error("x = choice({lo}, {hi}, nope)", NS)
    assert caret_at(err) == "nope)"


def test_braces_nested_and_strings_inside_expressions():
    assert dist("x = {{'a': [1, 2]}['a']}") == IntRange(1, 2)
    assert dist("x = {'}' + '{'}") == Fixed("}{")


# --- errors in forms ------------------------------------------------------------------


def test_bare_word_hint_quotes_it():
    err = error("act = choice('tanh', relu)")
    assert "bare word" in err.message
    assert "did you mean 'relu'?" in err.hint
    assert caret_at(err) == "relu)"


def test_bare_word_as_whole_value_and_true_lowercase():
    assert "did you mean 'relu'?" in error("act = relu").hint
    assert "did you mean True?" in error("x = [true, False]").hint


def test_one_value_list_is_an_error():
    err = error("units = [8]")
    assert err.message == "a choice of one value"
    assert "did you mean `8` or `fixed([8])`?" in err.hint
    assert "a choice of one value" in str(err) and "fixed([8])" in str(err)
    assert (err.line, err.col) == (1, 8)


def test_one_value_choice_and_range_are_errors():
    assert "fixed('relu')" in error("x = choice('relu')").hint
    err = error("x = range(3, 4)")
    assert err.message == "a choice of one value" and "`3`" in err.hint


@pytest.mark.parametrize("line", ["x = choice()", "x = []"])
def test_empty_choice(line):
    err = error(line)
    assert "empty choice" in err.message and err.col == 4


@pytest.mark.parametrize(
    ("line", "culprit"),
    [("x = [1, 2, 1]", "1]"), ("x = choice('a', 'a')", "'a')"), ("x = [1, True]", "True]")],
)
def test_duplicate_choice_values(line, culprit):
    err = error(line)
    assert "duplicate" in err.message
    assert caret_at(err) == culprit


def test_unknown_form_suggests_the_closest():
    err = error("lr = logunifrom(1e-4, 1e-1)")
    assert "unknown form `logunifrom`" in err.message
    assert err.hint == "did you mean loguniform?"
    assert (err.line, err.col) == (1, 5)
    rendered = str(err).splitlines()
    assert rendered[1] == "    lr = logunifrom(1e-4, 1e-1)"
    assert rendered[2] == "    " + " " * 5 + "^"


def test_unknown_form_without_close_match_lists_forms():
    assert "choice" in error("x = zzz(1)").hint


def test_python_call_without_braces_suggests_braces():
    err = error("x = np.arange(1, 100)")
    assert "{np.arange(1, 100)}" in err.hint


@pytest.mark.parametrize(
    ("line", "message", "hint", "culprit"),
    [
        ("n = int(5, 1)", "empty range", "lo must be < hi", "5, 1)"),
        ("n = int(3, 3)", "empty range", "lo must be < hi", "3, 3)"),
        ("x = float(1, 0.5)", "empty range", "lo must be < hi", "1, 0.5)"),
        ("x = uniform(2, 2)", "empty range", "lo must be < hi", "2, 2)"),
        ("n = int(0, 8, log=True)", "log scale", "log needs lo > 0", "0, 8"),
        ("x = loguniform(0, 1)", "log scale", "log needs lo > 0", "0, 1)"),
        ("x = reciprocal(-1, 1)", "log scale", "log needs lo > 0", "-1, 1)"),
        ("x = float(0, 1, log=True)", "log scale", "log needs lo > 0", "0, 1"),
        ("n = int(1, 10, step=4)", "does not divide", "multiple of 4", "4)"),
        ("x = float(0, 1, step=0.3)", "does not divide", "multiple of 0.3", "0.3)"),
        ("n = int(1, 9, step=2, log=True)", "cannot be combined", "drop one", "2, log"),
        ("n = int(1, 9, step=0)", "step must be > 0", None, "0)"),
        ("x = float(0, 1, step=-0.5)", "step must be > 0", None, "-0.5)"),
        ("n = int(1.5, 3)", "whole number", "float(lo, hi)", "1.5, 3)"),
        ("n = int(1, 'a')", "whole number", None, "'a')"),
        ("x = float(0, 'a')", "finite number", None, "'a')"),
        ("x = float(0, {float('inf')})", "finite number", None, "{float"),
        ("n = int(1, 5, log=1)", "True or False", None, "1)"),
        ("n = range(1, 10, 0)", "must not be 0", None, "0)"),
        ("n = range(5, 1)", "is empty", None, "range(5, 1)"),
        ("n = range(1, 'a')", "whole number", None, "'a')"),
        ("n = range()", "1 to 3 arguments", "range(start, stop[, step])", "range()"),
    ],
)
def test_bound_errors_point_at_the_culprit(line, message, hint, culprit):
    err = error(line)
    assert message in err.message
    if hint:
        assert hint in err.hint
    assert caret_at(err).startswith(culprit)
    assert err.line == 1 and err.text == line


@pytest.mark.parametrize(
    ("line", "hint", "culprit"),
    [
        ("n = int(1, 5, stepp=2)", "did you mean step=?", "stepp=2"),
        ("n = float(1, 5, lg=True)", "did you mean log=?", "lg=True"),
        ("n = int(1, 5, size=2)", "int accepts step=, log=", "size=2"),
        ("n = uniform(1, 5, log=True)", "uniform takes no keyword arguments", "log=True"),
        ("n = choice(1, 2, p=3)", "choice takes no keyword arguments", "p=3"),
    ],
)
def test_unknown_keywords(line, hint, culprit):
    err = error(line)
    assert "unknown keyword" in err.message
    assert hint in err.hint
    assert caret_at(err).startswith(culprit)


def test_repeated_keyword():
    assert "given twice" in error("n = int(1, 5, step=2, step=2)").message


@pytest.mark.parametrize(
    ("line", "message", "culprit"),
    [
        ("n = int(1)", "int takes 2 positional arguments, got 1", "int(1)"),
        ("n = loguniform(1, 2, 3)", "loguniform takes 2 positional arguments, got 3", "3)"),
        ("n = fixed()", "fixed takes 1 positional argument, got 0", "fixed()"),
        ("n = fixed(1, 2)", "fixed takes 1 positional argument, got 2", "2)"),
    ],
)
def test_wrong_number_of_positional_arguments(line, message, culprit):
    err = error(line)
    assert err.message == message
    assert caret_at(err).startswith(culprit)


def test_step_given_positionally_suggests_the_keyword():
    assert error("n = int(1, 10, 3)").hint == "write the step as a keyword: step=3"


def test_starred_arguments_are_rejected():
    assert "*arguments" in error("x = choice(*[1, 2])").message
    assert "**arguments" in error("x = int(1, 2, **{'step': 1})").message


@pytest.mark.parametrize(
    ("line", "message", "col"),
    [
        ("= 3", "expected `name = form`", 0),
        ("x 3", "expected `=` after the name", 2),
        ("x == 3", "expected `=` after the name", 2),
        ("3 = x", "expected `name = form`", 0),
        ("x", "expected `=` after the name", 1),
        ("if = 3", "Python keyword", 0),
        ("{lo} = 3", "expected `name = form`", 0),
        ("x =", "missing form", 3),
        ("x = 1 +", "invalid form", None),
        ("x = 1 if a else 2", "invalid condition", None),
        ("x = (1, 2", "invalid form", None),
        ("x = 'abc", "unterminated string", 4),
        ("x = {1", "unclosed {", 4),
        ("x = 1}", "unmatched }", 5),
        ("x = {  }", "empty {}", 4),
        ("x = 1 + 2", "not a spec form", 4),
        ("x = (1 if True else 2)", "not a spec form", 5),
        ("x = [int(1, 2), 3]", "cannot be nested", 5),
        ("x = [1, 2 * 3]", "not a literal value", 8),
        ("x = -'a'", "sign applies to numbers only", 4),
    ],
)
def test_malformed_lines(line, message, col):
    err = error(line, NS)
    assert message in err.message
    assert err.line == 1 and err.text == line
    if col is not None:
        assert err.col == col


def test_bare_tuple_is_ambiguous():
    err = error("x = (64, 32)")
    assert err.hint == "did you mean choice(64, 32) or fixed((64, 32))?"


def test_name_defined_twice():
    err = error("x = 1\n\ny = 2\nx = int(1, 3)")
    assert "defined twice (first on line 1)" in err.message
    assert (err.line, err.col) == (4, 0)


def test_line_numbers_count_blank_and_comment_lines():
    err = error("# header\n\nn = int(1, 3)\n   # note\nlr = loguniform(0, 1)")
    assert err.line == 5
    assert str(err).startswith("spec line 5: ")


def test_columns_are_characters_not_bytes():
    err = error("x = choice('é', 'ü', relu)")
    assert caret_at(err) == "relu)"


def test_leading_indentation_is_allowed_and_columns_follow_it():
    assert dist("    n = int(1, 3)") == IntRange(1, 3)
    assert caret_at(error("    n = int(3, 1)")) == "3, 1)"


def test_errors_are_user_errors():
    assert isinstance(error("x = relu"), NnhpError)


# --- conditions -----------------------------------------------------------------------


COND_SPEC = """\
n_hidden = int(0, 2)
act = ['relu', 'tanh']
n_neurons = int(1, 99) if n_hidden > 0
alpha = float(0, 1) if act == 'relu' and n_hidden in (1, 2)
beta = [1, 2] if not (n_hidden == 0 or act != "tanh")
gamma = 3 if act in ['relu'] and n_hidden is not None
label = "x if y" if n_hidden >= 1
"""


def test_conditions_are_parsed_and_compiled():
    space = parse_spec(COND_SPEC)
    assert space["n_hidden"].condition is None
    assert space["n_neurons"].condition == "n_hidden > 0"
    assert space["alpha"].condition == "act == 'relu' and n_hidden in (1, 2)"
    assert space["label"].dist == Fixed("x if y")
    assert space["label"].condition == "n_hidden >= 1"
    for p in space:
        if p.condition is not None:
            assert p._condition_tree is not None
    assert space["n_neurons"].active({"n_hidden": 1, "act": "relu"})
    assert not space["n_neurons"].active({"n_hidden": 0, "act": "relu"})
    assert space["beta"].active({"n_hidden": 1, "act": "tanh"})
    assert not space["beta"].active({"n_hidden": 1, "act": "relu"})


def test_condition_with_comment():
    space = parse_spec("a = [0, 1]\nb = int(1, 3) if a == 1  # only then")
    assert space["b"].condition == "a == 1"


def test_condition_on_a_later_parameter_is_an_error():
    err = error("n_neurons = int(1, 99) if n_hidden > 0\nn_hidden = int(0, 3)")
    assert "`n_hidden` is not an earlier parameter" in err.message
    assert "defined later (line 2)" in err.hint
    assert caret_at(err).startswith("n_hidden > 0")


def test_condition_with_unknown_name_suggests_the_closest_earlier():
    err = error("n_hidden = int(0, 3)\nn_neurons = int(1, 99) if n_hiden > 0")
    assert err.hint == "did you mean `n_hidden`?"
    assert (err.line, caret_at(err)) == (2, "n_hiden > 0")


def test_condition_on_itself_is_an_error():
    err = error("a = [0, 1]\nb = int(1, 3) if b > 1")
    assert "its own parameter" in err.hint


@pytest.mark.parametrize(
    ("cond", "word", "culprit"),
    [
        ("len(a) > 0", "a call", "len(a)"),
        ("a.real > 0", "an attribute", "a.real"),
        ("a[0] == 1", "indexing", "a[0]"),
        ("(lambda: a)()", "a call", "(lambda"),
        ("a + 1 > 2", "arithmetic", "a + 1"),
        ("(b := a)", "an assignment", "b := a"),
    ],
)
def test_condition_rejects_other_nodes(cond, word, culprit):
    err = error(f"a = [0, 1]\nb = int(1, 3) if {cond}")
    assert err.message == f"a condition cannot use {word}"
    assert caret_at(err).startswith(culprit)


def test_condition_cannot_use_an_expression():
    err = error("a = [0, 1]\nb = int(1, 3) if a > {lo}", NS)
    assert "cannot use {...}" in err.message and caret_at(err) == "{lo}"


def test_missing_condition():
    err = error("a = [0, 1]\nb = int(1, 3) if")
    assert "missing condition" in err.message and caret_at(err) == "if"


def test_if_inside_an_expression_is_not_a_condition():
    d = dist("x = {1 if True else 2}")
    assert d == Fixed(1)


def test_grid_enumerates_the_conditional_product_in_spec_order():
    space = parse_spec(
        "n_hidden = range(0, 3)\nact = ['relu', 'tanh'] if n_hidden > 0\n"
        "units = int(8, 16, step=8) if n_hidden == 2\n"
        "drop = float(0, 0.2, step=0.1) if act == 'tanh'"
    )
    grid = space.grid()
    assert grid[0] == {"n_hidden": 0}
    assert grid[1:3] == [
        {"n_hidden": 1, "act": "relu"},
        {"n_hidden": 1, "act": "tanh", "drop": 0.0},
    ]
    assert len(grid) == 1 + (1 + 3) + (1 + 3) * 2
    assert all(list(g) == [n for n in space.names if n in g] for g in grid)
    assert space.grid_size() == len(grid)


def test_a_condition_on_an_inactive_parameter_is_false():
    space = parse_spec("a = [0, 1]\nb = int(1, 3) if a > 0\nc = ['x', 'y'] if b > 1")
    assert space.grid()[0] == {"a": 0}
    assert len(space.grid()) == 1 + 1 + 2 * 2
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    for _ in range(20):
        values = space.suggest(study.ask())
        assert ("c" in values) == (values.get("b", 0) > 1)


def test_grid_refuses_a_continuous_parameter():
    with pytest.raises(ValueError, match="lr"):
        parse_spec("n = [1, 2]\nlr = loguniform(1e-4, 1e-1)").grid()


def test_suggest_leaves_out_inactive_parameters_and_maps_tuples_back():
    space = parse_spec(
        "n_hidden = int(0, 2)\nsizes = [(64, 32), (16,)] if n_hidden > 0\nlr = {stats.norm(0, 1)}",
        NS,
    )
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen_inactive = seen_active = False
    for _ in range(20):
        trial = study.ask()
        values = space.suggest(trial)
        assert isinstance(values["lr"], float)
        if values["n_hidden"] > 0:
            seen_active = True
            assert values["sizes"] in [(64, 32), (16,)]
        else:
            seen_inactive = True
            assert "sizes" not in values
        study.tell(trial, 0.0)
    assert seen_active and seen_inactive


# --- space_from_dict ------------------------------------------------------------------


def test_space_from_dict_maps_scikit_learn_param_distributions():
    space = space_from_dict(
        {
            "n_hidden": [0, 1, 2, 3],
            "n_neurons": np.arange(1, 100),
            "learning_rate": stats.reciprocal(3e-4, 3e-2),
            "act": ("relu", "selu"),
            "dropout": stats.uniform(0, 0.5),
            "units": stats.randint(8, 65),
            "noise": stats.norm(0, 0.1),
            "batch_size": [32],
            "epochs": 20,
            "name": "mlp",
            "sizes": [(64, 32), (32,)],
        }
    )
    d = {p.name: p.dist for p in space}
    assert d["n_hidden"] == IntRange(0, 3)
    assert d["n_neurons"] == IntRange(1, 99)
    assert d["learning_rate"] == FloatRange(3e-4, 3e-2, log=True)
    assert d["act"] == Categorical(("relu", "selu"))
    assert d["dropout"] == FloatRange(0.0, 0.5)
    assert d["units"] == IntRange(8, 64)
    assert isinstance(d["noise"], ScipyPpf)
    assert d["batch_size"] == Fixed(32)
    assert d["epochs"] == Fixed(20)
    assert d["name"] == Fixed("mlp")
    assert d["sizes"] == Categorical(((64, 32), (32,)))
    assert all(p.line is None and p.condition is None for p in space)


@pytest.mark.parametrize(
    ("distributions", "fragment"),
    [
        ({"lr": None}, "param_distributions['lr'] is None"),
        ({"lr": []}, "param_distributions['lr'] is an empty list"),
        ({"lr": stats.poisson(2)}, "param_distributions['lr'] is scipy.stats.poisson"),
        ({"lr": object()}, "param_distributions['lr'] is of type object"),
        ({"lr": [1, 1]}, "duplicate"),
        ({"not a name": [1, 2]}, "not a valid parameter name"),
        ({3: [1, 2]}, "not a valid parameter name"),
        ([{"lr": [1, 2]}], "must be a dict"),
    ],
)
def test_space_from_dict_errors(distributions, fragment):
    with pytest.raises(SpecError) as info:
        space_from_dict(distributions)
    assert fragment in info.value.message
    assert info.value.line is None


# --- purity ---------------------------------------------------------------------------


def test_spec_module_imports_neither_tensorflow_nor_ipython_and_scipy_lazily():
    tree = ast.parse(ROOT.joinpath("nnhp_magics", "core", "spec.py").read_text())
    top_level = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            top_level.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            top_level.add(node.module.split(".")[0])
    everywhere = {
        (a.name if isinstance(n, ast.Import) else n.module or "").split(".")[0]
        for n in ast.walk(tree)
        if isinstance(n, (ast.Import, ast.ImportFrom))
        for a in n.names
    }
    assert not {"tensorflow", "keras", "IPython"} & everywhere
    assert "scipy" not in top_level


# --- property: whatever parses samples inside its bounds ------------------------------


@st.composite
def spec_line(draw, name: str):
    """A random valid spec line and a predicate its sampled values must satisfy."""
    kinds = ["int", "int_step", "int_log", "float", "float_step", "log", "choice", "range"]
    kind = draw(st.sampled_from(kinds))
    if kind in ("int", "int_step", "int_log"):
        lo = draw(st.integers(1 if kind == "int_log" else -50, 50))
        step = draw(st.integers(1, 7)) if kind == "int_step" else 1
        hi = lo + step * draw(st.integers(1, 20))
        extra = {"int": "", "int_step": f", step={step}", "int_log": ", log=True"}[kind]
        return f"{name} = int({lo}, {hi}{extra})", lambda v: (
            type(v) is int and lo <= v <= hi and (v - lo) % step == 0
        )
    if kind in ("float", "log"):
        lo = draw(st.floats(1e-6 if kind == "log" else -1e3, 1e3))
        hi = draw(st.floats(lo, 2e3).filter(lambda h: h > lo))
        form = "float" if kind == "float" else draw(st.sampled_from(["loguniform", "reciprocal"]))
        return f"{name} = {form}({lo!r}, {hi!r})", lambda v: lo <= v <= hi
    if kind == "float_step":
        step = draw(st.sampled_from([0.25, 0.5, 2.0]))
        lo = step * draw(st.integers(-20, 20))
        hi = lo + step * draw(st.integers(1, 20))
        return f"{name} = float({lo!r}, {hi!r}, step={step!r})", lambda v: (
            lo <= v <= hi and math.isclose((v - lo) / step, round((v - lo) / step), abs_tol=1e-9)
        )
    if kind == "choice":
        values = draw(
            st.lists(
                st.one_of(st.integers(-100, 100), st.text("abcxyz #", min_size=1, max_size=5)),
                min_size=2, max_size=5, unique_by=repr,
            )
        )
        text = ", ".join(repr(v) for v in values)
        form = draw(st.sampled_from([f"choice({text})", f"[{text}]"]))
        return f"{name} = {form}", lambda v: v in values
    start, stop = draw(st.integers(-30, 30)), draw(st.integers(-30, 30))
    step = draw(st.integers(-5, 5).filter(bool))
    values = list(range(start, stop, step))
    if len(values) < 2:
        start, stop, step = 0, 3, 1
        values = [0, 1, 2]
    return f"{name} = range({start}, {stop}, {step})", lambda v: v in values


@st.composite
def spec_text(draw):
    """Several random valid lines with their predicates."""
    lines = [draw(spec_line(f"p{i}")) for i in range(draw(st.integers(1, 5)))]
    return "\n".join(line for line, _ in lines), {f"p{i}": ok for i, (_, ok) in enumerate(lines)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=spec_text(), seed=st.integers(0, 2**31 - 1))
def test_sampled_values_lie_within_their_bounds(spec, seed):
    text, checks = spec
    space = parse_spec(text)
    assert space.names == list(checks)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    for _ in range(20):
        trial = study.ask()
        values = space.suggest(trial)
        for name, ok in checks.items():
            assert ok(values[name]), (text, name, values[name])
        study.tell(trial, 0.0)


# --- fuzzed regressions: only SpecError, fast, and what parses samples ----------------


def samples(space, draws: int = 5) -> list[dict]:
    """A few draws of a space through Optuna's random sampler."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    return [space.suggest(study.ask()) for _ in range(draws)]


@pytest.mark.parametrize(
    ("text", "fragment", "culprit"),
    [
        ("x = float(0, 1, step=5e-324)", "grid points", "5e-324)"),
        ("x = loguniform(1e-3, {10**400})", "too large for a float", "{10**400}"),
        ("x = " + "-" * 5000 + "1", "nested too deeply", "---"),
        ("x = float(-1e308, 1e308)", "too wide for floating point", "float("),
        ("x = float(0, {float('nan')})", "finite number", "{float"),
        ("x = int(0, 9007199254740993)", "beyond ±2**53", "9007199254740993)"),
        ("x = range(0, 10**20)", "not a literal value", "10**20)"),
        ("x = {range(0, 10**20)}", "beyond ±2**53", "{range"),
        ("x = choice({10**400}, 0)", "Optuna cannot use this parameter", "choice("),
        ("x = [" + ", ".join(["0"] * 4000) + "]", "characters long", None),
    ],
    ids=lambda v: v[:40] if isinstance(v, str) else v,
)
def test_odd_values_are_spec_errors(text, fragment, culprit):
    err = error(text)
    assert fragment in err.message
    assert err.line == 1 and err.hint
    if culprit:
        assert caret_at(err).startswith(culprit)


@pytest.mark.parametrize(
    ("cond", "fragment", "culprit"),
    [
        ("~a", "cannot use `~`", "~a"),
        ("a > 2", "compares a string with a number", "a > 2"),
        ("2 <= a", "compares a number with a string", "2 <= a"),
        ("n in 4", "needs a tuple or list", "4"),
        ("n in 'abc'", "not only a string", "n in"),
        ("n is 1", "compares with None, True or False", "1"),
        ("n > None", "None cannot be ordered", "None"),
        ("-n > 1", "applies to a number only", "-n"),
        ("o == 1", "which a condition cannot test", "o =="),
        ("o", "which a condition cannot test", "o"),
        ("zz > 1", "not an earlier parameter", "zz"),
    ],
)
def test_conditions_are_type_checked_at_parse_time(cond, fragment, culprit):
    text = "a = choice('x', 'y')\nn = int(1, 3)\no = fixed({object()})\nb = int(1, 3) if " + cond
    err = error(text)
    assert fragment in err.message
    assert err.line == 4
    assert caret_at(err).startswith(culprit)


def test_a_string_choice_ordered_against_a_number_hints_at_its_values():
    err = error("a = choice('x', 'y')\nb = int(1, 3) if a > 2")
    assert err.hint == "`a` is one of 'x', 'y': compare it with == or in"


@pytest.mark.parametrize(
    "cond",
    [
        "a == 'x' and n >= 2", "a in ('x', 'y')", "a in 'xyz'", "not (n < 2 or a != 'y')",
        "n is not None", "1 < n <= 3", "c > 1", "t == (1, 2)", "a < 'y'",
    ],
)
def test_well_typed_conditions_sample(cond):
    text = (
        "a = choice('x', 'y')\nn = int(1, 3)\nc = int(1, 3) if n > 1\nt = [(1, 2), (3,)]\n"
        "b = int(1, 3) if " + cond
    )
    space = parse_spec(text)
    assert all("n" in values for values in samples(space, 20))


def test_conditions_are_interpreted_not_evaluated():
    space = parse_spec("a = [0, 1]\nb = int(1, 3) if a == 1")
    assert isinstance(space["b"]._condition_tree, ast.Compare)
    assert space["b"].active({"a": 1}) and not space["b"].active({"a": 0})
    assert not space["b"].active({})


def test_huge_ranges_are_not_materialised():
    for text in ("n = range(0, 1000000000000)", "n = {range(0, 10**15, 5)}", "n = {np.arange(0, 10**7)}"):
        (param,) = parse_spec(text, NS).params
        assert isinstance(param.dist, IntRange)
        assert all(param.dist.low <= v["n"] <= param.dist.high for v in samples(parse_spec(text, NS)))
    assert dist("n = range(0, 100000000)") == IntRange(0, 99999999)
    assert dist("n = {range(10**12, 0, -7)}") == IntRange(10**12 - 7 * ((10**12 - 1) // 7), 10**12, step=7)


def test_long_choice_lists_are_checked_in_linear_time():
    values = list(np.random.default_rng(0).random(20_000))
    assert isinstance(dist("x = {values}", {"values": values}), Categorical)
    assert "duplicate" in error("x = {values + values[:1]}", {"values": values}).message


@pytest.mark.parametrize(
    "text",
    [
        "x = float(-2e307, 2e307)",
        "x = float(0, 1, step=1e-15)",
        "x = int(-9007199254740992, 9007199254740992)",
        "x = loguniform(5e-324, 1e300)",
        "x = choice({10**300}, 1e308, {float('nan')})",
    ],
)
def test_extreme_but_representable_ranges_parse_and_sample(text):
    assert len(samples(parse_spec(text), 3)) == 3


def test_non_finite_scipy_distributions_are_refused():
    err = error("x = {stats.norm(0, float('nan'))}", NS)
    assert "not all finite" in err.message
