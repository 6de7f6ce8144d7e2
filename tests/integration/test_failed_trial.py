"""A trial that raises mid-training keeps the epochs it trained and their history."""

from __future__ import annotations

import pytest
from helpers import TEXTBOOK_SPEC as SPEC
from helpers import fast_search, textbook_build

from nnhp_magics import hpsearch
from nnhp_magics.errors import AllTrialsFailed

pytestmark = pytest.mark.usefixtures("keras_ready")


def test_a_trial_that_raises_mid_training_keeps_its_epochs_and_history(data):
    import keras

    class Boom(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 2:
                raise RuntimeError("disk full")

    x, y = data
    created = []
    with pytest.raises(AllTrialsFailed, match="disk full"):
        hpsearch(textbook_build, x, y, SPEC, fit_kwargs={"callbacks": [Boom()]}, on_created=created.append,
                 **fast_search(trials=1, epochs=5, patience=0)())
    trial = created[0].trials[0]
    assert trial.state == "failed" and "RuntimeError: disk full" in trial.error
    assert trial.epochs == 3 and len(trial.history["loss"]) == 3
