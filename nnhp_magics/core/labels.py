"""Class labels: which targets are labels, encoding them to integer classes, and decoding predictions back.

Pure NumPy (pandas objects are read by duck typing): strings, pandas categoricals
and bools are encoded to integer codes ``0..K-1`` in the order of their classes
(sorted values, or the categorical's own category order); integer labels and
float 0/1 labels train as they are and are only stratified under ``--cv``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nnhp_magics.errors import NnhpError

#: Integer targets with at most this many distinct values are taken for class labels (stratified under --cv).
MAX_INT_CLASSES = 50


def categories_of(y: Any) -> np.ndarray | None:
    """A pandas categorical's categories in their own order (a Series or a Categorical), else None."""
    dtype = getattr(y, "dtype", None)
    categories = getattr(dtype, "categories", None)
    return None if categories is None else np.asarray(categories)


def needs_encoding(y: Any) -> bool:
    """Whether ``y`` holds labels Keras cannot train on as they are: strings, a categorical, bools."""
    if categories_of(y) is not None:
        return True
    values = y.to_numpy() if hasattr(y, "to_numpy") else np.asarray(y)
    if values.dtype.kind in "USb":
        return True
    return values.dtype == object and values.size > 0 and all(isinstance(v, str) for v in values.ravel())


def encode(y: Any, what: str, classes: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes for the labels ``y`` and the classes they index; with ``classes``, codes in those classes.

    ``what`` names ``y`` in errors: a missing value, or (given ``classes``) a label
    the classes do not hold, is refused.
    """
    categories = categories_of(y)
    values = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
    if values.ndim > 2 or (values.ndim == 2 and values.shape[1] != 1):
        raise NnhpError(f"{what} holds labels in rows of shape {values.shape[1:]}: pass one label a row.")
    values = values.reshape(-1)
    missing = np.array([v is None or (isinstance(v, float) and np.isnan(v)) for v in values]) if values.dtype == object else None
    if categories is not None and hasattr(y, "cat"):
        missing = np.asarray(y.isna())
    if missing is not None and missing.any():
        raise NnhpError(f"{what} has a missing label in row {int(missing.argmax())}: drop or fill those rows before the search.")
    if classes is None:
        classes = categories if categories is not None else np.unique(values)
    codes = _codes(values, classes)
    unknown = codes < 0
    if unknown.any():
        raise NnhpError(
            f"{what} holds the label {np.asarray(values[int(unknown.argmax())]).tolist()!r}, which the training y never has "
            f"(its classes: {', '.join(map(repr, classes.tolist()))})."
        )
    return codes.astype(np.int32), classes


def _codes(values: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Each value's index in ``classes``, -1 where ``classes`` lacks it."""
    index = {value: i for i, value in enumerate(classes.tolist())}
    return np.fromiter((index.get(v, -1) for v in values.tolist()), dtype=np.int64, count=len(values))


def is_labels(y: np.ndarray) -> bool:
    """Whether a (numeric or encoded) target holds class labels: ints with few values, bools, float 0/1, one-hot rows."""
    if y.dtype == bool:
        return True
    if y.ndim == 2 and y.shape[1] > 1:
        return bool(np.isin(y, (0, 1)).all() and np.allclose(y.sum(axis=1), 1))
    flat = y.reshape(-1)
    if np.issubdtype(y.dtype, np.integer):
        return 1 < len(np.unique(flat)) <= MAX_INT_CLASSES
    if np.issubdtype(y.dtype, np.floating):
        return bool(np.isin(flat, (0.0, 1.0)).all()) and len(np.unique(flat)) == 2
    return False


def class_indices(y: np.ndarray) -> np.ndarray:
    """One class index a row: the argmax of one-hot rows, else the labels themselves."""
    return y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(-1)


def decode(predictions: Any, classes: np.ndarray | list[Any] | None) -> np.ndarray:
    """Labels from a classifier's outputs: argmax over a softmax, > 0.5 for one sigmoid unit, mapped through ``classes``."""
    scores = np.asarray(predictions)
    if scores.ndim == 2 and scores.shape[1] > 1:
        index = scores.argmax(axis=1)
    else:
        index = (scores.reshape(len(scores)) > 0.5).astype(np.int64)
    return index if classes is None else np.asarray(classes)[index]
