using System;
using System.Diagnostics;
using TcpProxy.Configuration;
using TcpProxy.Hosting;
using TcpProxy.Reactor;
using Xunit;

namespace TcpProxy.Tests.InProcess;

/// <summary>
/// SIGUSR1 with several reactors: the report waits until every other loop
/// has had its turn (so it includes what that loop counted in the callback it
/// was running), and a loop that never answers delays it by a bound only.
/// Two real reactors with real mailboxes, each loop stepped by hand.
/// </summary>
public sealed class CounterReportBarrierTests : IDisposable
{
    private readonly Reactor.Reactor _first = NewReactor();
    private readonly Reactor.Reactor _second = NewReactor();
    private readonly Mailbox _firstMailbox;
    private readonly Mailbox _secondMailbox;
    private readonly CounterReportBarrier _barrier;
    private int _reports;

    public CounterReportBarrierTests()
    {
        _firstMailbox = Mailbox.Open(_first, LoopMessages.Count, out int errno) ?? throw new InvalidOperationException("mailbox: " + errno);
        _secondMailbox = Mailbox.Open(_second, LoopMessages.Count, out errno) ?? throw new InvalidOperationException("mailbox: " + errno);
        _barrier = new CounterReportBarrier(_first, _firstMailbox, [_secondMailbox], () => _reports++);
        _secondMailbox.On((int)LoopMessage.ReportAsk, _barrier.Answer);
        _firstMailbox.On((int)LoopMessage.ReportAnswer, _barrier.Answered);
    }

    [Fact]
    public void Report_WaitsForTheOtherLoopsTurn_ThenIsWrittenOnce()
    {
        _barrier.Request();
        Assert.Equal(0, _first.RunOnce(0));
        Assert.Equal(0, _reports); // the other loop has not run: its last callback's counts may be missing

        Assert.Equal(0, _second.RunOnce(0)); // between its callbacks it answers
        Assert.Equal(0, _first.RunOnce(100));
        Assert.Equal(1, _reports);

        Assert.Equal(0, _first.RunOnce(0));
        Assert.Equal(0, _second.RunOnce(0));
        Assert.Equal(1, _reports);
    }

    [Fact]
    public void TwoSignals_BeforeTheAnswers_GiveTwoReports()
    {
        _barrier.Request();
        _barrier.Request();
        Assert.Equal(0, _second.RunOnce(0));
        var clock = Stopwatch.StartNew();
        while (_reports < 2 && clock.ElapsedMilliseconds < 5000)
            Assert.Equal(0, _first.RunOnce(100));
        Assert.Equal(2, _reports);
    }

    [Fact]
    public void ALoopThatNeverAnswers_DelaysTheReportOnlyByTheBound()
    {
        Assert.Equal(0, _first.RunOnce(0)); // the loop's clock, as a signal callback finds it
        var clock = Stopwatch.StartNew();
        _barrier.Request();
        while (_reports == 0 && clock.ElapsedMilliseconds < 5000)
            Assert.Equal(0, _first.RunOnce(-1)); // woken by the bound's timer, nothing else
        Assert.Equal(1, _reports);
        Assert.InRange(clock.ElapsedMilliseconds, 900, 4000);

        // The late answer of that round must not count towards the next one.
        Assert.Equal(0, _second.RunOnce(0));
        Assert.Equal(0, _first.RunOnce(100));
        Assert.Equal(1, _reports);
    }

    public void Dispose()
    {
        _firstMailbox.Dispose();
        _secondMailbox.Dispose();
        _first.Dispose();
        _second.Dispose();
    }

    private static Reactor.Reactor NewReactor()
    {
        IPoller poller = PollerFactory.Create(PollerKind.Auto, out string? error) ?? throw new InvalidOperationException(error);
        return new Reactor.Reactor(poller);
    }
}
