"""`betpipe data fetch` against a local HTTP server serving ../shared/data/football-data in the
site's URL layout (/mmz4281/1920/E0.csv): downloads, resumes, skips, refuses what doesn't parse;
and `betpipe preflight --fetch` (what scripts/start runs) filling an empty sandbox folder."""
from __future__ import annotations

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

from pipeline.analysis.fetch import FetchError, fetch, parse_seasons, season_code, url_for
from tests.kit.contracts import FOOTBALL_DATA
from tests.kit.programs import betpipe


class Site:
    """What the local server serves and what it was asked."""

    def __init__(self):
        self.requests: list[tuple[str, str | None]] = []
        self.cut: dict[str, int] = {}  # path -> bytes sent before the connection drops (once)
        self.html: set[str] = set()  # paths answered with an HTML page and 200
        self.content: dict[str, bytes] = {}  # paths whose file changed on the site
        self.ranges = True


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        site: Site = self.server.site
        site.requests.append((self.path, self.headers.get("Range")))
        m = re.fullmatch(r"/mmz4281/(\d\d)(\d\d)/(\w+)\.csv", self.path)
        path = m and FOOTBALL_DATA / f"{m.group(3)}_20{m.group(1)}-{m.group(2)}.csv"
        if not path or not path.exists():
            self.send_error(404, "Not Found")
            return
        data = site.content.get(self.path) or path.read_bytes()
        if self.path in site.html:
            data = b"<html><body>Service temporarily unavailable</body></html>"
        start = 0
        rng = self.headers.get("Range")
        if rng and site.ranges and self.path not in site.html:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "text/csv")
        self.end_headers()
        cut = site.cut.pop(self.path, None)
        self.wfile.write(body if cut is None else body[:cut])


@pytest.fixture
def site():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.site = Site()
    server.site.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.site
    server.shutdown()
    server.server_close()
    thread.join(10)


def test_seasons_and_urls():
    assert parse_seasons("2015-16..2018-19") == ["2015-16", "2016-17", "2017-18", "2018-19"]
    assert parse_seasons("2019-20") == ["2019-20"]
    assert parse_seasons("2018-19, 1999-00,2018-19") == ["2018-19", "1999-00"]
    assert season_code("1999-00") == "9900" and season_code("2024-25") == "2425"
    assert url_for("https://www.football-data.co.uk/", "E0", "2015-16") == \
        "https://www.football-data.co.uk/mmz4281/1516/E0.csv"
    for bad in ("2019-21", "2019", "19-20", "2020-21..2019-20"):
        with pytest.raises(FetchError):
            parse_seasons(bad)


def test_fetch_seasons_with_the_cli(site, tmp_path):
    dest = tmp_path / "fd"
    r = betpipe(None, "data", "fetch", "--league", "E0", "--seasons", "2017-18..2019-20",
                "--dest", str(dest), "--base-url", site.url)
    assert r.returncode == 0, r.stderr
    names = ["E0_2017-18.csv", "E0_2018-19.csv", "E0_2019-20.csv"]
    assert sorted(p.name for p in dest.iterdir()) == names  # no .part left behind
    for n in names:
        assert (dest / n).read_bytes() == (FOOTBALL_DATA / n).read_bytes()
    assert [p for p, _ in site.requests] == ["/mmz4281/1718/E0.csv", "/mmz4281/1819/E0.csv",
                                            "/mmz4281/1920/E0.csv"]
    assert "E0_2019-20.csv: downloaded (380 matches" in r.stderr
    assert "3 of 3 files" in r.stdout
    # again: everything is there and parses, so nothing is asked
    r = betpipe(None, "data", "fetch", "--seasons", "2017-18..2019-20", "--dest", str(dest),
                "--base-url", site.url, "--json")
    assert r.returncode == 0 and len(site.requests) == 3
    assert [f["status"] for f in orjson.loads(r.stdout)["files"]] == ["skipped"] * 3


def test_a_cut_download_resumes_where_it_stopped(site, tmp_path):
    dest, path = tmp_path / "fd", "/mmz4281/1920/E0.csv"
    site.cut[path] = 20000
    first = fetch(["E0"], ["2018-19", "2019-20"], dest, base_url=site.url)
    assert [f.status for f in first] == ["downloaded", "failed"]
    assert "got 20000 of" in first[1].error and "run again to resume" in first[1].error
    assert not (dest / "E0_2019-20.csv").exists()
    assert (dest / ".E0_2019-20.csv.part").stat().st_size == 20000
    assert (dest / ".E0_2019-20.csv.part.json").exists()  # what it began with, to resume
    site.requests.clear()
    second = fetch(["E0"], ["2018-19", "2019-20"], dest, base_url=site.url)
    assert [f.status for f in second] == ["skipped", "resumed"]
    assert site.requests == [(path, "bytes=20000-")]
    assert (dest / "E0_2019-20.csv").read_bytes() == (FOOTBALL_DATA / "E0_2019-20.csv").read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == ["E0_2018-19.csv", "E0_2019-20.csv"]


def test_a_file_that_changed_since_the_cut_is_fetched_again_whole(site, tmp_path):
    """The current season's file grows every week: a part of the old one is not continued."""
    dest, path = tmp_path / "fd", "/mmz4281/1920/E0.csv"
    site.cut[path] = 20000
    assert fetch(["E0"], ["2019-20"], dest, base_url=site.url)[0].status == "failed"
    old = (FOOTBALL_DATA / "E0_2019-20.csv").read_bytes()
    grown = old + old.rstrip(b"\r\n").rsplit(b"\n", 1)[1] + b"\n"  # one more row
    site.content[path] = grown
    site.requests.clear()
    got = fetch(["E0"], ["2019-20"], dest, base_url=site.url)[0]
    assert (got.status, got.matches) == ("downloaded", 381)
    assert site.requests == [(path, "bytes=20000-"), (path, None)]
    assert (dest / "E0_2019-20.csv").read_bytes() == grown


def test_a_server_without_ranges_sends_it_all_again(site, tmp_path):
    dest = tmp_path / "fd"
    site.cut["/mmz4281/1819/E0.csv"], site.ranges = 5000, False
    assert fetch(["E0"], ["2018-19"], dest, base_url=site.url)[0].status == "failed"
    assert fetch(["E0"], ["2018-19"], dest, base_url=site.url)[0].status == "downloaded"
    assert (dest / "E0_2018-19.csv").read_bytes() == (FOOTBALL_DATA / "E0_2018-19.csv").read_bytes()


def test_missing_seasons_pages_and_broken_files(site, tmp_path):
    dest = tmp_path / "fd"
    dest.mkdir()
    (dest / "E0_2018-19.csv").write_bytes(b"Div,Date,HomeTeam\nE0,1")  # a broken leftover
    site.html.add("/mmz4281/1718/E0.csv")
    r = betpipe(None, "data", "fetch", "--seasons", "2017-18..2020-21", "--dest", str(dest),
                "--base-url", site.url, "--json")
    assert r.returncode == 1
    files = {f["name"]: f for f in orjson.loads(r.stdout)["files"]}
    assert files["E0_2017-18.csv"]["status"] == "failed"
    assert "does not parse" in files["E0_2017-18.csv"]["error"]
    assert files["E0_2018-19.csv"]["status"] == "downloaded"  # the broken file was replaced
    assert files["E0_2019-20.csv"]["status"] == "downloaded"
    assert files["E0_2020-21.csv"]["status"] == "failed"
    assert "/mmz4281/2021/E0.csv: HTTP 404" in files["E0_2020-21.csv"]["error"]
    assert sorted(p.name for p in dest.iterdir()) == ["E0_2018-19.csv", "E0_2019-20.csv"]


def test_default_dest_is_the_homes_data_folder(site, tmp_path):
    home = tmp_path / "home"
    r = betpipe(None, "data", "fetch", "--seasons", "2019-20", env={"BETPIPE_HOME": str(home),
                                                              "BETPIPE_DATA_URL": site.url})
    assert r.returncode == 0, r.stderr
    assert (home / "data" / "football-data" / "E0_2019-20.csv").stat().st_size > 10000


def test_preflight_fetches_the_sandbox_season_when_there_is_none(site, tmp_path):
    """What scripts/start runs: no CSVs for the sandbox -> betpipe data fetch of its season."""
    home = tmp_path / "home"
    env = {"BETPIPE_HOME": str(home), "BETPIPE_DATA_URL": "http://127.0.0.1:9/"}
    assert betpipe(None, "init-home", env=env).returncode == 0
    cfg_path = home / "config" / "system-config.json"
    cfg = orjson.loads(cfg_path.read_bytes())
    cfg["sandbox"]["data"] = "fd"
    cfg_path.write_bytes(orjson.dumps(cfg))
    r = betpipe(None, "preflight", "--fetch", env=env)  # nothing listens on port 9
    assert r.returncode == 2
    assert "betpipe data fetch --league E0 --seasons 2019-20 --for-sandbox" in r.stderr
    assert "E0_2019-20.csv: failed" in r.stderr
    r = betpipe(None, "preflight", "--fetch", env={**env, "BETPIPE_DATA_URL": site.url})
    assert r.returncode == 0, r.stdout + r.stderr
    assert site.requests == [("/mmz4281/1920/E0.csv", None)]
    assert (home / "fd" / "E0_2019-20.csv").read_bytes() == \
        (FOOTBALL_DATA / "E0_2019-20.csv").read_bytes()
    assert betpipe(None, "preflight", env=env).returncode == 0
