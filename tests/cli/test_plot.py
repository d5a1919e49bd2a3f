"""Pictures of real sessions: a simulated scene and a `run` on a file, as PNG, SVG and HTML."""

from __future__ import annotations

import html
import re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from click.testing import CliRunner
from PIL import Image

from audiointeract.backends.mock import ScriptedAction, ScriptedDecider
from audiointeract.cli import main
from audiointeract.events import Action, Decision
from audiointeract.plotting import build_timeline, load_waveform
from audiointeract.plotting.draw import figure_inches
from audiointeract.simulators.files import load_scene
from audiointeract.simulators.run import run_simulation
from audiointeract.trace import Trace

SCENE = Path(__file__).parents[2] / "examples" / "scenes" / "barge_in.json"


def _reasons(trace: Trace) -> list[str]:
    return [d.reason for d in trace.of_type(Decision) if d.action is not Action.SILENT]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """`simulate --plot` of the barge-in example scene: its trace and its PNG."""
    folder = tmp_path_factory.mktemp("simulated")
    trace, png = folder / "trace.jsonl", folder / "timeline.png"
    result = CliRunner().invoke(main, ["simulate", str(SCENE), "--no-timeline", "--trace", str(trace),
                                       "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert f"plot written to {png} (audio rendered from the trace's scene)" in result.output
    return trace, png


def test_simulate_plot_writes_a_png_of_the_expected_size(simulated: tuple[Path, Path]) -> None:
    trace_path, png = simulated
    trace = Trace.load(trace_path)
    timeline = build_timeline(trace)
    assert timeline.lanes() == ["truth", "speech", "words", "sounds", "decisions", "replies"]
    with Image.open(png) as image:
        assert image.format == "PNG"
        # 14 in at 100 dpi; waveform 1.3 in + five lanes of 0.5 in + words 0.8 in + 1.2 in of title and axis
        assert image.size == (1400, 580)
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3)
    # the respond markers (blue) and the cancelled reply (red) are drawn
    assert np.any(np.all(pixels == (0x1F, 0x6F, 0xD1), axis=1))
    assert np.any(np.all(pixels == (0xD6, 0x27, 0x28), axis=1))


def test_svg_and_html_carry_every_decision_reason_on_hover(simulated: tuple[Path, Path], tmp_path: Path) -> None:
    trace_path, _ = simulated
    trace = Trace.load(trace_path)
    reasons = _reasons(trace)
    assert len(reasons) == 3  # answer, barge-in, alarm
    svg, page = tmp_path / "t.svg", tmp_path / "t.html"
    for out in (svg, page):
        result = CliRunner().invoke(main, ["plot", str(trace_path), "-o", str(out)])
        assert result.exit_code == 0, result.output
    svg_text, html_text = svg.read_text(), page.read_text()
    titles = re.findall(r'<g id="mark-\d+">\s*<title>([^<]*)</title>', svg_text)
    for reason in reasons:
        assert any(html.escape(reason, quote=False) in title for title in titles), reason
        assert html.escape(reason, quote=False) in html_text
    assert svg_text.lstrip().startswith("<?xml")
    # one page, nothing loaded from elsewhere: the SVG is inline and the script is the page's own
    assert "<svg" in html_text
    assert 'addEventListener("mousemove"' in html_text
    assert not re.search(r'(src|href)="(https?:)?//', html_text)


def test_misses_and_false_triggers_are_marked_against_the_scene() -> None:
    scene = load_scene(SCENE)
    # answers the question far too late and never warns about the alarm; one reply at 6 s answers nothing
    decider = ScriptedDecider([ScriptedAction(at=6.0, action=Action.RESPOND, task="answer", reason="too late")])
    trace = run_simulation(scene, decider=decider).trace
    marks = build_timeline(trace, tolerance=0.4).marks
    misses = sorted(m.end for m in marks if m.kind == "miss")
    assert misses == pytest.approx([e.window_end for e in scene.expectations()])
    [false_trigger] = [m for m in marks if m.kind == "false_trigger"]
    assert false_trigger.start == pytest.approx(6.0, abs=0.41)
    # with a 2 s tolerance the same reply counts as a late answer instead
    lenient = build_timeline(trace, tolerance=2.0).marks
    assert [m.kind for m in lenient if m.kind in ("hit", "false_trigger")] == ["hit"]


def test_plot_of_a_run_on_a_file_with_its_audio(tmp_path: Path) -> None:
    rate = 16000
    audio = np.zeros(rate * 5, np.float32)
    audio[rate : rate * 2] = 0.3 * np.sin(2 * np.pi * 220 * np.arange(rate) / rate)
    wav, trace_path, png = tmp_path / "in.wav", tmp_path / "trace.jsonl", tmp_path / "run.png"
    sf.write(wav, audio, rate)
    result = CliRunner().invoke(main, [
        "run", str(wav), "--fast", "--perceiver", "energy", "--decider", "turn-end", "--responder", "mock",
        "-o", 'responder.reply="Hello there."', "--trace", str(trace_path), "--plot", str(png),
    ])
    assert result.exit_code == 0, result.output
    assert f"plot written to {png} (audio from {wav})" in result.output  # the trace names its input file
    timeline = build_timeline(Trace.load(trace_path), waveform=load_waveform(wav))
    assert timeline.lanes() == ["speech", "decisions", "replies"]
    [speech] = timeline.on("speech")
    assert 1.0 <= speech.start <= 1.4  # the tone is 1-2 s; the energy detector confirms its end after 0.5 s quiet
    assert 2.0 <= speech.end <= 2.6
    # fast pacing: the reply sits at the audio position the session had heard when it started
    reply = next(m for m in timeline.on("replies") if m.kind == "reply")
    assert 2.0 <= reply.start <= 5.0
    with Image.open(png) as image:
        assert image.size == (1400, round(figure_inches(timeline, 14.0)[1] * 100))


def test_plot_reports_bad_output_names(tmp_path: Path, simulated: tuple[Path, Path]) -> None:
    trace_path, _ = simulated
    result = CliRunner().invoke(main, ["plot", str(trace_path), "-o", str(tmp_path / "t.pdf")])
    assert result.exit_code != 0
    assert "must end in one of .png, .svg, .html" in result.output
    # run says so before it starts listening
    result = CliRunner().invoke(main, ["run", str(SCENE), "--plot", str(tmp_path / "missing" / "t.png")])
    assert result.exit_code == 2
    assert "Error: --plot: cannot write" in result.output
    assert "folder does not exist" in result.output
