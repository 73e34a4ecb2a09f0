namespace TcpProxy.Hosting;

/// <summary>What one loop's <see cref="TcpProxy.Reactor.Mailbox"/> carries from another (only with several reactors).</summary>
internal enum LoopMessage
{
    /// <summary>SIGTERM/SIGINT reached loop 0: drain (or, the second time, abort).</summary>
    Terminate,
    /// <summary>Stop the loop now (the process is ending, or a loop failed).</summary>
    Halt,
    /// <summary>To loop 0: another loop's drain has ended.</summary>
    Drained,
    /// <summary>A place freed at the shared connection limit: accept again.</summary>
    RoomFreed,
    /// <summary>To loop 0: another loop queued log lines for the writers loop 0 flushes.</summary>
    LogFlush,
    /// <summary>SIGUSR1: answer between callbacks, so the report counts what this loop did.</summary>
    ReportAsk,
    /// <summary>To loop 0: one loop's answer to <see cref="ReportAsk"/>.</summary>
    ReportAnswer,
}

internal static class LoopMessages
{
    /// <summary>How many kinds a loop's mailbox has.</summary>
    public const int Count = (int)LoopMessage.ReportAnswer + 1;
}
