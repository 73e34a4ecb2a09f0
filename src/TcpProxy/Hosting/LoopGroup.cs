using System;
using System.Globalization;
using System.Threading;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// The N loops of --reactors as one: loop 0 runs on the calling thread and
/// holds the signals, the metrics endpoint and the log writers; loops
/// 1..N-1 run on threads of their own and hear from loop 0 through their
/// mailboxes. A termination reaches every loop, each drains its own clients,
/// and the process ends when the last loop has drained. One reactor is
/// simply N = 1: the same paths, with no other loop to tell.
/// </summary>
internal sealed class LoopGroup
{
    // A loop thread is told to halt before it is waited for: this bound is for a bug, not for the normal end.
    private static readonly TimeSpan LoopJoinLimit = TimeSpan.FromSeconds(10);

    private readonly ReactorLoop[] _loops;
    private readonly Log _log;
    private readonly CounterReportBarrier _reportBarrier;
    // Drain outcomes added up by the loops as they finish.
    private int _otherLoopsDrained;
    private long _drainFinished;
    private long _drainAborted;
    private bool _firstLoopDrained;
    private long _drainStartedMs = -1;
    private int _failedLoops;

    public LoopGroup(ReactorLoop[] loops, Log log, TimeSpan drainTimeout, Action writeCounterReport)
    {
        _loops = loops;
        _log = log;
        foreach (ReactorLoop loop in loops)
            loop.PrepareDrain(drainTimeout, LoopDrained);
        var otherMailboxes = new Mailbox[loops.Length - 1];
        for (int i = 1; i < loops.Length; i++)
            otherMailboxes[i - 1] = loops[i].Mailbox!;
        _reportBarrier = new CounterReportBarrier(First.Reactor, First.Mailbox, otherMailboxes, writeCounterReport);
        if (loops.Length > 1)
            WireMailboxes();
    }

    public ReactorLoop First => _loops[0];

    public ReactorLoop[] Loops => _loops;

    /// <summary>What each loop does on the messages of the others, and how loop 0 hears of drains and report answers.</summary>
    private void WireMailboxes()
    {
        foreach (ReactorLoop loop in _loops)
        {
            loop.On(LoopMessage.Terminate, loop.Drain!.OnTerminateSignal);
            loop.On(LoopMessage.Halt, loop.Reactor.Stop);
            loop.On(LoopMessage.RoomFreed, loop.Listener!.RoomFreed);
            if (loop.Index > 0)
                loop.On(LoopMessage.ReportAsk, _reportBarrier.Answer);
        }
        First.On(LoopMessage.ReportAnswer, _reportBarrier.Answered);
        First.On(LoopMessage.Drained, StopWhenEveryLoopDrained);
    }

    /// <summary>With several loops: a place freed at the shared connection limit wakes the loops paused there.</summary>
    public Action<int> RoomFreedPoster => index => _loops[index].Post(LoopMessage.RoomFreed);

    /// <summary>SIGUSR1, on loop 0: the report is written once every loop has answered (at once with one loop).</summary>
    public void ReportCounters() => _reportBarrier.Request();

    /// <summary>Once the first SIGTERM/SIGINT has started the drains (read on loop 0).</summary>
    public bool Draining => _drainStartedMs >= 0;

    /// <summary>SIGTERM/SIGINT on loop 0 is every loop's: the first starts their drains, the second aborts them.</summary>
    public void TerminateEveryLoop()
    {
        if (_drainStartedMs < 0)
            _drainStartedMs = First.Reactor.NowMs;
        for (int i = 1; i < _loops.Length; i++)
            _loops[i].Post(LoopMessage.Terminate);
        First.Drain!.OnTerminateSignal();
    }

    /// <summary>amain for every loop: returns 0, or 1 if a loop failed.</summary>
    public int Run()
    {
        for (int i = 1; i < _loops.Length; i++)
            StartThread(_loops[i]);
        RunLoop(First);
        // Every loop has drained, or one failed: the others are halted (a no-op for those already ended).
        for (int i = 1; i < _loops.Length; i++)
        {
            _loops[i].Post(LoopMessage.Halt);
            if (!_loops[i].Thread!.Join(LoopJoinLimit))
            {
                _log.Error(_loops[i].LogPrefix + "did not stop within " + LoopJoinLimit.TotalSeconds.ToString(CultureInfo.InvariantCulture) + " s");
                Interlocked.Increment(ref _failedLoops);
            }
        }
        return Volatile.Read(ref _failedLoops) == 0 ? 0 : 1;
    }

    private void StartThread(ReactorLoop loop)
    {
        // A dedicated thread, never the pool's; it inherits the main thread's blocked signals.
        loop.Thread = new Thread(() =>
        {
            if (!RunLoop(loop))
                First.Post(LoopMessage.Halt);
        })
        {
            Name = loop.ThreadName,
            IsBackground = true,
        };
        loop.Thread.Start();
    }

    // One loop until it stops; false if its poller failed or something escaped it.
    private bool RunLoop(ReactorLoop loop)
    {
        try
        {
            int rc = loop.Reactor.Run();
            if (rc == 0)
                return true;
            _log.Error(loop.LogPrefix + "event loop failed: " + Errno.Name(-rc));
        }
        catch (Exception exception)
        {
            // The reactor catches its callbacks' faults: this is a bug in the loop itself. One line, no stack trace.
            _log.Error(loop.LogPrefix + "internal error: " + LogText.Fault(exception));
        }
        Interlocked.Increment(ref _failedLoops);
        return false;
    }

    // On the loop whose drain ended: loop 0 ends the process once every loop has drained.
    private void LoopDrained(ReactorLoop loop, int finished, int aborted)
    {
        Interlocked.Add(ref _drainFinished, finished);
        Interlocked.Add(ref _drainAborted, aborted);
        if (loop.Index == 0)
        {
            _firstLoopDrained = true;
            StopWhenEveryLoopDrained();
            return;
        }
        loop.Reactor.Stop();
        Interlocked.Increment(ref _otherLoopsDrained);
        First.Post(LoopMessage.Drained);
    }

    // On loop 0: the last drain to finish ends the process.
    private void StopWhenEveryLoopDrained()
    {
        if (!_firstLoopDrained || Volatile.Read(ref _otherLoopsDrained) < _loops.Length - 1)
            return;
        // With one loop its own drain line says it all.
        if (_loops.Length > 1)
        {
            long elapsedMs = First.Reactor.NowMs - Math.Max(0, _drainStartedMs);
            _log.Info("drain finished on all " + _loops.Length.ToString(CultureInfo.InvariantCulture) + " reactors after "
                + (elapsedMs / 1000.0).ToString("0.0##", CultureInfo.InvariantCulture) + " s: "
                + Interlocked.Read(ref _drainFinished).ToString(CultureInfo.InvariantCulture) + " finished, "
                + Interlocked.Read(ref _drainAborted).ToString(CultureInfo.InvariantCulture) + " aborted");
        }
        First.Reactor.Stop();
    }
}
