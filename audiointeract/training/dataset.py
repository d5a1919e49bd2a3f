"""Turn episodes into training sequences: oracle perceptions, a teacher rollout, per-chunk labels.

Every (episode, standing task) pair becomes one sequence of decision points, one per
chunk. Features come from :class:`~audiointeract.policies.learned.features.StreamFeatures`
driven exactly as the learned decider drives it at run time, with a *teacher* that
responds inside each expected window (at its first chunk, or a chunk or two later, so
the model also sees late states) and then speaks for a random time, so
``agent_speaking`` and "already answered" states appear as they will in a session. An
expected window that opens while the agent speaks is still labelled: the learned
decider then interrupts its own reply to take the new turn.

Labels: ``respond`` is 1 on the chunks of an expected window from the first chunk in
which its evidence can have been perceived (a sound's first tagger frame, a sentence's
commit) up to the teacher's response (any of them is a right time; the timing
tolerance), 0 elsewhere; ``interrupt`` is 1 where speech starts while the agent is speaking.
Embeddings are stored once per distinct text in a table; sequences hold indices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs
import numpy as np
import numpy.typing as npt

from audiointeract.events import Perception, SpeechActivity
from audiointeract.policies.embeddings import CachedEmbedder
from audiointeract.policies.learned.features import FeatureSpec, StreamFeatures
from audiointeract.simulators.oracle import oracle_perceptions
from audiointeract.simulators.scene import Scene, Segment, Sound

__all__ = ["SOUND_HOPS", "Sequences", "build_sequences", "chunk_perceptions"]

_EPS = 1e-9
SOUND_HOPS = (0.48, 0.96)
"""Frame hops of the oracle sound tagger in training (YAMNet's hop and window)."""
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]


def chunk_perceptions(perceptions: Sequence[Perception], chunk: float, count: int) -> list[list[Perception]]:
    """Group perceptions by the chunk in which their audio is fully heard (as ScriptedPerceiver does)."""
    out: list[list[Perception]] = [[] for _ in range(count)]
    for p in perceptions:
        index = max(0, math.ceil(p.span_end / chunk - _EPS) - 1)
        if index < count:
            out[index].append(p)
    return out


def _evidence_time(segment: Segment, hop: float) -> float:
    """When the first perception of ``segment`` is heard: speech is committed at its end, sound per hop."""
    if isinstance(segment, Sound):
        return min(segment.end, segment.start + hop)
    return segment.end


@attrs.frozen(kw_only=True, eq=False)
class Sequences:
    """Padded training sequences: indices into ``table`` for the embedding blocks, scalars, labels, mask."""

    table: FloatArray  # [rows, embed_dim]
    text: IntArray  # [n, T]
    sound: IntArray  # [n, T]
    task: IntArray  # [n]
    scalars: FloatArray  # [n, T, S]
    labels: FloatArray  # [n, T, 2]
    mask: FloatArray  # [n, T]

    def __len__(self) -> int:
        return int(self.task.shape[0])


class _Table:
    def __init__(self, dim: int) -> None:
        self.rows: list[FloatArray] = [np.zeros(dim, dtype=np.float32)]
        self.index: dict[str, int] = {"": 0}

    def add(self, key: str, row: FloatArray) -> int:
        found = self.index.get(key)
        if found is None:
            found = self.index[key] = len(self.rows)
            self.rows.append(row)
        return found


def build_sequences(
    scenes: Sequence[Scene], *, spec: FeatureSpec, embedder: CachedEmbedder, chunk: float, seed: int
) -> Sequences:
    """Roll every scene out with the teacher and collect padded, labelled sequences."""
    rng = np.random.default_rng(seed)
    embedder.embed(sorted({t.instruction for scene in scenes for t in scene.tasks}))  # one batch, then cached
    texts = _Table(spec.embed_dim)
    sounds = _Table(spec.embed_dim)
    rows: list[tuple[list[int], list[int], int, FloatArray, FloatArray]] = []
    for scene in scenes:
        steps = math.ceil(scene.duration / chunk - _EPS)
        hop = float(rng.choice(SOUND_HOPS))
        grouped = chunk_perceptions(oracle_perceptions(scene, sound_hop=hop), chunk, steps)
        expectations = scene.expectations(chunk)
        # the teacher's response chunk for each expectation: first chunk whose end is in the window, plus a delay
        plan: dict[int, tuple[int, int]] = {}
        for number, e in enumerate(expectations):
            heard_at = max(e.window_start, _evidence_time(scene.segments[e.segment], hop))
            first = max(0, math.ceil(heard_at / chunk - _EPS) - 1)
            last = max(first, math.floor(e.window_end / chunk + _EPS) - 1)
            delay = int(rng.choice(3, p=(0.7, 0.2, 0.1)))
            plan[number] = (first, min(last, first + delay))
        features = StreamFeatures(spec, embedder)
        n_tasks = len(scene.tasks)
        text_idx: list[int] = []
        sound_idx: list[int] = []
        scalars = np.zeros((n_tasks, steps, len(spec.scalars)), dtype=np.float32)
        labels = np.zeros((n_tasks, steps, 2), dtype=np.float32)
        speaking_until = -math.inf
        done: set[int] = set()
        task_index = {task.name: i for i, task in enumerate(scene.tasks)}
        for step in range(steps):
            heard = (step + 1) * chunk
            agent = heard <= speaking_until + _EPS
            starts = any(isinstance(p, SpeechActivity) and p.speaking for p in grouped[step])
            if agent and starts:
                labels[:, step, 1] = 1.0
                speaking_until, agent = -math.inf, False
            out = features.step(grouped[step], heard_until=heard, agent_speaking=agent, tasks=scene.tasks)
            text_idx.append(texts.add(out.text_key, out.text))
            sound_idx.append(sounds.add(out.sound_key, out.sound))
            scalars[:, step, :] = out.scalars
            responded = False
            for number, e in enumerate(expectations):
                first, answer_at = plan[number]
                if number in done or step < first:
                    continue
                labels[task_index[e.task], step, 0] = 1.0
                if step >= answer_at and not responded:
                    responded = True
                    done.add(number)
            if responded:
                features.note_response(heard)
                speaking_until = heard + float(rng.uniform(0.3, 4.0))
        for t, task in enumerate(scene.tasks):
            task_row = texts.add(f"task:{task.instruction}", embedder.one(task.instruction))
            rows.append((text_idx, sound_idx, task_row, scalars[t], labels[t]))
    return _pad(rows, texts, sounds, spec)


def _pad(
    rows: list[tuple[list[int], list[int], int, FloatArray, FloatArray]],
    texts: _Table,
    sounds: _Table,
    spec: FeatureSpec,
) -> Sequences:
    offset = len(texts.rows)
    table = np.stack([*texts.rows, *sounds.rows]).astype(np.float32)
    n = len(rows)
    length = max(len(r[0]) for r in rows)
    text = np.zeros((n, length), dtype=np.int64)
    sound = np.full((n, length), offset, dtype=np.int64)
    task = np.zeros(n, dtype=np.int64)
    scalars = np.zeros((n, length, len(spec.scalars)), dtype=np.float32)
    labels = np.zeros((n, length, 2), dtype=np.float32)
    mask = np.zeros((n, length), dtype=np.float32)
    for i, (t_idx, s_idx, k_idx, sc, lab) in enumerate(rows):
        steps = len(t_idx)
        text[i, :steps] = t_idx
        sound[i, :steps] = np.asarray(s_idx) + offset
        task[i] = k_idx
        scalars[i, :steps] = sc
        labels[i, :steps] = lab
        mask[i, :steps] = 1.0
    return Sequences(table=table, text=text, sound=sound, task=task, scalars=scalars, labels=labels, mask=mask)
