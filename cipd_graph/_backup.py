"""Backups of an embedded store, and restoring one: ``cipd backup DEST`` and ``cipd restore SRC``.

A backup is a directory that is itself a store location: ``oxigraph/`` (the store),
the pseudonym key file, the ``uploads/`` folder, and ``cipd-backup.json`` (when, from
where, how many quads). It is written under a temporary name and renamed into place last,
so a directory named DEST is always a complete backup.

**When nobody holds the store**, it is opened for writing (which replays a log a crashed
writer left) and Oxigraph checkpoints it: RocksDB flushes every index and links (or, on
another file system, copies) its immutable files. Instant at any size on one file system.

**While ``cipd serve`` or a load holds it** (the writer lock), the store is opened
read-only: that handle is a consistent snapshot, as the SPARQL endpoint's readers rely on.
A checkpoint of that handle is not: it leaves out the write-ahead log, and Oxigraph flushes
its indexes one by one, so a checkpoint taken during a flush can hold a write in some
indexes and not in others (the tests caught a record's title of one version beside the
provenance of the other). So the snapshot is copied quad by quad (dumped as N-Quads and
bulk-loaded into the backup), about 20 s per million quads here.

**Restore** takes the store's writer lock (so it refuses a store in use), copies the backup
into a new version directory beside the live one, opens it and counts it against the
backup's manifest, and only then points the store's ``oxigraph`` link at it with one atomic
rename (the swap a staged load ends with). The key file and the uploads follow.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox

from cipd_graph._config import Settings
from cipd_graph._errors import StoreError
from cipd_graph._ontology import ONTOLOGY_IRI
from cipd_graph.mapping.pseudonym import KEY_FILE
from cipd_graph.store.backends import LIVE, EmbeddedBackend
from cipd_graph.store.layout import GraphLayout

#: The manifest a backup carries.
MANIFEST = "cipd-backup.json"
#: The folder of uploaded record files in a store location.
UPLOADS = "uploads"
#: Pauses between attempts at a consistent checkpoint of a store a writer is changing (s).
RETRY_PAUSES = (0.05, 0.1, 0.2, 0.4, 0.8, 1.6)


@dataclass(frozen=True)
class BackupInfo:
    """What ``cipd backup`` wrote."""

    path: Path
    quads: int
    key_included: bool
    live: bool  #: the store was in use (copied through a read-only handle)
    seconds: float


@dataclass(frozen=True)
class RestoreInfo:
    """What ``cipd restore`` put in place."""

    store: Path
    quads: int
    key_restored: bool
    replaced: int  #: quads the store held before
    seconds: float


def _remote_refusal(settings: Settings, verb: str) -> StoreError:
    return StoreError(
        f"CIPD_STORE={settings.store!r} is a remote SPARQL server: `cipd {verb}` works on the "
        "embedded store only. Use the server's own backup (Virtuoso: the backup_online() "
        "procedure; Fuseki: POST /$/backup/DATASET; GraphDB: its repository backup), or copy "
        "the data out with `cipd export --format nq --with-names --out all.nq` and keep "
        "CIPD_PSEUDONYM_KEY with it"
    )


def _is_lock_error(exc: Exception) -> bool:
    return "lock" in str(exc).lower()


def _count_copy(directory: Path) -> int:
    copy = ox.Store.read_only(str(directory))
    try:
        return len(copy)
    finally:
        del copy


def _checkpoint_exclusive(live: Path, target: Path) -> int | None:
    """Checkpoint a store nobody holds (opened for writing: a left-over log is replayed);
    None when another process holds it."""
    try:
        store = ox.Store(str(live))
    except (OSError, RuntimeError) as exc:
        if _is_lock_error(exc):
            return None
        raise StoreError(f"{live}: cannot open the store: {exc}") from exc
    try:
        count = len(store)
        store.backup(str(target))
    except (OSError, RuntimeError) as exc:
        raise StoreError(f"{live}: the checkpoint failed: {exc}") from exc
    finally:
        del store
    return count


def _copy_shared(location: Path, target: Path) -> int:
    """Copy a store another process holds: quad by quad from a read-only snapshot.

    A read-only handle is a consistent snapshot (it replays the write-ahead log over the
    files it finds), but a checkpoint of it would leave that log out: Oxigraph flushes its
    column families one by one, so a checkpoint taken during a flush holds some indexes with
    the last write and some without (measured: a title from one version of a record beside
    the provenance of the other). So the snapshot is dumped as N-Quads and bulk-loaded into
    a new store, and the new store must hold as many quads as the snapshot.
    """
    problem = ""
    dump = target.parent / f"{target.name}.nq"
    for pause in (*RETRY_PAUSES, None):
        live = (location / LIVE).resolve()  # a staged load may swap the link meanwhile
        try:
            handle = ox.Store.read_only(str(live))
            try:
                seen = len(handle)
                handle.dump(str(dump), format=ox.RdfFormat.N_QUADS)
            finally:
                del handle
            copy = ox.Store(str(target))
            try:
                copy.bulk_load(path=str(dump), format=ox.RdfFormat.N_QUADS)
                copy.flush()
                copied = len(copy)
            finally:
                del copy
            if copied == seen:
                return seen
            problem = f"the copy held {copied} quads where the snapshot held {seen}"
        except (OSError, RuntimeError, SyntaxError) as exc:
            problem = str(exc)  # a file the writer compacted away under the snapshot
        finally:
            dump.unlink(missing_ok=True)
        shutil.rmtree(target, ignore_errors=True)
        if pause is not None:
            time.sleep(pause)
    raise StoreError(
        f"{location}: no complete copy after {len(RETRY_PAUSES) + 1} attempts (the store "
        f"kept changing under the backup: {problem}); try again when writes are quieter"
    )


def _version() -> str:
    import cipd_graph

    return cipd_graph.__version__


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_store(settings: Settings, dest: Path) -> BackupInfo:
    """Back up the embedded store ``CIPD_STORE`` names into the new directory ``dest``.

    Works while ``cipd serve`` or a load holds the store. ``dest`` must not exist (or be an
    empty directory); nothing named ``dest`` appears until the backup is complete.
    """
    if settings.store_is_remote:
        raise _remote_refusal(settings, "backup")
    began = time.monotonic()
    location = Path(settings.store)
    live = location / LIVE
    if not live.exists():
        raise StoreError(
            f"{location}: no store there (no {LIVE}/ directory), nothing to back up; "
            "check CIPD_STORE"
        )
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise StoreError(f"{dest}: already exists; a backup never overwrites, name a new directory")
    if dest.resolve() == location.resolve() or location.resolve() in dest.resolve().parents:
        raise StoreError(f"{dest}: inside the store directory {location}; back up elsewhere")
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.parent / f".{dest.name}.partial-{uuid.uuid4().hex[:12]}"
    partial.mkdir()
    try:
        count = _checkpoint_exclusive(live.resolve(), partial / LIVE)
        in_use = count is None
        if count is None:
            count = _copy_shared(location, partial / LIVE)
        key = location / KEY_FILE
        if key.is_file():
            shutil.copy2(key, partial / KEY_FILE)
            (partial / KEY_FILE).chmod(0o600)
        if (location / UPLOADS).is_dir():
            shutil.copytree(location / UPLOADS, partial / UPLOADS)
        manifest = {
            "tool": "cipd-graph",
            "version": _version(),
            "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "source": str(location.resolve()),
            "quads": count,
            "pseudonym_key": KEY_FILE if key.is_file() else None,
            "store_was_in_use": in_use,
        }
        with (partial / MANIFEST).open("w", encoding="utf-8") as handle:
            json.dump(manifest, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        if dest.exists():
            dest.rmdir()
        partial.rename(dest)
        _fsync_dir(dest.parent)
    except OSError as exc:
        shutil.rmtree(partial, ignore_errors=True)
        raise StoreError(f"{dest}: the backup could not be written: {exc}") from exc
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BackupInfo(dest, count, key.is_file(), in_use, time.monotonic() - began)


def check_backup(source: Path) -> int:
    """The number of quads in the backup (or store directory) ``source``, after checking it
    opens as a store and agrees with its manifest; StoreError naming what is wrong."""
    live = source / LIVE
    if not source.is_dir():
        raise StoreError(f"{source}: not a directory; give the directory `cipd backup` wrote")
    if not live.exists():
        raise StoreError(
            f"{source}: not a backup (no {LIVE}/ directory in it); give the directory "
            "`cipd backup` wrote"
        )
    expected: int | None = None
    manifest = source / MANIFEST
    if manifest.is_file():
        try:
            expected = int(json.loads(manifest.read_text("utf-8"))["quads"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{manifest}: damaged manifest ({exc})") from exc
    try:
        count = _count_copy(live.resolve())
    except (OSError, RuntimeError) as exc:  # pyoxigraph reports damaged files as RuntimeError
        raise StoreError(f"{source}: the backup does not open as a store: {exc}") from exc
    if expected is not None and count != expected:
        raise StoreError(
            f"{source}: damaged: {MANIFEST} says {expected} quads, the store in it holds {count}"
        )
    return count


def _held(directory: Path) -> bool:
    """Whether a process holds the RocksDB lock of the store in ``directory``.

    Tested with a POSIX record lock, as RocksDB takes it. Only for stores this process does
    not hold itself: closing a descriptor drops the process's own locks on that file.
    """
    lock = directory / "LOCK"
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:  # no lock file, or read-only media: nobody is writing there
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def _no_lock(directory: str, names: list[str]) -> list[str]:
    return [n for n in names if n == "LOCK"]


def _replace_uploads(source: Path, location: Path) -> None:
    """Make ``location/uploads`` what the backup holds (none if it holds none)."""
    target = location / UPLOADS
    incoming = location / f"{UPLOADS}.restore-{uuid.uuid4().hex[:12]}"
    if (source / UPLOADS).is_dir():
        shutil.copytree(source / UPLOADS, incoming)
    old = location / f"{UPLOADS}.old-{uuid.uuid4().hex[:12]}"
    if target.exists():
        target.rename(old)
    if incoming.exists():
        incoming.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def _layout(settings: Settings) -> GraphLayout:
    return GraphLayout(settings.base_iri, str(ONTOLOGY_IRI))


def _lock_target(location: Path, settings: Settings) -> EmbeddedBackend:
    """The target store opened for writing: its lock keeps every other writer out."""
    location.mkdir(parents=True, exist_ok=True)
    try:
        return EmbeddedBackend(location, _layout(settings))
    except StoreError as exc:
        if "in use" in str(exc):
            raise StoreError(
                f"{location}: the store is in use (a running `cipd serve` or load holds it); "
                "stop it first: a restore replaces the whole store"
            ) from exc
        raise


def _stage_copy(
    source: Path, location: Path, directory: Path, count: int, settings: Settings
) -> EmbeddedBackend:
    """Copy the backup's store into ``directory`` and open it (replaying any log it has)."""
    try:
        shutil.copytree((source / LIVE).resolve(), directory, ignore=_no_lock)
    except OSError as exc:
        raise StoreError(f"{source}: cannot copy the backup into {location}: {exc}") from exc
    staged = EmbeddedBackend(location, _layout(settings), directory=directory)
    restored = len(staged.store)
    if restored != count:
        staged.close()
        raise StoreError(
            f"{source}: the copy holds {restored} quads where the backup holds {count}; "
            "the store is unchanged"
        )
    return staged


def restore_store(settings: Settings, source: Path, *, force: bool = False) -> RestoreInfo:
    """Replace the embedded store ``CIPD_STORE`` names with the backup ``source``.

    Refuses a store in use (a running ``cipd serve`` or load), a remote store, a backup that
    does not open or disagrees with its manifest, and (without ``force``) a store that holds
    data. The swap is one atomic rename of the store's ``oxigraph`` link.
    """
    if settings.store_is_remote:
        raise _remote_refusal(settings, "restore")
    began = time.monotonic()
    location = Path(settings.store)
    if source.resolve() == location.resolve():
        raise StoreError(f"{source}: that is the store itself; give a backup directory")
    if _held(source / LIVE):
        raise StoreError(
            f"{source}: that store is in use by another process; back it up with `cipd backup` "
            "and restore the backup"
        )
    count = check_backup(source)
    current = _lock_target(location, settings)  # held until the swap is done
    tag = uuid.uuid4().hex[:12]
    directory = location / f"{LIVE}.v-{tag}"
    key = source / KEY_FILE
    incoming_key = location / f".{KEY_FILE}.restore-{tag}"
    swapped = False
    staged: EmbeddedBackend | None = None
    try:
        replaced = current.count()
        if replaced and not force:
            raise StoreError(
                f"{location}: the store holds {replaced} quads; `cipd restore --force` replaces "
                "them (keep them first with `cipd backup`)"
            )
        staged = _stage_copy(source, location, directory, count, settings)
        if key.is_file():
            shutil.copy2(key, incoming_key)
            incoming_key.chmod(0o600)
        old = current.swap_in(staged)  # the one step that changes which store is live
        swapped = True
        if key.is_file():
            incoming_key.replace(location / KEY_FILE)
        _replace_uploads(source, location)
        current.close()
        EmbeddedBackend.discard(old)
    except BaseException:
        if not swapped:
            if staged is not None:
                staged.close()
            EmbeddedBackend.discard(directory)
            incoming_key.unlink(missing_ok=True)
        current.close()
        raise
    return RestoreInfo(location, count, key.is_file(), replaced, time.monotonic() - began)
