"""The playground (`/playground/`) in a real headless Chromium, against the real default voice.

Debian's `chromium` and `chromedriver` (packages `chromium`, `chromium-driver`; scripts/test.sh
installs them where it runs as root with apt), driven by Selenium with both paths given, so
Selenium Manager never looks anything up. Every assertion reads the page's own state
(`window.playground`) or its audio output (an AnalyserNode every source plays through).

Without the browser the tests skip, unless `CI` is set: there they fail, so that CI cannot
pass without running them. `TTSD_UPDATE_SCREENSHOT=1` writes the README's screenshot to
docs/playground.png; otherwise it goes to the test's temporary directory only.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support.asr import normalize_words
from tests.support.live_server import live_server
from ttsd.audio.encoders import decode, encode
from ttsd.protocol.formats import Encoding
from ttsd.server.app import create_app
from ttsd.server.settings import Settings

pytestmark = pytest.mark.e2e

KEY = "playground-key"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "playground.png"

#: Two sentences, streamed a word every 100 ms: about 3 s of input, Flush pressed twice in it.
TEXT = (
    "The quick brown fox jumps over the lazy dog near the river bank. "
    "Then it runs home through the tall green grass and sleeps until the morning."
)
#: Long enough to be cancelled mid-utterance.
LONG_TEXT = " ".join([TEXT] * 4)

#: A word takes 0.2-0.6 s to say at normal speed.
SECONDS_PER_WORD = (0.15, 0.8)


def _browser_paths() -> tuple[str, str]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        missing = " and ".join(
            name for name, path in (("chromium", chromium), ("chromedriver", driver)) if not path
        )
        reason = f"no {missing}: apt-get install chromium chromium-driver (Debian)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI is set, so the browser tests may not be skipped")
        pytest.skip(reason)
    return chromium, driver


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the module; each test loads the page afresh."""
    chromium, driver = _browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        # Root in a container (CI) has no user namespace sandbox to give the renderer.
        "--no-sandbox",
        "--disable-dev-shm-usage",
        # The page resumes its AudioContext on the Speak click; this makes a scripted
        # click count as the gesture it needs.
        "--autoplay-policy=no-user-gesture-required",
        "--mute-audio",
        "--window-size=1200,800",
    ):
        options.add_argument(argument)
    # The console, to find script errors and Content-Security-Policy violations.
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    with webdriver.Chrome(service=Service(executable_path=driver), options=options) as chrome:
        yield chrome


@pytest.fixture(scope="module")
def keyed_server() -> Iterator[str]:
    """The default voice behind an API key (Piper only: Kokoro would only slow the start)."""
    settings = Settings(api_keys=(KEY,), kokoro="off")
    with live_server(create_app(settings)) as base:
        yield base


def page_state(browser: webdriver.Chrome) -> dict[str, Any]:
    """`window.playground`: what the page did, as it records it."""
    state: dict[str, Any] = browser.execute_script("return window.playground")
    return state


def wait_for(
    browser: webdriver.Chrome,
    condition: Callable[[dict[str, Any]], bool],
    what: str,
    timeout: float = 30,
) -> dict[str, Any]:
    """Poll the page's state until `condition` holds; return that state."""
    found: dict[str, Any] = {}

    def check(driver: webdriver.Chrome) -> bool:
        found.update(page_state(driver))
        return condition(found)

    try:
        WebDriverWait(browser, timeout, poll_frequency=0.02).until(check)
    except Exception as exc:
        raise AssertionError(f"timed out waiting for {what}; page state: {found}") from exc
    return found


def open_page(browser: webdriver.Chrome, base: str) -> None:
    """Load the playground (through its redirect), the console emptied first."""
    browser.get_log("browser")
    browser.get(f"http://{base}/playground")
    assert browser.current_url == f"http://{base}/playground/"


def wait_for_voices(browser: webdriver.Chrome) -> None:
    wait_for(browser, lambda state: bool(state["voices"]), "the voice list")


def set_text(browser: webdriver.Chrome, text: str) -> None:
    area = browser.find_element(By.ID, "text")
    area.clear()
    area.send_keys(text)


def set_range(browser: webdriver.Chrome, element_id: str, value: float) -> None:
    """Set a slider as a drag would (value, then its `input` event)."""
    browser.execute_script(
        "const input = document.getElementById(arguments[0]); input.value = arguments[1];"
        "input.dispatchEvent(new Event('input'));",
        element_id,
        str(value),
    )


def click(browser: webdriver.Chrome, element_id: str) -> None:
    browser.find_element(By.ID, element_id).click()


def output_peak(browser: webdriver.Chrome) -> float:
    """The loudest sample the page output in its last ~2048 frames."""
    return float(browser.execute_script("return window.ttsdPcm.outputPeak()"))


def is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    remaining = iter(haystack)
    return all(word in remaining for word in needle)


def test_speaks_streamed_text_with_flushes_and_highlighted_words(
    browser: webdriver.Chrome, piper_server: str, tmp_path: Path
) -> None:
    open_page(browser, piper_server)
    wait_for_voices(browser)
    assert Select(browser.find_element(By.ID, "voice")).first_selected_option.get_attribute(
        "value"
    ) == ("en_US-joe-medium")
    set_text(browser, TEXT)
    set_range(browser, "interval", 100)
    click(browser, "speak")

    # Flush twice while the text is still streaming in, as a caller closing a turn would.
    for words in (5, 12):
        wait_for(browser, lambda state, n=words: state["wordsSent"] >= n, f"{words} words sent")
        click(browser, "flush")
    wait_for(
        browser,
        lambda state: len(state["flushIds"]) == 2 and len(state["highlightedWords"]) >= 3,
        "both flush_done frames and a highlighted word",
    )
    browser.save_screenshot(str(tmp_path / "playground.png"))
    if os.environ.get("TTSD_UPDATE_SCREENSHOT") == "1":
        browser.save_screenshot(str(SCREENSHOT))
    state = wait_for(browser, lambda state: state["state"] != "speaking", "the end", timeout=60)

    assert state["state"] == "done", state
    assert state["errors"] == []
    assert state["audioState"] == "running"
    assert state["flushesSent"] == 2
    assert state["flushIds"] == [1, 2], "flush_done ids, in order"
    assert state["segmentIds"] == [1, 2, 3], "segments: two flushed, one closed by the end"
    text_words = normalize_words(TEXT)
    assert state["scheduledSeconds"] > 1.0
    low, high = (bound * len(text_words) for bound in SECONDS_PER_WORD)
    assert low < state["scheduledSeconds"] < high, state["scheduledSeconds"]
    assert state["chunksScheduled"] == state["chunksReceived"] >= 3
    assert 0 < state["firstAudioMs"] < 10_000
    assert state["activeSources"] == 0, "every source ended"
    highlighted = normalize_words(state["highlightedWords"])
    assert is_subsequence(highlighted, text_words), highlighted
    # rAF runs at the display's rate; every word lasts several frames.
    assert len(highlighted) >= len(text_words) // 2, highlighted
    rows = browser.find_elements(By.CSS_SELECTOR, "#segments tbody tr")
    assert [row.find_element(By.CSS_SELECTOR, "td").text for row in rows] == ["1", "2", "3"]
    # Nothing refused by the page's Content-Security-Policy (the WebSocket included), no
    # script error.
    severe = [
        entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
    ]
    assert severe == []


def test_cancel_stops_the_audio_mid_utterance(browser: webdriver.Chrome, piper_server: str) -> None:
    open_page(browser, piper_server)
    wait_for_voices(browser)
    set_text(browser, LONG_TEXT)
    set_range(browser, "interval", 50)
    click(browser, "speak")
    wait_for(
        browser,
        lambda state: len(state["highlightedWords"]) >= 2 and state["activeSources"] > 0,
        "speech playing",
    )
    assert _loudest(browser, 0.5) > 0.01, "speech is heard before the cancel"

    click(browser, "cancel")
    state = page_state(browser)
    assert state["state"] == "cancelled"
    assert state["activeSources"] == 0, "every scheduled source stopped"
    assert state["wordsSent"] < len(LONG_TEXT.split()), "cancelled while text was streaming"
    time.sleep(0.3)  # the analyser's window (~85 ms) and the audio thread catch up
    assert _loudest(browser, 1.0) == 0.0, "silence after the cancel"
    later = page_state(browser)
    for field in ("chunksScheduled", "scheduledSeconds", "wordsSent", "highlightedWords"):
        assert later[field] == state[field], f"{field} moved after the cancel"
    assert later["state"] == "cancelled"
    assert later["errors"] == []

    # The connection goes on: the next utterance speaks, and late frames of the cancelled
    # context are not played in it.
    set_text(browser, "Once more.")
    click(browser, "speak")
    again = wait_for(browser, lambda state: state["state"] != "speaking", "the next utterance")
    assert again["state"] == "done", again
    assert again["contextId"] != state["contextId"]
    heard = normalize_words(again["highlightedWords"])
    assert heard and is_subsequence(heard, normalize_words("Once more.")), heard


def _loudest(browser: webdriver.Chrome, seconds: float) -> float:
    """The page's loudest output over `seconds` (sampled every 50 ms)."""
    deadline = time.monotonic() + seconds
    loudest = 0.0
    while time.monotonic() < deadline:
        loudest = max(loudest, output_peak(browser))
        time.sleep(0.05)
    return loudest


def test_api_key_other_formats_and_speed(browser: webdriver.Chrome, keyed_server: str) -> None:
    """The page loads without a key, asks for it, and then speaks μ-law at 8 kHz, faster."""
    open_page(browser, keyed_server)
    refused = wait_for(browser, lambda state: bool(state["errors"]), "the voice list's 401")
    assert "401" in refused["errors"][0] and "API key" in refused["errors"][0]

    key = browser.find_element(By.ID, "api-key")
    key.send_keys(KEY)
    key.send_keys("\t")  # `change` fires as the field loses focus
    wait_for_voices(browser)
    Select(browser.find_element(By.ID, "encoding")).select_by_value("pcm_mulaw")
    Select(browser.find_element(By.ID, "sample-rate")).select_by_value("8000")
    set_range(browser, "speed", 1.5)
    set_range(browser, "interval", 0)
    set_text(browser, "Hello there. The key is in the query string.")
    click(browser, "speak")
    state = wait_for(browser, lambda state: state["state"] != "speaking", "the end")

    assert state["state"] == "done", state
    assert state["errors"] == refused["errors"], "no error after the key"
    words = normalize_words("Hello there. The key is in the query string.")
    assert 0.1 * len(words) < state["scheduledSeconds"] < 0.6 * len(words)
    assert is_subsequence(normalize_words(state["highlightedWords"]), words)
    stored = browser.execute_script("return sessionStorage.getItem('ttsd.playground.apiKey')")
    assert stored == KEY


@pytest.mark.parametrize("encoding", list(Encoding))
def test_decoders_match_the_servers_encoders(
    browser: webdriver.Chrome, piper_server: str, encoding: Encoding
) -> None:
    """The page's decoder of each encoding gives what ttsd's own decoder gives."""
    open_page(browser, piper_server)
    ramp = np.linspace(-1.0, 1.0, 4001, dtype=np.float32)
    data = encode(ramp, encoding)
    if encoding in (Encoding.PCM_MULAW, Encoding.PCM_ALAW):
        data += bytes(range(256))  # every code
    decoded = browser.execute_script(
        "return window.ttsdPcm.decode(arguments[0], arguments[1])",
        encoding.value,
        base64.b64encode(data).decode("ascii"),
    )
    expected = decode(data, encoding)
    assert len(decoded) == len(expected)
    np.testing.assert_allclose(np.array(decoded, dtype=np.float32), expected, atol=1e-6)
