"""Training data: checking X/y, the held-out split, CV folds and a fingerprint.

Pure logic over NumPy (and scikit-learn's splitters): no TensorFlow import. A
``tf.data.Dataset`` is recognised by duck typing and passed through untouched.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnhp_magics.errors import NnhpError


def is_dataset(obj: Any) -> bool:
    """Whether ``obj`` looks like a ``tf.data.Dataset`` (without importing TensorFlow)."""
    return type(obj).__module__.startswith("tensorflow") and hasattr(obj, "element_spec")


def as_array(obj: Any, what: str) -> np.ndarray:
    """A NumPy array from an array, a pandas object or a (nested) list."""
    if hasattr(obj, "to_numpy"):
        obj = obj.to_numpy()
    try:
        array = np.asarray(obj)
    except Exception as exc:
        raise NnhpError(f"{what} cannot be turned into an array: {exc}") from None
    if array.dtype == object:
        raise NnhpError(f"{what} holds values of mixed types or ragged rows; pass a numeric array.")
    if array.ndim == 0:
        raise NnhpError(f"{what} is a single value, not a data set.")
    return array


@dataclass
class Arrays:
    """A pair of aligned arrays."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.x)

    def take(self, index: np.ndarray) -> Arrays:
        return Arrays(self.x[index], self.y[index])


@dataclass
class Fold:
    """What one fit sees: training data, the data early stopping watches, and the data scored."""

    train: Any
    monitor: Arrays | Any | None
    scored: Arrays | None = None


def check_xy(x: Any, y: Any, what: str = "X, y") -> Arrays:
    """Arrays with matching lengths, or a clear error."""
    xs = as_array(x, what.split(",")[0].strip() or "X")
    ys = as_array(y, what.split(",")[-1].strip() or "y")
    if len(xs) != len(ys):
        raise NnhpError(f"{what} have different lengths: {len(xs)} rows of X but {len(ys)} of y.")
    if len(xs) < 2:
        raise NnhpError(f"{what} hold {len(xs)} row(s); a search needs data to train and validate on.")
    x_name, y_part = (part.strip() for part in what.split(","))
    y_name = x_name.removesuffix("X") + y_part  # "validation X, y" -> "validation y"
    if not (np.issubdtype(xs.dtype, np.number) or xs.dtype == bool):
        raise NnhpError(f"{x_name} holds {xs.dtype} values, not numbers: encode them as numbers before the search.")
    check_finite(xs, x_name)
    if np.issubdtype(ys.dtype, np.number):  # string class labels pass through
        check_finite(ys, y_name)
    return Arrays(xs, ys)


def check_finite(array: np.ndarray, name: str) -> None:
    """Refuse NaN or infinity in a numeric array, naming its first bad row (one pass, no copies kept)."""
    if not np.issubdtype(array.dtype, np.inexact):
        return
    finite = np.isfinite(array)
    if finite.all():
        return
    bad_rows = ~finite.reshape(len(array), -1).all(axis=1)
    row = int(bad_rows.argmax())
    kind = "NaN" if np.isnan(array[row]).any() else "infinity"
    raise NnhpError(
        f"{name} holds {kind} (first in row {row}, {int(bad_rows.sum())} bad row(s) in all): every trial would "
        "train on it and fail. Drop or impute those rows before the search."
    )


def is_classification_target(y: np.ndarray) -> bool:
    """Whether CV should stratify: integer, boolean or string class labels, or one-hot rows."""
    from sklearn.utils.multiclass import type_of_target

    kind = type_of_target(y)
    if kind in ("binary", "multiclass") and not np.issubdtype(y.dtype, np.floating):
        return True
    if kind == "multilabel-indicator" and np.allclose(y.sum(axis=1), 1):
        return True
    return False


def stratify_labels(y: np.ndarray) -> np.ndarray:
    return y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.ravel()


def validation_split(data: Arrays, fraction: float, seed: int | None) -> tuple[Arrays, Arrays]:
    """A shuffled, seeded hold-out: (train, held-out)."""
    if not 0.0 < fraction < 1.0:
        raise NnhpError(f"--validation-split must lie strictly between 0 and 1, got {fraction}.")
    n_val = int(round(len(data) * fraction))
    if n_val < 1 or n_val >= len(data):
        raise NnhpError(f"--validation-split {fraction} leaves no rows to train or validate on ({len(data)} rows).")
    order = np.random.default_rng(0 if seed is None else seed).permutation(len(data))
    return data.take(order[n_val:]), data.take(order[:n_val])


def cv_splits(data: Arrays, k: int, seed: int | None) -> list[tuple[np.ndarray, np.ndarray]]:
    """K shuffled, seeded folds as (train index, held-out index); stratified for class labels."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if k < 2:
        raise NnhpError(f"--cv needs at least 2 folds, got {k}.")
    if k > len(data):
        raise NnhpError(f"--cv {k} asks for more folds than the {len(data)} rows of X.")
    random_state = 0 if seed is None else seed
    if is_classification_target(data.y):
        labels = stratify_labels(data.y)
        _, counts = np.unique(labels, return_counts=True)
        if counts.min() >= k:
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
            return list(splitter.split(data.x, labels))
    splitter = KFold(n_splits=k, shuffle=True, random_state=random_state)
    return list(splitter.split(data.x))


@dataclass
class TrainingData:
    """The data a search trains on, prepared once: folds for every trial to share."""

    folds: list[Fold]
    full: Arrays | Any
    valid: Arrays | Any | None
    fingerprint: str

    def __iter__(self) -> Iterator[Fold]:
        return iter(self.folds)


def prepare(
    x: Any,
    y: Any,
    *,
    valid: tuple[Any, Any] | Any | None = None,
    validation_split_fraction: float = 0.2,
    cv: int | None = None,
    seed: int | None = None,
) -> TrainingData:
    """Check the data and lay out the folds: each fold trains on the other parts, early stopping on --valid when given, else on the held-out part."""
    valid_data: Arrays | Any | None = None
    if valid is not None:
        if is_dataset(valid):
            valid_data = valid
        else:
            if not isinstance(valid, (tuple, list)) or len(valid) != 2:
                raise NnhpError("--valid takes two names: the validation X and y.")
            valid_data = check_xy(valid[0], valid[1], "validation X, y")
    if is_dataset(x):
        if y is not None:
            raise NnhpError("X is a tf.data.Dataset, which carries its own targets: leave Y out.")
        if cv:
            raise NnhpError("--cv needs arrays: a tf.data.Dataset cannot be split into folds.")
        return TrainingData([Fold(x, valid_data)], x, valid_data, fingerprint=f"dataset:{id(x)}")
    if y is None:
        raise NnhpError("Y is missing: pass the targets after X (only a tf.data.Dataset carries its own).")
    data = check_xy(x, y)
    if valid_data is not None and isinstance(valid_data, Arrays):
        if valid_data.x.shape[1:] != data.x.shape[1:]:
            raise NnhpError(
                f"validation X has rows of shape {valid_data.x.shape[1:]} but X has {data.x.shape[1:]}."
            )
    fingerprint = fingerprint_arrays(data, valid_data if isinstance(valid_data, Arrays) else None)
    if cv:
        folds = []
        for train_idx, held_idx in cv_splits(data, cv, seed):
            held = data.take(held_idx)
            folds.append(Fold(data.take(train_idx), valid_data if valid_data is not None else held, held))
        return TrainingData(folds, data, valid_data, fingerprint)
    if valid_data is not None:
        return TrainingData([Fold(data, valid_data, valid_data)], data, valid_data, fingerprint)
    train, held = validation_split(data, validation_split_fraction, seed)
    return TrainingData([Fold(train, held, held)], data, held, fingerprint)


def fingerprint_arrays(data: Arrays, valid: Arrays | None = None) -> str:
    """A short hash of the data's shapes and bytes, to tell one data set from another."""
    digest = hashlib.sha1()
    for array in (data.x, data.y) + ((valid.x, valid.y) if valid is not None else ()):
        contiguous = np.ascontiguousarray(array)
        digest.update(str((contiguous.shape, contiguous.dtype.str)).encode())
        digest.update(contiguous.tobytes())
    return digest.hexdigest()[:16]
