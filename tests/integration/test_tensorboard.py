"""--tensorboard DIR: per-trial curves in DIR/trial-N and HParams summaries TensorBoard reads."""

from __future__ import annotations

import pytest
from helpers import fast_search, textbook_build

from nnhp_magics import hpsearch
from nnhp_magics.errors import NnhpError

pytestmark = pytest.mark.usefixtures("keras_ready")

small = fast_search(trials=2, epochs=2, patience=0)
SPEC = "n_neurons = int(2, 8)\nlearning_rate = loguniform(1e-3, 1e-2)"


def test_each_trial_logs_to_its_folder_and_the_hparams_read_back(data, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from tensorboard.plugins.hparams import metadata

    x, y = data
    search = hpsearch(textbook_build, x, y, SPEC, tensorboard=str(tmp_path), **small())
    assert {t.engine for t in search.trials} == {"graph"}, "the logger acts per epoch"
    root = EventAccumulator(str(tmp_path))
    root.Reload()
    experiment = metadata.parse_experiment_plugin_data(root.PluginTagToContent("hparams")[metadata.EXPERIMENT_TAG])
    assert sorted(h.name for h in experiment.hparam_infos) == ["learning_rate", "n_neurons"]
    assert [m.name.tag for m in experiment.metric_infos] == ["val_loss"]
    for trial in search.trials:
        folder = tmp_path / f"trial-{trial.number}"
        assert (folder / "train").is_dir() and (folder / "validation").is_dir()
        session = EventAccumulator(str(folder))
        session.Reload()
        content = session.PluginTagToContent("hparams")[metadata.SESSION_START_INFO_TAG]
        start = metadata.parse_session_start_info_plugin_data(content)
        assert start.hparams["n_neurons"].number_value == trial.params["n_neurons"]
        assert start.hparams["learning_rate"].number_value == pytest.approx(trial.params["learning_rate"])
        assert session.Scalars("val_loss")[0].value == pytest.approx(trial.score, rel=1e-6)
        curves = EventAccumulator(str(folder / "validation"))
        curves.Reload()
        assert "epoch_loss" in curves.Tags()["tensors"]


def test_the_magic_takes_tensorboard(ip, data, tmp_path):
    x, y = data
    ip.user_ns.update(build=textbook_build, X=x, Y=y)
    ip.run_cell_magic(
        "hpsearch", f"build X Y --trials 1 --epochs 1 --seed 1 --tensorboard {tmp_path / 'tb'} --quiet -o found",
        "n_neurons = int(2, 8)",
    )
    assert (tmp_path / "tb" / "trial-0" / "train").is_dir()


def test_without_tensorboard_a_clear_message_before_training(data, tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "tensorboard" else real(name, *a))
    x, y = data
    with pytest.raises(NnhpError, match="--tensorboard needs tensorboard: pip install tensorboard"):
        hpsearch(textbook_build, x, y, SPEC, tensorboard=str(tmp_path), **small())
    assert not any(tmp_path.iterdir())
