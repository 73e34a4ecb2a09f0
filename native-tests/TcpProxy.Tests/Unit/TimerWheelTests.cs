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
            wheel.Arm(new WheelTimer(() => fired.Add((id, now))), deadlines[i]);
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
        var timer = new WheelTimer(() => fired++);
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
        wheel.Arm(new WheelTimer(() => firedAt = now), 1_005);
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
        var timer = new WheelTimer(() => firings.Add(now));
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
        var timer = new WheelTimer(() => firedAt = now);
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
        WheelTimer? a = null, b = null;
        // Due in the same tick, each cancels the other: exactly one may run.
        a = new WheelTimer(() => { fired++; wheel.Cancel(b!); });
        b = new WheelTimer(() => { fired++; wheel.Cancel(a!); });
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
        WheelTimer? timer = null;
        timer = new WheelTimer(() =>
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
            wheel.Arm(new WheelTimer(() => fired++), 10 + i * 37);
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
        var timers = new WheelTimer[Count];
        long now = 0;
        for (int i = 0; i < Count; i++)
        {
            int id = i;
            firedAt[i] = -1;
            deadlines[i] = random.Next(0, 30_000);
            timers[i] = new WheelTimer(() =>
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

    [Fact]
    public void MillisecondsUntilNextDue_IsMinusOneWhenIdle_AndBoundedOtherwise()
    {
        var wheel = new TimerWheel(0, Tick, 64);
        Assert.Equal(-1, wheel.MillisecondsUntilNextDue(0));
        wheel.Arm(new WheelTimer(() => { }), 55);
        int wait = wheel.MillisecondsUntilNextDue(0);
        Assert.InRange(wait, 55, 60);
    }
}
