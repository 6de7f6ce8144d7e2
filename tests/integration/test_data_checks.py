"""Bad data are refused before training, naming the array and its first bad row."""

from __future__ import annotations

import numpy as np
import pytest

from nnhp_magics.core.data import prepare
from nnhp_magics.errors import NnhpError


def arrays(n: int = 20) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, 3)).astype("float32"), rng.normal(size=n).astype("float32")


def test_nan_in_y_and_inf_in_x_name_the_array_and_row():
    x, y = arrays()
    y[7] = np.nan
    with pytest.raises(NnhpError, match=r"^y holds NaN \(first in row 7"):
        prepare(x, y)
    x, y = arrays()
    x[4, 2] = np.inf
    x[9, 0] = np.inf
    with pytest.raises(NnhpError, match=r"^X holds infinity \(first in row 4, 2 bad row"):
        prepare(x, y)


def test_non_numeric_x_is_refused_with_its_dtype():
    x, y = arrays()
    with pytest.raises(NnhpError, match="X holds <U.* values, not numbers"):
        prepare(x.astype(str), y)


def test_validation_data_get_the_same_checks():
    x, y = arrays()
    xv, yv = arrays(10)
    yv[3] = np.nan
    with pytest.raises(NnhpError, match=r"^validation y holds NaN \(first in row 3"):
        prepare(x, y, valid=(xv, yv))
    xv, yv = arrays(10)
    xv[1, 1] = -np.inf
    with pytest.raises(NnhpError, match=r"^validation X holds infinity \(first in row 1"):
        prepare(x, y, valid=(xv, yv))


def test_string_labels_and_clean_data_pass():
    x, _ = arrays()
    labels = np.array(["cat", "dog"] * 10)
    assert len(prepare(x, labels).full) == 20
    assert len(prepare(*arrays()).full) == 20
