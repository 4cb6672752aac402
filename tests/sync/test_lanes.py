"""The lane planner (pure): events first, one ordered lane while small, live never starved by a backlog."""

from __future__ import annotations

from edge_agent.sync.lanes import Lane, LanePlanner, Pick, TokenBucket


def planner(**kw: float) -> LanePlanner:
    args = {"batch": 100, "live_split": 1000, "drain_rate": 500.0, "now": 0.0} | kw
    return LanePlanner(batch=int(args["batch"]), live_split=int(args["live_split"]),
                       drain_rate=args["drain_rate"], now=args["now"])


def lanes(picks: list[Pick]) -> list[Lane]:
    return [p.lane for p in picks]


def test_small_outbox_uses_one_ordered_lane_after_events() -> None:
    plan = planner()
    picks = plan.picks(last_seq=50, now=0.0)
    assert lanes(picks) == [Lane.EVENTS, Lane.LIVE]
    assert picks[1].after == 0 and picks[1].before is None


def test_cursor_advances_past_what_was_handed_out() -> None:
    plan = planner()
    live = plan.picks(50, 0.0)[1]
    plan.advance(live, last_seq_sent=37, count=37, now=0.0)
    assert plan.picks(50, 0.0)[1].after == 37


def test_large_backlog_splits_into_live_and_backlog_lanes() -> None:
    plan = planner()
    picks = plan.picks(last_seq=5000, now=0.0)
    assert lanes(picks) == [Lane.EVENTS, Lane.LIVE, Lane.BACKLOG]
    live, backlog = picks[1], picks[2]
    assert live.after == 5000, "live data starts after what was already waiting"
    assert backlog.after == 0 and backlog.before == 5001


def test_backlog_is_throttled_by_the_drain_rate_while_live_data_flows() -> None:
    plan = planner(batch=100, drain_rate=200.0)
    now = 0.0
    sent = 0
    live_seq = 100_000
    while now < 10.0:
        for pick in plan.picks(last_seq=live_seq, now=now):
            if pick.lane is Lane.LIVE:
                live_seq += 1
                plan.advance(pick, live_seq, 1, now)
            if pick.lane is Lane.BACKLOG:
                plan.advance(pick, pick.after + pick.limit, pick.limit, now)
                sent += pick.limit
        now += 0.01
    assert 200 * 10 <= sent <= 200 * 10 + 200, sent


def test_backlog_goes_at_full_speed_when_live_is_idle() -> None:
    plan = planner(batch=100, drain_rate=200.0)
    sent = 0
    for step in range(100):
        now = step * 0.01
        backlog = plan.picks(last_seq=100_000, now=now)[-1]
        assert backlog.lane is Lane.BACKLOG and backlog.limit == 100
        plan.advance(backlog, backlog.after + backlog.limit, backlog.limit, now)
        sent += backlog.limit
    assert sent == 10_000, "an idle live lane must not slow the drain"


def test_drained_backlog_merges_back_into_one_lane() -> None:
    plan = planner()
    picks = plan.picks(5000, 0.0)
    live = picks[1]
    plan.advance(live, 5020, 20, 0.0)
    plan.exhausted(picks[2])
    assert not plan.split
    merged = plan.picks(5020, 1.0)
    assert lanes(merged) == [Lane.EVENTS, Lane.LIVE] and merged[1].after == 5020


def test_rewind_offers_everything_again() -> None:
    plan = planner()
    pick = plan.picks(10, 0.0)[1]
    plan.advance(pick, 10, 10, 0.0)
    plan.rewind()
    assert plan.picks(10, 0.0)[1].after == 0


def test_token_bucket_refills_at_rate_up_to_burst() -> None:
    bucket = TokenBucket(rate=10.0, burst=20.0, now=0.0)
    bucket.take(20, 0.0)
    assert bucket.available(1.0) == 10.0
    assert bucket.available(100.0) == 20.0
    assert bucket.wait_for(15, 100.0) == 0.0


def test_an_empty_events_lane_is_not_asked_again_until_the_store_writes_an_event() -> None:
    plan = planner()
    first = plan.picks(10, 0.0, events_written=3)
    assert lanes(first) == [Lane.EVENTS, Lane.LIVE] and first[0].events_written == 3
    plan.exhausted(first[0])  # the store had no unsent event after the cursor, its count being 3
    assert lanes(plan.picks(10, 0.0, events_written=3)) == [Lane.LIVE]
    assert lanes(plan.picks(10, 0.0, events_written=4)) == [Lane.EVENTS, Lane.LIVE]  # an event may wait now
    assert lanes(plan.picks(10, 0.0)) == [Lane.EVENTS, Lane.LIVE]  # count unknown: always asked


def test_a_count_taken_before_an_event_was_found_never_clears_the_lane_for_a_later_count() -> None:
    plan = planner()
    stale = plan.picks(10, 0.0, events_written=3)[0]
    fresh = plan.picks(10, 0.0, events_written=4)[0]
    plan.exhausted(stale)  # a read made with the count at 3 came back empty...
    assert lanes(plan.picks(10, 0.0, events_written=4)) == [Lane.EVENTS, Lane.LIVE]  # ...that says nothing of 4
    plan.exhausted(fresh)
    assert lanes(plan.picks(10, 0.0, events_written=4)) == [Lane.LIVE]


def test_rewind_asks_the_events_lane_again() -> None:
    plan = planner()
    plan.exhausted(plan.picks(10, 0.0, events_written=3)[0])
    plan.rewind()  # events handed out but never acknowledged are offered again: the store must be read
    assert lanes(plan.picks(10, 0.0, events_written=3)) == [Lane.EVENTS, Lane.LIVE]
