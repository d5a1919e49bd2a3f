"""Read a TensorFlow checkpoint (``variables.index`` + ``variables.data-*``) without TensorFlow.

The index is a LevelDB-format SSTable of uncompressed blocks whose values are
``BundleEntryProto`` messages (dtype, shape, offset, size); the data file holds the raw
little-endian tensors. This is all YAMNet's build step needs, so TensorFlow never installs.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from audiointeract.errors import CheckpointError

__all__ = ["read_checkpoint"]

_SSTABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_BYTES = 48
# TensorFlow DataType enum -> numpy dtype (strings and resources are skipped)
_DTYPES: dict[int, type[np.generic]] = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}
_WIRE_VARINT, _WIRE_FIXED64, _WIRE_BYTES, _WIRE_FIXED32 = 0, 1, 2, 5

_Fields = dict[int, list[int | bytes]]


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError("truncated varint in TensorFlow checkpoint index")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _block_entries(buf: bytes, offset: int, size: int) -> Iterator[tuple[bytes, bytes]]:
    """Yield (key, value) pairs of one SSTable block (prefix-compressed keys)."""
    if buf[offset + size] != 0:
        raise CheckpointError("compressed SSTable blocks are not supported")
    block = buf[offset : offset + size]
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end = len(block) - 4 - 4 * restarts
    pos, key = 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        key = key[:shared] + block[pos : pos + unshared]
        pos += unshared
        yield key, block[pos : pos + length]
        pos += length


def _fields(message: bytes) -> _Fields:
    """Decode a protobuf message into {field number: [values]} (no schema needed)."""
    out: _Fields = {}
    pos = 0
    while pos < len(message):
        tag, pos = _varint(message, pos)
        wire = tag & 7
        value: int | bytes
        if wire == _WIRE_VARINT:
            value, pos = _varint(message, pos)
        elif wire == _WIRE_BYTES:
            length, pos = _varint(message, pos)
            value, pos = message[pos : pos + length], pos + length
        elif wire == _WIRE_FIXED32:
            value, pos = struct.unpack_from("<I", message, pos)[0], pos + 4
        elif wire == _WIRE_FIXED64:
            value, pos = struct.unpack_from("<Q", message, pos)[0], pos + 8
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire} in checkpoint index")
        out.setdefault(tag >> 3, []).append(value)
    return out


def _int(fields: _Fields, number: int) -> int:
    value = fields.get(number, [0])[0]
    assert isinstance(value, int)
    return value


def _messages(fields: _Fields, number: int) -> list[bytes]:
    return [value for value in fields.get(number, []) if isinstance(value, bytes)]


def read_checkpoint(index: bytes, data: bytes) -> dict[str, npt.NDArray[np.generic]]:
    """Return every numeric tensor of a single-shard checkpoint, by variable name."""
    if len(index) < _FOOTER_BYTES or struct.unpack_from("<Q", index, len(index) - 8)[0] != _SSTABLE_MAGIC:
        raise CheckpointError("not a TensorFlow checkpoint index (SSTable magic number missing)")
    footer = index[-_FOOTER_BYTES:]
    _, pos = _varint(footer, 0)  # metaindex handle: offset, size
    _, pos = _varint(footer, pos)
    index_offset, pos = _varint(footer, pos)
    index_size, _ = _varint(footer, pos)
    tensors: dict[str, npt.NDArray[np.generic]] = {}
    for _, handle in _block_entries(index, index_offset, index_size):
        block_offset, pos = _varint(handle, 0)
        block_size, _ = _varint(handle, pos)
        for key, value in _block_entries(index, block_offset, block_size):
            if not key:
                continue  # the BundleHeaderProto
            entry = _fields(value)
            dtype = _DTYPES.get(_int(entry, 1))
            if dtype is None:
                continue  # strings, the object graph
            shape = [_int(_fields(dim), 1) for proto in _messages(entry, 2) for dim in _messages(_fields(proto), 2)]
            offset, size = _int(entry, 4), _int(entry, 5)
            if offset + size > len(data):
                raise CheckpointError(f"tensor {key.decode()!r} lies beyond the end of the data file")
            array = np.frombuffer(data, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=offset)
            tensors[key.decode()] = array.reshape(shape).copy()
    return tensors
