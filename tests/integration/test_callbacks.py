"""The user's --fit-kwargs callbacks: a copy per trial and fold, epoch-level ones on the graph engine, batch-level ones on fit."""

from __future__ import annotations

import pytest
from helpers import fast_search, textbook_build

from nnhp_magics import hpsearch
from nnhp_magics.errors import NnhpError

pytestmark = pytest.mark.usefixtures("keras_ready")

small = fast_search(trials=2, epochs=3, patience=0)
SPEC = "n_neurons = int(2, 8)"


def recorder():
    """An epoch-level callback that notes every hook it sees, with its model and logs."""
    import keras

    class Recorder(keras.callbacks.Callback):
        seen: list[tuple[int, str, object, object]] = []

        def on_train_begin(self, logs=None):
            Recorder.seen.append((id(self), "train_begin", self.model, dict(self.params)))

        def on_epoch_end(self, epoch, logs=None):
            Recorder.seen.append((id(self), "epoch_end", self.model, dict(logs)))

        def on_train_end(self, logs=None):
            Recorder.seen.append((id(self), "train_end", self.model, None))

    return Recorder()


def test_epoch_level_callbacks_run_on_the_graph_engine_with_model_logs_and_params(data):
    import keras

    x, y = data
    original = recorder()
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=0, min_delta=1e9)
    search = hpsearch(textbook_build, x, y, SPEC, fit_kwargs={"callbacks": [original, stop]}, **small())
    assert [t.engine for t in search.trials] == ["graph", "graph"]
    assert [t.engine_reason for t in search.trials] == [None, None]
    assert original._model is None, "the user's own callback is never used, only its copies"
    copies = {seen[0] for seen in type(original).seen}
    assert len(copies) == 2, "one copy per trial"
    begins = [seen for seen in type(original).seen if seen[1] == "train_begin"]
    assert all(isinstance(model, keras.Model) for _, _, model, _ in begins)
    assert begins[0][3]["epochs"] == 3 and begins[0][3]["steps"] >= 1
    ends = [seen[3] for seen in type(original).seen if seen[1] == "epoch_end"]
    assert all({"loss", "val_loss"} <= set(logs) for logs in ends)
    assert [t.epochs for t in search.trials] == [2, 2], "EarlyStopping (min_delta huge) stops after its patience"


def test_reduce_lr_on_plateau_runs_on_the_graph_engine_and_logs_the_rate_as_fit_does(data):
    import keras

    x, y = data
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="loss", patience=0, min_delta=1e9, factor=0.5)
    runs = {
        engine: hpsearch(textbook_build, x, y, SPEC, fit_kwargs={"callbacks": [plateau], "shuffle": False},
                         engine=engine, **small(trials=1))
        for engine in ("fit", "auto")
    }
    assert runs["auto"].trials[0].engine == "graph"
    graph, fit = runs["auto"].trials[0].history, runs["fit"].trials[0].history
    assert graph["learning_rate"] == pytest.approx(fit["learning_rate"])
    assert graph["learning_rate"][-1] < graph["learning_rate"][0]


def test_each_trial_and_fold_gets_its_own_tensorboard_folder(data, tmp_path):
    import keras

    x, y = data
    board = keras.callbacks.TensorBoard(log_dir=str(tmp_path / "logs"))
    search = hpsearch(textbook_build, x, y, SPEC, fit_kwargs={"callbacks": [board]}, **small())
    assert {t.engine for t in search.trials} == {"graph"}
    for n in (0, 1):
        assert (tmp_path / "logs" / f"trial-{n}" / "train").is_dir()
        assert (tmp_path / "logs" / f"trial-{n}" / "validation").is_dir()
    assert not (tmp_path / "logs" / "train").exists()
    hpsearch(textbook_build, x, y, SPEC, cv=2, fit_kwargs={"callbacks": [board]}, **small(trials=1))
    assert (tmp_path / "logs" / "trial-0" / "fold-1" / "train").is_dir()


def test_checkpoint_and_csv_paths_take_the_trial_number_and_keep_the_epoch(data, tmp_path):
    import keras

    x, y = data
    checkpoint = keras.callbacks.ModelCheckpoint(str(tmp_path / "m-{trial}-{epoch}.weights.h5"), save_weights_only=True)
    logger = keras.callbacks.CSVLogger(str(tmp_path / "trial-{trial:02d}.csv"))
    search = hpsearch(textbook_build, x, y, SPEC, fit_kwargs={"callbacks": [checkpoint, logger]}, **small())
    assert {t.engine for t in search.trials} == {"graph"}
    assert {p.name for p in tmp_path.glob("m-*")} == {f"m-{n}-{e}.weights.h5" for n in (0, 1) for e in (1, 2, 3)}
    assert (tmp_path / "trial-01.csv").read_text().count("\n") == 4, "a header and three epochs"


def test_batch_level_callbacks_fall_back_to_fit_and_the_leaderboard_says_why(data, tmp_path):
    import keras

    x, y = data

    class PerBatch(keras.callbacks.Callback):
        batches = 0

        def on_train_batch_end(self, batch, logs=None):
            PerBatch.batches += 1

    search = hpsearch(textbook_build, x, y, SPEC, fit_kwargs={"callbacks": [PerBatch()]}, **small())
    assert {t.engine for t in search.trials} == {"fit"}
    reason = "the callback PerBatch acts per batch (on_train_batch_end)"
    assert {t.engine_reason for t in search.trials} == {reason}
    assert set(search.leaderboard()["engine_reason"]) == {reason}
    assert PerBatch.batches > 0
    batched = keras.callbacks.TensorBoard(log_dir=str(tmp_path), update_freq="batch")
    again = hpsearch(textbook_build, x, y, SPEC, fit_kwargs={"callbacks": [batched]}, **small(trials=1))
    assert again.trials[0].engine_reason == "the callback TensorBoard acts per batch (on_train_batch_end)"


def test_which_callbacks_act_per_batch():
    import keras

    from nnhp_magics.training.callbacks import batch_hook

    callbacks = keras.callbacks
    assert batch_hook(callbacks.EarlyStopping()) is None
    assert batch_hook(callbacks.CSVLogger("x.csv")) is None
    assert batch_hook(callbacks.TensorBoard(profile_batch=0)) is None
    assert batch_hook(callbacks.TensorBoard(profile_batch=2)) == "on_train_batch_end"
    assert batch_hook(callbacks.ModelCheckpoint("m.keras")) is None
    assert batch_hook(callbacks.ModelCheckpoint("m.keras", save_freq=5)) == "on_train_batch_end"
    assert batch_hook(callbacks.LambdaCallback(on_epoch_end=print)) is None
    assert batch_hook(callbacks.LambdaCallback(on_batch_end=print)) == "on_batch_end"
    assert batch_hook(callbacks.TerminateOnNaN()) == "on_batch_end"


def test_placeholders_fill_trial_and_fold_only():
    from nnhp_magics.training.callbacks import fill_placeholders

    assert fill_placeholders("a/{trial:03d}/{epoch:02d}-{fold}.keras", 7, 1) == "a/007/{epoch:02d}-1.keras"


def test_callbacks_that_are_not_keras_callbacks_are_refused_before_training(data):
    x, y = data
    with pytest.raises(NnhpError, match="is not a keras.callbacks.Callback"):
        hpsearch(textbook_build, x, y, SPEC, fit_kwargs={"callbacks": [object()]}, **small())
    with pytest.raises(NnhpError, match="must be a list of Keras callbacks"):
        hpsearch(textbook_build, x, y, SPEC, fit_kwargs={"callbacks": "early"}, **small())
