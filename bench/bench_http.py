"""Cost of the bounded transport: ScicatClient.whoami vs a plain requests.Session GET.

Both talk to the same hostile SciCat (behaving) on 127.0.0.1, alternating rounds so load
on the machine hits both alike; each side keeps its fastest round.  The bounded side pays
for a deadline watchdog per request, streaming with a size cap and the retry loop.
Target: ratio <= 1.2.

    /work/venv/bin/python bench/bench_http.py --requests 200
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from scisync.scicat.client import ScicatClient  # noqa: E402
from scisync.testing.hostile import HostileScicat  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    bounded: list[float] = []
    plain: list[float] = []
    with HostileScicat() as server:
        client = ScicatClient(server.url, "bench-token")
        session = requests.Session()
        url = f"{server.origin}/api/v3/auth/whoami"
        for _ in range(args.rounds):
            started = time.perf_counter()
            for _ in range(args.requests):
                client.whoami()
            bounded.append(time.perf_counter() - started)
            started = time.perf_counter()
            for _ in range(args.requests):
                session.get(url, timeout=30).json()
            plain.append(time.perf_counter() - started)
        client.close()
        session.close()
    per = 1000 / args.requests
    print(f"requests: {args.requests} x {args.rounds} rounds (fastest round kept)")
    print(f"bounded ScicatClient: {min(bounded) * per:.3f} ms/request")
    print(f"plain requests:       {min(plain) * per:.3f} ms/request")
    print(f"ratio bounded/plain:  {min(bounded) / min(plain):.2f}")


if __name__ == "__main__":
    main()
