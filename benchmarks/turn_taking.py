"""Turn-taking at human speed, measured from the user's audio, side by side with Pipecat.

usage: python benchmarks/turn_taking.py [--quick] [--no-pipecat] [--pipecat-venv DIR]
                                        [--responder scripted|registry] [--note TEXT]
                                        [--out benchmarks/results/turn_taking.json]
       python benchmarks/turn_taking.py --freeze      (rebuild the frozen item manifest; never after tuning)

Reproduces the Full-Duplex-Bench behaviours (Lin et al., arXiv 2503.04721 and 2507.23159;
definitions in ``turn_taking_scoring.py``) on items built from real recordings
(``turn_taking_items.py``, frozen in ``benchmarks/data/turn_taking/``), played in real
time into ONE session of the registry defaults: the embedded perceiver ("default") and the
default policy, on the real clock (``Pacing.REALTIME``). The simulated user
(``turn_taking_user.py``) is a live microphone that reacts to the agent as a person would.

Items (counts in the manifest; Wilson 95 % intervals on every rate):

* pause handling: 41 requests with a 0.4-1.0 s pause inserted after an incomplete fragment
  (cut at a word boundary mid-sentence, word times from faster-whisper);
* smooth turn-taking: the opening request of each of the 66 episodes below (a complete turn,
  then silence);
* user interruption: 30 episodes, a second request spoken 0.8-2.0 s into the agent's reply;
* backchannel / noise: 24 episodes, "thank you" or "right" (real speech) or a real CC0 sound
  (door, crow, burp, snap, animals...) 0.6-1.4 s into the reply;
* self-speech: 12 episodes, the agent's own reply mixed back into the microphone 10, 15, 20
  and 25 dB below the user's speech level, 50-150 ms late.

Split: the speech comes from Asterisk prompts that are requests ("please ...") or questions;
every prompt named anywhere else in the repository (training data, examples, tests, other
benchmarks) is excluded and listed in the manifest. The policies' tuning data lives in
audiointeract/training/data and examples/ and shares no recording with these items; do not
tune on them (see the README next to the manifest).

The agent's voice: by default a scripted responder (fixed replies, paced like the default
LM: first word after 0.12 s, 15 words/s) spoken by espeak-ng through SpeechResponder, so
replies are long enough to talk over and the LM does not compete with perception for the
CPU; ``--responder registry`` uses the registry's default responder (espeak-ng voice).

Pipecat (pipecat-ai 1.14.0, its SileroVADAnalyzer with stop_secs=0.2 and its bundled Smart
Turn v3.2 analyser) runs on the same item audio in a separate venv, never a dependency of
the package; the benchmark creates the venv when it is missing:

    python3 -m venv VENV && VENV/bin/pip install 'pipecat-ai[silero]==1.14.0'

with VENV from ``--pipecat-venv``, else $AUDIOINTERACT_PIPECAT_VENV, else
~/.cache/audiointeract/venvs/pipecat-1.14.0. All latencies run from what the user did in the
audio (end of speech, onset), never from an internal event. The run took 25 minutes on a busy
2-core machine (the simulated user waits for every answer, so a faster agent finishes sooner);
``--raw FILE`` keeps the raw run and ``--rescore FILE`` scores it again without rerunning.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import anyio
import numpy as np
import turn_taking_items as items_module
import turn_taking_scoring as scoring
from turn_taking_items import RATE, Episode, PauseItem
from turn_taking_user import MEDIUM_REPLY, LiveUser, active_level, speaking_responder

from audiointeract import Pacing, Session, SessionConfig
from audiointeract.audio import resample
from audiointeract.backends.speech import EspeakSynthesizer
from audiointeract.clock import LoopClock
from audiointeract.events import event_from_dict, event_to_dict
from audiointeract.interfaces import Responder
from audiointeract.registry import load_backend

ROOT = Path(__file__).resolve().parent.parent
PIPECAT = "pipecat-ai[silero]==1.14.0"
PIPECAT_LEAD = 0.5
PIPECAT_TAIL = 4.0
WARMUP_CLIP = "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0880"  # read narration, not a request
PUBLISHED = {
    "pause_tor": "GPT-Realtime 0.01; Gemini 0.26-0.31; Moshi 0.98",
    "smooth": "TOR / latency (mean): PersonaPlex 0.99 / 0.07 s; Moshi 0.94 / 0.27 s; GPT-Realtime 1.00 / 1.47 s",
    "interruption": "Moshi 0.26 s; Gemini 1.18 s; PersonaPlex 0.40 s (to the new reply)",
    "backchannel": "LiveKit's interruption classifier rejects ~51 % of VAD false barge-ins",
    "eot": "LiveKit turn detector: 9.9 % cut-offs at 300 ms, 543 ms at 5 %; Smart Turn v3.2: 1,051 ms at 5 %",
}
TARGETS = {"pause_tor": "<= 0.10", "smooth_tor": ">= 0.95", "respond": "p50 <= 0.5 s", "stop": "p50 <= 0.35, p95 <= 0.6 s",
           "false_yield": "<= 0.10", "self": "0 at -15 dB and below", "vs_pipecat": "<= 0.8x latency, cut-offs <= Pipecat's"}


# --------------------------------------------------------------------------- the run


def interleave(pauses: list[PauseItem], episodes: list[Episode]) -> list[PauseItem | Episode]:
    """Both lists in order, spread evenly through one session (so machine load hits all sets alike)."""
    keyed: list[tuple[float, int, PauseItem | Episode]] = [((i + 0.5) / len(pauses), 0, p) for i, p in enumerate(pauses)]
    keyed += [((i + 0.5) / len(episodes), 1, e) for i, e in enumerate(episodes)]
    return [item for _, _, item in sorted(keyed, key=lambda k: (k[0], k[1]))]


async def voice_level() -> float:
    """Active level of the agent's espeak-ng voice (the echo is set relative to the user's speech level)."""
    blocks = [block async for block in EspeakSynthesizer().synthesize(MEDIUM_REPLY)]
    samples = np.concatenate([b.samples for b in blocks])
    return active_level(resample(samples, blocks[0].sample_rate, RATE))


async def load_sampler(samples: list[tuple[float, float]], stop: anyio.Event) -> None:
    while not stop.is_set():
        samples.append((time.monotonic(), os.getloadavg()[0]))
        with anyio.move_on_after(5.0):
            await stop.wait()


def caught_up(session: Session) -> bool:
    stats = session.statistics()
    return stats.perceiver_lag <= session.config.audio.chunk_seconds + 0.05 and stats.decision_queue.depth == 0


async def run_session(args: argparse.Namespace, plan: list[PauseItem | Episode]) -> dict[str, Any]:
    started = time.perf_counter()
    perceiver = load_backend("perceiver", "default")
    decider = load_backend("decider", "default")
    clock = LoopClock()
    user = LiveUser(plan, clock=clock, warmup=items_module.render(WARMUP_CLIP), echo_reference_level=await voice_level())
    responder: Responder
    if args.responder == "scripted":
        responder = speaking_responder(user)
    else:
        responder = load_backend("responder", "default", voice="espeak-ng")
    load_seconds = time.perf_counter() - started
    session = Session(perceiver, decider, responder, config=SessionConfig(pacing=Pacing.REALTIME), clock=clock,
                      observers=[user])
    user.caught_up = lambda: caught_up(session)
    loads: list[tuple[float, float]] = []
    stop = anyio.Event()
    began = time.perf_counter()
    async with anyio.create_task_group() as group:
        group.start_soon(load_sampler, loads, stop)
        await session.run(user)
        stop.set()
    wall = time.perf_counter() - began
    for backend in (perceiver, decider, responder):
        await backend.aclose()
    stats = session.statistics()
    return {
        "records": user.records, "events": user.events,
        "session": {"audio_seconds": stats.heard_until, "wall_seconds": wall, "load_seconds": load_seconds,
                    "decisions": dict(stats.decisions), "replies_started": stats.replies_started,
                    "replies_cancelled": stats.replies_cancelled, "max_perceiver_lag": stats.max_perceiver_lag,
                    "decision_latency_p50": stats.decision_latency.p50,
                    "decision_latency_p95": stats.decision_latency.p95,
                    "chunks_dropped": stats.chunk_queue.dropped, "events_dropped": stats.events_dropped,
                    "backend_errors": dict(stats.backend_errors)},
        "source_lateness": scoring.spread(user.lateness),
        "catch_up_waits": scoring.spread(user.catch_up_waits),
        "load_during": [load for _, load in loads],
    }


# --------------------------------------------------------------------------- Pipecat


def pipecat_venv(args: argparse.Namespace) -> Path:
    default = Path.home() / ".cache" / "audiointeract" / "venvs" / "pipecat-1.14.0"
    venv = Path(args.pipecat_venv or os.environ.get("AUDIOINTERACT_PIPECAT_VENV") or default)
    python = venv / "bin" / "python"
    if not python.is_file():
        print(f"creating the Pipecat venv in {venv} (pip install '{PIPECAT}')", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", PIPECAT], check=True)
    return python


def pipecat_audio(pauses: list[PauseItem], episodes: list[Episode]) -> dict[str, np.ndarray]:
    lead, tail = np.zeros(round(PIPECAT_LEAD * RATE), np.float32), np.zeros(round(PIPECAT_TAIL * RATE), np.float32)
    audio = {p.id: p.samples for p in pauses}
    audio |= {f"{e.id}.opener": e.opener.samples for e in episodes}
    return {name: (np.concatenate([lead, samples, tail]) * 32767).astype(np.int16) for name, samples in audio.items()}


def run_pipecat(args: argparse.Namespace, pauses: list[PauseItem], episodes: list[Episode]) -> dict[str, Any]:
    python = pipecat_venv(args)
    with tempfile.TemporaryDirectory() as tmp:
        audio, out = Path(tmp) / "items.npz", Path(tmp) / "out.json"
        np.savez(audio, **pipecat_audio(pauses, episodes))  # type: ignore[arg-type]  # numpy's stub types **kwds as bool
        began = time.perf_counter()
        subprocess.run([str(python), str(Path(__file__).parent / "turn_taking_pipecat.py"), str(audio), str(out)],
                       check=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
        result: dict[str, Any] = json.loads(out.read_text())
    result["wall_seconds"] = time.perf_counter() - began
    return result


def score_pipecat(result: dict[str, Any], pauses: list[PauseItem], episodes: list[Episode]) -> dict[str, Any]:
    """Pipecat's ends of turn, placed and timed the way ours are (see ``turn_taking_scoring``)."""
    def commits(name: str) -> list[tuple[float, float]]:
        return [(c["heard"] - PIPECAT_LEAD, c["at"] - PIPECAT_LEAD) for c in result["items"][name]["commits"]]

    pause_rows = []
    for p in (p for p in pauses if p.id in result["items"]):
        times = commits(p.id)
        cut = next((heard for heard, _ in times if heard < p.end - 1e-3), None)
        after = next((at for heard, at in times if heard >= p.end - 1e-3), None)
        pause_rows.append({"id": p.id, "pause": p.pause, "cut_off": cut is not None,
                           "cut_heard_after_pause_start": None if cut is None else cut - p.fragment_end,
                           "end_latency": None if after is None else after - p.end})
    opener_rows = []
    for e in (e for e in episodes if f"{e.id}.opener" in result["items"]):
        times = commits(f"{e.id}.opener")
        end = e.opener.end - 1e-3
        after = next((at for heard, at in times if heard >= end), None)
        opener_rows.append({"id": e.id, "clip": e.opener.name, "cutoff_inside_turn": any(h < end for h, _ in times),
                            "latency": None if after is None else after - e.opener.end})
    inference = [ms for item in result["items"].values() for ms in item["inference_ms"]]
    return {"pause": pause_rows, "openers": opener_rows, "inference_ms": scoring.spread(inference)}


# --------------------------------------------------------------------------- scoring and report


def score(run: dict[str, Any], items: list[PauseItem | Episode]) -> dict[str, Any]:
    timeline = scoring.Timeline.of(run["events"])
    by_id = {item.id: item for item in items}
    rows: dict[str, list[dict[str, Any]]] = {"pause": [], "opener": [], "interrupt": [], "backchannel": [], "self": []}
    voided = []
    for record in run["records"]:
        if "stop" not in record:
            continue
        if record["kind"] == "pause":
            rows["pause"].append(scoring.score_pause(record, timeline))
            continue
        rows["opener"].append(scoring.score_opener(record, timeline))
        if record.get("void"):
            voided.append({"id": record["id"], "why": record["void"]})
            continue
        item = by_id[record["id"]]
        assert isinstance(item, Episode)
        if record["kind"] == "interrupt":
            rows["interrupt"].append(scoring.score_interrupt(record, timeline))
        elif record["kind"] == "backchannel":
            rows["backchannel"].append(scoring.score_backchannel(record, timeline))
        else:
            rows["self"].append(scoring.score_self(record, timeline, item.level_db))
    return {"rows": rows, "voided": voided, "lag": scoring.perception_lag(timeline)}


def values(rows: list[dict[str, Any]], key: str) -> list[float]:
    return [row[key] for row in rows if row.get(key) is not None]


def summarise(scored: dict[str, Any], pipecat: dict[str, Any] | None) -> dict[str, Any]:
    rows = scored["rows"]
    interrupts = [r for r in rows["interrupt"] if r["agent_speaking_at_onset"]]
    backchannels = [r for r in rows["backchannel"] if r["agent_speaking_at_onset"]]
    openers = rows["opener"]
    summary: dict[str, Any] = {
        "pause": {
            "tor": scoring.rate([r["took_turn"] for r in rows["pause"]]),
            "cut_off": scoring.rate([r["cut_off"] for r in rows["pause"]]),
            "answered_after_end": scoring.rate([r["answered_after_end"] for r in rows["pause"]]),
            "answer_respond_latency": scoring.spread(values(rows["pause"], "respond_latency")),
        },
        "smooth": {
            "tor": scoring.rate([r["took_turn"] for r in openers]),
            "respond_latency": scoring.spread(values(openers, "respond_latency")),
            "respond_before_end": scoring.rate([r["respond_before_end"] for r in openers]),
            "first_audio_latency": scoring.spread(values(openers, "first_audio_latency")),
            "first_audio_latency_fdb_mean": scoring.spread(max(0.0, v) for v in values(openers, "first_audio_latency")),
            "respond_heard_after_end": scoring.spread(values(openers, "respond_heard_after_end")),
            "vad_end_stamp": scoring.spread(values(openers, "vad_end_stamp")),
            "vad_end_emitted": scoring.spread(values(openers, "vad_end_emitted")),
            "last_words_emitted": scoring.spread(values(openers, "last_words_emitted")),
        },
        "interrupt": {
            "trials": len(rows["interrupt"]), "agent_speaking": len(interrupts),
            "stop_latency": scoring.spread(values(interrupts, "stop_latency")),
            "stopped_by_barge_in": scoring.rate([r["stopped_by_barge_in"] for r in interrupts]),
            "interrupt_decision_latency": scoring.spread(values(interrupts, "interrupt_decision_latency")),
            "interrupt_heard_after_onset": scoring.spread(values(interrupts, "interrupt_heard_after_onset")),
            "answered": scoring.rate([r["answered"] for r in interrupts]),
            "answered_before_user_ended": scoring.rate([r["answered_before_user_ended"] for r in interrupts]),
            "respond_latency": scoring.spread(values(interrupts, "respond_latency")),
            "response_latency": scoring.spread(values(interrupts, "response_latency")),
        },
        "backchannel": {
            "false_yield": scoring.rate([r["false_yield"] for r in backchannels]),
            "speech": scoring.rate([r["false_yield"] for r in backchannels if r["label"].startswith("speech")]),
            "noise": scoring.rate([r["false_yield"] for r in backchannels if r["label"].startswith("noise")]),
            "paused": scoring.rate([r["paused"] for r in backchannels]),
            "answered_as_a_turn": scoring.rate([r["answered_as_a_turn"] for r in backchannels]),
        },
        "self": {str(level): scoring.rate([r["false_yield"] for r in rows["self"] if r["level_db"] == level])
                 for level in sorted({r["level_db"] for r in rows["self"]}, reverse=True)},
    }
    ours_pauses = [(r["pause"], r["cut_off"]) for r in rows["pause"]]
    ours_ends = [r["respond_latency"] for r in openers]
    curves = {"ours": scoring.eot_curve(ours_pauses, ours_ends),
              "silence timeout only": scoring.eot_curve([(r["pause"], False) for r in rows["pause"]],
                                                        [None for _ in openers])}
    if pipecat is not None:
        curves["pipecat"] = scoring.eot_curve([(r["pause"], r["cut_off"]) for r in pipecat["pause"]],
                                              [r["latency"] for r in pipecat["openers"]])
        summary["pipecat"] = {
            "cut_off": scoring.rate([r["cut_off"] for r in pipecat["pause"]]),
            "latency": scoring.spread(values(pipecat["openers"], "latency")),
            "cutoff_inside_turn": scoring.rate([r["cutoff_inside_turn"] for r in pipecat["openers"]]),
            "pause_end_latency": scoring.spread(values(pipecat["pause"], "end_latency")),
            "inference_ms": pipecat["inference_ms"],
        }
    summary["eot_curve"] = curves
    summary["eot_operating_points"] = {name: scoring.operating_points(curve) for name, curve in curves.items()}
    return summary


def _f(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _rate(row: dict[str, Any]) -> str:
    if not row["n"]:
        return "- (n=0)"
    low, high = row["ci95"]
    return f"{row['rate']:.2f} ({row['hits']}/{row['n']}) [{low:.2f}-{high:.2f}]"


def _lat(row: dict[str, Any]) -> str:
    return f"{_f(row['p50'])} / {_f(row['p95'])} (mean {_f(row['mean'])}, n={row['n']})"


def table(result: dict[str, Any]) -> str:
    s = result["summary"]
    pc = s.get("pipecat")
    lines = [
        f"{'behaviour':<20} {'metric':<52} {'ours':<36} {'Pipecat (Silero 0.2 s + Smart Turn v3.2)':<40} target",
        "-" * 164,
    ]

    def row(behaviour: str, metric: str, ours: str, pipecat: str = "", target: str = "") -> None:
        lines.append(f"{behaviour:<20} {metric:<52} {ours:<36} {pipecat:<40} {target}")

    row("pause handling", "take-over rate, agent speaks in the turn (TOR)", _rate(s["pause"]["tor"]), "", TARGETS["pause_tor"])
    row("", "end of turn declared before the turn ended (cut-off)", _rate(s["pause"]["cut_off"]),
        _rate(pc["cut_off"]) if pc else "")
    row("", "turn answered after its real end", _rate(s["pause"]["answered_after_end"]))
    row("", "  end of speech -> RESPOND p50 / p95 s", _lat(s["pause"]["answer_respond_latency"]),
        _lat(pc["pause_end_latency"]) if pc else "")
    row("smooth turn-taking", "take-over rate (TOR)", _rate(s["smooth"]["tor"]), "", TARGETS["smooth_tor"])
    row("", "end of speech -> end of turn (RESPOND) p50 / p95 s", _lat(s["smooth"]["respond_latency"]),
        _lat(pc["latency"]) if pc else "", TARGETS["respond"])
    row("", "end of turn before the user finished", _rate(s["smooth"]["respond_before_end"]),
        _rate(pc["cutoff_inside_turn"]) if pc else "")
    row("", "end of speech -> first reply audio p50 / p95 s", _lat(s["smooth"]["first_audio_latency"]))
    row("user interruption", "onset -> agent silent p50 / p95 s", _lat(s["interrupt"]["stop_latency"]), "",
        TARGETS["stop"])
    row("", "  onset -> INTERRUPT decision p50 / p95 s", _lat(s["interrupt"]["interrupt_decision_latency"]))
    row("", "reply stopped by the barge-in", _rate(s["interrupt"]["stopped_by_barge_in"]))
    row("", "new turn answered", _rate(s["interrupt"]["answered"]))
    row("", "  end of new turn -> new reply audio p50 / p95 s", _lat(s["interrupt"]["response_latency"]))
    row("backchannel / noise", "false-yield rate (reply stopped)", _rate(s["backchannel"]["false_yield"]), "",
        TARGETS["false_yield"])
    row("", "  speech (thank you, right) / noise", f"{_rate(s['backchannel']['speech'])} / "
        f"{_rate(s['backchannel']['noise'])}")
    for level, rate in s["self"].items():
        row("self-speech" if level == next(iter(s["self"])) else "", f"false-yield rate, echo {level} dB",
            _rate(rate), "", TARGETS["self"] if float(level) <= -15 else "")
    lines += ["", "published (other systems, other data; Full-Duplex-Bench reports mean latencies):"]
    lines += [f"  {name}: {text}" for name, text in PUBLISHED.items()]
    lines += ["", ("end-of-turn curve (eot-bench style): the agent must answer within the budget; "
                   "false cut-offs over the inserted pauses, latency p50 over complete turns"),
              f"  {'budget s':>8} " + " ".join(f"{name:>28}" for name in s["eot_curve"]),
              f"  {'':>8} " + " ".join(f"{'cut-offs   latency p50':>28}" for _ in s["eot_curve"])]
    for index, budget in enumerate(scoring.BUDGETS):
        cells = []
        for curve in s["eot_curve"].values():
            point = curve[index]
            cells.append(f"{_f(point['false_cutoff_rate']):>17} {_f(point['latency_p50']):>10}")
        lines.append(f"  {('none' if math.isinf(budget) else f'{budget:.1f}'):>8} " + " ".join(cells))
    for name, point in s["eot_operating_points"].items():
        lines.append(f"  {name}: latency at <= 5 % cut-offs {_f(point['latency_at_5pct'])} s; "
                     f"cut-offs at <= 300 ms {_f(point['cutoffs_at_300ms'])}")
    if pc:
        ours, theirs = s["smooth"]["respond_latency"]["p50"], pc["latency"]["p50"]
        ratio = ours / theirs if ours is not None and theirs else None
        lines.append(f"  ours / Pipecat end-of-turn latency p50: {_f(ratio)}x (goal <= 0.8x); cut-offs in pauses "
                     f"{_f(s['pause']['cut_off']['rate'])} vs {_f(pc['cut_off']['rate'])}")
    d = result["diagnostics"]
    sm = s["smooth"]
    lines += ["", "what the latency is made of (complete turns, from the end of speech, p50 / p95 s):",
              f"  RESPOND rested on audio up to {_lat(sm['respond_heard_after_end'])} (the rest of its latency is compute lag)",
              f"  VAD end of speech stamped {_lat(sm['vad_end_stamp'])}; emitted {_lat(sm['vad_end_emitted'])}",
              f"  last committed words emitted {_lat(sm['last_words_emitted'])}",
              (f"  barge-in: INTERRUPT rested on audio up to {_lat(s['interrupt']['interrupt_heard_after_onset'])} "
               "after the onset"),
              f"  word emission delay (word end -> emitted, compute lag included) {_lat(d['lag']['word_emission_delay'])}",
              "  perception arrival after its audio: " + "; ".join(
                  f"{kind} {_f(v['p50'])}/{_f(v['p95'])}" for kind, v in d["lag"].items() if kind != "word_emission_delay"),
              (f"  max perceiver lag {_f(d['session']['max_perceiver_lag'])} s; source block lateness p95 "
               f"{_f(d['source_lateness']['p95'], 3)} s; chunks dropped {d['session']['chunks_dropped']}"),
              (f"  the user waited for the agent to catch up before items: {_lat(d['catch_up_waits'])}; "
               f"sum {_f(d['catch_up_waits']['mean'] * d['catch_up_waits']['n'] if d['catch_up_waits']['n'] else 0, 0)} s")]
    if pc:
        lines.append(f"  Pipecat Smart Turn inference p50 / p95 {_f(pc['inference_ms']['p50'], 0)} / "
                     f"{_f(pc['inference_ms']['p95'], 0)} ms (added to its latency)")
    return "\n".join(lines)


# --------------------------------------------------------------------------- machine and main


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def machine() -> dict[str, Any]:
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=False).stdout
    espeak = espeak.split("  Data at")[0].strip()
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True,
                            check=False).stdout.strip()
    return {"platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
            "cpus_visible": len(os.sched_getaffinity(0)), "load_average_at_start": os.getloadavg(),
            "versions": {"audiointeract_commit": commit, "espeak-ng": espeak,
                         **{name: _version(name) for name in ("numpy", "scipy", "onnxruntime", "faster-whisper",
                                                              "ctranslate2", "silero-vad", "anyio")}}}


def measure(args: argparse.Namespace, pauses: list[PauseItem], episodes: list[Episode],
            plan: list[PauseItem | Episode]) -> dict[str, Any]:
    """Run the session and Pipecat; the raw material ``--rescore`` can score again."""
    description = machine()
    print(f"{len(pauses)} pause items and {len(episodes)} episodes in real time "
          f"(load average {description['load_average_at_start'][0]:.2f})", flush=True)
    run = anyio.run(run_session, args, plan)
    pipecat = None if args.no_pipecat else run_pipecat(args, pauses, episodes)
    if pipecat is not None:
        description["versions"]["pipecat-ai"] = pipecat["pipecat"]
        description["pipecat_wall_seconds"] = pipecat["wall_seconds"]
    description["load_average_at_end"] = os.getloadavg()
    loads = run.pop("load_during")
    description["load_average_1min_during"] = {"p50": float(np.median(loads)), "max": float(max(loads))} if loads else {}
    return {"machine": description, "run": run, "pipecat": pipecat}


def save_raw(raw: dict[str, Any], path: Path) -> None:
    events = [[at, event_to_dict(event)] for at, event in raw["run"]["events"]]
    with gzip.open(path, "wt") as handle:
        json.dump({**raw, "run": {**raw["run"], "events": events}}, handle, default=str)


def load_raw(path: Path) -> dict[str, Any]:
    with gzip.open(path, "rt") as handle:
        raw: dict[str, Any] = json.load(handle)
    raw["run"]["events"] = [(at, event_from_dict(event)) for at, event in raw["run"]["events"]]
    return raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--freeze", action="store_true", help="rebuild the frozen item manifest and stop")
    parser.add_argument("--quick", action="store_true", help="every 4th item (a smoke run; not for reporting)")
    parser.add_argument("--no-pipecat", action="store_true")
    parser.add_argument("--pipecat-venv", default=None)
    parser.add_argument("--responder", choices=("scripted", "registry"), default="scripted")
    parser.add_argument("--note", default="", help="free text stored with the results (e.g. other load on the machine)")
    parser.add_argument("--raw", type=Path, default=None, help="also write the raw run here (gzipped JSON)")
    parser.add_argument("--rescore", type=Path, default=None, help="score a raw run written by --raw; do not run")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "turn_taking.json")
    args = parser.parse_args()
    if args.freeze:
        manifest = items_module.freeze(ROOT)
        print(f"froze {len(manifest['pause'])} pause items and {len(manifest['episodes'])} episodes; "
              f"sha256 {items_module.manifest_sha256()}")
        return
    manifest = items_module.load_manifest()
    pauses, episodes = items_module.pause_items(manifest), items_module.episodes(manifest)
    raw = load_raw(args.rescore) if args.rescore else None
    quick = bool(raw["quick"]) if raw is not None else args.quick
    if quick:
        pauses, episodes = pauses[::4], episodes[::4]
    plan = interleave(pauses, episodes)
    if raw is None:
        config = {k: str(v) for k, v in vars(args).items() if k not in ("out", "raw", "rescore", "pipecat_venv")}
        raw = measure(args, pauses, episodes, plan) | {"quick": quick, "config": config}
        if args.raw:
            save_raw(raw, args.raw)
    run, description = raw["run"], raw["machine"]
    scored = score(run, [*items_module.pause_items(manifest), *items_module.episodes(manifest)])
    pipecat = score_pipecat(raw["pipecat"], pauses, episodes) if raw["pipecat"] else None
    scripted = raw["config"]["responder"] == "scripted"
    result = {
        "benchmark": "turn_taking",
        "machine": description,
        "config": {k: v for k, v in raw["config"].items() if k not in ("out", "raw", "rescore", "pipecat_venv")},
        "agent_speech": ("scripted replies paced like the default LM (first word 0.12 s, 15 words/s), spoken by "
                         "espeak-ng through SpeechResponder" if scripted
                         else "the registry's default responder (espeak-ng voice)"),
        "items": {"manifest_sha256": items_module.manifest_sha256(), "pause": len(pauses), "episodes": len(episodes),
                  "quick": quick},
        "summary": summarise(scored, pipecat),
        "published": PUBLISHED,
        "targets": TARGETS,
        "diagnostics": {"session": run["session"], "source_lateness": run["source_lateness"],
                        "catch_up_waits": run["catch_up_waits"], "lag": scored["lag"],
                        "voided": scored["voided"]},
        "per_item": scored["rows"] | ({"pipecat": pipecat} if pipecat else {}),
        "note": raw["config"]["note"],
    }
    print(table(result))
    s = run["session"]
    print(f"\n{s['audio_seconds']:.0f} s of audio in {s['wall_seconds']:.0f} s (+{s['load_seconds']:.0f} s loading); "
          f"load average {description['load_average_at_start'][0]:.2f} at start, "
          f"{description['load_average_1min_during'].get('p50', 0):.2f} p50 / "
          f"{description['load_average_1min_during'].get('max', 0):.2f} max during, "
          f"{description['load_average_at_end'][0]:.2f} at end; {description['cpus_visible']} CPUs")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
