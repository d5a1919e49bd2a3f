"""Load on ``audiointeract serve``: N concurrent websocket clients streaming real recordings at real-time pace.

usage: python benchmarks/server.py [--stacks mock,embedded] [--mock-n 10,25,50,75] [--embedded-n 1,2,3,4]
                                   [--seconds 30] [--rate 16000] [--note TEXT] [--out benchmarks/results/server.json]

For each stack and each N a fresh ``audiointeract serve`` process starts on loopback, and N
clients (plain ``websockets``, in this process) connect and stream a track of real
recordings (Asterisk prompts and LibriVox read speech with pauses, each client starting
at a different place) as 100 ms appends of PCM16 at ``--rate`` (default 16 kHz, the
session rate), each sent once its 100 ms have passed, for ``--seconds``. The server
answers when a turn ends and is barged in on when the next clip starts, so reply audio
flows too. At 24 kHz the session resamples the input as one stream, and the filter's
look-ahead holds the end of every block until the next one arrives: events come one
append (100 ms here) later; run with ``--rate 24000`` to see it.

Measured per N:

* **event latency**: audio in -> event out. Every ``audiointeract.decision`` event names
  the client audio it covers (``audio_end_ms``); latency = its arrival time - the send time
  of the append that completed that audio. One decision per 400 ms chunk, so every chunk
  is measured; p50/p95/max over all clients. The same is reported for the **steady
  state**: decisions on audio after each client's first ``STEADY_AFTER`` (2 s), once every
  client has connected (they connect within 1 s), so the connection burst (N sessions
  built at once) is seen apart from the running load.
* **server CPU** (% of one core, user+system over the run) and **RSS** (peak), from /proc
  of the server process; the clients' own CPU is reported beside it (they share the cores).
* the server's ``/stats``: max perceiver lag (audio ingested minus audio perceived),
  client audio dropped (faster than real time: should be 0), chunks dropped (the perceiver
  fell behind), events dropped.

Stacks: ``mock`` = energy VAD + turn-end decisions + a scripted reply spoken by espeak-ng
(no model weights: the server's own overhead); ``embedded`` = the embedded perception
(silero VAD + streaming faster-whisper tiny.en + YAMNet, weights shared across sessions)
with the default policy, replies as in ``mock``. Targets on 2 cores: mock >= 50 sessions at
p95 event latency <= 50 ms; embedded: the largest N with no perceiver lag above 1 s.
The machine's load average is recorded with every row: other work on the machine skews
every figure.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import attrs
import httpx
import numpy as np
from websockets.asyncio.client import connect

from audiointeract.audio import resample
from audiointeract.simulators.clips import default_bank

FRAME = 0.1
CLIPS = (
    "asterisk:vm-savefolder", "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0870",
    "asterisk:vm-changeto", "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0880",
    "asterisk:conf-getpin", "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0890",
    "asterisk:vm-login", "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0920",
)
REPLY = "Okay, I have noted that for you."
STACKS = {
    "mock": ["--perceiver", "energy", "--decider", "turn-end", "--responder", "mock", "--voice", "espeak-ng",
             "-o", f"responder.reply={json.dumps(REPLY)}"],
    "embedded": ["--perceiver", "default", "--decider", "default", "--responder", "mock", "--voice", "espeak-ng",
                 "-o", f"responder.reply={json.dumps(REPLY)}"],
}
START_TIMEOUT = 180.0
STEADY_AFTER = 2.0


def track(seed: int, seconds: float, rate: int) -> np.ndarray:
    """Real recordings with 1-2.5 s pauses, starting at a client-specific clip, as PCM16 at ``rate``."""
    bank = default_bank()
    rng = random.Random(seed)
    pieces: list[np.ndarray] = [np.zeros(round(rng.uniform(0.2, 1.0) * rate), np.float32)]
    index, total = seed % len(CLIPS), 0.0
    while total < seconds:
        samples, clip_rate = bank.load(CLIPS[index % len(CLIPS)])
        clip = resample(samples, clip_rate, rate) * 0.8
        pause = np.zeros(round(rng.uniform(1.0, 2.5) * rate), np.float32)
        pieces += [clip, pause]
        total += (clip.size + pause.size) / rate
        index += 1
    audio = np.concatenate(pieces)[: round(seconds * rate)]
    return np.round(np.clip(audio, -1, 1) * 32767).astype("<i2")


@attrs.define
class ClientResult:
    latencies: list[float] = attrs.field(factory=list)
    steady: list[float] = attrs.field(factory=list)
    decisions: int = 0
    reply_audio_seconds: float = 0.0
    responses: int = 0
    errors: list[str] = attrs.field(factory=list)
    closed: str | None = None


async def client(url: str, audio: np.ndarray, rate: int, start_delay: float, result: ClientResult) -> None:
    """Stream ``audio`` at real-time pace; time every decision event against the append that completed its audio."""
    await anyio.sleep(start_delay)
    step = round(FRAME * rate)
    sent_at: dict[int, float] = {}
    sent_ms = 0
    async with connect(url, max_size=None) as ws:
        formats = {"format": {"type": "audio/pcm", "rate": rate}}
        await ws.send(json.dumps({"type": "session.update", "session": {  # first, as real clients do
            "type": "realtime", "audio": {"input": formats, "output": formats}}}))

        async def receive() -> None:
            async for raw in ws:
                now = time.perf_counter()
                event = json.loads(raw)
                kind = event["type"]
                if kind == "audiointeract.decision":
                    result.decisions += 1
                    at = sent_at.get(event["audio_end_ms"])
                    if at is not None:
                        result.latencies.append(now - at)
                        if event["audio_end_ms"] > STEADY_AFTER * 1000:
                            result.steady.append(now - at)
                elif kind == "response.output_audio.delta":
                    result.reply_audio_seconds += len(event["delta"]) * 3 / 4 / 2 / rate
                elif kind == "response.created":
                    result.responses += 1
                elif kind == "error":
                    result.errors.append(event["error"]["code"])

        async with anyio.create_task_group() as group:
            group.start_soon(receive)
            start = time.perf_counter()
            for number, offset in enumerate(range(0, audio.size, step)):
                delay = start + (number + 1) * FRAME - time.perf_counter()  # a frame is sent once it was recorded
                if delay > 0:
                    await anyio.sleep(delay)
                piece = audio[offset : offset + step]
                sent_ms += round(piece.size * 1000 / rate)
                await ws.send(json.dumps({"type": "input_audio_buffer.append",
                                          "audio": base64.b64encode(piece.tobytes()).decode()}))
                sent_at[sent_ms] = time.perf_counter()
            await anyio.sleep(1.0)  # the last decisions
            group.cancel_scope.cancel()


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.perf_counter() + START_TIMEOUT
    async with httpx.AsyncClient() as http:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited with {process.returncode}")
            try:
                if (await http.get(f"http://127.0.0.1:{port}/stats")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError("the server did not start in time")
            await anyio.sleep(0.2)


def percentiles(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "max": None}
    array = np.asarray(values) * 1000
    return {"p50": float(np.percentile(array, 50)), "p95": float(np.percentile(array, 95)), "max": float(array.max())}


async def run_level(stack: str, sessions: int, seconds: float, rate: int, seed: int) -> dict[str, Any]:
    port = free_port()
    command = [sys.executable, "-c", "from audiointeract.cli import main; main()", "serve", "--port", str(port),
               "--max-sessions", str(sessions), *STACKS[stack]]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: ASYNC220
    try:
        await wait_ready(port, process)
        tracks = [track(seed + n, seconds, rate) for n in range(sessions)]
        results = [ClientResult() for _ in range(sessions)]
        rng = random.Random(seed)
        load_start = os.getloadavg()
        cpu_start, self_start, wall_start = proc_cpu_seconds(process.pid), time.process_time(), time.perf_counter()
        rss_peak = 0.0

        async def sample_rss() -> None:
            nonlocal rss_peak
            while True:
                rss_peak = max(rss_peak, proc_rss_mb(process.pid))
                await anyio.sleep(0.5)

        url = f"ws://127.0.0.1:{port}/v1/realtime"
        async with anyio.create_task_group() as group:
            group.start_soon(sample_rss)
            async with anyio.create_task_group() as clients:
                for n in range(sessions):
                    clients.start_soon(client, url, tracks[n], rate, rng.uniform(0, 1.0), results[n])
            group.cancel_scope.cancel()
        wall = time.perf_counter() - wall_start
        server_cpu = proc_cpu_seconds(process.pid) - cpu_start
        client_cpu = time.process_time() - self_start
        await anyio.sleep(1.0)  # the sessions wind down
        async with httpx.AsyncClient() as http:
            stats = (await http.get(f"http://127.0.0.1:{port}/stats")).json()
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    latencies = [value for result in results for value in result.latencies]
    expected_decisions = sessions * int(seconds / 0.4)
    errors = [code for result in results for code in result.errors]
    return {
        "stack": stack, "sessions": sessions, "seconds": seconds, "rate": rate,
        "latency_ms": percentiles(latencies), "latency_samples": len(latencies),
        "steady_latency_ms": percentiles([value for result in results for value in result.steady]),
        "decisions_received": sum(r.decisions for r in results), "decisions_expected": expected_decisions,
        "responses": sum(r.responses for r in results),
        "reply_audio_seconds": round(sum(r.reply_audio_seconds for r in results), 1),
        "server_cpu_percent": round(100 * server_cpu / wall, 1), "client_cpu_percent": round(100 * client_cpu / wall, 1),
        "server_rss_peak_mb": round(rss_peak, 1),
        "max_perceiver_lag_s": round(stats["max_perceiver_lag"], 3),
        "audio_dropped_s": round(stats["audio_dropped_seconds"], 3),
        "audio_filled_s": round(stats["audio_filled_seconds"], 3),
        "chunks_dropped": stats["chunks_dropped"], "events_dropped": stats["events_dropped"],
        "errors": sorted(set(errors)), "error_count": len(errors),
        "load_average_start": [round(x, 2) for x in load_start],
        "load_average_end": [round(x, 2) for x in os.getloadavg()],
    }


def table(rows: list[dict[str, Any]]) -> str:
    header = (f"{'stack':<9}{'N':>4}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'steady p95':>11}"
              f"{'srv CPU%':>10}{'cli CPU%':>10}"
              f"{'RSS MB':>8}{'lag s':>7}{'drop s':>8}{'chunks':>8}{'errors':>8}  load avg (start)")
    lines = [header, "-" * len(header)]
    for r in rows:
        lat = r["latency_ms"]

        def ms(value: float | None) -> str:
            return "-" if value is None else f"{value:.0f}"

        lines.append(
            f"{r['stack']:<9}{r['sessions']:>4}{ms(lat['p50']):>9}{ms(lat['p95']):>9}{ms(lat['max']):>9}"
            f"{ms(r['steady_latency_ms']['p95']):>11}"
            f"{r['server_cpu_percent']:>10.0f}{r['client_cpu_percent']:>10.0f}{r['server_rss_peak_mb']:>8.0f}"
            f"{r['max_perceiver_lag_s']:>7.2f}{r['audio_dropped_s']:>8.2f}{r['chunks_dropped']:>8}{r['error_count']:>8}"
            f"  {' '.join(f'{x:.1f}' for x in r['load_average_start'])}"
        )
    return "\n".join(lines)


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    out = []
    mock = [r for r in rows if r["stack"] == "mock" and r["latency_ms"]["p95"] is not None]
    if mock:
        ok = [r["sessions"] for r in mock if r["latency_ms"]["p95"] <= 50 and not r["error_count"]]
        best = max(ok, default=None)
        out.append(f"mock: largest N with p95 event latency <= 50 ms and no errors: {best} (target >= 50)")
        ok = [r["sessions"] for r in mock if (r["steady_latency_ms"]["p95"] or 1e9) <= 50 and not r["error_count"]]
        out.append(f"mock, steady state: largest N with p95 event latency <= 50 ms: {max(ok, default=None)}")
    embedded = [r for r in rows if r["stack"] == "embedded"]
    if embedded:
        ok = [r["sessions"] for r in embedded if r["max_perceiver_lag_s"] <= 1.0 and not r["chunks_dropped"]]
        out.append(f"embedded: largest N with no perceiver lag above 1 s: {max(ok, default=None)}")
    return out


async def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    rows = []
    levels = {"mock": args.mock_n, "embedded": args.embedded_n}
    for stack in args.stacks:
        for sessions in levels[stack]:
            print(f"{stack}: {sessions} sessions for {args.seconds:g} s ...", flush=True)
            rows.append(await run_level(stack, sessions, args.seconds, args.rate, args.seed))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    return rows


def numbers(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks", type=lambda s: s.split(","), default=["mock", "embedded"])
    parser.add_argument("--mock-n", type=numbers, default=[10, 25, 50, 75])
    parser.add_argument("--embedded-n", type=numbers, default=[1, 2, 3, 4])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=int, choices=(16000, 24000), default=16000, help="input and output rate")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--note", default="", help="free text stored with the results (e.g. other load on the machine)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "server.json")
    args = parser.parse_args()
    rows = anyio.run(run, args)
    print()
    print(table(rows))
    for line in verdicts(rows):
        print(line)
    result = {
        "benchmark": "server", "note": args.note, "rows": rows, "verdicts": verdicts(rows),
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "config": {"seconds": args.seconds, "seed": args.seed, "frame_seconds": FRAME, "rate": args.rate,
                   "stacks": {name: STACKS[name] for name in args.stacks}},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
