"""Persistence on Optuna's storages: open a study, guard it with a fingerprint, read trials back.

``--storage`` takes an SQLAlchemy URL (``sqlite:///search.db``, ``postgresql://...``) or
a journal file path (``search.journal`` / ``search.log``, Optuna's JournalStorage, safe
on a shared file system). Every trial's record (``Trial.to_dict()``) lives in the
Optuna trial's user attribute ``"nnhp"``; the study's user attributes hold the
search's fingerprint, its ranges, what ``load_search`` needs to rebuild it and a
UUID of its own. The best models are saved as ``.keras`` files in a folder named
after the storage file and that UUID, so that no two studies share one.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import logging
import os
import socket
import sqlite3
import stat
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import optuna
from optuna.trial import TrialState

from nnhp_magics.core.results import (
    COMPLETE,
    FINISHED_STATES,
    INTERRUPTED,
    PRUNED,
    Objective,
    SearchRecord,
    Trial,
    write_atomically,
)
from nnhp_magics.core.space import Categorical, Fixed, FloatRange, IntRange, Param, ScipyPpf, SearchSpace
from nnhp_magics.errors import NnhpError
from nnhp_magics.training import backend

if TYPE_CHECKING:
    from optuna.storages import BaseStorage

R = TypeVar("R", bound=SearchRecord)

RECORD_ATTR = "nnhp"
REQUEUE_ATTR = "nnhp_requeue_of"
RETRY_ATTR = "nnhp_retry"
MAX_RETRIES = 2
FINGERPRINT_ATTR = "nnhp_fingerprint"
RANGES_ATTR = "nnhp_ranges"
META_ATTR = "nnhp_search"
ROUNDS_ATTR = "nnhp_rounds"
STUDY_ID_ATTR = "nnhp_study_id"
MODELS_ATTR = "nnhp_saved_models"
LEASE_ATTR = "nnhp_writer"
LEASE_STALE_SECONDS = 60.0
HEARTBEAT_SECONDS = 10.0
JOURNAL_SUFFIXES = (".journal", ".log")
SQLITE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
LOST = "lost with its process (the kernel or worker died while it ran)"


@dataclass(frozen=True)
class Location:
    """Where a study lives: the URL as given, its kind (sqlite, journal, rdb) and its file, if any."""

    url: str
    kind: str
    path: Path | None = None

    @property
    def shown(self) -> str:
        """The URL with any password hidden, for messages."""
        if self.kind != "rdb":
            return self.url
        from sqlalchemy.engine import make_url

        return make_url(self.url).render_as_string(hide_password=True)


def locate(url: str) -> Location:
    """Tell a journal path, an SQLite URL (or ``.db`` path) and any other SQLAlchemy URL apart."""
    text = str(url).strip()
    if "://" not in text:
        path = Path(text).expanduser()
        if path.suffix in JOURNAL_SUFFIXES:
            return Location(text, "journal", path)
        if path.suffix in SQLITE_SUFFIXES:
            return Location(f"sqlite:///{path}", "sqlite", path)
        raise NnhpError(
            f"--storage {text!r}: give a journal file (NAME.journal), an SQLite file (sqlite:///NAME.db) "
            "or a database URL (postgresql://user@host/db)."
        )
    if text.startswith("sqlite:"):
        from sqlalchemy.engine import make_url

        database = make_url(text).database
        return Location(text, "sqlite", Path(database).expanduser() if database else None)
    return Location(text, "rdb")


def open_storage(location: Location, *, writing: bool = True) -> BaseStorage:
    """The Optuna storage behind a location, after checking it is usable (and writable when ``writing``)."""
    if location.path is not None:
        _check_file(location, writing)
    optuna.logging.set_verbosity(logging.WARNING)
    try:
        if location.kind == "journal":
            from optuna.storages.journal import JournalFileBackend, JournalStorage

            return JournalStorage(JournalFileBackend(str(location.path)))
        engine_kwargs = {"connect_args": {"timeout": 30}} if location.kind == "sqlite" else {}
        return optuna.storages.RDBStorage(location.url, engine_kwargs=engine_kwargs)
    except ModuleNotFoundError as exc:
        raise NnhpError(
            f"--storage {location.shown} needs the database driver {exc.name!r}: pip install it "
            "(psycopg2-binary for PostgreSQL)."
        ) from None
    except NnhpError:
        raise
    except Exception as exc:
        if location.path is not None and _is_damage(location, exc):
            raise _damaged(location.shown, location.path, _first_line(exc)) from None
        raise NnhpError(f"--storage {location.shown} cannot be opened: {_first_line(exc)}") from None


def _is_damage(location: Location, exc: Exception) -> bool:
    """Whether opening failed on the file's contents (a journal that does not replay, a malformed database), not on access."""
    from sqlalchemy.exc import DatabaseError, OperationalError

    if location.kind == "journal":
        return isinstance(exc, (LookupError, ValueError, TypeError))
    return isinstance(exc, (DatabaseError, sqlite3.DatabaseError)) and not isinstance(
        exc, (OperationalError, sqlite3.OperationalError)
    )


def _first_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0]}"


def _check_file(location: Location, writing: bool) -> None:
    """Refuse a folder, a read-only file or one that is not a storage, before anything is written."""
    path = location.path
    assert path is not None
    if not path.exists():
        if not writing:
            raise NnhpError(f"--storage {location.url}: {path} does not exist.")
        folder = path.parent if str(path.parent) else Path(".")
        folder.mkdir(parents=True, exist_ok=True)
        if not os.access(folder, os.W_OK):
            raise NnhpError(f"--storage {location.url}: the folder {folder} is not writable.")
        return
    if path.is_dir():
        raise NnhpError(f"--storage {location.url}: {path} is a folder, not a storage file.")
    if writing and not _writable(path):
        raise NnhpError(
            f"--storage {location.url}: {path} is read-only, and every finished trial is written to it. "
            "Make it writable (chmod u+w), or open it with nnhp_magics.load_search() to read it; nothing was changed."
        )
    if location.kind == "journal":
        _check_journal(path, location.url)
    else:
        _check_sqlite(path, location.url)


def _writable(path: Path) -> bool:
    """Writable by this process, and not marked read-only (root ignores permission bits, we do not)."""
    return os.access(path, os.W_OK) and bool(stat.S_IMODE(path.stat().st_mode) & 0o222)


def _damaged(url: str, path: Path, detail: str) -> NnhpError:
    """The one message for a storage file that cannot be read back: which file, and what to do."""
    return NnhpError(
        f"--storage {url}: {path} is damaged ({detail}), so it cannot be read back. Restore it from a copy, "
        "or pass another --storage to start afresh. Nothing was changed."
    )


def _check_journal(path: Path, url: str) -> None:
    """Every line of a journal file must be one complete JSON record of Optuna's."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith(b"\n"):
                raise NnhpError(
                    f"--storage {url}: line {number} of {path} is an incomplete record (a process died while "
                    "writing it?). Remove that last line to resume; nothing was changed."
                )
            try:
                entry = json.loads(line)
            except ValueError:
                entry = None
            if not isinstance(entry, dict) or "op_code" not in entry:
                raise NnhpError(
                    f"--storage {url}: {path} is not an Optuna journal (line {number} is not a journal record); "
                    "it is damaged, or another kind of file. Restore it from a copy, or pass another --storage. "
                    "Nothing was changed."
                )


def _check_sqlite(path: Path, url: str) -> None:
    """An existing non-empty file must be an intact SQLite database holding Optuna's tables.

    Read through a read-only connection, with ``PRAGMA quick_check`` over every
    page, before Optuna (which writes as it opens) touches the file.
    """
    if path.stat().st_size == 0:
        return
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("select name from sqlite_master where type='table'")}
            problems = [row[0] for row in connection.execute("pragma quick_check(3)")]
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            raise NnhpError(
                f"--storage {url}: {path} is not an SQLite database ({exc}); it is damaged, or another kind of "
                "file. Restore it from a copy, or pass another --storage. Nothing was changed."
            ) from None
        raise _damaged(url, path, str(exc)) from None
    if problems != ["ok"]:
        raise _damaged(url, path, "SQLite's check found: " + "; ".join(problems))
    if tables and "studies" not in tables:
        raise NnhpError(
            f"--storage {url}: {path} is an SQLite database but not an Optuna storage "
            f"(its tables: {', '.join(sorted(tables))}). Nothing was changed; pick another file."
        )


@contextmanager
def reading(location: Location) -> Iterator[None]:
    """Turn the errors of a storage whose contents cannot be read back into one NnhpError.

    A damaged file that passed the checks above still fails inside Optuna: a
    garbled row (SQLAlchemy's DatabaseError, DuplicatedStudyError when the studies
    table lies), a JSON value that no longer parses, a journal record missing its
    fields. Run Optuna's reads under this before writing anything.
    """
    from sqlalchemy.exc import DatabaseError

    try:
        yield
    except NnhpError:
        raise
    except (
        optuna.exceptions.DuplicatedStudyError,
        optuna.exceptions.StorageInternalError,
        DatabaseError,
        sqlite3.DatabaseError,
        ValueError,
        TypeError,
        LookupError,
    ) as exc:
        if location.path is not None:
            raise _damaged(location.shown, location.path, _first_line(exc)) from None
        raise NnhpError(f"--storage {location.shown} cannot be read: {_first_line(exc)}") from None


class StorageWriteError(NnhpError):
    """A write to the storage failed on the storage itself: disk full, file no longer writable, server gone."""


@contextmanager
def writing(where: str, what: str) -> Iterator[None]:
    """Turn a failed write of ``what`` to the storage ``where`` into one StorageWriteError saying what to do."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except (OSError, sqlite3.OperationalError, OperationalError, optuna.exceptions.StorageInternalError) as exc:
        raise StorageWriteError(
            f"the search stopped: {what} could not be written to --storage {where} ({_first_line(exc)}). "
            "The disk may be full, or the storage is no longer writable: free some space or fix its permissions, "
            "then run the cell again to resume. Every result so far is kept in this search's result (--output NAME); "
            "a trial the storage did not record runs again on resume."
        ) from None


def param_kind(p: Param) -> str:
    """What must not change between runs of a study: the distribution's family, log scale and choices."""
    d = p.dist
    if isinstance(d, Categorical):
        return "choice" + json.dumps(d.labels(), default=repr)
    if isinstance(d, IntRange):
        return "int, log" if d.log else "int"
    if isinstance(d, FloatRange):
        return "float, log" if d.log else "float"
    if isinstance(d, ScipyPpf):
        return f"scipy.stats.{d.name}"
    if isinstance(d, Fixed):
        return "fixed"
    raise TypeError(f"unknown distribution {d!r}")


def param_kinds(space: SearchSpace) -> dict[str, str]:
    return {p.name: param_kind(p) for p in space}


def param_ranges(space: SearchSpace) -> dict[str, str]:
    """Each parameter's range or value as the spec writes it (changes here only warn)."""
    return {p.name: p.dist.describe() for p in space}


def default_study_name(build_name: str, space: SearchSpace) -> str:
    """``BUILD-xxxxxxxx``: BUILD's name and a short hash of the spec's names and kinds (not its ranges)."""
    digest = hashlib.sha1(json.dumps([build_name, param_kinds(space)]).encode()).hexdigest()[:8]
    return f"{build_name}-{digest}"


def fingerprint(space: SearchSpace, objective: Objective, cv: int | None, data: str) -> dict[str, Any]:
    """What identifies a search: parameter names and kinds, objective and direction, CV setting, data hash."""
    return {
        "params": param_kinds(space),
        "objective": objective.name,
        "direction": objective.direction,
        "cv": cv,
        "data": data,
    }


def check_fingerprint(
    name: str, where: str, stored: dict[str, Any], current: dict[str, Any], ranges: tuple[dict[str, str], dict[str, str]]
) -> None:
    """Raise for a different search in the same study; warn when only ranges changed."""
    differences = _differences(stored, current)
    if differences:
        raise NnhpError(
            f"study {name!r} in {where} holds a different search: " + "; ".join(differences) + ". "
            "Pass --study with a new name to start another study, or restore the earlier settings to resume this one. "
            "Nothing was changed."
        )
    old, new = ranges
    changed = [f"{n}: {old[n]} -> {new[n]}" for n in new if n in old and old[n] != new[n]]
    if changed:
        warnings.warn(
            f"study {name!r}: ranges changed since its earlier runs ({'; '.join(changed)}); "
            "earlier trials keep the values they had.",
            UserWarning,
            stacklevel=3,
        )


def _differences(stored: dict[str, Any], current: dict[str, Any]) -> list[str]:
    found = []
    for key, label in (("objective", "objective"), ("direction", "direction"), ("cv", "--cv")):
        if stored.get(key) != current.get(key):
            found.append(f"{label} was {stored.get(key)!r}, now {current.get(key)!r}")
    old_data, new_data = str(stored.get("data")), str(current.get("data"))
    if old_data != new_data and not (old_data.startswith("dataset:") or new_data.startswith("dataset:")):
        found.append("the training data differ (another hash of X, y and the validation data)")
    old, new = stored.get("params", {}), current.get("params", {})
    if set(old) != set(new):
        parts = []
        if set(new) - set(old):
            parts.append(f"new {', '.join(sorted(set(new) - set(old)))}")
        if set(old) - set(new):
            parts.append(f"missing {', '.join(sorted(set(old) - set(new)))}")
        found.append("the parameters differ (" + "; ".join(parts) + ")")
    found += [f"{n} was {old[n]}, now {new[n]}" for n in new if n in old and old[n] != new[n]]
    return found


def open_study(
    location: Location,
    name: str,
    identity: dict[str, Any],
    ranges: dict[str, str],
    meta: dict[str, Any],
    *,
    sampler: optuna.samplers.BaseSampler,
    pruner: optuna.pruners.BasePruner,
) -> tuple[optuna.Study, WriterLease]:
    """Create the study, or load it after checking its fingerprint and that no other process runs it.

    Then claim it for this process (the returned lease) and record this run's settings.
    """
    storage = open_storage(location)
    with reading(location):
        study = _load_readable(name, storage, sampler, pruner)
    if study is None:
        study = optuna.create_study(
            study_name=name, storage=storage, direction=identity["direction"], sampler=sampler, pruner=pruner
        )
        study.set_user_attr(FINGERPRINT_ATTR, identity)
        study.set_user_attr(STUDY_ID_ATTR, uuid.uuid4().hex)
    else:
        stored = study.user_attrs.get(FINGERPRINT_ATTR)
        if stored is None:
            raise NnhpError(
                f"study {name!r} in {location.shown} was not made by %%hpsearch; pass --study with another name."
            )
        check_fingerprint(name, location.shown, stored, identity, (study.user_attrs.get(RANGES_ATTR, {}), ranges))
    lease = WriterLease(study, location.shown, name)
    lease.claim()
    if STUDY_ID_ATTR not in study.user_attrs:  # made before studies had an id: its models start afresh
        study.set_user_attr(STUDY_ID_ATTR, uuid.uuid4().hex)
    study.set_user_attr(RANGES_ATTR, ranges)
    study.set_user_attr(META_ATTR, meta)
    return study, lease


def _load_readable(
    name: str, storage: BaseStorage, sampler: optuna.samplers.BaseSampler, pruner: optuna.pruners.BasePruner
) -> optuna.Study | None:
    """The study ``name`` with every trial and attribute read back once (a damaged row fails here), or None."""
    if name not in optuna.get_all_study_names(storage):
        return None
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)
    _ = study.user_attrs
    for trial in study.get_trials(deepcopy=False):
        record_of(trial)
    return study


_HELD: set[str] = set()  # the tokens of the leases this process holds


class WriterLease:
    """One study, one writer: this process's claim on a study, kept fresh by a heartbeat while a search runs.

    The claim (host, pid, a token and a heartbeat time) lives in the study's user
    attributes. Another process's claim stands while its heartbeat is younger than
    ``LEASE_STALE_SECONDS``, unless that process is known to be gone (same host, pid
    no longer running, or this very process with no search holding it).
    """

    def __init__(self, study: optuna.Study, where: str, name: str) -> None:
        self.study, self.where, self.name = study, where, name
        self.host, self.pid = socket.gethostname(), os.getpid()
        self.token = f"{self.host}:{self.pid}:{uuid.uuid4().hex}"

    def claim(self) -> None:
        """Take the study for this process, or raise NnhpError naming the process that runs it."""
        if self.token in _HELD:
            return
        holder = self.study.user_attrs.get(LEASE_ATTR)
        if _holder_alive(holder):
            raise self._refusal(holder)
        self._write()
        holder = self.study.user_attrs.get(LEASE_ATTR)
        if not isinstance(holder, dict) or holder.get("token") != self.token:  # lost a race to another process
            raise self._refusal(holder)
        _HELD.add(self.token)

    def release(self) -> None:
        """Give the study up, if this process still holds it."""
        _HELD.discard(self.token)
        try:
            holder = self.study.user_attrs.get(LEASE_ATTR)
            if isinstance(holder, dict) and holder.get("token") == self.token:
                self.study.set_user_attr(LEASE_ATTR, None)
        except Exception as exc:  # a storage that fails (disk full) keeps the claim; it lapses with this process
            logging.getLogger(__name__).warning("study %r: claim not released: %s", self.name, _first_line(exc))

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Claim the study, refresh the claim every ``HEARTBEAT_SECONDS`` on a daemon thread, release it at the end."""
        self.claim()
        stop = threading.Event()
        beating = threading.Thread(target=self._beat, args=(stop,), name="nnhp-lease", daemon=True)
        beating.start()
        try:
            yield
        finally:
            stop.set()
            beating.join()
            self.release()

    def _beat(self, stop: threading.Event) -> None:
        while not stop.wait(HEARTBEAT_SECONDS):
            try:
                self._write()
            except Exception as exc:  # the storage is busy or unreachable: the next beat tries again
                logging.getLogger(__name__).warning("study %r: heartbeat not written: %s", self.name, _first_line(exc))

    def _write(self) -> None:
        self.study.set_user_attr(
            LEASE_ATTR, {"token": self.token, "host": self.host, "pid": self.pid, "heartbeat": time.time()}
        )

    def _refusal(self, holder: Any) -> NnhpError:
        host, pid = (holder.get("host"), holder.get("pid")) if isinstance(holder, dict) else ("?", "?")
        age = time.time() - float(holder.get("heartbeat", 0)) if isinstance(holder, dict) else 0.0
        return NnhpError(
            f"study {self.name!r} in {self.where} is being run by another process (pid {pid} on {host}, "
            f"last heard from {age:.0f} s ago), and a study has one writer. Wait for that search to end, "
            "pass --study with another name to start a separate study, or, if that process is gone, run the cell "
            f"again: its claim lapses {LEASE_STALE_SECONDS:.0f} s after its last heartbeat (at once when it ran on "
            "this machine). Nothing was changed and nothing was trained."
        )


def _holder_alive(holder: Any) -> bool:
    """Whether a stored claim belongs to a process that may still be writing to the study."""
    if not isinstance(holder, dict) or not isinstance(holder.get("token"), str):
        return False
    if holder["token"] in _HELD:  # another search of this process runs the study
        return True
    if holder.get("host") == socket.gethostname():
        if holder.get("pid") == os.getpid() or not _pid_running(holder.get("pid")):
            return False
    heartbeat = holder.get("heartbeat")
    return isinstance(heartbeat, (int, float)) and time.time() - heartbeat < LEASE_STALE_SECONDS


def _pid_running(pid: Any) -> bool:
    if not isinstance(pid, int) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def save_rounds(study: optuna.Study, rounds: list[dict[str, Any]]) -> None:
    """Keep each round's spec, strategy and trial count with the study."""
    study.set_user_attr(ROUNDS_ATTR, rounds)


def stored_rounds(study: optuna.Study) -> list[dict[str, Any]] | None:
    """The rounds saved with the study; None for a study of one round."""
    rounds = study.user_attrs.get(ROUNDS_ATTR)
    return [dict(r) for r in rounds] if rounds else None


def record_of(frozen: optuna.trial.FrozenTrial) -> Trial | None:
    """The nnhp record kept with an Optuna trial; None for a trial still waiting in the queue.

    A trial whose process died between Optuna's ``ask`` and the first record gets
    a running record from its Optuna parameters.
    """
    data = frozen.user_attrs.get(RECORD_ATTR)
    if data is not None:
        return Trial.from_dict(data)
    if frozen.state == TrialState.RUNNING:
        return Trial(number=frozen.number, params=dict(frozen.params))
    return None


def resume(study: optuna.Study) -> list[Trial]:
    """Records of the study's earlier runs; trials lost while running become ``interrupted`` and are re-queued.

    Each lost trial is queued again up to ``MAX_RETRIES`` times, a lost retry included.
    """
    frozen = study.get_trials(deepcopy=False)
    records = []
    for trial in frozen:
        record = record_of(trial)
        if record is None:
            continue
        if trial.state == TrialState.RUNNING:
            record = _settle(study, trial, record)
        records.append(record)
    _requeue(study, frozen, records)
    return records


def _settle(study: optuna.Study, trial: optuna.trial.FrozenTrial, record: Trial) -> Trial:
    """Finish in Optuna a trial whose process died: as its record says if it had ended, else interrupted."""
    if record.state not in FINISHED_STATES:
        record.state, record.error = INTERRUPTED, LOST
        optuna.trial.Trial(study, trial._trial_id).set_user_attr(RECORD_ATTR, record.to_dict())
    tell(study, trial.number, record)
    return record


def tell(study: optuna.Study, trial: optuna.Trial | int, record: Trial) -> None:
    """Tell Optuna how a trial ended: its score, pruned, or failed (which covers interrupted)."""
    if record.state == COMPLETE:
        study.tell(trial, record.score)
    elif record.state == PRUNED:
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, state=TrialState.FAIL)


def _requeue(study: optuna.Study, frozen: list[optuna.trial.FrozenTrial], records: list[Trial]) -> None:
    """Queue the parameters of each interrupted trial again, up to ``MAX_RETRIES`` times in all.

    A retry records the trial it repeats (``REQUEUE_ATTR``) and which retry it is
    (``RETRY_ATTR``; a retry made before that attribute existed counts as the
    first), so a retry lost in its turn is queued again until the bound is reached.
    Only first-round trials: resuming is re-running the first round's cell, whose
    space a later round's trial (a refined spec) does not belong to.
    """
    by_number = {t.number: t for t in frozen}
    retried = {t.user_attrs[REQUEUE_ATTR] for t in frozen if REQUEUE_ATTR in t.user_attrs}
    for record in records:
        trial = by_number[record.number]
        if record.state != INTERRUPTED or record.number in retried or record.round > 1:
            continue
        attempt = _retry_number(trial)
        if attempt >= MAX_RETRIES:
            continue
        study.enqueue_trial(dict(trial.params), user_attrs={REQUEUE_ATTR: record.number, RETRY_ATTR: attempt + 1})


def _retry_number(trial: optuna.trial.FrozenTrial) -> int:
    """Which retry a trial is: 0 for a first run."""
    number = trial.user_attrs.get(RETRY_ATTR)
    if isinstance(number, int) and not isinstance(number, bool):
        return number
    return 1 if REQUEUE_ATTR in trial.user_attrs else 0


def queued_params(study: optuna.Study) -> set[tuple[tuple[str, Any], ...]]:
    """The Optuna parameters of every trial the study holds, run or waiting, as hashable keys."""
    keys = set()
    for trial in study.get_trials(deepcopy=False):
        params = trial.params or trial.system_attrs.get("fixed_params", {})
        keys.add(params_key(params))
    return keys


def params_key(params: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((k, json.dumps(v, default=repr)) for k, v in params.items()))


def study_id(study: optuna.Study) -> str | None:
    """The UUID ``open_study`` gave the study; None for a study made before studies had one."""
    value = study.user_attrs.get(STUDY_ID_ATTR)
    return value if isinstance(value, str) and value.isalnum() else None


def models_folder(location: Location, study_uuid: str) -> Path:
    """Where a study's saved models go: ``NAME.SUFFIX-models/UUID/`` next to a storage file.

    A database server's studies go under ``nnhp-models/HASH/UUID/`` in the working
    folder, HASH naming the URL (password hidden). The study's UUID, never its
    name, picks the folder, so two studies (or a deleted study's leftovers) never
    share one.
    """
    if location.path is not None:
        return location.path.parent / f"{location.path.name}-models" / study_uuid
    digest = hashlib.sha1(location.shown.encode()).hexdigest()[:12]
    return Path.cwd() / "nnhp-models" / digest / study_uuid


class ModelKeeper:
    """Keeps the models of the ``keep`` best complete trials: as files in a folder, or as bytes in memory.

    Without a folder, a model object trained in this process is handed to the
    Search as before (nothing serialised); a model that came back from a worker as
    bytes is kept in memory. With a ``study``, the trial numbers of the files it
    wrote are kept with the study, and only those files are ever deleted.
    """

    def __init__(
        self, objective: Objective, keep: int = 1, folder: Path | None = None, study: optuna.Study | None = None
    ) -> None:
        self.objective, self.keep, self.folder, self.study = objective, keep, folder, study
        self._memory: dict[int, bytes] = {}
        written = study.user_attrs.get(MODELS_ATTR, []) if study is not None else []
        self._written: set[int] = {n for n in written if isinstance(n, int)}

    def offer(self, search: SearchRecord, record: Trial, model: Any) -> None:
        """Keep ``model`` if ``record`` is among the best ``keep`` trials; drop the ones it pushes out."""
        if self.folder is None and not isinstance(model, bytes):
            search.offer_model(record, model)
            return
        best = {t.number for t in self._ranking(search)[: self.keep]}
        if record.number not in best:
            return
        self.save(record.number, model)
        self._drop_all_but(best)

    def save(self, number: int, model: Any) -> None:
        """Store one trial's model (a Keras model or its bytes)."""
        data = model if isinstance(model, bytes) else backend.model_to_bytes(model)
        if self.folder is None:
            self._memory[number] = data
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path(number), lambda temp: temp.write_bytes(data))
        self._written.add(number)
        self._remember()

    def _remember(self) -> None:
        """Keep with the study which trials' files this keeper wrote."""
        if self.study is not None:
            self.study.set_user_attr(MODELS_ATTR, sorted(self._written))

    def path(self, number: int) -> Path:
        assert self.folder is not None
        return self.folder / f"trial-{number}.keras"

    def load(self, number: int) -> Any | None:
        """The kept model of trial ``number``, or None."""
        if number in self._memory:
            return backend.model_from_bytes(self._memory[number])
        if self.folder is not None and self.path(number).exists():
            return backend.keras().models.load_model(self.path(number))
        return None

    def _ranking(self, search: SearchRecord) -> list[Trial]:
        scored = [t for t in search.trials if t.state == COMPLETE and t.score is not None and t.score == t.score]
        sign = 1 if self.objective.minimize else -1
        return sorted(scored, key=lambda t: (sign * t.score, t.number))  # type: ignore[operator]

    def _drop_all_but(self, numbers: set[int]) -> None:
        for number in [n for n in self._memory if n not in numbers]:
            del self._memory[number]
        dropped = sorted(self._written - numbers)
        if self.folder is None or not dropped:
            return
        for number in dropped:
            self.path(number).unlink(missing_ok=True)
            self._written.discard(number)
        self._remember()


def load_search(storage: str, study: str | None, result_type: type[R]) -> R:
    """Reopen a search saved with ``--storage`` as a ``result_type`` (the API's Search): trials, best model, rounds.

    Needs no training and writes nothing; ``study`` may be left out when the
    storage holds one study.
    """
    location = locate(storage)
    backend_storage = open_storage(location, writing=False)
    with reading(location):
        name = _pick_study(backend_storage, location, study)
        loaded = optuna.load_study(study_name=name, storage=backend_storage)
        meta = loaded.user_attrs.get(META_ATTR)
        frozen = loaded.get_trials(deepcopy=False)
        records = [(trial, record_of(trial)) for trial in frozen]
        rounds = stored_rounds(loaded)
        own_id = study_id(loaded)
    if meta is None:
        raise NnhpError(f"study {name!r} in {location.shown} was not made by %%hpsearch.")
    objective = Objective(meta["objective"], meta["direction"])
    search = result_type(
        objective=objective,
        param_names=meta["param_names"],
        strategy=meta["strategy"],
        budget=meta["budget"],
        cv=meta["cv"],
        max_epochs=meta["max_epochs"],
        spec_text=meta["spec"],
        study_name=name,
        classes=meta.get("classes"),
    )
    if "space" in meta:
        search.rounds[0]["space"] = meta["space"]
    search.rounds = rounds or search.rounds
    for past in search.rounds:
        search.add_param_names(past.get("param_names", []))
    for trial, record in records:
        if record is not None:
            if trial.state == TrialState.RUNNING and record.state not in FINISHED_STATES:
                record.state, record.error = INTERRUPTED, LOST
            search.record_trial(record)
    keeper = ModelKeeper(objective, meta.get("keep_models", 1), models_folder(location, own_id) if own_id else None)
    search.connect(refit=lambda best: _saved_model(keeper, best), save=backend.save_and_verify)
    search.finish("loaded")
    return search


def _pick_study(storage: BaseStorage, location: Location, study: str | None) -> str:
    names = optuna.get_all_study_names(storage)
    if study is None:
        if len(names) == 1:
            return names[0]
        listed = ", ".join(repr(n) for n in names) or "none"
        raise NnhpError(f"{location.shown} holds {len(names)} studies ({listed}): name one with study=.")
    if study not in names:
        close = difflib.get_close_matches(study, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else f" It holds: {', '.join(repr(n) for n in names) or 'none'}."
        raise NnhpError(f"no study {study!r} in {location.shown}.{hint}")
    return study


def _saved_model(keeper: ModelKeeper, best: Trial) -> Any:
    model = keeper.load(best.number)
    if model is None:
        raise NnhpError(
            f"trial {best.number}'s model was not saved with the study (saved models: "
            f"{keeper.folder}; --keep-models 0 saves none, and under --cv the refit is saved once best_model was read)."
        )
    return model
