"""Training data: checking X/y, the held-out split, CV folds and a fingerprint.

Pure logic over NumPy (and scikit-learn's splitters): no TensorFlow import. A
``tf.data.Dataset`` is recognised by duck typing and passed through untouched.
X and y are each an array or, for models with several inputs or outputs, a
structure of arrays as ``model.fit`` takes it (a tuple or list of arrays, or a
dict keyed by input or output name); every row operation applies to each leaf.
String, categorical and bool class labels are encoded to integer classes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from nnhp_magics.core import labels
from nnhp_magics.errors import NnhpError

#: An array, or a tuple, list or dict of them: what ``model.fit`` takes as x or y.
Tree = Any


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


def is_structure(obj: Any) -> bool:
    """Whether ``obj`` is several arrays (a dict, or a tuple or list of array-likes), not one nested list."""
    if isinstance(obj, dict):
        return True
    return isinstance(obj, (tuple, list)) and len(obj) > 0 and all(
        isinstance(item, (dict, tuple, list)) and is_structure(item) or _array_like(item) for item in obj
    )


def _array_like(obj: Any) -> bool:
    return isinstance(obj, np.ndarray) or hasattr(obj, "to_numpy") or hasattr(obj, "__array__")


def as_tree(obj: Any, what: str) -> Tree:
    """Arrays for an array-like, or the same structure of arrays for a tuple, list or dict; leaves named ``X[1]``, ``y['aux']``."""
    if not is_structure(obj):
        return as_array(obj, what)
    if isinstance(obj, dict):
        return {key: as_tree(value, f"{what}[{key!r}]") for key, value in obj.items()}
    return type(obj)(as_tree(value, f"{what}[{i}]") for i, value in enumerate(obj))


def leaves(tree: Tree, name: str) -> list[tuple[str, np.ndarray]]:
    """Every array (or array-like) of a structure with its name (``X``, ``X[0]``, ``y['main']``), in order."""
    if not is_structure(tree):
        return [(name, tree)]
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    return [leaf for key, value in items for leaf in leaves(value, f"{name}[{key!r}]")]


def take(tree: Tree, index: Any) -> Tree:
    """The rows ``index`` (an index array or a slice) of every array of a structure."""
    if isinstance(tree, dict):
        return {key: take(value, index) for key, value in tree.items()}
    if isinstance(tree, (tuple, list)):
        return type(tree)(take(value, index) for value in tree)
    return tree[index]


def first_leaf(tree: Tree) -> np.ndarray:
    """The first array of a structure (the array itself for one array)."""
    return leaves(tree, "")[0][1]


def rows(tree: Tree) -> int:
    """The number of rows of a structure (its first array's)."""
    return len(first_leaf(tree))


def layout(tree: Tree) -> Any:
    """A structure's shape: the same nesting with each array's row shape and kind, to compare X with validation X."""
    if isinstance(tree, dict):
        return {key: layout(value) for key, value in tree.items()}
    if isinstance(tree, (tuple, list)):
        return [layout(value) for value in tree]
    return tree.shape[1:]


@dataclass
class Arrays:
    """Aligned X and y: each an array or a structure of arrays with the same number of rows."""

    x: Tree
    y: Tree

    def __len__(self) -> int:
        return rows(self.x)

    def take(self, index: Any) -> Arrays:
        return Arrays(take(self.x, index), take(self.y, index))


@dataclass
class Fold:
    """What one fit sees: training data, the data early stopping watches, and the data scored."""

    train: Any
    monitor: Arrays | Any | None
    scored: Arrays | None = None


def check_xy(x: Any, y: Any, what: str = "X, y", classes: np.ndarray | None = None) -> tuple[Arrays, np.ndarray | None]:
    """Arrays with matching lengths and class labels encoded, with the classes (None for other targets), or a clear error.

    ``classes`` encodes y with the training y's classes (for validation data).
    """
    x_name, y_part = (part.strip() for part in what.split(","))
    y_name = x_name.removesuffix("X") + y_part  # "validation X, y" -> "validation y"
    xs = as_tree(x, x_name)
    y, classes = _encoded(y, y_name, classes)
    ys = as_tree(y, y_name)
    named = leaves(xs, x_name) + leaves(ys, y_name)
    n_name, n = named[0][0], len(named[0][1])
    for name, array in named[1:]:
        if len(array) != n:
            raise NnhpError(f"{what} have different lengths: {n} rows of {n_name} but {len(array)} of {name}.")
    if n < 2:
        raise NnhpError(f"{what} hold {n} row(s); a search needs data to train and validate on.")
    for name, array in leaves(xs, x_name):
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise NnhpError(f"{name} holds {array.dtype} values, not numbers: encode them as numbers before the search.")
        check_finite(array, name)
    for name, array in leaves(ys, y_name):
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise NnhpError(f"{name} holds {array.dtype} values: pass numbers, or class labels as one array per output.")
        check_finite(array, name)
    return Arrays(xs, ys), classes


def _encoded(y: Any, name: str, classes: np.ndarray | None) -> tuple[Any, np.ndarray | None]:
    """y with string, categorical or bool labels encoded to integer classes, and those classes (None when y is not encoded)."""
    if is_structure(y):
        for leaf_name, leaf in leaves(y, name):
            if labels.needs_encoding(leaf):
                raise NnhpError(
                    f"{leaf_name} holds class labels as strings, categories or bools; with several outputs, "
                    "encode them as integer classes before the search."
                )
        return y, None
    if classes is None and not labels.needs_encoding(y):
        return y, None
    return labels.encode(y, name, classes)


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


def stratify_labels(y: Tree) -> np.ndarray | None:
    """The class index of each row to stratify folds on (the first output's), or None when it holds no class labels."""
    first = first_leaf(y)
    return labels.class_indices(first) if labels.is_labels(first) else None


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
    rows_index = np.arange(len(data))
    classes = stratify_labels(data.y)
    if classes is not None:
        _, counts = np.unique(classes, return_counts=True)
        if counts.min() >= k:
            splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=random_state)
            return list(splitter.split(rows_index, classes))
    splitter = KFold(n_splits=k, shuffle=True, random_state=random_state)
    return list(splitter.split(rows_index))


@dataclass
class TrainingData:
    """The data a search trains on, prepared once: folds for every trial to share."""

    folds: list[Fold]
    full: Arrays | Any
    valid: Arrays | Any | None
    fingerprint: str
    classes: np.ndarray | None = None

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
    if valid is not None and not is_dataset(valid):
        if not isinstance(valid, (tuple, list)) or len(valid) != 2:
            raise NnhpError("--valid takes two names: the validation X and y.")
    if is_dataset(x):
        valid_data = valid if is_dataset(valid) or valid is None else check_xy(valid[0], valid[1], "validation X, y")[0]
        if y is not None:
            raise NnhpError("X is a tf.data.Dataset, which carries its own targets: leave Y out.")
        if cv:
            raise NnhpError("--cv needs arrays: a tf.data.Dataset cannot be split into folds.")
        return TrainingData([Fold(x, valid_data)], x, valid_data, fingerprint=f"dataset:{id(x)}")
    if y is None:
        raise NnhpError("Y is missing: pass the targets after X (only a tf.data.Dataset carries its own).")
    data, classes = check_xy(x, y)
    if is_dataset(valid):
        valid_data = valid
    elif valid is not None:
        valid_data = check_xy(valid[0], valid[1], "validation X, y", classes)[0]
        if layout(valid_data.x) != layout(data.x):
            raise NnhpError(f"validation X has rows of shape {layout(valid_data.x)} but X has {layout(data.x)}.")
    fingerprint = fingerprint_arrays(data, valid_data if isinstance(valid_data, Arrays) else None, classes)
    if cv:
        folds = []
        for train_idx, held_idx in cv_splits(data, cv, seed):
            held = data.take(held_idx)
            folds.append(Fold(data.take(train_idx), valid_data if valid_data is not None else held, held))
        return TrainingData(folds, data, valid_data, fingerprint, classes)
    if valid_data is not None:
        return TrainingData([Fold(data, valid_data, valid_data)], data, valid_data, fingerprint, classes)
    train, held = validation_split(data, validation_split_fraction, seed)
    return TrainingData([Fold(train, held, held)], data, held, fingerprint, classes)


def fingerprint_arrays(data: Arrays, valid: Arrays | None = None, classes: np.ndarray | None = None) -> str:
    """A short hash of the data's shapes and bytes (every array of a structure) and its classes, to tell one data set from another."""
    digest = hashlib.sha1()
    parts = [data.x, data.y] + ([valid.x, valid.y] if valid is not None else [])
    for array in (leaf for part in parts for _, leaf in leaves(part, "")):
        contiguous = np.ascontiguousarray(array)
        digest.update(str((contiguous.shape, contiguous.dtype.str)).encode())
        digest.update(contiguous.tobytes())
    if classes is not None:
        digest.update(repr(classes.tolist()).encode())
    return digest.hexdigest()[:16]
