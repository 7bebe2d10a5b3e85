"""
Tickets against the trivial authenticated endpoint, under ``wrk``.

``measure()`` runs ``wrk`` (Debian's, driven by a Lua script: it POSTs the
JSON ticket request with each user's token in turn) against a running
production stack (tests/support/load.py): first ``GET /api/site/``, the
cheapest authenticated call the API has, then ``POST /api/uploads/tickets/``,
on the same server in the same run, so that the ratio of the two says what a
ticket costs whatever the machine. ``Figures`` gives the table and the JSON.
"""

import json
import os
import shutil
import statistics
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.support.bench_output import write_report
from tests.support.load import TICK, cpu_seconds, percentile

GOALS = {"throughput_ratio": ">= 0.7", "p99_ratio": "<= 2.0"}

# wrk calls done() once, in its main Lua state: the counts of each thread's
# state are summed there, and the figures printed as one JSON line.
LUA = """
local tokens = %(tokens)s
local products = %(products)s
local method, path = "%(method)s", "%(path)s"
local threads = {}
local counter = 0
local non_2xx = 0

function setup(thread)
  thread:set("offset", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = tonumber(wrk.thread:get("offset") or 0)
end

function request()
  counter = counter + 1
  local token = tokens[(counter %% #tokens) + 1]
  local headers = {["Authorization"] = "Token " .. token}
  local body = nil
  if method == "POST" then
    headers["Content-Type"] = "application/json"
    body = string.format(
      '{"kind": "product", "object_id": %%d, "content_type": "image/jpeg", "size": 200000}',
      products[(counter %% #products) + 1])
  end
  return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non_2xx = non_2xx + 1
  end
end

function done(summary, latency, requests)
  local errors = 0
  for _, thread in ipairs(threads) do
    errors = errors + (thread:get("non_2xx") or 0)
  end
  io.write("WRK_JSON " .. string.format(
    '{"requests": %%d, "seconds": %%f, "p50_ms": %%f, "p99_ms": %%f, "max_ms": %%f, '
    .. '"non_2xx": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3, errors,
    summary.errors.connect + summary.errors.read + summary.errors.write
      + summary.errors.timeout))
end
"""


@dataclass
class Run:
    """One endpoint under wrk."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    non_2xx: int
    socket_errors: int
    # CPU seconds the app's gunicorn workers, and PostgreSQL's processes,
    # spent meanwhile.
    app_cpu_s: float = 0.0
    db_cpu_s: float = 0.0
    # The whole box's: those, wrk, Redis, the kernel (its network stack, the
    # file system's journal), anything else that ran (``box_cpu``); and the
    # CPU seconds it left idle.
    box_cpu_s: float = 0.0
    box_idle_s: float = 0.0
    box_iowait_s: float = 0.0
    # The busiest worker's share of the workers' CPU: 1 / workers when they
    # shared the connections evenly (each kept alive with the worker that
    # took it), 1 when one worker served them all.
    busiest_worker_share: float = 0.0

    @property
    def per_second(self):
        return self.requests / self.seconds

    @classmethod
    def combined(cls, runs):
        """Rounds of one endpoint as one run: their requests over their
        seconds; the median round's p50 and p99, the worst maximum."""
        return cls(
            requests=sum(run.requests for run in runs),
            seconds=sum(run.seconds for run in runs),
            p50_ms=statistics.median(run.p50_ms for run in runs),
            p99_ms=statistics.median(run.p99_ms for run in runs),
            max_ms=max(run.max_ms for run in runs),
            non_2xx=sum(run.non_2xx for run in runs),
            socket_errors=sum(run.socket_errors for run in runs),
            app_cpu_s=sum(run.app_cpu_s for run in runs),
            db_cpu_s=sum(run.db_cpu_s for run in runs),
            box_cpu_s=sum(run.box_cpu_s for run in runs),
            box_idle_s=sum(run.box_idle_s for run in runs),
            box_iowait_s=sum(run.box_iowait_s for run in runs),
            busiest_worker_share=max(run.busiest_worker_share for run in runs),
        )

    @property
    def app_cpu_ms_per_request(self):
        return 1000 * self.app_cpu_s / self.requests

    @property
    def cpu_ms_per_request(self):
        """The workers' and PostgreSQL's together."""
        return 1000 * (self.app_cpu_s + self.db_cpu_s) / self.requests

    @property
    def db_cpu_ms_per_request(self):
        return 1000 * self.db_cpu_s / self.requests

    @property
    def box_cpu_ms_per_request(self):
        return 1000 * self.box_cpu_s / self.requests

    @property
    def idle_share(self):
        """The share of the box's CPU time left idle: near 0 when the box,
        not the app, bounds the throughput."""
        return self.box_idle_s / (self.box_cpu_s + self.box_idle_s)

    @property
    def iowait_share(self):
        """The share of it the cores sat idle with a disk write or read
        outstanding (PostgreSQL's commits wait for theirs)."""
        return self.box_iowait_s / (self.box_cpu_s + self.box_idle_s)


def lua_list(values, quoted):
    return "{" + ", ".join(f'"{v}"' if quoted else str(v) for v in values) + "}"


def run_wrk(origin, method, path, tokens, products, *, seconds, connections, workdir):
    """``wrk`` at ``connections`` for ``seconds`` against one endpoint."""
    wrk = shutil.which("wrk")
    assert wrk, "wrk is missing: apt-get install wrk (make system-tools installs it)"
    script = workdir / f"{method.lower()}-{path.strip('/').replace('/', '-')}.lua"
    script.write_text(
        LUA
        % {
            "tokens": lua_list(tokens, quoted=True),
            "products": lua_list(products, quoted=False),
            "method": method,
            "path": path,
        }
    )
    threads = min(connections, os.cpu_count() or 1)
    result = subprocess.run(
        [wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s",
         "-s", str(script), origin],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    )  # fmt: skip
    line = next(line for line in result.stdout.splitlines() if line.startswith("WRK_JSON "))
    return Run(**json.loads(line.removeprefix("WRK_JSON ")))


@dataclass
class Figures:
    site: Run
    ticket: Run
    connections: int
    cpus: int
    # The time the app spent on each ticket (uploads.events duration_ms),
    # without gunicorn's queue: the rest of wrk's latency is waiting.
    ticket_app_ms: list = field(default_factory=list)
    # Each endpoint's rounds, in the order they ran (``site`` and
    # ``ticket`` combine them).
    site_rounds: list = field(default_factory=list)
    ticket_rounds: list = field(default_factory=list)

    @property
    def round_ratios(self):
        """Tickets over site requests per second, round by round."""
        return [
            tickets.per_second / reads.per_second
            for reads, tickets in zip(self.site_rounds, self.ticket_rounds, strict=True)
        ]

    @property
    def rounds(self):
        """Each round's requests per second and CPU per request (the
        workers' and PostgreSQL's) of each endpoint, to tell a round whose
        throughput moved with its CPU from one the box slowed."""
        return [
            {
                "site_per_second": reads.per_second,
                "ticket_per_second": tickets.per_second,
                "site_cpu_ms": reads.cpu_ms_per_request,
                "ticket_cpu_ms": tickets.cpu_ms_per_request,
                "site_busiest_worker_share": reads.busiest_worker_share,
                "ticket_busiest_worker_share": tickets.busiest_worker_share,
            }
            for reads, tickets in zip(self.site_rounds, self.ticket_rounds, strict=True)
        ]

    @property
    def throughput_ratio(self):
        return self.ticket.per_second / self.site.per_second

    @property
    def p99_ratio(self):
        return self.ticket.p99_ms / self.site.p99_ms

    @property
    def app_cpu_ratio(self):
        """The throughput ratio the app's CPU alone allows: site requests'
        CPU over tickets'. Steadier than the throughput, which also follows
        wrk, PostgreSQL and Redis on the same cores."""
        return self.site.app_cpu_ms_per_request / self.ticket.app_cpu_ms_per_request

    @property
    def app_and_db_cpu_ratio(self):
        """The same with PostgreSQL's CPU added."""
        return self.site.cpu_ms_per_request / self.ticket.cpu_ms_per_request

    @property
    def box_cpu_ratio(self):
        """The same with all the box's CPU: what a saturated box allows."""
        return self.site.box_cpu_ms_per_request / self.ticket.box_cpu_ms_per_request

    def table(self):
        rows = [
            f"Tickets under wrk, {self.connections} connections, {self.cpus} CPUs",
            f"  {'endpoint':28} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} "
            f"{'non-2xx':>8}",
        ]
        endpoints = (("GET /api/site/", self.site), ("POST /api/uploads/tickets/", self.ticket))
        for name, run in endpoints:
            rows.append(
                f"  {name:28} {run.per_second:8.1f} {run.p50_ms:8.1f} {run.p99_ms:8.1f} "
                f"{run.max_ms:8.1f} {run.non_2xx + run.socket_errors:8d}"
            )
        if self.ticket_app_ms:
            rows.append(
                f"  tickets in the app: p50 {percentile(self.ticket_app_ms, 0.5):.0f} ms,"
                f" p99 {percentile(self.ticket_app_ms, 0.99):.0f} ms (uploads.events)"
            )
        if len(self.round_ratios) > 1:
            rows.append(
                f"  {len(self.round_ratios)} alternating rounds; tickets/site throughput by round: "
                + ", ".join(f"{ratio:.2f}" for ratio in self.round_ratios)
            )
            rows.append(
                "  the workers' and PostgreSQL's CPU per request by round, site/ticket: "
                + ", ".join(
                    f"{one['site_cpu_ms']:.1f}/{one['ticket_cpu_ms']:.1f} ms" for one in self.rounds
                )
            )
            rows.append(
                "  the busiest worker's share of the workers' CPU by round, site/ticket: "
                + ", ".join(
                    f"{one['site_busiest_worker_share']:.0%}/{one['ticket_busiest_worker_share']:.0%}"
                    for one in self.rounds
                )
            )
        rows.append(
            f"  the workers' CPU per request: site {self.site.app_cpu_ms_per_request:.2f} ms,"
            f" ticket {self.ticket.app_cpu_ms_per_request:.2f} ms;"
            f" the throughput ratio it allows {self.app_cpu_ratio:.2f}"
        )
        rows.append(
            f"  PostgreSQL's CPU per request: site {self.site.db_cpu_ms_per_request:.2f} ms,"
            f" ticket {self.ticket.db_cpu_ms_per_request:.2f} ms;"
            f" with the workers' it allows {self.app_and_db_cpu_ratio:.2f}"
        )
        rows.append(
            f"  the whole box's CPU per request: site {self.site.box_cpu_ms_per_request:.2f} ms,"
            f" ticket {self.ticket.box_cpu_ms_per_request:.2f} ms, so besides the workers and"
            f" PostgreSQL {self.site.box_cpu_ms_per_request - self.site.cpu_ms_per_request:.2f}"
            f" and {self.ticket.box_cpu_ms_per_request - self.ticket.cpu_ms_per_request:.2f} ms;"
            f" it allows {self.box_cpu_ratio:.2f} (idle: {self.site.idle_share:.0%} and"
            f" {self.ticket.idle_share:.0%} of the box, waiting on the disk"
            f" {self.site.iowait_share:.0%} and {self.ticket.iowait_share:.0%})"
        )
        rows.append(
            f"  tickets/site throughput {self.throughput_ratio:.2f}"
            f" (goal {GOALS['throughput_ratio']}),"
            f" p99 ratio {self.p99_ratio:.2f} (goal {GOALS['p99_ratio']})"
        )
        return "\n".join(rows)

    def to_json(self):
        app = self.ticket_app_ms
        return json.dumps(
            {
                "site": {**asdict(self.site), "per_second": self.site.per_second},
                "ticket": {**asdict(self.ticket), "per_second": self.ticket.per_second},
                "ticket_app_p50_ms": app and percentile(app, 0.5),
                "ticket_app_p99_ms": app and percentile(app, 0.99),
                "throughput_ratio": self.throughput_ratio,
                "round_ratios": self.round_ratios,
                "rounds": self.rounds,
                "site_app_cpu_ms_per_request": self.site.app_cpu_ms_per_request,
                "ticket_app_cpu_ms_per_request": self.ticket.app_cpu_ms_per_request,
                "app_cpu_ratio": self.app_cpu_ratio,
                "site_db_cpu_ms_per_request": self.site.db_cpu_ms_per_request,
                "ticket_db_cpu_ms_per_request": self.ticket.db_cpu_ms_per_request,
                "app_and_db_cpu_ratio": self.app_and_db_cpu_ratio,
                "site_box_cpu_ms_per_request": self.site.box_cpu_ms_per_request,
                "ticket_box_cpu_ms_per_request": self.ticket.box_cpu_ms_per_request,
                "box_cpu_ratio": self.box_cpu_ratio,
                "site_idle_share": self.site.idle_share,
                "ticket_idle_share": self.ticket.idle_share,
                "site_iowait_share": self.site.iowait_share,
                "ticket_iowait_share": self.ticket.iowait_share,
                "p99_ratio": self.p99_ratio,
                "connections": self.connections,
                "cpus": self.cpus,
                "goals": GOALS,
            },
            indent=2,
        )


def measure(stack, site, *, seconds, rounds=1, connections=16, workdir):
    """The site endpoint, then tickets, each for ``seconds``, ``rounds``
    times, after a warm-up of a second each: rounds that alternate share
    the box's slow and quick moments, which swing one endpoint's throughput
    by a third between runs minutes apart. ``site`` is a
    tests.support.load.Site whose staff hold enough tokens that no user
    reaches the open-ticket limit."""

    def load(method, path, duration):
        before, db_before, box_before = workers_cpu(stack), database_cpu(), box_cpu()
        run = run_wrk(
            stack.origin, method, path, site.tokens, site.products,
            seconds=duration, connections=connections, workdir=workdir,
        )  # fmt: skip
        after, db_after, box_after = workers_cpu(stack), database_cpu(), box_cpu()
        assert after.keys() == before.keys(), "a worker was replaced: run with --max-requests 0"
        used = [after[pid] - before[pid] for pid in after]
        run.app_cpu_s = sum(used)
        run.busiest_worker_share = max(used) / run.app_cpu_s
        run.db_cpu_s = db_after - db_before
        # Subtracted in ticks, then made seconds: the disk's wait stays
        # within the idle time it is part of.
        run.box_cpu_s, run.box_idle_s, run.box_iowait_s = (
            (a - b) / TICK for a, b in zip(box_after, box_before, strict=True)
        )
        return run

    load("GET", "/api/site/", 1)
    load("POST", "/api/uploads/tickets/", 1)
    warm = len(ticket_events(stack, site))
    site_runs, ticket_runs = [], []
    for _ in range(rounds):
        site_runs.append(load("GET", "/api/site/", seconds))
        ticket_runs.append(load("POST", "/api/uploads/tickets/", seconds))
    return Figures(
        site=Run.combined(site_runs),
        ticket=Run.combined(ticket_runs),
        connections=connections,
        cpus=os.cpu_count(),
        ticket_app_ms=[event["duration_ms"] for event in ticket_events(stack, site)[warm:]],
        site_rounds=site_runs,
        ticket_rounds=ticket_runs,
    )


def workers_cpu(stack):
    """The app's gunicorn workers, each with the CPU seconds (user and
    system) it has used so far."""
    return {pid: cpu_seconds(pid) for pid in stack.worker_pids()}


def box_cpu():
    """The clock ticks all the box's cores have been busy so far (user,
    nice, system, interrupts; not the time the hypervisor gave to other
    machines), those they sat idle (waiting for the disk included), and
    those of that they waited for the disk, from the first line of
    /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    user, nice, system, idle, iowait, irq, softirq = fields[:7]
    return user + nice + system + irq + softirq, idle + iowait, iowait


def database_cpu():
    """The CPU seconds the PostgreSQL server on this machine has used so
    far: its live processes, and the backends that ended (a connection
    closed after ``CONN_MAX_AGE``), counted in the postmaster's children's
    time. The whole server: the benchmark's database is its only busy one."""
    processes = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            command, _, rest = stat.read_text().partition(") ")
        except OSError:  # the process ended meanwhile
            continue
        if command.endswith("(postgres"):
            processes[int(stat.parent.name)] = int(rest.split()[1])  # its parent
    total = 0.0
    for pid, parent in processes.items():
        try:
            total += cpu_seconds(pid, reaped=parent not in processes)
        except OSError:
            continue
    return total


def ticket_events(stack, site):
    return [event for event in stack.events([site]) if event["event"] == "ticket"]


def report(figures, folder):
    """Print the table; write the figures to ``folder``/tickets.json."""
    return write_report(figures.table(), figures.to_json(), folder, "tickets")
