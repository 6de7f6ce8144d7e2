"""Nothing lost, nothing run that the user did not write: storage files, HTML, clusters, exports, magic options."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pytest
import scipy
import scipy.stats
from helpers import textbook_build

from nnhp_magics.api import load_search
from nnhp_magics.core.results import Trial
from nnhp_magics.core.spec import parse_spec
from nnhp_magics.core.stored_space import space_from_data, space_to_data
from nnhp_magics.errors import NnhpError
from nnhp_magics.search import storage as store
from nnhp_magics.search.loop import plan_search
from nnhp_magics.views.explore_panel import importances_payload, refine_payload, trials_payload

PWN = "{__import__('pathlib').Path('PWNED').write_text('ran') and 1e-3}"


def write_study(path: Path, spec: str, space: list | None = None) -> None:
    """A study file as %%hpsearch writes one (meta and four complete trials), with the given spec and stored space."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=f"sqlite:///{path}", study_name="s", direction="minimize")
    meta = {
        "objective": "val_loss", "direction": "minimize", "param_names": ["lr", "units"], "strategy": "random",
        "budget": 4, "cv": None, "max_epochs": 1, "spec": spec, "build": "build", "keep_models": 0,
    }
    if space is not None:
        meta["space"] = space
    study.set_user_attr(store.META_ATTR, meta)
    for number, (lr, units, score) in enumerate([(1e-3, 8, 0.5), (1e-2, 16, 0.2), (1e-3, 16, 0.3), (1e-2, 8, 0.6)]):
        trial = study.ask()
        record = Trial(number, {"lr": lr, "units": units}, state="complete", score=score)
        trial.set_user_attr(store.RECORD_ATTR, record.to_dict())
        study.tell(trial, score)


def every_reader(db: Path) -> list[object]:
    """Call everything that reads a reopened study's space; what each returned or raised."""
    search = load_search(str(db))
    outcomes: list[object] = [importances_payload(search), refine_payload(search), trials_payload(search)]
    for read in (search.importances, search.refine, search.refine_cell):
        try:
            outcomes.append(read())
        except NnhpError as exc:
            outcomes.append(exc)
    return outcomes


def test_an_old_study_whose_spec_holds_an_expression_runs_nothing_and_says_so(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_study(tmp_path / "old.db", f"lr = {PWN}\nunits = int(8, 16, step=8)")
    outcomes = every_reader(tmp_path / "old.db")
    assert not (tmp_path / "PWNED").exists()
    errors = [o for o in outcomes if isinstance(o, NnhpError)]
    assert len(errors) == 3 and all("is not run" in str(e) for e in errors)
    assert "is not run" in outcomes[0]["error"] and "is not run" in outcomes[1]["error"]


def test_a_study_keeps_the_values_its_expressions_had_and_reads_them_back_as_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = f"lr = {{[{PWN[1:-1]}, 1e-2]}}\nunits = int(8, 16, step=8)"
    ran = parse_spec("lr = {[1e-3, 1e-2]}\nunits = int(8, 16, step=8)")
    write_study(tmp_path / "new.db", spec, space_to_data(ran))
    imp, refined, trials, importances, refine, _ = every_reader(tmp_path / "new.db")
    assert not (tmp_path / "PWNED").exists()
    assert set(importances) == {"lr", "units"} and imp["error"] is None and trials["error"] is None
    assert "lr" in refine and "__import__" not in refine and refined["error"] is None


def test_plan_search_stores_the_resolved_space_with_the_study(tmp_path):
    x, y = np.zeros((8, 2), "float32"), np.zeros(8, "float32")
    db = tmp_path / "plan.db"

    def build(lr=1e-3, units=8):
        """Planning trains nothing: it builds one model to read the names it logs."""
        return textbook_build(n_neurons=units, learning_rate=lr, input_shape=(2,))

    plan_search(
        build, x, y, "lr = {[lo, 1e-2]}\nunits = int(8, 16, step=8)", valid=None, validation_split=0.25, cv=None,
        strategy="random", trials=2, epochs=1, patience=0, batch_size=4, objective="loss", seed=0, timeout=None,
        export=None, overwrite=False, storage=str(db), study="s", workers=1, dask=None, fit_kwargs=None,
        baseline=False, warmup=0, namespace={"lo": 1e-3},
    )
    stored = optuna.load_study(study_name="s", storage=f"sqlite:///{db}").user_attrs[store.META_ATTR]
    assert stored["spec"].startswith("lr = {[lo, 1e-2]}")
    assert space_from_data(stored["space"])["lr"].dist.choices == (1e-3, 1e-2)


def test_every_form_round_trips_through_the_stored_data():
    space = parse_spec(
        "a = choice('x', (1, 2), None)\n"
        "b = int(1, 64, log=True)\n"
        "c = float(0.0, 1.0, step=0.25) if a == 'x'\n"
        "d = loguniform(1e-4, 1e-1)\n"
        "e = fixed([1, 2])\n"
        "f = {scipy.stats.norm(0.5, 2)}\n"
        "g = {[abs, round]}",
        {"scipy": scipy},
    )
    back = space_from_data(space_to_data(space))
    assert [p.name for p in back] == list("abcdefg")
    for name in "abcde":
        assert back[name].dist == space[name].dist
    assert back["c"].active({"a": "x"}) and not back["c"].active({"a": (1, 2)})
    assert back["f"].dist.value_at(0.5) == pytest.approx(0.5) and back["f"].dist.name == "norm"
    assert [repr(c) for c in back["g"].dist.choices] == [repr(abs), repr(round)]


@pytest.mark.parametrize(
    "bad",
    [
        {"kind": "fixed", "value": {"literal": "__import__('os').system('touch PWNED')"}},
        {"kind": "scipy", "name": "__import__", "args": [], "kwds": {}},
        {"kind": "scipy", "name": "norm", "args": ["os"], "kwds": {}},
        {"kind": "int", "low": "1", "high": 2, "step": 1, "log": False},
    ],
)
def test_stored_data_that_would_need_running_is_refused(bad, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(NnhpError, match="nothing from it was run"):
        space_from_data([{"name": "x", "condition": None, "dist": bad}])
    assert not (tmp_path / "PWNED").exists()


def test_a_stored_condition_that_calls_anything_is_refused():
    dist = {"kind": "int", "low": 1, "high": 2, "step": 1, "log": False}
    with pytest.raises(NnhpError, match="uses Call"):
        space_from_data([{"name": "x", "condition": "__import__('os').getcwd()", "dist": dist}])


# ----- HTML ------------------------------------------------------------------------------------------
XSS = "<img src=x onerror=alert(1)>"


def test_the_static_html_view_escapes_every_value_from_a_storage_record():
    from nnhp_magics.api import Search
    from nnhp_magics.core.results import Objective

    search = Search(objective=Objective("val_loss", "minimize"), param_names=["a"], strategy=XSS)
    search.record_trial(Trial(0, {"a": XSS}, state="complete", score=0.1))
    search.record_trial(Trial(1, {"a": 1}, state=XSS, error=XSS))
    search.record_trial(Trial(2, {"a": 2}, state='failed" onmouseover="alert(1)', error="boom"))
    search.finish("done")
    shown = search._repr_html_()
    assert "&lt;img src=x" in shown and "<img src=x" not in shown
    assert 'onmouseover="alert' not in shown


# ----- atomic exports --------------------------------------------------------------------------------
class FakeModel:
    """Stands in for a Keras model: ``save`` writes a zip, or fails after writing half of it."""

    def __init__(self, payload: bytes, fail: bool = False) -> None:
        self.payload, self.fail = payload, fail

    def get_weights(self) -> list:
        return []

    def set_weights(self, weights: list) -> None:
        """No weights to set."""

    def save(self, path: Path) -> None:
        assert str(path).endswith(".keras"), "Keras needs a .keras name"
        import zipfile

        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("model.weights", self.payload)
            if self.fail:
                raise OSError(28, "No space left on device")


def exported_search(model: FakeModel):
    from nnhp_magics.api import Search
    from nnhp_magics.core.results import Objective

    search = Search(objective=Objective("val_loss", "minimize"), param_names=["a"])
    search.record_trial(Trial(0, {"a": 1}, state="complete", score=0.5))
    search.connect(refit=lambda best: model)
    search.finish("done")
    return search


def file_bytes(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.parametrize("failing", ["model", "params", "leaderboard"])
def test_a_failed_overwrite_export_leaves_the_previous_files_intact(tmp_path, monkeypatch, failing):
    import csv
    import json
    import zipfile

    exported_search(FakeModel(b"good")).export(tmp_path / "best.keras")
    before = file_bytes(tmp_path)
    assert sorted(before) == ["best.keras", "best.leaderboard.csv", "best.params.json"]
    search = exported_search(FakeModel(b"new", fail=failing == "model"))
    if failing != "model":
        real = Path.write_text

        def write_text(self: Path, text: str, *args, **kwargs) -> int:
            if failing in self.name:
                real(self, text[: len(text) // 2], *args, **kwargs)
                raise OSError(28, "No space left on device")
            return real(self, text, *args, **kwargs)

        monkeypatch.setattr(Path, "write_text", write_text)
    with pytest.raises(NnhpError, match=r"failed while writing the .*No space left on device; the previous files are unchanged"):
        search.export(tmp_path / "best.keras", overwrite=True)
    assert file_bytes(tmp_path) == before, "no temporary file left, nothing replaced"
    assert zipfile.ZipFile(tmp_path / "best.keras").read("model.weights") == b"good"
    assert json.loads((tmp_path / "best.params.json").read_text())["params"] == {"a": 1}
    assert next(csv.DictReader((tmp_path / "best.leaderboard.csv").open()))["trial"] == "0"


def test_to_csv_replaces_the_file_whole(tmp_path):
    target = tmp_path / "board.csv"
    target.write_text("old")
    exported_search(FakeModel(b"x")).to_csv(target)
    assert target.read_text().startswith("trial,") and [p.name for p in tmp_path.iterdir()] == ["board.csv"]


# ----- options checked before training ---------------------------------------------------------------
def test_quoted_paths_in_the_magic_lose_their_quotes(ip, monkeypatch):
    from nnhp_magics import api

    seen = {}
    monkeypatch.setattr(api, "hpsearch", lambda *args, **kwargs: seen.update(kwargs))
    ip.user_ns.update(safety_build=lambda: None, safety_x=[0], safety_y=[0])
    line = """safety_build safety_x safety_y --export "my model.keras" --storage 'my runs.db' --study "a b" """
    ip.run_cell_magic("hpsearch", line, "n = int(1, 2)")
    assert (seen["export"], seen["storage"], seen["study"]) == ("my model.keras", "my runs.db", "a b")


def test_hpexport_takes_a_quoted_path(ip, tmp_path):
    ip.user_ns["safety_search"] = exported_search(FakeModel(b"m"))
    ip.run_line_magic("hpexport", f'safety_search "{tmp_path / "my model.keras"}"')
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my model.keras", "my model.leaderboard.csv", "my model.params.json"]


def test_an_export_onto_a_folder_or_under_a_file_is_refused_before_training(tmp_path):
    from nnhp_magics.core.results import check_export_paths, export_paths

    (tmp_path / "best.keras").mkdir()
    with pytest.raises(NnhpError, match="it is a folder"):
        check_export_paths(export_paths(tmp_path / "best.keras"), overwrite=True)
    (tmp_path / "notes.txt").write_text("a file")
    with pytest.raises(NnhpError, match=r"notes.txt is a file, not a folder"):
        check_export_paths(export_paths(tmp_path / "notes.txt" / "sub" / "best.keras"), overwrite=True)


@pytest.mark.parametrize("cv", [0, 1, -3])
def test_cv_below_two_folds_is_refused(cv):
    def build(units=8):
        """Never called."""

    with pytest.raises(NnhpError, match=f"--cv must be at least 2 folds .*, got {cv}"):
        plan_search(
            build, np.zeros((8, 2)), np.zeros(8), "units = int(8, 16)", valid=None, validation_split=0.25, cv=cv,
            strategy="random", trials=2, epochs=1, patience=0, batch_size=4, objective="loss", seed=0, timeout=None,
            export=None, overwrite=False, storage=None, study=None, workers=1, dask=None, fit_kwargs=None,
            baseline=False, warmup=0, namespace={},
        )
