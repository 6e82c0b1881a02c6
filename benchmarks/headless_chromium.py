"""Headless Chromium for the browser tests (tests/test_web.py) and the web benchmark
(benchmarks/web_latency.py): where to find it, and how to start it on a bare machine."""

import os
import shutil

# Flags that let headless Chromium start on a bare Linux machine or in a container (Playwright
# launches it with these).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--no-first-run")
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium():
    """A Chrome or Chromium executable to open the page with: $MOBILENET_CHROMIUM if set
    (on macOS, e.g. "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"),
    else the first of CHROMIUM_NAMES on PATH; None if there is none."""
    if os.environ.get("MOBILENET_CHROMIUM"):
        return os.environ["MOBILENET_CHROMIUM"]
    return next((shutil.which(name) for name in CHROMIUM_NAMES if shutil.which(name)), None)


