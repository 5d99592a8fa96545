"""Load figures: wrk against gunicorn with 4 workers on a catalogue of 10k listings.

    .venv/bin/python bench/load.py [--size 10000] [--clients 20] [--seconds 20]
                                   [--workers 4] [--threads 2]

Builds a throwaway catalogue (synthetic listings grown from the CSL records, as
bench/speed.py does, plus the demo data of `flask seed-demo`: its organisations,
logins, challenges, deals and contracts) in a temporary folder, starts gunicorn
on it and runs wrk (Debian package `wrk`) once per page: the trivial /healthz
endpoint of the same app as the ceiling, the home page, a result's page, a
challenge's page, a search and a match (the JSON API, abstract-length text), and
logged in through the login form: the enterprise member's home page, the agency's
deals board and the bureau's /stats. Each page's requests rotate over many real
queries and listings so that no cache answers them all. Prints requests/s and
p50/p95/p99 latency per page and checks the targets: result, challenge and
search pages at ≥ 50% of the ceiling's throughput, the match API at ≥ 25%, the
logged-in pages at p95 < 300 ms, no errors.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import speed
from generate import synthetic

# wrk's Lua side: rotate over the request lines of a file ("GET path" or
# "POST path json"), and print the figures as one parsable line.
LUA = r"""
local lines = {}
local n = 0
function init(args)
  for line in io.lines(args[1]) do table.insert(lines, line) end
  n = math.random(#lines)
end
function request()
  n = n % #lines + 1
  local method, path, body = lines[n]:match("^(%S+) (%S+) ?(.*)$")
  if method == "POST" then
    return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
  end
  return wrk.format("GET", path)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %.2f %.2f %.2f %d %d\n",
    summary.requests, summary.duration,
    latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""
RESULT = re.compile(
    r"^RESULT (\d+) (\d+) ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)$", re.M
)


def popular(items: list, popularity: str, rng: random.Random, draws: int = 20_000):
    """The order requests come in: each item once in turn, or by a Zipf law.

    "uniform" cycles through every item (the coldest case for any cache);
    "zipf" draws item k with weight 1/k, as page views of a catalogue and
    search queries are usually spread: a few are asked for often, most rarely.
    """
    if popularity == "uniform":
        return list(items)
    weights = [1 / rank for rank in range(1, len(items) + 1)]
    return rng.choices(items, weights=weights, k=draws)


def request_lines(
    titles,
    abstracts,
    result_ids,
    popularity: str = "uniform",
    seed: int = 5,
    challenge_ids=(),
) -> dict[str, list[str]]:
    """The requests each page's run rotates over."""
    rng = random.Random(seed)
    search = [
        "GET /search?" + urllib.parse.urlencode({"q": t}) for t in titles if t.strip()
    ]
    match = [
        "POST /api/v1/match "
        + json.dumps({"text": a, "kind": "result", "limit": 10}, ensure_ascii=True)
        for a in abstracts
    ]
    pages = [f"GET /results/{i}" for i in result_ids]
    lines = {
        "trivial (/healthz)": ["GET /healthz"],
        "home page": ["GET /"],
        "result page": popular(pages, popularity, rng),
    }
    if challenge_ids:
        challenges = [f"GET /challenges/{i}" for i in challenge_ids]
        lines["challenge page"] = popular(challenges, popularity, rng)
    lines["search page"] = popular(search, popularity, rng)
    lines["match (API)"] = popular(match, popularity, rng)
    return lines


# Logged-in pages: (name, demo login, path). The session cookie of a login
# through the form goes with every request of that page's run.
LOGGED_IN = (
    ("home, logged in (enterprise)", "enterprise", "/"),
    ("deals board (agency)", "agency", "/deals/"),
    ("/stats (bureau)", "bureau", "/stats/"),
)
TOKEN = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def login_cookie(base: str, email: str, password: str) -> str:
    """Log in through the form; the Cookie header the browser then sends.

    The server runs as in production, so its cookies are marked Secure; over
    the benchmark's plain http they are carried by hand.
    """
    import requests

    jar: dict[str, str] = {}

    def call(method: str, path: str, **kw):
        header = "; ".join(f"{k}={v}" for k, v in jar.items())
        response = requests.request(
            method,
            base + path,
            headers={"Cookie": header},
            allow_redirects=False,
            timeout=60,
            **kw,
        )
        jar.update(response.cookies.get_dict())
        return response

    page = call("GET", "/auth/login")
    token = TOKEN.search(page.text).group(1)
    answer = call(
        "POST",
        "/auth/login",
        data={"email": email, "password": password, "csrf_token": token},
    )
    if answer.status_code != 302:
        raise RuntimeError(f"login of {email}: {answer.status_code}")
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def run_wrk(
    base: str, lines: list[str], args, workdir: Path, cookie: str = ""
) -> dict:
    """One wrk run over the request lines (with a session cookie); its figures."""
    requests = workdir / "requests.txt"
    requests.write_text("\n".join(lines) + "\n", encoding="utf-8")
    script = workdir / "rotate.lua"
    script.write_text(LUA)
    out = subprocess.run(
        [
            "wrk",
            f"-t{args.threads}",
            f"-c{args.clients}",
            f"-d{args.seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            *(["-H", f"Cookie: {cookie}"] if cookie else []),
            base,
            "--",
            str(requests),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found = RESULT.search(out)
    if not found:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    count, micros, p50, p95, p99, bad_status, socket_errors = found.groups()
    return {
        "rps": int(count) / (int(micros) / 1e6),
        "p50": float(p50),
        "p95": float(p95),
        "p99": float(p99),
        "requests": int(count),
        "non_2xx": int(bad_status),
        "socket_errors": int(socket_errors),
    }


def warm_up(base: str, lines: dict[str, list[str]], workers: int) -> None:
    """Every worker loads jieba, opens its searcher and builds its arrays."""
    for page in lines.values():
        for line in page[: 3 * workers]:
            method, path, *body = line.split(" ", 2)
            data = body[0].encode() if method == "POST" else None
            request = urllib.request.Request(  # noqa: S310 - our own http:// URL
                base + path,
                data=data,
                headers={"Content-Type": "application/json"} if data else {},
            )
            urllib.request.urlopen(request, timeout=60).read()  # noqa: S310


def report(figures: dict[str, dict], args) -> str:
    """The table and the verdicts."""
    ceiling = figures["trivial (/healthz)"]["rps"]
    rows = [
        [
            name,
            f"{f['rps']:.0f}",
            f"{100 * f['rps'] / ceiling:.0f}%",
            f"{f['p50']:.1f} / {f['p95']:.1f} / {f['p99']:.1f}",
            f"{f['requests']}",
            f"{f['non_2xx'] + f['socket_errors']}",
        ]
        for name, f in figures.items()
    ]
    lines = [
        f"{args.size} listings, gunicorn -w {args.workers}, wrk -t{args.threads} "
        f"-c{args.clients} -d{args.seconds}s, popularity {args.popularity}, "
        f"page cache {os.environ.get('PAGE_CACHE_SECONDS', 'default')} s",
        common.table(
            ["page", "req/s", "of ceiling", "p50 / p95 / p99 ms", "requests", "errors"],
            rows,
        ),
    ]
    shares = {"result page": 0.5, "challenge page": 0.5, "search page": 0.5}
    shares["match (API)"] = 0.25
    for name, wanted in shares.items():
        if name not in figures:
            continue
        share = figures[name]["rps"] / ceiling
        lines.append(
            f"{name}: {share:.0%} of the ceiling (target ≥ {wanted:.0%}: "
            f"{'met' if share >= wanted else 'NOT met'})"
        )
    for name, _, _ in LOGGED_IN:
        if name in figures:
            p95 = figures[name]["p95"]
            lines.append(
                f"{name}: p95 {p95:.0f} ms (target < 300 ms: "
                f"{'met' if p95 < 300 else 'NOT met'})"
            )
    errors = sum(f["non_2xx"] + f["socket_errors"] for f in figures.values())
    lines.append(f"errors: {errors} (target 0: {'met' if not errors else 'NOT met'})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Build the catalogue, serve it, load it page by page and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--popularity",
        choices=("uniform", "zipf"),
        default="uniform",
        help="how often each listing and query is asked for (see popular())",
    )
    parser.add_argument(
        "--page-cache",
        type=float,
        default=None,
        help="PAGE_CACHE_SECONDS for the server (default: the app's own)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2
    records = common.read_records()
    rng = random.Random(11)
    queries = rng.sample(records, 400)
    titles = [r["title"] for r in queries[:200]]
    abstracts = [r.get("abstract", "")[:1000] for r in queries[200:]]
    workdir = Path(tempfile.mkdtemp(prefix="marketplace-load-"))
    figures: dict[str, dict] = {}
    try:
        app = speed.build_ours(workdir, list(synthetic(records, args.size)), {})
        from marketplace import demo
        from marketplace.extensions import db
        from marketplace.models import Challenge, Result
        from marketplace.permissions import PUBLIC_CHALLENGE_STATES
        from marketplace.search.sync import get_index

        demo.seed_demo()  # logins, challenges, deals and contracts beside them
        db.session.commit()
        get_index().reindex(db.session)
        ids = [row for (row,) in db.session.query(Result.id).limit(2000)]
        challenge_ids = [
            row
            for (row,) in db.session.query(Challenge.id).filter(
                Challenge.status.in_(PUBLIC_CHALLENGE_STATES)
            )
        ]
        app.bench_context.pop()
        lines = request_lines(
            titles, abstracts, ids, args.popularity, challenge_ids=challenge_ids
        )
        if args.page_cache is not None:
            os.environ["PAGE_CACHE_SECONDS"] = str(args.page_cache)
        proc, base = common.start_gunicorn(app, workdir, args.workers)
        try:
            warm_up(base, lines, args.workers)
            for name, page in lines.items():
                print(f"loading {name} for {args.seconds} s …", file=sys.stderr)
                figures[name] = run_wrk(base, page, args, workdir)
            for name, login, path in LOGGED_IN:
                email = f"{login}@demo.zmd.cn"
                cookie = login_cookie(base, email, demo.DEMO_PASSWORD)
                print(f"loading {name} for {args.seconds} s …", file=sys.stderr)
                figures[name] = run_wrk(base, [f"GET {path}"], args, workdir, cookie)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(report(figures, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
