"""relvec.files: atomic writes, leftovers swept by exact name, manifests that catch any change, checked reads."""

import pytest

from relvec import files


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = files.write_text(tmp_path / "out.txt", "old\n")

    def dies_midway(path):
        path.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match=r"cannot write .*out\.txt"):
        files.write_file(target, dies_midway)
    assert target.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_sweeping_a_targets_leftovers_spares_its_neighbours(tmp_path):
    for name in (".model.tmp-1-a", ".model.old-2-b", ".model.trash-3-c", ".model.v2.tmp-4-d", ".model", "model"):
        (tmp_path / name).mkdir()
    swept = files.sweep_siblings(tmp_path / "model")
    assert sorted(p.name for p in swept) == [".model.old-2-b", ".model.tmp-1-a", ".model.trash-3-c"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [".model", ".model.v2.tmp-4-d", "model"]


def test_a_manifest_catches_a_changed_missing_or_truncated_file(tmp_path):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    (folder / "a.bin").write_bytes(b"\x00" * 100)
    (folder / "b.json").write_text("{}")
    files.write_manifest(folder, {"epoch": 3})
    assert files.verify_manifest(folder)["epoch"] == 3
    (folder / "a.bin").write_bytes(b"\x00" * 99 + b"\x01")  # same size, one byte changed
    assert files.verify_manifest(folder) is None
    (folder / "a.bin").write_bytes(b"\x00" * 100)
    assert files.verify_manifest(folder) is not None
    (folder / "b.json").unlink()
    assert files.verify_manifest(folder) is None


def test_reads_name_the_file_and_line(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{\n  "a": 1,\n  "b": \n}')
    with pytest.raises(files.FileFormatError, match=r"x\.json:4: not valid JSON"):
        files.read_json(path)
    text = tmp_path / "t.tsv"
    text.write_bytes("\ufeffa\tb\r\nc\xe9".encode("utf-8") + b"\n\xff\n")
    lines = files.iter_lines(text)
    assert next(lines) == (1, "a\tb") and next(lines) == (2, "c\xe9")
    with pytest.raises(files.FileFormatError, match=r"t\.tsv:3: not UTF-8 text \(byte 0xff at column 1\)"):
        next(lines)


def test_short_repr_cuts_long_values():
    assert files.short_repr("abc") == "'abc'"
    cut = files.short_repr("x" * 10_000)
    assert len(cut) < 90 and cut.endswith("[10002 chars]")
