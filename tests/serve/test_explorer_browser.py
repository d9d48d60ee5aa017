"""The relation explorer in a real browser: headless Chromium (Debian's chromium + chromium-driver) driven by
Selenium against a real uvicorn on 127.0.0.1. CI installs the browser (.ci/run); elsewhere the test skips
without it."""

from __future__ import annotations

import os
import shutil

import pytest

pytest.importorskip("fastapi")
webdriver = pytest.importorskip("selenium.webdriver")

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as ec  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from relvec.search import RelationIndex  # noqa: E402
from relvec.serve import create_app  # noqa: E402

from conftest import running_server  # noqa: E402

INDEXED = [("aware", "this"), ("relation", "between"), ("today", "finally"), ("read", "discovered"), ("i", "s")]
LABELS = ["one", "one", "two", "two", "three"]
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")


@pytest.fixture()
def browser():
    if not (BROWSER and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("CI needs chromium and chromium-driver (.ci/run installs them)")
        pytest.skip("no chromium / chromedriver on this machine (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    flags = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1200,900")
    for flag in flags:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # failed requests show in the browser log
    driver = webdriver.Chrome(service=webdriver.ChromeService(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def _read(driver, css: str, field: str) -> list[str]:
    """One field of every element matching css, read in a single script call (a snapshot of the page)."""
    return driver.execute_script(f"return [...document.querySelectorAll({css!r})].map((e) => e.{field});")


def test_the_explorer_answers_queries_and_shows_errors(browser, tiny_encoder, tmp_path):
    index = RelationIndex.build(tiny_encoder, INDEXED, labels=LABELS)
    expected = index.query(tiny_encoder, [("wasn", "aware")], k=3)[0]
    wait = WebDriverWait(browser, 20)
    with running_server(create_app(tiny_encoder, index=index, api_key="k", completion=False)) as url:
        browser.get(url + "/#key=k")  # a keyed server: the page's calls carry the key, its icon needs none
        wait.until(ec.text_to_be_present_in_element((By.ID, "model"), "index of 5 pairs"))
        # nearest relations: the page shows the index's own top neighbour first
        browser.find_element(By.ID, "neighbours-pair").send_keys("wasn:aware")
        browser.find_element(By.ID, "neighbours-go").click()
        wait.until(lambda d: _read(d, "#neighbours-result li", "innerText"))
        first = _read(browser, "#neighbours-result li", "innerText")[0]
        assert first.startswith(":".join(expected[0].pair) + " ")
        # an analogy question: the page marks the answer the server chose
        browser.find_element(By.ID, "analogy-stem").send_keys("aware:this")
        browser.find_element(By.ID, "analogy-choices").send_keys("relation:between, today:finally")
        browser.find_element(By.ID, "analogy-go").click()
        wait.until(lambda d: len(_read(d, "#analogy-result li", "innerText")) == 2)
        marked = [text for text in _read(browser, "#analogy-result li", "innerText") if "✔" in text]
        assert len(marked) == 1
        # errors are messages on the page: a malformed pair (caught by the page) and a bad word (the server's 422)
        field = browser.find_element(By.ID, "neighbours-pair")
        field.clear()
        field.send_keys("no-colon")
        browser.find_element(By.ID, "neighbours-go").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "neighbours-error"), "head:tail"))
        field.clear()
        field.send_keys("aware:" + "x" * 200)
        browser.find_element(By.ID, "neighbours-go").click()
        wait.until(ec.text_to_be_present_in_element((By.ID, "neighbours-error"), "longer than"))
        assert not browser.find_elements(By.CSS_SELECTOR, "#neighbours-result li")
        # the map: one point per indexed pair; hovering one shows its pair
        wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#map circle")) == len(INDEXED))
        dot = browser.find_elements(By.CSS_SELECTOR, "#map circle")[0]
        ActionChains(browser).move_to_element(dot).perform()
        shown = f"{dot.get_attribute('data-pair')} ({dot.get_attribute('data-label')})"  # the pair and its relation
        wait.until(lambda d: d.find_element(By.ID, "hover").text == shown)
        assert browser.find_element(By.ID, "hover").text.split(" ")[0] in {":".join(p) for p in INDEXED}
        # colours by relation label: one colour per label, the same within a label, and a legend naming them
        dots = browser.find_elements(By.CSS_SELECTOR, "#map circle")
        fills = {d.get_attribute("data-label"): set() for d in dots}
        for d in dots:
            fills[d.get_attribute("data-label")].add(d.value_of_css_property("fill"))
        assert set(fills) == set(LABELS) and all(len(f) == 1 for f in fills.values())
        assert len({next(iter(f)) for f in fills.values()}) == 3
        assert {e.get_attribute("data-label") for e in browser.find_elements(By.CSS_SELECTOR, "#legend span")} == set(
            LABELS
        )
        # a click on a point queries it: its pair fills the search, the results list its neighbours, the map
        # shows the query as a star and rings its neighbours
        target = next(d for d in dots if d.get_attribute("data-pair") == "today:finally")
        ActionChains(browser).move_to_element(target).click().perform()
        wait.until(lambda d: d.find_element(By.ID, "neighbours-pair").get_attribute("value") == "today:finally")
        # the earlier search's star goes before this one's is drawn: wait for the star of the pair clicked (read in
        # one script call, so a redraw between finding an element and reading it cannot go stale)
        wait.until(lambda d: _read(d, "#map .query", "dataset.pair") == ["today:finally"])
        listed = [text.split(" ")[0] for text in _read(browser, "#neighbours-result li", "innerText")]
        expected_pairs = [":".join(n.pair) for n in index.query(tiny_encoder, [("today", "finally")], k=10)[0]]
        assert listed == expected_pairs
        ringed = set(_read(browser, "#map circle.neighbour", "dataset.pair"))
        assert ringed == set(expected_pairs)
        # no request of the page was refused (the icon is asked for and answered)
        assert not [e for e in browser.get_log("browser") if "status of 401" in e.get("message", "")]
        assert browser.save_screenshot(str(tmp_path / "explorer.png"))
