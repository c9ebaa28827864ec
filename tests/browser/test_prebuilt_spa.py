"""examples/prebuilt_spa, deployed through the local stack driver with basic auth on, seen in a real
browser: headless Chromium from the OS packages (chromium, chromium-driver), driven by Selenium with
the OS's chromedriver; nothing is downloaded at run time (SE_OFFLINE).

One deployment and one browser session for the module. Where Chromium or its driver is missing or
cannot start, every test here is SKIPPED with the reason (shown in pytest's summary, -ra).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from amplify_sandbox import Sandbox
from amplify_sandbox.driver import LocalStack, copy_app

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "prebuilt_spa"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1024,768",
)


@dataclass
class Site:
    url: str
    user: str
    password: str


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the module (skipped, with the reason, where it cannot start)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.skip(
            f"browser test: {', '.join(missing)} not installed (Debian packages chromium, chromium-driver; "
            "scripts/setup installs them where it runs as root)"
        )
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError as exc:
        pytest.skip(f"browser test: selenium is not installed ({exc}); run scripts/setup")
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never download a browser or driver
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    except WebDriverException as exc:
        pytest.skip(f"browser test: Chromium could not be started: {exc.msg or exc}"[:500])
    driver.set_page_load_timeout(60)
    driver.execute_cdp_cmd("Network.enable", {})
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def site(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The example deployed once through the driver, with ``-c basic_auth=true``."""
    app = copy_app(EXAMPLE, tmp_path_factory.mktemp("prebuilt_spa") / "app")
    config = json.loads((app / "cdk.json").read_text())
    config["context"] = {**config.get("context", {}), "basic_auth": "true"}
    (app / "cdk.json").write_text(json.dumps(config))
    lines: list[str] = []
    with Sandbox(state_dir=app / ".amplify-sandbox" / "emulator") as sb:
        driver = LocalStack(app, sb, log=lines.append)
        result = driver.deploy()
        assert result.ok, "\n".join(lines[-40:])
        ((_, _, url),) = driver.site_urls(result)
        # The password as the README tells users to read it: the secret's value in the sandbox's moto.
        secrets = sb.client("secretsmanager")
        (listed,) = secrets.list_secrets()["SecretList"]
        value = json.loads(secrets.get_secret_value(SecretId=listed["ARN"])["SecretString"])
        yield Site(url, value["username"], value["password"])


def _authenticate(browser: Any, site: Site | None) -> None:
    """Send (or stop sending) the basic-auth header with every request of the page."""
    headers = {}
    if site is not None:
        token = base64.b64encode(f"{site.user}:{site.password}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": headers})


def _heading(browser: Any) -> str:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#root h1"))
    return str(browser.find_element(By.CSS_SELECTOR, "#root h1").text)


def _navigation(browser: Any) -> dict[str, Any]:
    entry = browser.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return {status: n.responseStatus, redirects: n.redirectCount, url: n.name};"
    )
    return dict(entry)


def _screenshot(browser: Any, tmp_path: Path, name: str) -> Path:
    shot = tmp_path / f"{name}.png"
    assert browser.save_screenshot(str(shot))
    ARTIFACTS.mkdir(exist_ok=True)
    shutil.copy2(shot, ARTIFACTS / shot.name)
    return shot


def test_a_deep_link_renders_its_route_with_scripts_and_styles_and_no_console_errors(
    browser: Any, site: Site, tmp_path: Path
) -> None:
    _authenticate(browser, site)
    browser.get_log("browser")  # start from an empty console
    browser.get(site.url + "settings/profile")
    assert _heading(browser) == "Settings: profile"  # index.html (the rewrite) + the router in app.js
    assert _navigation(browser)["status"] == 200
    assert browser.current_url == site.url + "settings/profile"
    color = browser.execute_script("return getComputedStyle(document.querySelector('#root h1')).color")
    assert color == "rgb(20, 90, 160)"  # assets/style.css applied
    loaded = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map(e => [new URL(e.name).pathname, e.responseStatus])"
    )
    assert sorted(map(tuple, loaded)) == [("/assets/app.js", 200), ("/assets/style.css", 200)]
    shot = _screenshot(browser, tmp_path, "prebuilt_spa-settings-profile")
    assert shot.stat().st_size > 1000
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_the_custom_headers_reach_the_page(browser: Any, site: Site) -> None:
    _authenticate(browser, site)
    browser.get(site.url)
    assert _heading(browser) == "Home"
    headers = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(location.href).then(r => done({status: r.status,"
        " nosniff: r.headers.get('x-content-type-options'),"
        " hsts: r.headers.get('strict-transport-security')}));"
    )
    assert headers == {
        "status": 200,
        "nosniff": "nosniff",
        "hsts": "max-age=31536000; includeSubDomains",
    }


def test_the_301_lands_on_its_target(browser: Any, site: Site) -> None:
    _authenticate(browser, site)
    browser.get(site.url + "old-settings")
    assert _heading(browser) == "Settings: profile"
    assert browser.current_url == site.url + "settings/profile"
    assert _navigation(browser)["redirects"] == 1


def test_without_credentials_the_page_is_refused(browser: Any, site: Site, tmp_path: Path) -> None:
    _authenticate(browser, None)
    try:
        browser.get(site.url + "settings/profile")
        assert _navigation(browser)["status"] == 401
        assert "Settings" not in browser.page_source
        _screenshot(browser, tmp_path, "prebuilt_spa-no-credentials")
    finally:
        _authenticate(browser, site)
