"""Each branch's live content served over HTTP like a static Amplify site, on its own port."""

from __future__ import annotations

import pytest

from ._helpers import Emu, get

SITE: dict[str, bytes | str] = {
    "index.html": "<html>home</html>",
    "about/index.html": "about",
    "assets/app.js": "console.log(1)",
    "assets/style.css": "body{}",
    "img/logo.png": b"\x89PNG\r\n",
    "data.json": '{"a": 1}',
    "odd name.txt": "spaces",
}


def test_site_serves_index_directories_types_and_access_denied(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    emu.deploy_zip(app_id, branch, SITE)
    root = emu.emulator.site_url(app_id, branch)
    assert root.startswith("http://127.0.0.1:") and root.endswith("/")
    status, headers, body = get(root)
    assert (status, body) == (200, b"<html>home</html>")
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert get(root + "about/")[2] == b"about"
    status, headers, _ = get(root + "about")
    assert status == 301 and headers["location"] == "/about/"
    assert get(root + "assets/app.js")[1]["content-type"].startswith(
        ("text/javascript", "application/javascript")
    )
    assert get(root + "assets/style.css")[1]["content-type"] == "text/css; charset=utf-8"
    assert get(root + "img/logo.png")[1]["content-type"] == "image/png"
    assert get(root + "data.json")[1]["content-type"] == "application/json; charset=utf-8"
    assert get(root + "odd%20name.txt")[2] == b"spaces"
    assert get(root + "index.html?v=2")[2] == b"<html>home</html>"
    status, headers, body = get(root + "missing.html")  # no file, no rule: Amplify's 403 AccessDenied
    assert status == 403 and headers["content-type"] == "application/xml"
    assert b"<Code>AccessDenied</Code>" in body
    assert get(root + "nope/")[0] == 403
    status, headers, body = get(root + "assets/app.js", method="HEAD")
    assert status == 200 and headers["content-length"] == str(len("console.log(1)")) and body == b""


def test_each_branch_has_its_own_root(emu: Emu) -> None:
    app_id, _ = emu.app_branch("main")
    emu.client.create_branch(appId=app_id, branchName="feature/a")
    emu.deploy_zip(app_id, "main", {"index.html": "main"})
    emu.deploy_files(app_id, "feature/a", {"index.html": b"feature"})
    main, feature = emu.emulator.site_url(app_id, "main"), emu.emulator.site_url(app_id, "feature/a")
    assert main != feature
    assert emu.emulator.site_url(app_id, "main") == main  # started once, then reused
    assert (get(main)[2], get(feature)[2]) == (b"main", b"feature")


def test_branch_without_deployment_is_404_and_unknown_branch_raises(emu: Emu) -> None:
    app_id, branch = emu.app_branch()
    assert get(emu.emulator.site_url(app_id, branch))[0] == 404
    with pytest.raises(KeyError):
        emu.emulator.site_url(app_id, "no-such-branch")


def test_readers_see_the_old_or_the_new_site_never_a_mix_or_a_gap(emu: Emu) -> None:
    """While a new deployment goes live, every response is the whole old file or the whole new one."""
    import threading

    app_id, branch = emu.app_branch()
    emu.deploy_zip(app_id, branch, {"index.html": "v1" * 1000})
    root = emu.emulator.site_url(app_id, branch)
    emu.emulator.knobs.job_duration = 10
    emu.deploy_files(app_id, branch, {"index.html": b"v2" * 1000}, finish=False)
    seen: list[tuple[int, bytes]] = []
    stop = threading.Event()

    def reader() -> None:
        while not stop.is_set():
            status, _, body = get(root)
            seen.append((status, body))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    while len(seen) < 30:
        stop.wait(0.01)
    emu.clock.advance(11)  # the job ends: v2 goes live under the readers
    count = len(seen)
    while len(seen) < count + 30:
        stop.wait(0.01)
    stop.set()
    for t in threads:
        t.join()
    assert {s for s, _ in seen} == {200}
    assert {b for _, b in seen} == {b"v1" * 1000, b"v2" * 1000}
    assert seen[-1][1] == b"v2" * 1000
