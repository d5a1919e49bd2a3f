"""The page `audiointeract serve` shows at `/`, in a real headless Chromium with a real recording as its microphone.

The server is the real command in a subprocess (embedded perception: silero VAD +
streaming faster-whisper + YAMNet; turn-end decisions; a scripted reply spoken by
espeak-ng). Chromium's fake capture device plays a WAV made of a recorded question, a
pause long enough for the reply to start, and recorded read speech that talks over the
reply. Selenium drives the system's Chromium and chromedriver (Debian packages) and reads
the page's DOM; a screenshot is kept in test-artifacts/ (or $AUDIOINTERACT_TEST_ARTIFACTS).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from audiointeract.audio import resample
from audiointeract.events import ReplyCancelled
from audiointeract.simulators.clips import default_bank
from audiointeract.trace import Trace

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
CROW = "sonic-pi:misc_crow"
QUESTION = "asterisk:vm-savefolder"  # "Which folder should I save the message to?"
READING = "pocketsphinx:librivox/sense_and_sensibility_01_austen_64kb-0870"
REPLY = "Your message goes to the inbox folder, which is the first one on the list."
ARTIFACTS = Path(os.environ.get("AUDIOINTERACT_TEST_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="needs the chromium and chromium-driver Debian packages"),
]


def _microphone(path: Path) -> Path:
    """A crow, the question, 3.5 s of quiet (the reply starts), then 4 s of read speech over the reply."""
    bank = default_bank()
    if not all(bank.available(name) for name in ("asterisk", "pocketsphinx", "sonic-pi")):
        pytest.skip("needs the asterisk-core-sounds-en-wav, pocketsphinx-testdata and sonic-pi-samples packages")
    rate = 48000

    def clip(name: str) -> np.ndarray:
        samples, source_rate = bank.load(name)
        return resample(samples, source_rate, rate)

    def quiet(seconds: float) -> np.ndarray:
        return np.zeros(round(seconds * rate), np.float32)

    audio = np.concatenate([quiet(0.5), 0.5 * clip(CROW), quiet(1.0), clip(QUESTION), quiet(3.5),
                            clip(READING)[: 4 * rate], quiet(4.0)])
    sf.write(path, audio, rate, subtype="PCM_16")
    return path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`audiointeract serve` on a free loopback port: its page URL and its trace folder."""
    port, traces = _free_port(), tmp_path_factory.mktemp("server") / "traces"
    command = [
        sys.executable, "-c", "from audiointeract.cli import main; main()", "serve", "--port", str(port),
        "--decider", "turn-end", "--responder", "mock", "-o", f"responder.reply={json.dumps(REPLY)}",
        "--voice", "espeak-ng", "--trace-dir", str(traces),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as process:
        assert process.stdout is not None
        started = []
        for line in process.stdout:  # loading the models takes a while
            started.append(line)
            if line.startswith("audiointeract serve:"):
                break
        assert process.poll() is None, "".join(started)
        try:
            yield f"http://127.0.0.1:{port}/", traces
        finally:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=60)


def _chromium(microphone: Path, profile: Path) -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800",
        f"--user-data-dir={profile}",
        "--use-fake-ui-for-media-stream",  # allow the microphone without asking
        "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}%noloop",  # the recording is the microphone, played once
        "--autoplay-policy=no-user-gesture-required",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)


def _texts(driver: webdriver.Chrome, selector: str) -> list[str]:
    return [element.text for element in driver.find_elements(By.CSS_SELECTOR, selector)]


def test_the_page_hears_the_microphone_answers_and_stops_when_talked_over(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    url, traces = server
    driver = _chromium(_microphone(tmp_path / "microphone.wav"), tmp_path / "profile")
    try:
        driver.get(url)
        driver.find_element(By.ID, "start").click()
        wait = WebDriverWait(driver, 60, poll_frequency=0.2)
        # the transcript of the recorded question (tiny.en hears "...should I say this message to?")
        wait.until(lambda d: any("folder" in t.lower() and "message" in t.lower()
                                 for t in _texts(d, ".turn.user .text")))
        # a reply, spoken: its transcript on the page and its audio scheduled
        wait.until(lambda d: any(t.startswith("Your message goes to") for t in _texts(d, ".turn.agent .text")))
        wait.until(lambda d: float(d.find_element(By.TAG_NAME, "body").get_attribute("data-reply-audio-seconds")
                                   or 0) > 0.5)
        # the read speech talks over the reply: playback stops, the reply is cut off
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".turn.agent.cancelled"))
        wait.until(lambda d: len(_texts(d, ".turn.user .text")) >= 2)
        log = _texts(driver, "#log > div")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "browser-page.png"))
    finally:
        driver.quit()
    # the decisions and their reasons, in the order of the audio they are about
    respond = next(i for i, row in enumerate(log) if "respond (answer)" in row and "user turn ended" in row)
    interrupt = next(i for i, row in enumerate(log) if "interrupt (answer)" in row and "user spoke over" in row)
    stopped = next(i for i, row in enumerate(log) if "playback stopped" in row)
    assert respond < interrupt, log
    assert any("reply" in row and "cancelled" in row for row in log[stopped:]), log
    # the page closing its websocket ended the session; its trace agrees with what the page showed
    trace = _wait_for_trace(traces)
    assert trace.of_type(ReplyCancelled)[0].reason == "barge-in"


def _wait_for_trace(folder: Path, seconds: float = 30.0) -> Trace:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for path in sorted(folder.glob("*.jsonl")) if folder.is_dir() else []:
            trace = Trace.load(path)
            if trace.complete:
                return trace
        time.sleep(0.1)
    pytest.fail(f"no complete session trace in {folder} after {seconds} s")


_RESAMPLE = """
const done = arguments[arguments.length - 1];
(async () => {
  const context = new OfflineAudioContext(1, 48000, 48000);  // one second at 48 kHz, as Firefox would run
  await context.audioWorklet.addModule("web/capture-worklet.js");
  const capture = new AudioWorkletNode(context, "pcm16-capture", {
    numberOfInputs: 1, numberOfOutputs: 0, processorOptions: { targetRate: 24000, frameSamples: 2400 } });
  const frames = [];
  capture.port.onmessage = (event) => frames.push(...new Int16Array(event.data));
  const tone = new OscillatorNode(context, { frequency: 440 });
  tone.connect(capture);
  tone.start();
  await context.startRendering();
  setTimeout(() => done(frames), 200);
})().catch((error) => done(String(error)));
"""


def test_the_capture_worklet_resamples_a_device_rate_context_to_24_khz(
    server: tuple[str, Path], tmp_path: Path
) -> None:
    url, _ = server
    driver = _chromium(_microphone(tmp_path / "microphone.wav"), tmp_path / "profile")
    try:
        driver.get(url)
        samples = driver.execute_async_script(_RESAMPLE)
    finally:
        driver.quit()
    assert isinstance(samples, list), samples
    pcm = np.asarray(samples, dtype=np.float64) / 32767
    assert 21600 <= pcm.size <= 24000  # whole 0.1 s frames of one second at 24 kHz
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(pcm.size)))
    assert np.fft.rfftfreq(pcm.size, 1 / 24000)[spectrum.argmax()] == pytest.approx(440, abs=3)
    assert np.abs(pcm).max() == pytest.approx(1.0, abs=0.02)  # full scale, no clipping wrap-around
