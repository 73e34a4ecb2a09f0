using System;
using System.Collections.Generic;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Proxy;

namespace TcpProxy.Metrics;

/// <summary>
/// What a metric's series read from, for one scrape or one SIGUSR1 line:
/// every loop's parts. Read on the loop that serves the request while the
/// other loops go on counting, without a lock: each counter is an aligned
/// 64-bit (or 32-bit) field, so each read is whole (the proxy builds for
/// 64-bit targets only), but the figures of one report may be a few
/// microseconds apart from loop to loop. A monotonic counter never goes
/// backwards between reports.
/// </summary>
internal sealed class MetricSource(IReadOnlyList<LoopParts> loops)
{
    private ProcessStats? _process;

    public IReadOnlyList<LoopParts> Loops { get; } = loops;

    /// <summary>Loop 0: what all loops share (the destination, the logs) is read from it.</summary>
    public LoopParts First => Loops[0];

    /// <summary>/proc, read once per source and only when a process series asks (never for SIGUSR1).</summary>
    public ProcessStats Process => _process ??= ProcessStats.Read();

    /// <summary>The access log's writer when it is not stderr's (a file): its drops are a series of their own.</summary>
    public LogWriter? SeparateAccessLog =>
        First.AccessLog is AccessLog accessLog && accessLog.Writer != First.Log.Writer ? accessLog.Writer : null;

    /// <summary>One figure added up over every loop.</summary>
    public long Sum(Func<LoopParts, long> read)
    {
        long sum = 0;
        for (int i = 0; i < Loops.Count; i++)
            sum += read(Loops[i]);
        return sum;
    }
}
