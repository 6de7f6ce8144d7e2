"""Damaged storage files and failing writes: one clear NnhpError, the file left as it was, no result lost."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
from pathlib import Path

import optuna
import pytest
from helpers import TEXTBOOK_SPEC as SPEC
from helpers import fast_search, textbook_build

from nnhp_magics import hpsearch, load_search
from nnhp_magics.errors import NnhpError
from nnhp_magics.search import storage as store

pytestmark = pytest.mark.usefixtures("keras_ready")

small = fast_search(trials=2, epochs=1, patience=0)
PAGE = 4096


@pytest.fixture(scope="module")
def saved_study(data, tmp_path_factory) -> Path:
    """A small SQLite study of two trials, never written to again."""
    x, y = data
    path = tmp_path_factory.mktemp("study") / "search.db"
    hpsearch(textbook_build, x, y, SPEC, storage=f"sqlite:///{path}", study="s", **small())
    return path


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _open_for_writing(path: Path, attrs: dict) -> None:
    """What a rerun of the cell does to the storage before training: open the study and claim it."""
    study, lease = store.open_study(
        store.locate(str(path)), "s", attrs[store.FINGERPRINT_ATTR], attrs[store.RANGES_ATTR], attrs[store.META_ATTR],
        sampler=optuna.samplers.RandomSampler(), pruner=optuna.pruners.NopPruner(),
    )
    lease.release()


def _attempts(path: Path, attrs: dict) -> list[str]:
    """Open a copy of ``path`` both ways; the outcome of each ("ok" or "refused"), checking a refusal changed nothing."""
    outcomes = []
    for opening in (lambda p: load_search(str(p), "s"), lambda p: _open_for_writing(p, attrs)):
        copy = path.with_name(f"copy-{path.name}")
        shutil.copy(path, copy)
        before = _digest(copy)
        try:
            opening(copy)
        except NnhpError as exc:
            assert str(copy) in str(exc) and "damaged" in str(exc) and "another --storage" in str(exc), str(exc)
            assert _digest(copy) == before, "a storage that could not be read was written to"
            outcomes.append("refused")
        else:
            outcomes.append("ok")
        copy.unlink()
    return outcomes


def test_every_single_page_corruption_is_refused_or_loads(saved_study, tmp_path):
    attrs = optuna.load_study(study_name="s", storage=f"sqlite:///{saved_study}").user_attrs
    rng = random.Random(0)
    pages = saved_study.stat().st_size // PAGE
    assert pages > 10
    refused = 0
    for page in range(pages):
        damaged = tmp_path / f"page-{page}.db"
        shutil.copy(saved_study, damaged)
        with open(damaged, "r+b") as f:
            f.seek(page * PAGE)
            f.write(bytes(rng.randrange(256) for _ in range(PAGE)))
        refused += _attempts(damaged, attrs).count("refused")
    assert refused > 0


def test_a_value_that_no_longer_parses_is_reported_as_damage(saved_study, tmp_path):
    damaged = tmp_path / "garbled.db"
    shutil.copy(saved_study, damaged)
    with sqlite3.connect(damaged) as connection:
        connection.execute("update trial_user_attributes set value_json = '{\"number\": 0, ' where key = 'nnhp'")
    connection.close()
    attrs = optuna.load_study(study_name="s", storage=f"sqlite:///{saved_study}").user_attrs
    assert _attempts(damaged, attrs) == ["refused", "refused"]


@pytest.mark.parametrize("line", [0, 1, -1])
def test_a_journal_record_that_does_not_replay_is_reported_as_damage(data, tmp_path, line):
    x, y = data
    path = tmp_path / "search.journal"
    hpsearch(textbook_build, x, y, SPEC, storage=str(path), study="s", **small(trials=1))
    lines = path.read_text().splitlines()
    lines[line] = json.dumps({"op_code": json.loads(lines[line])["op_code"]})
    path.write_text("\n".join(lines) + "\n")
    before = _digest(path)
    with pytest.raises(NnhpError, match="is damaged .* Restore it from a copy, or pass another --storage"):
        load_search(str(path))
    with pytest.raises(NnhpError, match="is damaged"):
        hpsearch(textbook_build, x, y, SPEC, storage=str(path), study="s", **small(trials=2))
    assert _digest(path) == before


def _failing_after(calls: int, error: Exception):
    """A storage method that works ``calls`` times, then raises ``error`` as a full disk would."""
    count = {"n": 0}

    def wrap(method):
        def failing(self, *args, **kwargs):
            count["n"] += 1
            if count["n"] > calls:
                raise error
            return method(self, *args, **kwargs)

        return failing

    return wrap


@pytest.mark.parametrize(
    ("method", "calls", "error", "saved"),
    [  # the record written, the state not: resuming finishes the trial from its record
        ("set_trial_state_values", 1, optuna.exceptions.StorageInternalError("e.g. exceeding max length"), True),
        ("set_trial_user_attr", 3, sqlite3.OperationalError("database or disk is full"), False),
    ],
)
def test_a_full_disk_mid_search_ends_it_with_one_message_and_keeps_every_result(
    data, tmp_path, monkeypatch, method, calls, error, saved
):
    x, y = data
    path = tmp_path / "search.db"
    held = []
    with monkeypatch.context() as patched:
        rdb = optuna.storages.RDBStorage
        patched.setattr(rdb, method, _failing_after(calls, error)(getattr(rdb, method)))
        with pytest.raises(NnhpError, match=rf"could not be written to --storage sqlite:///{path}.*disk may be full"):
            hpsearch(textbook_build, x, y, SPEC, storage=f"sqlite:///{path}", study="s", on_created=held.append,
                     **small(trials=3))
    search = held[0]
    assert [t.state for t in search.trials] == ["complete", "complete"], "the trial whose result was not saved is kept"
    assert search.trials[1].score is not None and search.done

    resumed = hpsearch(textbook_build, x, y, SPEC, storage=f"sqlite:///{path}", study="s", **small(trials=3))
    if saved:
        assert (resumed.trials[1].state, resumed.trials[1].score) == ("complete", search.trials[1].score)
    else:
        assert resumed.trials[1].state == "interrupted"
        assert resumed.trials[1].params in [t.params for t in resumed.trials[2:]], "the unsaved trial runs again"
