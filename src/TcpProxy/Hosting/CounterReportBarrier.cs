using System;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// SIGUSR1: with several reactors the report is written once every other
/// loop has answered a mailbox message, so it counts everything those loops
/// did before the signal. Another loop counts a byte or a close right after
/// the send or shutdown a client sees, in the same callback; it answers only
/// between callbacks, so a client that saw the effect before signalling is
/// always in the figures (read without waiting, that loop could be preempted
/// between the two). A loop that has stopped (drained) or is stuck never
/// answers: after <see cref="AnswerLimitMs"/> the report is written with what
/// is counted by then. Runs on loop 0 only.
/// </summary>
internal sealed class CounterReportBarrier
{
    private const int AnswerLimitMs = 1000;

    private readonly Reactor.Reactor _firstReactor;
    private readonly Mailbox? _firstMailbox;
    private readonly Mailbox[] _otherMailboxes;
    private readonly Action _writeReport;
    private readonly LoopTimer _limit;
    private int _answersAwaited;
    private int _reportsRequested;

    /// <summary>Loop 0's reactor and mailbox (none with one loop), the other loops' mailboxes, and what writes one report.</summary>
    public CounterReportBarrier(Reactor.Reactor firstReactor, Mailbox? firstMailbox, Mailbox[] otherMailboxes, Action writeReport)
    {
        _firstReactor = firstReactor;
        _firstMailbox = firstMailbox;
        _otherMailboxes = otherMailboxes;
        _writeReport = writeReport;
        _limit = new LoopTimer(WriteRequestedReports);
    }

    /// <summary>The signal: ask every other loop for an answer; the report follows the last one.</summary>
    public void Request()
    {
        _reportsRequested++;
        if (_otherMailboxes.Length == 0)
        {
            WriteRequestedReports();
            return;
        }
        _answersAwaited += _otherMailboxes.Length;
        foreach (Mailbox mailbox in _otherMailboxes)
            mailbox.Post((int)LoopMessage.ReportAsk);
        if (!_limit.IsArmed)
            _firstReactor.Timers.Arm(_limit, _firstReactor.NowMs + AnswerLimitMs);
    }

    /// <summary>On another loop, between its callbacks: everything it counted so far is visible to loop 0.</summary>
    public void Answer() => _firstMailbox!.Post((int)LoopMessage.ReportAnswer);

    /// <summary>On loop 0: one loop's answer arrived (one left over from a report written at the limit is ignored).</summary>
    public void Answered()
    {
        if (_answersAwaited > 0 && --_answersAwaited == 0)
            WriteRequestedReports();
    }

    private void WriteRequestedReports()
    {
        _firstReactor.Timers.Cancel(_limit);
        _answersAwaited = 0;
        for (; _reportsRequested > 0; _reportsRequested--)
            _writeReport();
    }
}
