"""Parallel and remote trials: --workers (a local Dask cluster) and --dask, with their faults."""

from __future__ import annotations

import os
import signal
import time

import pytest
from helpers import TEXTBOOK_SPEC as SPEC
from helpers import fast_search, textbook_build

from nnhp_magics import hpsearch
from nnhp_magics.core.events import EpochEnded, TrialFinished, TrialStarted
from nnhp_magics.errors import NnhpError

pytestmark = pytest.mark.usefixtures("keras_ready")


small = fast_search(trials=4, epochs=2, patience=0, workers=2)  # on the shared two-worker cluster


@pytest.fixture(scope="session")
def client():
    """The two-process cluster that --workers 2 starts, kept for the whole session (as in a kernel)."""
    from nnhp_magics.training.executors import close_local_cluster, local_client

    yield local_client(2)
    close_local_cluster()


def worker_pids(client) -> dict[str, int]:
    return client.run(os.getpid)


def test_the_local_cluster_listens_on_loopback_only(client):
    import psutil

    info = client.scheduler_info()
    addresses = [info["address"], *info["workers"], *(w["nanny"] for w in info["workers"].values())]
    assert all(a.startswith("tcp://127.0.0.1:") for a in addresses), addresses
    processes = [psutil.Process(), *(psutil.Process(pid) for pid in worker_pids(client).values())]
    listening = [c.laddr for p in processes for c in p.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN]
    assert info["services"]["dashboard"] in {a.port for a in listening}
    assert listening and all(a.ip == "127.0.0.1" for a in listening), listening


def test_workers_run_trials_at_once_with_the_serial_parameters(data, client):
    x, y = data
    events = []
    parallel = hpsearch(textbook_build, x, y, SPEC, listeners=[events.append], **small())
    serial = hpsearch(textbook_build, x, y, SPEC, **small(workers=1))
    assert [t.params for t in parallel.trials] == [t.params for t in serial.trials]
    assert all(t.state == "complete" for t in parallel.trials)
    for t in parallel.trials:
        assert len(t.history["val_loss"]) == 2
    order = [(type(e).__name__, e.trial) for e in events if isinstance(e, (TrialStarted, TrialFinished))]
    assert order.index(("TrialStarted", 1)) < order.index(("TrialFinished", 0)), "two trials ran at once"
    epochs = {(e.trial, e.epoch) for e in events if isinstance(e, EpochEnded)}
    assert epochs == {(n, e) for n in range(4) for e in range(2)}, "every remote epoch reached the live view"
    assert parallel.best_model.predict(x[:2], verbose=0).shape == (2, 1)


def test_dask_by_address_scatters_the_data_once(data, client):
    x, y = data
    held = []

    def count_data(event):
        if isinstance(event, TrialFinished):
            keys = {key for keys in client.has_what().values() for key in keys}
            held.append(sum(1 for key in keys if str(key).startswith("TrainingData")))

    search = hpsearch(
        textbook_build, x, y, SPEC, listeners=[count_data], **small(workers=1, dask=client.scheduler.address, trials=3)
    )
    assert [t.state for t in search.trials] == ["complete"] * 3
    assert held == [1, 1, 1]


def test_failures_on_workers_keep_their_reason_and_the_rest_complete(data, client):
    x, y = data

    def fragile(n_hidden=1, n_neurons=8, learning_rate=3e-3):
        if n_hidden == 2:
            raise ValueError("two hidden layers are not supported")
        return textbook_build(n_hidden, n_neurons, learning_rate)

    spec = "n_hidden = choice(1, 2)\nlearning_rate = choice(1e-3, 1e4)"
    search = hpsearch(fragile, x, y, spec, strategy="grid", dask=client, **small(workers=1, trials=None, epochs=3))
    reasons = {(t.params["n_hidden"], t.params["learning_rate"]): (t.state, t.error) for t in search.trials}
    assert reasons[(2, 1e-3)] == reasons[(2, 1e4)] == ("failed", "ValueError: two hidden layers are not supported")
    assert reasons[(1, 1e4)][0] == "failed" and "NaN" in reasons[(1, 1e4)][1]
    assert reasons[(1, 1e-3)] == ("complete", None)


def test_a_build_that_returns_no_model_is_reported_as_in_the_serial_case(data, client):
    x, y = data

    def forgot_return(n_neurons=8):
        textbook_build(1, n_neurons)

    with pytest.raises(NnhpError, match="returned None. Did you forget `return model`"):
        hpsearch(forgot_return, x, y, "n_neurons = int(1, 5)", **small())


def slow_epochs(seconds: float):
    """A Keras callback that sleeps after every epoch, so a test can act while a trial runs."""
    import keras

    class SlowEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            time.sleep(seconds)

    return SlowEpochs()


def test_a_worker_killed_mid_trial_is_retried_and_nothing_is_lost(data, client):
    x, y = data
    killed = []

    def kill_the_worker_of_trial_two(event):
        if isinstance(event, EpochEnded) and event.trial == 2 and event.epoch == 1 and not killed:
            for address, keys in client.processing().items():
                if any(str(key).startswith("nnhp-trial-2-") for key in keys):
                    killed.append(worker_pids(client)[address])
                    os.kill(killed[0], signal.SIGKILL)

    search = hpsearch(
        textbook_build, x, y, SPEC, listeners=[kill_the_worker_of_trial_two],
        **small(trials=5, epochs=10, fit_kwargs={"callbacks": [slow_epochs(0.05)]}),
    )
    assert killed, "trial 2's worker was found and killed"
    assert [t.state for t in search.trials] == ["complete"] * 5
    assert all(t.epochs == 10 for t in search.trials)
    assert killed[0] not in worker_pids(client).values()


def test_stop_reaches_remote_trials_within_an_epoch(data, client):
    x, y = data
    holder = []

    def stop_at_third_epoch(event):
        if isinstance(event, EpochEnded) and event.epoch == 2:
            holder[0].stop()

    search = hpsearch(
        textbook_build, x, y, SPEC, listeners=[stop_at_third_epoch], on_created=holder.append,
        **small(trials=6, epochs=40, fit_kwargs={"callbacks": [slow_epochs(0.05)]}),
    )
    assert search.stop_reason == "stopped"
    assert {t.state for t in search.trials} == {"interrupted"}
    assert len(search.trials) == 2 and all(t.epochs < 20 for t in search.trials)


def test_pruning_decisions_travel_back_to_the_workers(data, client):
    from nnhp_magics.core.data import prepare
    from nnhp_magics.core.results import Objective
    from nnhp_magics.training.executors import make_executor
    from nnhp_magics.training.trial import PRUNE, FitConfig, TrialTask

    x, y = data

    class PruneOddTrialsAtEpochTwo:
        def __init__(self):
            self.seen = []

        def epoch_end(self, trial, fold, folds, epoch, logs):
            self.seen.append((trial, epoch))
            return PRUNE if trial % 2 and epoch == 1 else None

    control = PruneOddTrialsAtEpochTwo()
    executor = make_executor(dask=client, pruning=True)
    tasks = [TrialTask(n, {"n_neurons": 4 + n}) for n in range(4)]
    config = FitConfig(Objective("val_loss", "minimize"), epochs=6, patience=0)
    outcomes = list(executor.run(tasks, textbook_build, prepare(x, y), config, control))
    records = {o.record.number: o.record for o in outcomes}
    assert {n: (r.state, r.epochs) for n, r in records.items()} == {
        0: ("complete", 6), 1: ("pruned", 2), 2: ("complete", 6), 3: ("pruned", 2)
    }
    assert sorted(control.seen) == sorted([(n, e) for n in (0, 2) for e in range(6)] + [(n, e) for n in (1, 3) for e in range(2)])


def test_hyperband_and_bayes_run_with_trials_in_flight(data, client):
    x, y = data
    spec = "learning_rate = loguniform(1e-4, 3e-2)\nn_neurons = int(2, 16)"
    pruned = hpsearch(textbook_build, x, y, spec, strategy="hyperband", **small(trials=6, epochs=9))
    assert {t.state for t in pruned.trials} <= {"complete", "pruned"} and len(pruned.trials) == 6
    assert all(t.epochs <= 9 for t in pruned.trials)
    bayes = hpsearch(textbook_build, x, y, spec, strategy="bayes", **small(trials=7, epochs=1))
    assert [t.state for t in bayes.trials] == ["complete"] * 7
    assert len({tuple(sorted(t.params.items())) for t in bayes.trials}) == 7


def test_a_hyperband_round_after_a_random_one_waits_for_remote_pruning_decisions(data, client, monkeypatch):
    import nnhp_magics.search.rounds as rounds_module

    x, y = data
    search = hpsearch(textbook_build, x, y, "learning_rate = loguniform(1e-3, 3e-2)", **small(trials=2, epochs=9))
    first_executor = search._follow_up.plan.executor
    started = rounds_module.start_search
    pruning = []

    def recording(plan, *args, **kwargs):
        pruning.append(plan.executor.pruning)
        return started(plan, *args, **kwargs)

    monkeypatch.setattr(rounds_module, "start_search", recording)
    search.run_round("learning_rate = choice(1e-7, 1e-6, 2e-2, 3e-2)", strategy="hyperband", trials=6)
    assert pruning == [True] and first_executor.pruning is False
    second = [t for t in search.trials if t.round == 2]
    assert len(second) == 6 and {t.state for t in second} <= {"complete", "pruned"}


def test_memory_per_worker_and_in_the_driver_stays_flat_over_thirty_trials(data, client):
    import psutil

    x, y = data
    driver, workers = {}, {}

    def sample(event):
        if isinstance(event, TrialFinished) and event.trial in (9, 29):
            driver[event.trial] = psutil.Process().memory_info().rss
            workers[event.trial] = client.run(lambda: __import__("psutil").Process().memory_info().rss)

    hpsearch(textbook_build, x[:64], y[:64], SPEC, listeners=[sample], **small(trials=30, epochs=1))
    assert (driver[29] - driver[9]) / 2**20 < 40
    for address in workers[29]:
        growth = (workers[29][address] - workers[9].get(address, workers[29][address])) / 2**20
        assert growth < 40, f"worker {address} grew {growth:.1f} MB between trial 10 and trial 30"


def test_where_options_are_checked_before_training(data, tmp_path):
    import tensorflow as tf

    x, y = data
    with pytest.raises(NnhpError, match="--workers must be at least 1"):
        hpsearch(textbook_build, x, y, SPEC, **small(workers=0))
    with pytest.raises(NnhpError, match="pick one"):
        hpsearch(textbook_build, x, y, SPEC, **small(dask="tcp://127.0.0.1:1"))
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(32)
    with pytest.raises(NnhpError, match="need X, y as arrays"):
        hpsearch(textbook_build, dataset, None, SPEC, valid=(x, y), **small())
    with pytest.raises(NnhpError, match="cannot reach the Dask scheduler"):
        hpsearch(textbook_build, x, y, SPEC, **small(workers=1, dask="tcp://127.0.0.1:9"))


def test_dasks_log_lines_stay_out_of_the_cell_when_a_worker_dies(data, client, caplog):
    import logging

    x, y = data
    killed = []

    def kill_the_worker_of_trial_one(event):
        if isinstance(event, EpochEnded) and event.trial == 1 and event.epoch == 1 and not killed:
            for address, keys in client.processing().items():
                if any(str(key).startswith("nnhp-trial-1-") for key in keys):
                    killed.append(worker_pids(client)[address])
                    os.kill(killed[0], signal.SIGKILL)
                    logging.getLogger("distributed.scheduler").error("the scheduler's report of %s", address)

    search = hpsearch(
        textbook_build, x, y, SPEC, listeners=[kill_the_worker_of_trial_one],
        **small(trials=3, epochs=6, fit_kwargs={"callbacks": [slow_epochs(0.05)]}),
    )
    assert killed and [t.state for t in search.trials] == ["complete"] * 3
    assert [r.getMessage() for r in caplog.records if r.name.startswith("distributed.")] == []


def two_input_build(units: int = 4, learning_rate: float = 0.01):
    """A wide & deep model on two inputs, as the chapter's: 2 wide features beside a small MLP over 4."""
    import keras

    wide, deep = keras.Input(shape=(2,)), keras.Input(shape=(4,))
    hidden = keras.layers.Dense(units, activation="relu")(deep)
    model = keras.Model([wide, deep], keras.layers.Dense(1)(keras.layers.concatenate([wide, hidden])))
    model.compile(loss="mse", optimizer=keras.optimizers.SGD(learning_rate=learning_rate))
    return model


def test_workers_train_several_inputs_with_the_users_callbacks(data, client, keras_ready):
    x, y = data
    inputs = (x[:, :2], x)
    stop = keras_ready.callbacks.EarlyStopping(monitor="val_loss", patience=1)
    search = hpsearch(two_input_build, inputs, y, "units = int(2, 6)", fit_kwargs={"callbacks": [stop]}, **small())
    assert [t.state for t in search.trials] == ["complete"] * 4
    assert {t.engine for t in search.trials} == {"graph"}, "epoch-level callbacks keep the graph engine on workers"
    assert search.best_model.predict(inputs, verbose=0).shape == (len(y), 1)
