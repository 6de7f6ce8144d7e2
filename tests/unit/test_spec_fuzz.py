"""Property-based fuzzing of parse_spec: SpecError or a space that samples, always fast.

Specs are generated from the spec grammar with extreme numbers, and mutated from
valid texts character by character. Every call must return or raise SpecError in
under a second, and every accepted space must sample through Optuna's random and
TPE samplers without error. The budget is fixed and the search derandomized, so
the suite is deterministic.
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import optuna
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnhp_magics.core.space import FloatRange, IntRange
from nnhp_magics.core.spec import parse_spec
from nnhp_magics.errors import SpecError

optuna.logging.set_verbosity(optuna.logging.WARNING)

NAMESPACE = {"np": np}
BUDGET = settings(
    max_examples=600,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
EXTREMES = [
    "0", "1", "-1", "2", "3", "0.5", "1e-3", "1e308", "-1e308", "1.7976931348623157e308",
    "5e-324", "-5e-324", "1e-300", "9007199254740992", "9007199254740993", "-9007199254740993",
    "1000000000000", "100000000", "10" + "0" * 400, "0x" + "f" * 300, "True", "None", "'a'",
    "{float('nan')}", "{float('inf')}", "{-float('inf')}", "{10**400}", "{2**53}", "{1e308}",
    "{np.float64(1e308)}", "{np.int64(7)}",
]
VALID = [
    "n_hidden = int(0, 3)\nact = choice('relu', 'tanh')\nunits = int(8, 64, step=8) if n_hidden > 0",
    "lr = loguniform(1e-4, 1e-1)\ndrop = float(0, 0.5, step=0.1)\nn = range(0, 1000000000000)",
    "a = ['x', 'y']\nb = int(1, 3) if a == 'x'\nc = [(64, 32), (16,)] if b is not None and b >= 2",
    "x = {np.arange(0, 100, 5)}\ny = {[0.1, 0.2, 0.4]}\nz = fixed((1, 2)) if x in (5, 10)",
    "k = range(10, 0, -3)\nm = uniform(-1.5, 2) if not k < 4 or k != 7\nt = True",
]
LINE_ALPHABET = list("abnxy0123456789.,-+*~=<>!()[]{}'\"# _e\x00\t") + [" if ", " in ", " not ", " is "]


def number() -> st.SearchStrategy[str]:
    """Number-like spec text: typical, extreme, or from an expression."""
    return st.one_of(
        st.sampled_from(EXTREMES),
        st.integers(-100, 100).map(str),
        st.integers(-(10**20), 10**20).map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
    )


@st.composite
def form(draw: st.DrawFn) -> str:
    """One right-hand side of any form, with any numbers."""
    kind = draw(
        st.sampled_from(["choice", "list", "int", "float", "log", "range", "fixed", "expr", "plain"])
    )
    n = number()
    if kind in ("choice", "list"):
        values = draw(st.lists(st.one_of(n, st.sampled_from(["'x'", "'y'", "(1, 2)", "()"])), max_size=4))
        inner = ", ".join(values)
        return f"choice({inner})" if kind == "choice" else f"[{inner}]"
    if kind in ("int", "float"):
        extra = draw(st.sampled_from(["", ", step={}", ", log=True", ", step={}, log=True"]))
        if draw(st.booleans()):  # ordered bounds, so that more of these parse
            lo = draw(st.sampled_from(["1", "0", "-1e308", "5e-324", "-9007199254740992", "1e-300"]))
            hi = draw(st.sampled_from(["10", "1e308", "8e307", "9007199254740992", "1e15"]))
            return f"{kind}({lo}, {hi}{extra.format(draw(st.sampled_from(['1', '5e-324', '2.5', '1e300'])))})"
        return f"{kind}({draw(n)}, {draw(n)}{extra.format(draw(n))})"
    if kind == "log":
        name = draw(st.sampled_from(["loguniform", "reciprocal", "uniform"]))
        return f"{name}({draw(n)}, {draw(n)})"
    if kind == "range":
        args = draw(st.lists(n, min_size=1, max_size=3))
        return f"range({', '.join(args)})"
    if kind == "fixed":
        return f"fixed({draw(n)})"
    if kind == "expr":
        a, b = draw(st.integers(-(10**15), 10**15)), draw(st.integers(-(10**15), 10**15))
        step = draw(st.sampled_from([1, 2, -1, 7, 10**14]))
        template = draw(
            st.sampled_from(
                [
                    "{{range({a}, {b}, {s})}}", "{{list(range({a}, {a} + 20 * {s}, {s}))}}",
                    "{{np.arange({a}, {a} + 50 * {s}, {s})}}", "{{np.linspace({a}, {b}, 5)}}",
                    "{{[{a}, {b}]}}", "{{({a}, {b}, {a})}}",
                ]
            )
        )
        return template.format(a=a, b=b, s=step)
    return draw(n)


@st.composite
def condition(draw: st.DrawFn, names: list[str]) -> str:
    """A condition over earlier names (or unknown ones), well-formed or not."""
    operand = st.one_of(st.sampled_from(names + ["zz"]), number(), st.sampled_from(["'x'", "(1, 2)", "'abc'"]))
    op = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "in", "not in", "is", "is not"])
    atoms = [f"{draw(operand)} {draw(op)} {draw(operand)}" for _ in range(draw(st.integers(1, 3)))]
    prefix = draw(st.sampled_from(["", "not ", "~", "-", "(", "not not "]))
    text = f" {draw(st.sampled_from(['and', 'or']))} ".join(atoms)
    return prefix + text + (")" if prefix == "(" else "")


@st.composite
def generated_spec(draw: st.DrawFn) -> str:
    """Several lines of random forms, some conditional on earlier ones."""
    lines, names = [], []
    for i in range(draw(st.integers(1, 4))):
        name = f"p{i}"
        line = f"{name} = {draw(form())}"
        if names and draw(st.booleans()):
            line += f" if {draw(condition(names))}"
        lines.append(line)
        names.append(name)
    return "\n".join(lines)


@st.composite
def mutated_spec(draw: st.DrawFn) -> str:
    """A valid spec with random characters inserted, deleted or replaced."""
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "replace"]))
        piece = "" if edit == "delete" else draw(st.sampled_from(LINE_ALPHABET))
        text = text[:at] + piece + text[at + (0 if edit == "insert" else 1) :]
    return text


def check(text: str) -> None:
    """parse_spec answers in under a second with SpecError or a space that samples."""
    start = time.perf_counter()
    try:
        space = parse_spec(text, NAMESPACE)
    except SpecError:
        space = None
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0, (text, elapsed)
    if space is None:
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # TPE's numerics on wide ranges
        samplers = [
            optuna.samplers.RandomSampler(seed=0),
            optuna.samplers.TPESampler(seed=0, n_startup_trials=1),
        ]
        for sampler in samplers:
            study = optuna.create_study(sampler=sampler)
            for _ in range(3):
                trial = study.ask()
                values = space.suggest(trial)
                for name, value in values.items():
                    dist = space[name].dist
                    if isinstance(dist, (IntRange, FloatRange)):
                        assert dist.low <= value <= dist.high, (text, name, value)
                study.tell(trial, 0.0)


@BUDGET
@given(generated_spec())
def test_generated_specs_parse_or_raise_spec_error_and_sample(text):
    check(text)


@BUDGET
@given(mutated_spec())
def test_mutated_specs_parse_or_raise_spec_error_and_sample(text):
    check(text)
