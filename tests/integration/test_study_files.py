"""Each study's files live in a folder of its own: no collisions, no climbing out, no leftovers read back."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import TEXTBOOK_SPEC as SPEC
from helpers import fast_search, textbook_build

from nnhp_magics import hpsearch, load_search

pytestmark = pytest.mark.usefixtures("keras_ready")

small = fast_search(trials=2, epochs=1, patience=0)


def units(model) -> int:
    """The width of the model's first hidden layer (1 for a model without one)."""
    return int(model.layers[0].units)


def test_a_database_and_a_journal_of_one_name_keep_their_own_models(data, tmp_path):
    x, y = data
    spec = "n_hidden = choice(1, 2)\nn_neurons = choice({}, {})"
    hpsearch(textbook_build, x, y, spec.format(3, 4), storage=str(tmp_path / "x.db"), study="s", **small(trials=1))
    hpsearch(textbook_build, x, y, spec.format(12, 13), storage=str(tmp_path / "x.journal"), study="s", **small(trials=1))
    database, journal = load_search(str(tmp_path / "x.db")), load_search(str(tmp_path / "x.journal"))
    assert units(database.best_model) == database.best_params["n_neurons"] in (3, 4)
    assert units(journal.best_model) == journal.best_params["n_neurons"] in (12, 13)


def test_study_names_that_sanitise_alike_do_not_collide(data, tmp_path):
    x, y = data
    url = str(tmp_path / "search.journal")
    first = hpsearch(textbook_build, x, y, SPEC, storage=url, study="exp:1", keep_models=2, **small())
    hpsearch(textbook_build, x, y, SPEC, storage=url, study="exp_1", **small(trials=3, seed=2))
    reopened = load_search(url, "exp:1")
    np.testing.assert_allclose(
        reopened.best_model.predict(x[:3], verbose=0), first.best_model.predict(x[:3], verbose=0), rtol=1e-5
    )


def test_a_study_named_dot_dot_deletes_none_of_the_users_files(data, tmp_path):
    x, y = data
    mine = {tmp_path / "trial-7.keras": b"my model", tmp_path / "trial-42.keras": b"another"}
    for path, content in mine.items():
        path.write_bytes(content)
    hpsearch(textbook_build, x, y, SPEC, storage=str(tmp_path / "search.db"), study="..", **small(trials=3))
    assert {path: path.read_bytes() for path in mine} == mine
    assert load_search(str(tmp_path / "search.db"), "..").best_model is not None


def test_a_deleted_studys_leftover_models_are_never_read_as_the_new_ones(data, tmp_path):
    x, y = data
    path = tmp_path / "cv.db"
    old = hpsearch(textbook_build, x, y, SPEC, storage=str(path), cv=2, **small())
    old_prediction = old.best_model.predict(x[:3], verbose=0)
    path.unlink()
    new = hpsearch(textbook_build, x, y, SPEC, storage=str(path), cv=2, **small(seed=2))
    assert new.best_params != old.best_params
    new_prediction = new.best_model.predict(x[:3], verbose=0)
    assert not np.allclose(new_prediction, old_prediction)
    np.testing.assert_allclose(load_search(str(path)).best_model.predict(x[:3], verbose=0), new_prediction, rtol=1e-5)
