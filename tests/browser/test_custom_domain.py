"""examples/custom_domain deployed through the local stack driver, seen in a real headless Chromium
(the set-up of test_prebuilt_spa.py: Debian's chromium and chromedriver, nothing downloaded): the
apex redirects to www under the domain's own host names on loopback (``*.localhost``), www serves
main, next.example.com serves the next branch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack, copy_app

from .test_prebuilt_spa import browser  # noqa: F401 (the module's Chromium, a fixture)

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "custom_domain"


@pytest.fixture(scope="module")
def hosts(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:  # noqa: F811
    """The example deployed once; {host: its local URL}, served until the module ends."""
    app = copy_app(EXAMPLE, tmp_path_factory.mktemp("custom_domain") / "app")
    lines: list[str] = []
    with Sandbox(state_dir=app / ".amplify-sandbox" / "emulator") as sb:
        driver = LocalStack(app, sb, log=lines.append)
        result = driver.deploy()
        assert result.ok, "\n".join(lines[-40:])
        (app_id,) = {a for a, _, _ in driver.site_urls(result)}
        yield {host: url for host, _, url in sb.emulator.domain_urls(app_id)}


def _page(chromium: Any) -> tuple[str, str]:
    """(the heading, the host the page's own script saw in location.host)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(chromium, 20).until(lambda d: d.find_element(By.ID, "host").text)
    return chromium.find_element(By.ID, "branch").text, chromium.find_element(By.ID, "host").text


def test_the_apex_redirects_to_www_which_serves_main(browser: Any, hosts: dict[str, str]) -> None:  # noqa: F811
    browser.get(hosts["example.com"])
    assert browser.current_url == hosts["www.example.com"]
    heading, seen_host = _page(browser)
    assert heading == "main"
    assert seen_host == hosts["www.example.com"].removeprefix("http://").rstrip("/")


def test_a_link_on_www_stays_on_www(browser: Any, hosts: dict[str, str]) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    browser.get(hosts["www.example.com"])
    _page(browser)
    browser.find_element(By.ID, "about").click()
    assert browser.current_url == hosts["www.example.com"] + "about"
    assert browser.find_element(By.ID, "branch").text == "main: about"


def test_next_serves_the_preview_branch(browser: Any, hosts: dict[str, str]) -> None:  # noqa: F811
    browser.get(hosts["next.example.com"])
    assert browser.current_url == hosts["next.example.com"]
    heading, seen_host = _page(browser)
    assert heading == "next"
    assert seen_host.startswith("next.example.com.localhost:")
