"""Watch decisions, without HTTP or real sleeping: windows in, verdict out."""

import math

from shipwright.checks.metrics import PASS, ROLLBACK, WARN, ScrapeError, Thresholds, Window
from shipwright.checks.watch import Watcher, run_watch, take_baseline

T = Thresholds(error_rate_max=0.01, error_rate_rollback=0.05, p95_max_ms=500, min_requests=20)


def win(requests, errors, fast=True):
    buckets = {0.05: requests, math.inf: requests} if fast else {1.0: requests, math.inf: requests}
    return Window(requests, errors, buckets)


class FakeClock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedSource:
    """Cumulative windows in order; an exception instance is raised instead."""

    def __init__(self, windows, baseline=None):
        self.windows = list(windows)
        self._baseline = baseline
        self.calls = 0

    def baseline(self):
        if isinstance(self._baseline, Exception):
            raise self._baseline
        return self._baseline

    def begin(self):
        pass

    def window(self):
        item = self.windows[min(self.calls, len(self.windows) - 1)]
        self.calls += 1
        if isinstance(item, Exception):
            raise item
        return item


def test_healthy_window_runs_to_the_end_and_passes():
    clock = FakeClock()
    source = ScriptedSource([win(50 * i, 0) for i in range(1, 20)])
    result = run_watch(
        source, win(1000, 2), seconds=5, interval=1, thresholds=T, clock=clock, sleep=clock.sleep
    )
    assert result.verdict == PASS, result.reasons
    assert not result.ended_early
    assert len(result.samples) == 5 and source.calls == 5
    assert result.requests == 250 and result.error_rate == 0
    assert result.seconds == 5


def test_rolls_back_early_once_enough_requests_fail():
    clock = FakeClock()
    # 10 requests (half failing) is too few; at 60 requests 30 failed: roll back now
    source = ScriptedSource([win(10, 5), win(60, 30), win(120, 60)])
    result = run_watch(
        source, None, seconds=300, interval=10, thresholds=T, clock=clock, sleep=clock.sleep
    )
    assert result.verdict == ROLLBACK and result.rollback
    assert result.ended_early and source.calls == 2
    assert result.seconds == 20  # not the whole 300 s window
    assert "error rate 50.00%" in result.reasons[0]


def test_late_failure_is_caught_in_the_latest_interval():
    w = Watcher(None, T)
    assert not w.observe(10, win(1000, 0))
    # cumulative: 30 / 1100 = 2.7% (below 5%), but the last 100 requests were 30% errors
    assert w.observe(20, win(1100, 30))
    assert "in the last interval" in w.early
    assert w.result(20).verdict == ROLLBACK


def test_few_requests_never_roll_back_early():
    w = Watcher(None, T)
    assert not w.observe(1, win(10, 9))
    result = w.result(1)
    assert result.verdict == WARN


def test_warn_between_max_and_rollback():
    w = Watcher(win(1000, 20), T)
    w.observe(5, win(1000, 30))
    result = w.result(5)
    assert result.verdict == WARN and result.spike == 1.5


def test_slow_release_warns_not_rolls_back():
    w = Watcher(None, T)
    w.observe(5, win(1000, 0, fast=False))
    result = w.result(5)
    assert result.verdict == WARN and result.p95_ms > 500


def test_lost_scrapes_are_recorded_and_watch_goes_on():
    clock = FakeClock()
    source = ScriptedSource(
        [ScrapeError("GET /metrics: connection refused"), win(100, 0), win(200, 0)]
    )
    result = run_watch(
        source, None, seconds=3, interval=1, thresholds=T, clock=clock, sleep=clock.sleep
    )
    assert result.verdict == WARN  # measured fine, but one poll was blind
    assert result.error_rate == 0
    assert any("could not read metrics" in r for r in result.reasons)
    assert result.samples[0].error and result.samples[0].window is None


def test_no_metrics_at_all_warns():
    clock = FakeClock()
    source = ScriptedSource([ScrapeError("GET /metrics: HTTP 404")])
    result = run_watch(
        source, None, seconds=2, interval=1, thresholds=T, clock=clock, sleep=clock.sleep
    )
    assert result.verdict == WARN
    assert "metrics unavailable" in result.reasons[0] and "HTTP 404" in result.reasons[0]


def test_zero_second_window_takes_one_sample():
    clock = FakeClock()
    source = ScriptedSource([win(100, 0)])
    result = run_watch(
        source, None, seconds=0, interval=1, thresholds=T, clock=clock, sleep=clock.sleep
    )
    assert source.calls == 1 and result.verdict == PASS and clock.sleeps == []


def test_on_sample_sees_every_poll_and_result_is_json_ready():
    clock = FakeClock()
    seen = []
    source = ScriptedSource([win(100, 0), win(200, 1)])
    result = run_watch(
        source,
        None,
        seconds=2,
        interval=1,
        thresholds=T,
        clock=clock,
        sleep=clock.sleep,
        on_sample=seen.append,
    )
    assert [s.elapsed for s in seen] == [1, 2]
    data = result.to_dict()
    assert data["verdict"] == PASS and data["requests"] == 200
    assert data["samples"][1]["interval"]["requests"] == 100


def test_baseline_that_cannot_be_read_is_none():
    assert take_baseline(ScriptedSource([], baseline=ScrapeError("refused"))) is None
    assert take_baseline(ScriptedSource([], baseline=win(5, 0))).requests == 5
