using System;
using System.Collections.Generic;
using TcpProxy.Reactor;

namespace TcpProxy.Tests.Unit;

public sealed class TimerWheelTests
{
    private const int Tick = 10;

    [Fact]
    public void Timers_FireInDeadlineOrder_NeverEarly()
    {
        var wheel = new TimerWheel(0, Tick, 64);
        var fired = new List<(int Id, long At)>();
        long now = 0;
        int[] deadlines = [250, 30, 120, 30, 5, 400];
        for (int i = 0; i < deadlines.Length; i++)
        {
            int id = i;
            wheel.Arm(new LoopTimer(() => fired.Add((id, now))), deadlines[i]);
        }
        for (now = 0; now <= 500; now += 1)
            wheel.Advance(now);
        Assert.Equal(new[] { 4, 1, 3, 2, 0, 5 }, fired.ConvertAll(f => f.Id).ToArray());
        foreach ((int id, long at) in fired)
        {
            Assert.True(at >= deadlines[id], $"timer {id} fired at {at}, before {deadlines[id]}");
            Assert.True(at < deadlines[id] + Tick, $"timer {id} fired at {at}, over a tick after {deadlines[id]}");
        }
        Assert.Equal(0, wheel.ArmedCount);
    }

    [Fact]
    public void CancelledTimer_NeverFires()
    {
        var wheel = new TimerWheel(0, Tick, 64);
        int fired = 0;
        var timer = new LoopTimer(() => fired++);
        wheel.Arm(timer, 100);
        wheel.Advance(50);
        wheel.Cancel(timer);
        Assert.False(timer.IsArmed);
        wheel.Advance(1000);
        Assert.Equal(0, fired);
        wheel.Cancel(timer); // cancelling twice is harmless
    }

    [Fact]
    public void DeadlineBeyondOneRevolution_WaitsForItsRound()
    {
        var wheel = new TimerWheel(0, Tick, 16); // one revolution = 160 ms
        long firedAt = -1;
        long now = 0;
        wheel.Arm(new LoopTimer(() => firedAt = now), 1_005);
        for (now = 0; now <= 2_000; now += 7)
            wheel.Advance(now);
        Assert.InRange(firedAt, 1_005, 1_005 + Tick + 7);
    }

    [Fact]
    public void PushingADeadlineBack_FiresAtTheNewDeadlineOnly()
    {
        var wheel = new TimerWheel(0, Tick, 64);
        var firings = new List<long>();
        long now = 0;
        var timer = new LoopTimer(() => firings.Add(now));
        wheel.Arm(timer, 100);
        for (now = 0; now <= 1_000; now += 5)
        {
            if (now == 80)
                wheel.Arm(timer, 300); // the stall timer's re-arm on every write
            wheel.Advance(now);
        }
        Assert.Single(firings);
        Assert.InRange(firings[0], 300, 300 + Tick);
    }

    [Fact]
    public void BringingADeadlineForward_FiresEarlier()
    {
        var wheel = new TimerWheel(0, Tick, 64);
        long firedAt = -1;
        long now = 0;
        var timer = new LoopTimer(() => firedAt = now);
        wheel.Arm(timer, 500);
        wheel.Arm(timer, 50);
        for (now = 0; now <= 1_000; now += 5)
            wheel.Advance(now);
        Assert.InRange(firedAt, 50, 50 + Tick);
    }

    [Fact]
    public void CallbackThatCancelsAnotherDueTimer_PreventsItFromFiring()
    {
        var wheel = new TimerWheel(0, Tick, 64);
        int fired = 0;
        LoopTimer? a = null, b = null;
        // Due in the same tick, each cancels the other: exactly one may run.
        a = new LoopTimer(() => { fired++; wheel.Cancel(b!); });
        b = new LoopTimer(() => { fired++; wheel.Cancel(a!); });
        wheel.Arm(a, 100);
        wheel.Arm(b, 100);
        wheel.Advance(200);
        Assert.Equal(1, fired);
        Assert.Equal(0, wheel.ArmedCount);
    }

    [Fact]
    public void CallbackThatRearmsItself_RunsPeriodically()
    {
        var wheel = new TimerWheel(0, Tick, 64);
        var firings = new List<long>();
        long now = 0;
        LoopTimer? timer = null;
        timer = new LoopTimer(() =>
        {
            firings.Add(now);
            if (firings.Count < 5)
                wheel.Arm(timer!, now + 100);
        });
        wheel.Arm(timer, 100);
        for (now = 0; now <= 2_000; now += 10)
            wheel.Advance(now);
        Assert.Equal(new long[] { 100, 200, 300, 400, 500 }, firings.ToArray());
    }

    [Fact]
    public void AdvanceAfterALongPause_FiresEverythingDue()
    {
        var wheel = new TimerWheel(0, Tick, 16);
        int fired = 0;
        for (int i = 0; i < 100; i++)
            wheel.Arm(new LoopTimer(() => fired++), 10 + i * 37);
        wheel.Advance(60_000);
        Assert.Equal(100, fired);
    }

    [Fact]
    public void LongRun_ManyTimers_EachFiresOnceWithinATickOfItsDeadline()
    {
        var random = new Random(42);
        var wheel = new TimerWheel(0, Tick, 256);
        const int Count = 100_000;
        var deadlines = new long[Count];
        var firedAt = new long[Count];
        var timers = new LoopTimer[Count];
        long now = 0;
        for (int i = 0; i < Count; i++)
        {
            int id = i;
            firedAt[i] = -1;
            deadlines[i] = random.Next(0, 30_000);
            timers[i] = new LoopTimer(() =>
            {
                Assert.Equal(-1, firedAt[id]);
                firedAt[id] = now;
            });
            wheel.Arm(timers[i], deadlines[i]);
        }
        // Cancel every tenth; push every seventh back.
        for (int i = 0; i < Count; i += 10)
            wheel.Cancel(timers[i]);
        for (int i = 3; i < Count; i += 7)
        {
            if (timers[i].IsArmed)
            {
                deadlines[i] += 5_000;
                wheel.Arm(timers[i], deadlines[i]);
            }
        }
        for (now = 0; now <= 40_000; now += random.Next(1, 25))
            wheel.Advance(now);
        wheel.Advance(now);
        for (int i = 0; i < Count; i++)
        {
            if (i % 10 == 0)
            {
                Assert.Equal(-1, firedAt[i]);
                continue;
            }
            Assert.True(firedAt[i] >= deadlines[i], $"timer {i} early: {firedAt[i]} < {deadlines[i]}");
            Assert.True(firedAt[i] < deadlines[i] + Tick + 25, $"timer {i} late: {firedAt[i]} vs {deadlines[i]}");
        }
        Assert.Equal(0, wheel.ArmedCount);
    }

    private const long Week = 7L * 24 * 3600 * 1000;

    [Fact]
    public void FirstTimerArmedAfterAWeekIdle_CatchUpVisitsAtMostOneRotation_AndTheTimerFiresOnTime()
    {
        const int Slots = 1024;
        var wheel = new TimerWheel(0, Tick, Slots);
        wheel.Advance(5);
        // The loop slept in epoll_wait(-1) for a week with nothing armed; the
        // event that woke it arms a stall timer before the loop advances the wheel.
        long now = Week;
        long firedAt = -1;
        wheel.Arm(new LoopTimer(() => firedAt = now), now + 10_000);
        long visited = wheel.SlotsVisited;
        wheel.Advance(now);
        visited = wheel.SlotsVisited - visited;
        Assert.True(visited <= Slots, $"catching up on a week visited {visited} slots");
        Assert.Equal(-1, firedAt);
        for (now = Week + 1; now <= Week + 12_000 && firedAt < 0; now++)
            wheel.Advance(now);
        Assert.InRange(firedAt, Week + 10_000, Week + 10_000 + Tick - 1);
    }

    [Fact]
    public void LoopStalledForAWeek_TimersDueBeforeDuringAndAfterTheGap_FireExactlyOnceWhenDue()
    {
        const int Slots = 1024; // one rotation: 10.24 s
        var wheel = new TimerWheel(0, Tick, Slots);
        long now = 0;
        var fired = new Dictionary<string, long>();
        LoopTimer Timer(string name) => new(() => fired.Add(name, now)); // Add throws if one fires twice

        wheel.Arm(Timer("before"), 50);
        wheel.Arm(Timer("in the gap, first hour"), 3_600_000);
        wheel.Arm(Timer("in the gap, day 3"), 3 * 86_400_000L + 5);
        wheel.Arm(Timer("in the gap, last tick"), Week);
        wheel.Arm(Timer("after the gap, same rotation"), Week + 2_000);
        wheel.Arm(Timer("after the gap, next rotation"), Week + 20_000);
        for (now = 0; now <= 100; now++)
            wheel.Advance(now);
        Assert.Equal(50, Assert.Single(fired).Value);

        // The loop thread was stopped (SIGSTOP, a suspended VM) for a week. On
        // waking, events are dispatched before the wheel advances: they arm timers too.
        now = Week;
        wheel.Arm(Timer("armed on waking, due now"), Week);
        wheel.Arm(Timer("armed on waking, due in 30 ms"), Week + 30);
        long visited = wheel.SlotsVisited;
        wheel.Advance(now);
        visited = wheel.SlotsVisited - visited;
        Assert.True(visited <= Slots, $"catching up on a week visited {visited} slots");
        foreach (string name in new[] { "in the gap, first hour", "in the gap, day 3", "in the gap, last tick", "armed on waking, due now" })
            Assert.Equal(Week, fired[name]); // overdue: all at once, on waking
        Assert.Equal(5, fired.Count);

        for (now = Week + 1; now <= Week + 25_000; now++)
            wheel.Advance(now);
        AssertFiredWithinATick(fired, "armed on waking, due in 30 ms", Week + 30);
        AssertFiredWithinATick(fired, "after the gap, same rotation", Week + 2_000);
        AssertFiredWithinATick(fired, "after the gap, next rotation", Week + 20_000);
        Assert.Equal(8, fired.Count);
        Assert.Equal(0, wheel.ArmedCount);
    }

    [Fact]
    public void RandomJumpsOfUpToFiftyRotations_EachTimerFiresOnceAtTheFirstAdvanceOfItsTick()
    {
        const int Slots = 64; // one rotation: 640 ms
        var random = new Random(7);
        var wheel = new TimerWheel(0, Tick, Slots);
        var samples = new List<long>();
        var timers = new List<(long ArmedAt, long Deadline)>();
        var firedAt = new List<long>();
        long now = 0;
        long maxVisited = 0;
        for (int step = 0; step < 2_000; step++)
        {
            // Mostly short steps, sometimes a stall of up to 50 rotations.
            now += random.Next(10) < 7 ? random.Next(1, 25) : random.Next(1_000, 32_000);
            samples.Add(now);
            // Armed on waking, before the wheel advances, as event callbacks do.
            for (int k = random.Next(4); k > 0; k--)
            {
                int id = timers.Count;
                timers.Add((now, now + random.Next(0, 20_000)));
                firedAt.Add(-1);
                wheel.Arm(new LoopTimer(() =>
                {
                    Assert.Equal(-1, firedAt[id]);
                    firedAt[id] = now;
                }), timers[id].Deadline);
            }
            long visited = wheel.SlotsVisited;
            wheel.Advance(now);
            maxVisited = Math.Max(maxVisited, wheel.SlotsVisited - visited);
        }
        Assert.True(maxVisited <= Slots, $"one advance visited {maxVisited} slots");
        for (int id = 0; id < timers.Count; id++)
        {
            // Due in the tick holding the deadline, rounded up: it fires at the first advance that reaches that tick.
            long dueTick = (timers[id].Deadline + Tick - 1) / Tick;
            long expected = samples.Find(t => t >= timers[id].ArmedAt && t / Tick >= dueTick);
            if (expected == 0)
                expected = -1; // beyond the last advance: must not have fired
            Assert.True(expected == firedAt[id], $"timer {id} (armed {timers[id].ArmedAt}, deadline {timers[id].Deadline}) fired at {firedAt[id]}, expected {expected}");
        }
    }

    private static void AssertFiredWithinATick(Dictionary<string, long> fired, string name, long deadline)
    {
        Assert.True(fired.TryGetValue(name, out long at), $"'{name}' never fired");
        Assert.InRange(at, deadline, deadline + Tick - 1);
    }

    [Fact]
    public void MillisecondsUntilNextDue_IsMinusOneWhenIdle_AndBoundedOtherwise()
    {
        var wheel = new TimerWheel(0, Tick, 64);
        Assert.Equal(-1, wheel.MillisecondsUntilNextDue(0));
        wheel.Arm(new LoopTimer(() => { }), 55);
        int wait = wheel.MillisecondsUntilNextDue(0);
        Assert.InRange(wait, 55, 60);
    }
}
