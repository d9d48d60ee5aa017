"""Screenshot of the relation explorer for docs/explorer.png: a real model, an index of analogy-set pairs,
headless Chromium (Debian's chromium + chromium-driver) via Selenium, server on 127.0.0.1.

    RELVEC_DATA=../shared/data python benchmarks/explorer_screenshot.py --model minilm --output docs/explorer.png
"""

from __future__ import annotations

import argparse
import shutil
import threading
import time

import torch
import uvicorn
from selenium import webdriver
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from relvec.loading import load_model
from relvec.search import RelationIndex
from relvec.serve import create_app

from _common import analogy_pairs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="minilm")
    parser.add_argument("--pairs", type=int, default=600, help="analogy-set pairs in the index")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--output", default="docs/explorer.png")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_model(args.model)
    pairs = list(dict.fromkeys([*analogy_pairs(args.pairs), ("barista", "coffee"), ("baker", "bread")]))
    index = RelationIndex.build(model, pairs)
    server = uvicorn.Server(uvicorn.Config(create_app(model, index=index), host="127.0.0.1", port=0, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    url = f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/"
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1150,1320"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=webdriver.ChromeService(shutil.which("chromedriver")), options=options)
    try:
        wait = WebDriverWait(driver, 60)
        driver.get(url)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#map circle"))
        driver.find_element(By.ID, "neighbours-pair").send_keys("bakery:bread")
        driver.find_element(By.ID, "neighbours-go").click()
        driver.find_element(By.ID, "analogy-stem").send_keys("word:language")
        driver.find_element(By.ID, "analogy-choices").send_keys("paint:portrait, note:music, tale:story")
        driver.find_element(By.ID, "analogy-go").click()
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#neighbours-result li"))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#analogy-result li"))
        ActionChains(driver).move_to_element(driver.find_elements(By.CSS_SELECTOR, "#map circle")[7]).perform()
        time.sleep(0.3)
        driver.save_screenshot(args.output)
    finally:
        driver.quit()
        server.should_exit = True
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
