"""Atomic writes: readers see the old file or the new one, and a failure leaves nothing."""

import os
import threading

import pytest

from ccspend.core.files import write_atomic, write_cache


def test_write_replaces_and_creates_the_folder(tmp_path):
    target = tmp_path / "a" / "b" / "f.json"
    write_atomic(target, "é\n")
    assert target.read_bytes() == "é\n".encode()
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert os.listdir(target.parent) == ["f.json"]  # no temporary file left


def test_a_cache_file_is_private(tmp_path):
    target = tmp_path / "c" / "cache"
    assert write_cache(target, b"x")
    assert target.stat().st_mode & 0o777 == 0o600
    assert target.parent.stat().st_mode & 0o777 == 0o700


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "w" / "f"
    target.parent.mkdir()
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        write_atomic(target, 12345)  # not bytes: fails after the temporary file is open
    assert target.read_bytes() == b"old"
    assert os.listdir(target.parent) == ["f"]


def test_a_cache_write_to_a_read_only_folder_is_not_an_error(tmp_path):
    if os.geteuid() == 0:
        blocker = tmp_path / "file"
        blocker.write_bytes(b"")
        assert write_cache(blocker / "sub" / "x", b"x") is False  # a file where a folder goes
        return
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o500)
    assert write_cache(folder / "x", b"x") is False


def test_concurrent_writers_never_show_a_reader_half_a_file(tmp_path):
    target = tmp_path / "w" / "f"
    payloads = [bytes([65 + i]) * 200_000 for i in range(4)]
    write_atomic(target, payloads[0])
    stop = threading.Event()
    seen = set()

    def read():
        while not stop.is_set():
            data = target.read_bytes()
            seen.add(len(set(data)) == 1 and len(data) == 200_000)

    def write(p):
        for _ in range(25):
            write_atomic(target, p)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert seen == {True}
    assert os.listdir(target.parent) == ["f"]
