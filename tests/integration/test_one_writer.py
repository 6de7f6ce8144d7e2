"""One study, one writer: a second process is refused before training, and no finished trial is discarded."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
from helpers import ROOT, fast_search, textbook_build
from helpers import TEXTBOOK_SPEC as SPEC

from nnhp_magics import hpsearch, load_search
from nnhp_magics.core.events import TrialStarted
from nnhp_magics.errors import NnhpError
from nnhp_magics.search.storage import locate, open_storage

pytestmark = pytest.mark.usefixtures("keras_ready")

small = fast_search(trials=2, epochs=1, patience=0)

SLOW_RUN = """
import sys
sys.path.insert(0, {tests!r})
from helpers import pin_tensorflow_threads, regression_data, textbook_build
from nnhp_magics import hpsearch
pin_tensorflow_threads()
x, y = regression_data()
hpsearch(textbook_build, x, y, {spec!r}, storage={url!r}, study="shared", trials=3, epochs=30, patience=0,
         batch_size=8, seed=1, namespace={{}}, quiet=True)
"""


def _trial_started(path: Path, process: subprocess.Popen, timeout: float = 120) -> None:
    """Block until the other process has asked for its first trial."""
    import sqlite3

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the other search ended before it was watched"
        try:
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
                if connection.execute("select count(*) from trials").fetchone()[0]:
                    return
        except sqlite3.Error:
            pass
        time.sleep(0.1)
    raise AssertionError("the other search started no trial in time")


def test_a_second_process_is_refused_before_training_and_the_first_finishes(data, tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    script = tmp_path / "run.py"
    script.write_text(SLOW_RUN.format(tests=str(ROOT / "tests"), spec=SPEC, url=url))
    process = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, stderr=subprocess.PIPE)
    try:
        _trial_started(tmp_path / "shared.db", process)
        built = []

        def build(**params):
            built.append(params)
            return textbook_build(**params)

        build.__name__ = "textbook_build"
        x, y = data
        with pytest.raises(NnhpError, match=f"being run by another process \\(pid {process.pid} .*--study"):
            hpsearch(build, x, y, SPEC, storage=url, study="shared", **small(trials=3))
        assert len(built) <= 1, "nothing beyond the probe build ran"
        _, stderr = process.communicate(timeout=240)
    finally:
        process.kill()
    assert process.returncode == 0, stderr.decode()[-2000:]
    finished = load_search(url, "shared")
    assert [t.state for t in finished.trials] == ["complete"] * 3


def test_a_trial_finished_elsewhere_keeps_its_result_here(data, tmp_path):
    url = str(tmp_path / "search.journal")
    other = {}

    def finish_elsewhere(event):
        if isinstance(event, TrialStarted) and event.trial == 0:
            if "study" not in other:
                name = optuna.get_all_study_names(open_storage(locate(url)))[0]
                other["study"] = optuna.load_study(study_name=name, storage=open_storage(locate(url)))
            other["study"].tell(0, state=optuna.trial.TrialState.FAIL)

    x, y = data
    with pytest.warns(UserWarning, match="trial 0 was finished in the storage by another process"):
        search = hpsearch(textbook_build, x, y, SPEC, storage=url, listeners=[finish_elsewhere], **small())
    assert [t.state for t in search.trials] == ["complete", "complete"]
    assert search.trials[0].score is not None
