"""The HTML picture of a session in a real headless Chromium: hovering over a decision shows its reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from audiointeract.cli import main
from audiointeract.events import Action, Decision
from audiointeract.trace import Trace

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
SCENE = Path(__file__).parents[2] / "examples" / "scenes" / "barge_in.json"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None or CHROMEDRIVER is None,
                       reason="needs the chromium and chromium-driver Debian packages"),
]


def test_hovering_over_a_decision_shows_its_reason(tmp_path: Path) -> None:
    trace_path, page = tmp_path / "trace.jsonl", tmp_path / "timeline.html"
    result = CliRunner().invoke(main, ["simulate", str(SCENE), "--no-timeline", "--trace", str(trace_path),
                                       "--plot", str(page)])
    assert result.exit_code == 0, result.output
    interrupt = next(d for d in Trace.load(trace_path).of_type(Decision) if d.action is Action.INTERRUPT)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1500,900", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        driver.get(page.as_uri())
        tip = driver.find_element(By.ID, "tip")
        assert not tip.is_displayed()
        marks = driver.find_elements(By.CSS_SELECTOR, 'svg g[id^="mark-"][data-tip]')
        target = next(m for m in marks if m.get_attribute("data-tip").startswith(f"#{interrupt.id} INTERRUPT"))
        ActionChains(driver).move_to_element(target).perform()
        assert tip.is_displayed()
        assert interrupt.reason in tip.text
        assert "score 1.00" in tip.text
    finally:
        driver.quit()
