"""Metrics math on real Prometheus text: parsing, deltas, restarts, p95, the verdict."""

import json
import math
from urllib.parse import parse_qs, urlsplit

import flowkit
import pytest

from shipwright.checks.metrics import (
    PASS,
    ROLLBACK,
    WARN,
    PrometheusSource,
    ScrapeError,
    Thresholds,
    Window,
    delta,
    judge,
    lifetime,
    parse_metrics,
    quantile,
    restarted,
)

# fixtures (see flowkit's docstring for why they are not in a conftest.py)
receiver = flowkit.receiver

# What the sample app serves (app/src/metrics.js), counters cumulative since start.
APP_TEXT = """\
# HELP http_requests_total Total HTTP requests by method and status code.
# TYPE http_requests_total counter
http_requests_total{{method="GET",status="200"}} {ok}
http_requests_total{{method="GET",status="404"}} 3
http_requests_total{{method="GET",status="500"}} {err}
http_requests_total{{method="POST",status="503"}} {err2}
# HELP http_request_duration_seconds HTTP request duration in seconds.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{{le="0.005"}} {b1}
http_request_duration_seconds_bucket{{le="0.01"}} {b1}
http_request_duration_seconds_bucket{{le="0.1"}} {b2}
http_request_duration_seconds_bucket{{le="0.25"}} {b3}
http_request_duration_seconds_bucket{{le="0.5"}} {b4}
http_request_duration_seconds_bucket{{le="+Inf"}} {b4}
http_request_duration_seconds_sum 1.5
http_request_duration_seconds_count {b4}
# HELP app_info Build information; always 1.
# TYPE app_info gauge
app_info{{version="develop-1a2b3c4",revision="1a2b3c4"}} 1
# HELP app_uptime_seconds Seconds since the server started.
# TYPE app_uptime_seconds gauge
app_uptime_seconds {up}
"""


def app_text(ok=100, err=0, err2=0, b=(10, 50, 90, 103), up=10.0):
    return APP_TEXT.format(ok=ok, err=err, err2=err2, b1=b[0], b2=b[1], b3=b[2], b4=b[3], up=up)


# With a path label (e.g. prom-client's express middleware): probes can be left out.
PATH_TEXT = """\
# TYPE http_requests_total counter
http_requests_total{method="GET",route="/api/items",code="200"} 90
http_requests_total{method="GET",route="/api/items",code="502"} 10
http_requests_total{method="GET",route="/health",code="200"} 500
http_requests_total{method="GET",route="/metrics",code="200"} 50
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{route="/api/items",le="0.1"} 100
http_request_duration_seconds_bucket{route="/api/items",le="+Inf"} 100
http_request_duration_seconds_bucket{route="/health",le="0.1"} 500
http_request_duration_seconds_bucket{route="/health",le="+Inf"} 500
http_request_duration_seconds_sum{route="/api/items"} 2
http_request_duration_seconds_count{route="/api/items"} 100
# TYPE process_start_time_seconds gauge
process_start_time_seconds 1700000000
"""


def test_parse_app_text_counts_everything_without_path_labels():
    snap = parse_metrics(app_text(ok=100, err=4, err2=1))
    window = lifetime(snap)
    assert not snap.by_path
    assert window.requests == 100 + 3 + 4 + 1
    assert window.errors == 5  # 500 and 503; the 404s are not server errors
    assert snap.uptime == 10.0
    assert snap.buckets[math.inf] == 103


def test_parse_excludes_probe_paths_when_labelled():
    snap = parse_metrics(PATH_TEXT)
    window = lifetime(snap)
    assert snap.by_path
    assert window.requests == 100 and window.errors == 10
    assert window.error_rate == pytest.approx(0.10)
    assert snap.buckets == {0.1: 100, math.inf: 100}  # /health's buckets left out
    assert snap.uptime is not None and snap.uptime > 0  # from process_start_time_seconds


def test_not_prometheus_text_is_a_scrape_error():
    with pytest.raises(ScrapeError):
        parse_metrics('http_requests_total{method="GET" 1\n')


def test_quantile_interpolates_inside_the_bucket():
    buckets = {0.1: 50, 0.25: 90, 0.5: 100, math.inf: 100}
    # rank 95 falls in (0.25, 0.5] which holds 10: 0.25 + 0.25 * (95 - 90) / 10
    assert quantile(buckets, 0.95) == pytest.approx(0.375)
    # rank 25 in the first bucket interpolates from 0
    assert quantile(buckets, 0.25) == pytest.approx(0.05)
    assert quantile({0.1: 0, math.inf: 0}) is None
    # in the +Inf bucket: the highest finite bound (nothing to interpolate to)
    assert quantile({0.1: 1, 0.5: 2, math.inf: 100}, 0.95) == 0.5


def test_delta_between_two_scrapes_and_p95_from_bucket_deltas():
    before = parse_metrics(app_text(ok=100, err=0, b=(10, 50, 90, 103), up=10), taken_at=1.0)
    after = parse_metrics(app_text(ok=150, err=50, b=(10, 60, 140, 203), up=20), taken_at=6.0)
    assert not restarted(before, after)
    window = delta(before, after)
    assert window.requests == 100 and window.errors == 50
    assert window.error_rate == 0.5
    assert window.seconds == 5.0
    # 100 new observations: 10 in (0.01, 0.1], 40 in (0.1, 0.25], 50 in (0.25, 0.5]
    # rank 95 -> 0.25 + 0.25 * (95 - 50) / 50
    assert window.p95_ms == pytest.approx((0.25 + 0.25 * 45 / 50) * 1000)


def test_restart_makes_the_new_counters_the_delta():
    old = parse_metrics(app_text(ok=5000, err=3, b=(10, 3000, 5000, 5006), up=900))
    new = parse_metrics(app_text(ok=40, err=10, b=(10, 20, 50, 53), up=4))
    assert restarted(old, new)
    window = delta(old, new)
    assert window.requests == 53 and window.errors == 10


def test_own_scrapes_are_taken_off_when_paths_are_unknown():
    before = parse_metrics(app_text(ok=100))
    after = parse_metrics(app_text(ok=103))
    assert delta(before, after, own_requests=3).requests == 0
    labelled = parse_metrics(PATH_TEXT)
    assert delta(labelled, labelled, own_requests=3).requests == 0


def test_window_minus_gives_the_latest_interval():
    first = Window(100, 1, {0.1: 100, math.inf: 100}, 10)
    second = Window(200, 51, {0.1: 120, 0.5: 200, math.inf: 200}, 20)
    latest = second.minus(first)
    assert latest.requests == 100 and latest.errors == 50 and latest.seconds == 10
    assert latest.p95_ms is not None and latest.p95_ms > 100


# -- the verdict -------------------------------------------------------------------------
T = Thresholds(error_rate_max=0.01, error_rate_rollback=0.05, p95_max_ms=500, min_requests=20)
FAST = {0.1: 1000, math.inf: 1000}


def w(requests, errors, buckets=None):
    return Window(requests, errors, buckets if buckets is not None else dict(FAST))


def levels(verdict):
    return {rule: level for rule, level, _ in verdict.rules}


def test_healthy_window_passes():
    verdict = judge(w(1000, 2), w(1000, 3), T)
    assert verdict.verdict == PASS, verdict.reasons
    assert verdict.error_rate == 0.002 and verdict.p95_ms < 500
    assert all(c.ok for c in verdict.checks)


def test_between_max_and_rollback_warns():
    verdict = judge(w(1000, 30), w(1000, 20), T)
    assert verdict.verdict == WARN
    assert levels(verdict)["error rate"] == WARN


def test_above_rollback_threshold_rolls_back():
    verdict = judge(w(1000, 80), w(1000, 20), T)
    assert verdict.verdict == ROLLBACK
    assert any("error rate" in r for r in verdict.reasons)
    assert not all(c.ok for c in verdict.checks)


def test_too_few_requests_never_roll_back():
    verdict = judge(w(5, 3), None, T)
    assert verdict.verdict == WARN
    assert "not judged" in " ".join(verdict.reasons)


def test_slow_p95_warns():
    slow = {0.25: 10, 1.0: 1000, math.inf: 1000}
    verdict = judge(w(1000, 0, slow), None, T)
    assert verdict.verdict == WARN and levels(verdict)["p95 latency"] == WARN


@pytest.mark.parametrize(
    ("baseline_errors", "errors", "expected_spike", "level"),
    [
        (10, 15, 1.5, PASS),  # 1.5x of 1%: target met
        (6, 18, 3.0, WARN),  # 3x: within critical
        (6, 36, 6.0, ROLLBACK),  # 6x of 0.6% = 3.6% (above the 1% max): critical
    ],
)
def test_spike_against_baseline(baseline_errors, errors, expected_spike, level):
    verdict = judge(w(1000, errors), w(1000, baseline_errors), T)
    assert verdict.spike == pytest.approx(expected_spike)
    assert levels(verdict)["error spike"] == level


def test_zero_baseline_uses_a_floor_not_infinity():
    # An error-free baseline: the floor is max / 2 = 0.5%, so 0.3% now is 0.6x (pass)
    verdict = judge(w(1000, 3), w(1000, 0), T)
    assert verdict.spike == pytest.approx(0.6)
    assert verdict.verdict == PASS
    # 3% after 0%: 6x the floor, and above the max -> critical spike
    verdict = judge(w(1000, 30), w(1000, 0), T)
    assert levels(verdict)["error spike"] == ROLLBACK
    # no traffic before and none now: no spike at all
    assert judge(w(0, 0, {}), w(0, 0, {}), T).spike is None


def test_tiny_baseline_sample_is_ignored():
    # 1 error in 2 requests before is noise: the floor is used instead of 50%
    verdict = judge(w(1000, 2), w(2, 1), T)
    assert verdict.spike == pytest.approx(0.002 / 0.005)


def test_no_traffic_warns_but_never_rolls_back():
    verdict = judge(w(0, 0, {}), None, T)
    assert verdict.verdict == WARN
    assert verdict.to_dict()["error_rate"] is None


# -- Prometheus server source ------------------------------------------------------------
def vector(value):
    return json.dumps(
        {
            "status": "success",
            "data": {"resultType": "vector", "result": [{"metric": {}, "value": [1, value]}]},
        }
    )


def test_prometheus_source_queries_with_the_window(receiver):
    def answer(got):
        query = parse_qs(urlsplit(got.path).query)["query"][0]
        if "histogram_quantile" in query:
            return vector("0.3")
        return vector("0.075") if "errors" in query else vector("400")

    prom = receiver(reply=answer)
    source = PrometheusSource(
        prom.url,
        {"error_rate": 'sum(rate(errors{job="app"}[$window]))'},
        clock=iter([100.0, 130.4]).__next__,
    )
    source.begin()
    window = source.window()
    assert all(
        r.method == "GET" and r.path.startswith("/api/v1/query?query=") for r in prom.requests
    )
    queries = [parse_qs(urlsplit(r.path).query)["query"][0] for r in prom.requests]
    assert queries[0] == "sum(increase(http_requests_total[31s]))"
    assert queries[1] == 'sum(rate(errors{job="app"}[31s]))'
    assert "histogram_quantile(0.95" in queries[2] and "[31s]" in queries[2]
    assert window.requests == 400 and window.errors == pytest.approx(30)
    assert window.error_rate == pytest.approx(0.075)
    assert window.p95_ms == pytest.approx(300)
    assert window.seconds == pytest.approx(30.4)
    assert judge(window, None, T).verdict == ROLLBACK


def test_prometheus_empty_and_nan_answers_mean_no_data(receiver):
    prom = receiver(
        reply=json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}})
    )
    source = PrometheusSource(prom.url)
    assert source.query("up") is None
    prom.reply = json.dumps(
        {"status": "success", "data": {"resultType": "vector", "result": [{"value": [1, "NaN"]}]}}
    )
    assert source.query("up") is None
    prom.reply = json.dumps(
        {"status": "success", "data": {"resultType": "scalar", "result": [1, "2"]}}
    )
    assert source.query("up") == 2.0


def test_prometheus_errors_are_scrape_errors(receiver):
    prom = receiver(status=400, reply=json.dumps({"status": "error", "error": "parse error"}))
    with pytest.raises(ScrapeError, match="HTTP 400"):
        PrometheusSource(prom.url).query("sum(")
    prom.status, prom.reply = 200, "<html>"
    with pytest.raises(ScrapeError, match="not a query result"):
        PrometheusSource(prom.url).query("up")
