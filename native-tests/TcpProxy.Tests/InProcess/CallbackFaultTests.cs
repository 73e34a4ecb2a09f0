using System;
using System.Collections.Generic;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Reactor;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.InProcess;

/// <summary>No exception escapes a callback into the loop: it goes to the fd's (or timer's) owner.</summary>
[Collection(NonParallelCollection.Name)]
public sealed class CallbackFaultTests : IDisposable
{
    private readonly Reactor.Reactor _reactor;
    private readonly List<int> _fds = new();

    public CallbackFaultTests()
    {
        IPoller poller = PollerFactory.Create(PollerKind.Auto, out string? error) ?? throw new InvalidOperationException(error); // the OS's own: epoll, kqueue
        _reactor = new Reactor.Reactor(poller);
    }

    private sealed class RecordingOwner : IFaultOwner
    {
        public readonly List<Exception> Faults = new();

        public void OnFault(Exception exception) => Faults.Add(exception);
    }

    [Fact]
    public void ThrowingFdCallback_GoesToItsOwner_AndTheRestOfTheBatchRuns()
    {
        var owner = new RecordingOwner();
        int failing = Watch(owner, () => throw new InvalidOperationException("failing callback"));
        int neighbourCalls = 0;
        int neighbour = Watch(new RecordingOwner(), () => neighbourCalls++);
        Sys.Wake(failing);
        Sys.Wake(neighbour);

        Assert.Equal(0, _reactor.RunOnce(1000));

        Assert.Equal("failing callback", Assert.Single(owner.Faults).Message);
        Assert.Equal(1, neighbourCalls);
        Assert.Equal(1, _reactor.Faults);
    }

    [Fact]
    public void ThrowingTimer_GoesToItsOwner_AndLaterTimersStillFire()
    {
        var owner = new RecordingOwner();
        var failing = new LoopTimer(() => throw new InvalidOperationException("failing timer"), owner);
        bool laterFired = false;
        var later = new LoopTimer(() => laterFired = true);
        _reactor.Timers.Arm(failing, _reactor.NowMs);
        _reactor.Timers.Arm(later, _reactor.NowMs + 30);

        for (int i = 0; i < 100 && !laterFired; i++)
            Assert.Equal(0, _reactor.RunOnce(100));

        Assert.Equal("failing timer", Assert.Single(owner.Faults).Message);
        Assert.True(laterFired);
    }

    [Fact]
    public void FaultWithNoOwner_IsReported_AndItsFdForgotten()
    {
        var reported = new List<Exception>();
        _reactor.UnownedFault = reported.Add;
        int calls = 0;
        int fd = Watch(null, () =>
        {
            calls++;
            throw new InvalidOperationException("nobody's callback");
        });

        Sys.Wake(fd);
        Assert.Equal(0, _reactor.RunOnce(1000));
        Sys.Wake(fd);
        Assert.Equal(0, _reactor.RunOnce(50));

        Assert.Equal("nobody's callback", Assert.Single(reported).Message);
        Assert.Equal(1, calls);
    }

    [Fact]
    public void OwnerThatFailsInTurn_IsReportedLikeNoOwner()
    {
        var reported = new List<Exception>();
        _reactor.UnownedFault = reported.Add;
        int fd = Watch(new FailingOwner(), () => throw new InvalidOperationException("first"));

        Sys.Wake(fd);
        Assert.Equal(0, _reactor.RunOnce(1000));

        Assert.Equal("the owner failed too", Assert.Single(reported).Message);
    }

    private sealed class FailingOwner : IFaultOwner
    {
        public void OnFault(Exception exception) => throw new InvalidOperationException("the owner failed too");
    }

    /// <summary>An eventfd whose readable callback drains it, then runs <paramref name="body"/>.</summary>
    private int Watch(IFaultOwner? owner, Action body)
    {
        int fd = Sys.OpenWakeup();
        Assert.True(fd >= 0);
        _fds.Add(fd);
        Assert.Equal(0, _reactor.Add(fd, IoEvents.None, owner));
        _reactor.SetCallback(fd, IoEvents.Readable, () =>
        {
            Sys.DrainWakeup(fd);
            _reactor.ClearReady(fd, IoEvents.Readable);
            body();
        });
        return fd;
    }

    public void Dispose()
    {
        foreach (int fd in _fds)
            Sys.Close(fd);
        _reactor.Dispose();
    }
}
