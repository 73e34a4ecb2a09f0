using System;
using System.Diagnostics;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Reactor;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.InProcess;

[Collection(NonParallelCollection.Name)]
public sealed class TimerPunctualityTests
{
    private const int CallbackMs = 400;
    private const int TimerMs = 450;

    private readonly ITestOutputHelper _output;

    public TimerPunctualityTests(ITestOutputHelper output) => _output = output;

    /// <summary>
    /// A callback busy for 400 ms, then a timer due 450 ms after it was armed:
    /// the loop's next wait must count from the clock after the callback, not
    /// before it, or the timer fires 400 ms late.
    /// </summary>
    [Fact]
    public void TimerDueAfterALongCallback_FiresNearItsDeadline()
    {
        IPoller poller = PollerFactory.Create(PollerKind.Auto, out string? error) ?? throw new InvalidOperationException(error); // the OS's own: epoll, kqueue
        using var reactor = new Reactor.Reactor(poller);
        int fd = Sys.OpenWakeup();
        Assert.True(fd >= 0);
        try
        {
            Assert.Equal(0, reactor.Add(fd, IoEvents.None));
            reactor.SetCallback(fd, IoEvents.Readable, () =>
            {
                // Not drained: reading an eventfd raises an EPOLLOUT edge, and that
                // early wake-up would hide a wait computed from a stale clock.
                reactor.ClearReady(fd, IoEvents.Readable);
                var busy = Stopwatch.StartNew();
                while (busy.ElapsedMilliseconds < CallbackMs) { }
            });
            long firedAt = 0;
            var timer = new LoopTimer(() => firedAt = Stopwatch.GetTimestamp());

            Assert.Equal(0, reactor.RunOnce(0)); // brings the loop's clock up to now
            long armedAt = Stopwatch.GetTimestamp();
            reactor.Timers.Arm(timer, reactor.NowMs + TimerMs);
            Sys.Wake(fd);
            var limit = Stopwatch.StartNew();
            while (firedAt == 0 && limit.Elapsed < TimeSpan.FromSeconds(5))
                Assert.Equal(0, reactor.RunOnce(1000));

            Assert.NotEqual(0, firedAt);
            double lateMs = Stopwatch.GetElapsedTime(armedAt, firedAt).TotalMilliseconds - TimerMs;
            _output.WriteLine($"timer due {TimerMs} ms after arming, behind a {CallbackMs} ms callback: fired {lateMs:0.0} ms after its deadline");
            Assert.True(lateMs > -reactor.Timers.TickMs, $"fired {-lateMs:0} ms early");
            Assert.True(lateMs < CallbackMs / 2, $"fired {lateMs:0} ms late: the wait was computed from the clock before the callback");
        }
        finally
        {
            Sys.Close(fd);
        }
    }
}
