"""Persistence and resume: storages, the study fingerprint, lost trials, a killed kernel, bad storage files."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import numpy as np
import optuna
import pytest
from helpers import ROOT, fast_search, textbook_build
from helpers import TEXTBOOK_SPEC as SPEC

from nnhp_magics import hpsearch, load_search
from nnhp_magics.errors import NnhpError
from nnhp_magics.search.storage import MAX_RETRIES, RECORD_ATTR, REQUEUE_ATTR, RETRY_ATTR, locate, open_storage, resume

pytestmark = pytest.mark.usefixtures("keras_ready")


small = fast_search(trials=3, epochs=2, patience=0)


class CountingBuild:
    """The textbook build, counting how many models it built."""

    __name__ = "textbook_build"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, n_hidden: int = 1, n_neurons: int = 8, learning_rate: float = 3e-3):
        self.calls += 1
        return textbook_build(n_hidden, n_neurons, learning_rate)


def summary(search):
    return [(t.number, t.state, t.score, t.params) for t in search.trials]


def test_a_rerun_resumes_and_raising_trials_extends_the_study(data, tmp_path):
    x, y = data
    url = f"sqlite:///{tmp_path / 'search.db'}"
    build = CountingBuild()
    probe = 1  # each search builds one model before training, to check the objective is logged
    first = hpsearch(build, x, y, SPEC, storage=url, **small())
    assert build.calls == probe + 3 and first.study_name.startswith("textbook_build-")
    again = hpsearch(build, x, y, SPEC, storage=url, **small())
    assert build.calls == 2 * probe + 3, "a finished study trains nothing more"
    assert summary(again) == summary(first)
    extended = hpsearch(build, x, y, SPEC, storage=url, **small(trials=5))
    assert build.calls == 3 * probe + 5
    assert [t.number for t in extended.trials] == [0, 1, 2, 3, 4]
    assert summary(extended)[:3] == summary(first)
    assert all(t.state == "complete" for t in extended.trials)


def test_finished_trials_are_shown_before_the_first_new_one_starts(data, tmp_path):
    from nnhp_magics.core.events import SearchStarted

    x, y = data
    url = str(tmp_path / "search.journal")
    hpsearch(textbook_build, x, y, SPEC, storage=url, **small(trials=2))
    seen = []

    def on_start(event):
        if isinstance(event, SearchStarted):
            seen.append([(t.number, t.state) for t in event.search.trials])

    hpsearch(textbook_build, x, y, SPEC, storage=url, listeners=[on_start], **small(trials=3))
    assert seen == [[(0, "complete"), (1, "complete")]]


def test_load_search_reopens_a_search_without_training(data, tmp_path, keras_ready):
    x, y = data
    url = str(tmp_path / "search.journal")
    search = hpsearch(textbook_build, x, y, SPEC, storage=url, keep_models=2, **small(trials=4))
    study = optuna.load_study(study_name=search.study_name, storage=open_storage(locate(url)))
    folder = tmp_path / "search.journal-models" / study.user_attrs["nnhp_study_id"]
    kept = sorted(p.name for p in folder.glob("*.keras"))
    ranked = sorted((t for t in search.trials), key=lambda t: t.score)[:2]
    assert kept == sorted(f"trial-{t.number}.keras" for t in ranked)

    reopened = load_search(url)
    assert reopened.study_name == search.study_name and reopened.done
    assert summary(reopened) == summary(search)
    assert reopened.best_params == search.best_params and reopened.best_score == search.best_score
    assert reopened.trials[0].history == search.trials[0].history
    assert list(reopened.leaderboard().index) == list(search.leaderboard().index)
    assert reopened.plot() is not None
    np.testing.assert_allclose(
        reopened.best_model.predict(x[:4], verbose=0), search.best_model.predict(x[:4], verbose=0), rtol=1e-5
    )


def test_load_search_names_the_studies_it_holds(data, tmp_path):
    x, y = data
    url = f"sqlite:///{tmp_path / 'two.db'}"
    hpsearch(textbook_build, x, y, SPEC, storage=url, study="first", **small(trials=1))
    hpsearch(textbook_build, x, y, SPEC, storage=url, study="second", **small(trials=1))
    with pytest.raises(NnhpError, match="holds 2 studies"):
        load_search(url)
    with pytest.raises(NnhpError, match="Did you mean 'first'"):
        load_search(url, "frist")
    assert load_search(url, "second").study_name == "second"
    with pytest.raises(NnhpError, match="does not exist"):
        load_search(str(tmp_path / "missing.journal"))


@pytest.fixture(scope="module")
def one_trial_study(tmp_path_factory, keras_ready, data):
    """An SQLite file holding study "s" with one finished trial of SPEC."""
    x, y = data
    path = tmp_path_factory.mktemp("stored") / "search.db"
    hpsearch(textbook_build, x, y, SPEC, storage=f"sqlite:///{path}", study="s", **small(trials=1))
    return path


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(objective="loss"), "objective was 'val_loss', now 'loss'"),
        (dict(cv=2), "--cv was None, now 2"),
        (dict(space="n_hidden = choice(0, 1)\nn_neurons = int(2, 16)"), "n_hidden was choice"),
        (dict(space="n_neurons = int(2, 16)"), "missing learning_rate, n_hidden"),
        (dict(x_rows=150), "the training data differ"),
    ],
)
def test_a_different_search_in_the_same_study_is_refused_before_training(data, tmp_path, one_trial_study, change, message):
    x, y = data
    path = tmp_path / "search.db"
    shutil.copy(one_trial_study, path)
    url = f"sqlite:///{path}"
    build = CountingBuild()
    rows = change.pop("x_rows", len(x))
    space = change.pop("space", SPEC)
    with pytest.raises(NnhpError, match=f"study 's' .* holds a different search: .*{message}"):
        hpsearch(build, x[:rows], y[:rows], space, storage=url, study="s", **small(trials=2, **change))
    assert build.calls == 0
    assert len(load_search(url).trials) == 1


def test_changed_bounds_only_warn_and_the_default_name_ignores_them(data, tmp_path):
    x, y = data
    url = f"sqlite:///{tmp_path / 'search.db'}"
    first = hpsearch(textbook_build, x, y, SPEC, storage=url, **small(trials=1))
    wider = SPEC.replace("int(2, 16)", "int(2, 32)")
    with pytest.warns(UserWarning, match=r"ranges changed .*n_neurons: int\(2, 16\) -> int\(2, 32\)"):
        second = hpsearch(textbook_build, x, y, wider, storage=url, **small(trials=2))
    assert second.study_name == first.study_name and len(second.trials) == 2


def _ask_lost_trial(study: optuna.Study, with_record: bool) -> dict:
    """Leave a trial running in the storage, as a process that died would; returns its parameters."""
    lost = study.ask()
    params = {"n_hidden": lost.suggest_categorical("n_hidden", [0, 1, 2]), "n_neurons": lost.suggest_int("n_neurons", 2, 16)}
    params["learning_rate"] = lost.suggest_float("learning_rate", 1e-3, 3e-2, log=True)
    if with_record:
        lost.set_user_attr(RECORD_ATTR, {"number": lost.number, "params": params, "state": "running"})
    return params


def test_trials_lost_while_running_are_interrupted_and_requeued_once(data, tmp_path):
    x, y = data
    url = str(tmp_path / "search.journal")
    first = hpsearch(textbook_build, x, y, SPEC, storage=url, study="s", **small(trials=2))
    study = optuna.load_study(study_name="s", storage=open_storage(locate(url)))
    lost = [_ask_lost_trial(study, with_record=True), _ask_lost_trial(study, with_record=False)]

    resumed = hpsearch(textbook_build, x, y, SPEC, storage=url, study="s", **small(trials=3))
    states = {t.number: t.state for t in resumed.trials}
    assert states == {0: "complete", 1: "complete", 2: "interrupted", 3: "interrupted", 4: "complete"}
    assert all("lost with its process" in resumed.trials[n].error for n in (2, 3))
    assert resumed.trials[4].params == lost[0]
    assert summary(resumed)[:2] == summary(first)
    frozen = optuna.load_study(study_name="s", storage=open_storage(locate(url))).trials
    assert frozen[4].user_attrs[REQUEUE_ATTR] == 2 and frozen[2].state == optuna.trial.TrialState.FAIL

    again = hpsearch(textbook_build, x, y, SPEC, storage=url, study="s", **small(trials=5))
    assert [t.number for t in again.trials] == [0, 1, 2, 3, 4, 5, 6]
    assert again.trials[5].params == lost[1]
    frozen = optuna.load_study(study_name="s", storage=open_storage(locate(url))).trials
    assert frozen[5].user_attrs[REQUEUE_ATTR] == 3 and REQUEUE_ATTR not in frozen[6].user_attrs


def test_a_retry_lost_again_is_queued_again_up_to_the_bound(data, tmp_path):
    x, y = data
    url = str(tmp_path / "search.journal")
    hpsearch(textbook_build, x, y, SPEC, storage=url, study="s", **small(trials=1))
    study = optuna.load_study(study_name="s", storage=open_storage(locate(url)))
    lost = _ask_lost_trial(study, with_record=True)
    for attempt in range(1, MAX_RETRIES + 1):  # the kernel dies again during each retry
        resume(study)
        assert _ask_lost_trial(study, with_record=True) == lost
        retry = study.get_trials()[-1]
        assert retry.user_attrs[RETRY_ATTR] == attempt and retry.user_attrs[REQUEUE_ATTR] == retry.number - 1

    resumed = hpsearch(textbook_build, x, y, SPEC, storage=url, study="s", **small(trials=2))
    assert [t.state for t in resumed.trials] == ["complete"] + ["interrupted"] * (MAX_RETRIES + 1) + ["complete"]
    assert resumed.trials[-1].params != lost, "after its last retry a lost trial is not queued again"
    frozen = optuna.load_study(study_name="s", storage=open_storage(locate(url))).trials
    assert RETRY_ATTR not in frozen[-1].user_attrs


def test_a_stopped_trial_runs_again_when_the_cell_is_rerun(data, tmp_path, keras_ready):
    x, y = data
    url = str(tmp_path / "search.journal")
    holder = []

    class StopInTrialOne(keras_ready.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if len(holder[0].trials) == 2:
                holder[0].stop()

    stopped = hpsearch(
        textbook_build, x, y, SPEC, storage=url, on_created=holder.append,
        fit_kwargs={"callbacks": [StopInTrialOne()]}, **small(trials=3),
    )
    assert [t.state for t in stopped.trials] == ["complete", "interrupted"]
    resumed = hpsearch(textbook_build, x, y, SPEC, storage=url, **small(trials=3))
    assert [t.state for t in resumed.trials] == ["complete", "interrupted", "complete", "complete"]
    assert resumed.trials[2].params == stopped.trials[1].params


def test_grid_resumes_with_the_combinations_it_has_not_run(data, tmp_path):
    x, y = data
    url = f"sqlite:///{tmp_path / 'grid.db'}"
    spec = "n_hidden = choice(0, 1)\nn_neurons = choice(4, 8)"
    first = hpsearch(textbook_build, x, y, spec, strategy="grid", storage=url, **small(trials=2, epochs=1))
    rest = hpsearch(textbook_build, x, y, spec, strategy="grid", storage=url, **small(trials=None, epochs=1))
    assert [t.params for t in rest.trials][:2] == [t.params for t in first.trials]
    assert sorted((t.params["n_hidden"], t.params["n_neurons"]) for t in rest.trials) == [(0, 4), (0, 8), (1, 4), (1, 8)]


def test_cross_validated_best_model_is_saved_once_computed(data, tmp_path):
    x, y = data
    url = str(tmp_path / "cv.journal")
    search = hpsearch(textbook_build, x, y, SPEC, storage=url, cv=2, **small(trials=2, epochs=1))
    with pytest.raises(NnhpError, match="not saved with the study"):
        load_search(url).best_model
    expected = search.best_model.predict(x[:3], verbose=0)
    np.testing.assert_allclose(load_search(url).best_model.predict(x[:3], verbose=0), expected, rtol=1e-5)


def test_study_without_storage_and_an_unknown_storage_are_reported(data, tmp_path):
    x, y = data
    with pytest.raises(NnhpError, match="pass --storage too"):
        hpsearch(textbook_build, x, y, SPEC, study="s", **small())
    with pytest.raises(NnhpError, match="give a journal file"):
        hpsearch(textbook_build, x, y, SPEC, storage=str(tmp_path / "search.txt"), **small())
    with pytest.raises(NnhpError, match="--keep-models must be 0"):
        hpsearch(textbook_build, x, y, SPEC, storage=str(tmp_path / "s.journal"), keep_models=-1, **small())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _bad_storage(kind: str, tmp_path: Path) -> tuple[str, Path, str]:
    """(URL, file, expected message) for one kind of unusable storage."""
    if kind == "read-only sqlite":
        path = tmp_path / "ro.db"
        open_storage(locate(f"sqlite:///{path}"))
        path.chmod(0o444)
        return f"sqlite:///{path}", path, "is read-only"
    if kind == "read-only journal":
        path = tmp_path / "ro.journal"
        path.write_text('{"op_code": 0, "worker_id": "w", "study_name": "x", "directions": [1]}\n')
        path.chmod(0o444)
        return str(path), path, "is read-only"
    if kind == "corrupt sqlite":
        path = tmp_path / "bad.db"
        path.write_bytes(b"this is not a database" * 100)
        return f"sqlite:///{path}", path, "is not an SQLite database"
    if kind == "foreign sqlite":
        import sqlite3

        path = tmp_path / "other.db"
        with sqlite3.connect(path) as connection:
            connection.execute("create table customers (id integer)")
        return f"sqlite:///{path}", path, "not an Optuna storage .*customers"
    if kind == "corrupt journal":
        path = tmp_path / "bad.journal"
        path.write_text('{"op_code": 0}\nnot json at all\n')
        return str(path), path, "is not an Optuna journal"
    path = tmp_path / "cut.journal"
    path.write_text('{"op_code": 0}\n{"op_code": 5, "tri')
    return str(path), path, "incomplete record"


@pytest.mark.parametrize(
    "kind",
    ["read-only sqlite", "read-only journal", "corrupt sqlite", "foreign sqlite", "corrupt journal", "truncated journal"],
)
def test_an_unusable_storage_fails_before_training_and_is_left_untouched(data, tmp_path, kind):
    x, y = data
    url, path, message = _bad_storage(kind, tmp_path)
    before, listing = _digest(path), sorted(os.listdir(tmp_path))
    build = CountingBuild()
    with pytest.raises(NnhpError, match=message):
        hpsearch(build, x, y, SPEC, storage=url, **small())
    assert build.calls == 0
    assert _digest(path) == before and sorted(os.listdir(tmp_path)) == listing


KILLED_RUN = """
import sys
sys.path.insert(0, {tests!r})
from helpers import pin_tensorflow_threads, regression_data, textbook_build
from nnhp_magics import hpsearch
pin_tensorflow_threads()
x, y = regression_data()
hpsearch(textbook_build, x, y, {spec!r}, storage={url!r}, study="killed", trials=4, epochs=12, patience=0,
         seed=1, namespace={{}})
"""


def _states(path: Path) -> list[str]:
    """The trial states of the study "killed" so far, read without writing; TRAINING for a running trial past its ask."""
    import sqlite3

    query = (
        "select t.state, exists(select 1 from trial_user_attributes a where a.trial_id = t.trial_id and a.key = 'nnhp') "
        "from trials t join studies s on t.study_id = s.study_id where s.study_name = 'killed'"
    )
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            rows = connection.execute(query).fetchall()
    except sqlite3.Error:
        return []
    return ["TRAINING" if state == "RUNNING" and recorded else str(state) for state, recorded in rows]


def _wait_for_progress(path: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    """Block until the killed run has 2 complete trials and a third training."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the search ended before it could be killed"
        states = _states(path)
        if states.count("COMPLETE") >= 2 and "TRAINING" in states:
            return
        time.sleep(0.1)
    raise AssertionError("the search made no progress in time")


def test_a_kernel_killed_mid_search_resumes_with_every_finished_trial(data, tmp_path):
    url = f"sqlite:///{tmp_path / 'k.db'}"
    script = tmp_path / "run.py"
    script.write_text(KILLED_RUN.format(tests=str(ROOT / "tests"), spec=SPEC, url=url))
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stderr=subprocess.DEVNULL)
    try:
        _wait_for_progress(tmp_path / "k.db", process)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    before = load_search(url, "killed")
    finished = [t for t in before.trials if t.state == "complete"]
    lost = [t for t in before.trials if t.state == "interrupted"]
    assert len(finished) >= 2 and len(lost) == 1

    x, y = data
    after = hpsearch(textbook_build, x, y, SPEC, storage=url, study="killed", **small(trials=4, epochs=12))
    assert sum(t.state == "complete" for t in after.trials) == 4
    by_number = {t.number: t for t in after.trials}
    for t in finished:
        assert by_number[t.number].to_dict() == t.to_dict()
    assert by_number[lost[0].number].state == "interrupted"
    assert any(t.params == lost[0].params and t.state == "complete" for t in after.trials)


def _postgres_url() -> str:
    return os.environ.get("NNHP_TEST_POSTGRES_URL", "postgresql+psycopg2://postgres@127.0.0.1:54329/nnhp_test")


@pytest.fixture(scope="session")
def postgres_url():
    """A reachable PostgreSQL (started by .ci/postgres.sh), else the test is skipped."""
    pytest.importorskip("psycopg2")
    import sqlalchemy

    url = _postgres_url()
    try:
        engine = sqlalchemy.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:
        pytest.skip(f"no PostgreSQL at {url} ({type(exc).__name__}); run .ci/postgres.sh to start one")
    return url


def test_postgresql_storage_resumes_and_reloads(data, postgres_url):
    x, y = data
    study = f"pg-{uuid.uuid4().hex[:8]}"
    first = hpsearch(textbook_build, x, y, SPEC, storage=postgres_url, study=study, **small(trials=2))
    extended = hpsearch(textbook_build, x, y, SPEC, storage=postgres_url, study=study, **small(trials=3))
    assert summary(extended)[:2] == summary(first) and len(extended.trials) == 3
    assert summary(load_search(postgres_url, study)) == summary(extended)
    optuna.delete_study(study_name=study, storage=postgres_url)


def test_storage_modules_import_no_tensorflow():
    code = "import sys, nnhp_magics.search.storage, nnhp_magics.training.executors; assert 'tensorflow' not in sys.modules"
    subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True, cwd=ROOT)
