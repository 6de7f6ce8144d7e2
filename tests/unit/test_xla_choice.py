"""XLA is chosen from the trial's budget alone: forced by --jit/--no-jit, else where its predicted steps pay."""

from __future__ import annotations

import pytest

from nnhp_magics.training.engine.select import EARLY_STOPPED_SHARE, XLA_BREAK_EVEN_STEPS, XLA_PROGRAM_BUDGET, use_xla


def test_the_textbook_search_with_cv_compiles_with_xla_and_a_test_sized_search_does_not():
    assert use_xla(None, epochs=100, folds=3, rows=7740, batch_size=32, early_stopping=True)
    assert not use_xla(None, epochs=5, folds=1, rows=200, batch_size=32, early_stopping=True)


@pytest.mark.parametrize("forced", [True, False])
def test_jit_and_no_jit_override_the_prediction(forced):
    assert use_xla(forced, epochs=100, folds=3, rows=7740, batch_size=32, early_stopping=True) is forced
    assert use_xla(forced, epochs=1, folds=1, rows=10, batch_size=32, early_stopping=True) is forced


def test_the_break_even_counts_steps_and_early_stopping_halves_the_prediction():
    rows_for = XLA_BREAK_EVEN_STEPS  # one row a step with batch size 1, one epoch, one fold
    assert use_xla(None, 1, 1, rows_for, 1, early_stopping=False)
    assert not use_xla(None, 1, 1, rows_for - 1, 1, early_stopping=False)
    assert not use_xla(None, 1, 1, rows_for, 1, early_stopping=True)
    assert use_xla(None, 1, 1, int(rows_for / EARLY_STOPPED_SHARE), 1, early_stopping=True)
    assert use_xla(None, 1, 2, rows_for // 2, 1, early_stopping=False)  # folds multiply the steps
    assert not use_xla(None, 1, 1, rows_for * 2, 4, early_stopping=False)  # bigger batches, fewer steps


def test_after_its_budget_of_xla_programs_a_process_chooses_the_plain_graph_unless_forced(monkeypatch):
    from nnhp_magics.training.engine import select

    monkeypatch.setattr(select._XlaPrograms, "compiled", XLA_PROGRAM_BUDGET - 1)
    assert use_xla(None, epochs=100, folds=3, rows=7740, batch_size=32, early_stopping=True)
    select.count_xla_program()
    assert not use_xla(None, epochs=100, folds=3, rows=7740, batch_size=32, early_stopping=True)
    assert use_xla(True, epochs=100, folds=3, rows=7740, batch_size=32, early_stopping=True)
