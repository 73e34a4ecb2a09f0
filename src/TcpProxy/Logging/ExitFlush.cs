using System;
using System.Diagnostics;
using TcpProxy.Interop;

namespace TcpProxy.Logging;

/// <summary>
/// The last flush of a writer no loop flushes any more: waits for the
/// destination itself, but only until a deadline, so a destination nobody
/// reads cannot hang the exit.
/// </summary>
internal static class ExitFlush
{
    /// <summary>The Stopwatch timestamp limit from now.</summary>
    public static long Deadline(TimeSpan limit) => Stopwatch.GetTimestamp() + (long)(limit.TotalSeconds * Stopwatch.Frequency);

    /// <summary>
    /// Writes what is queued and the dropped-lines notice, waiting for the
    /// destination until deadline; what is still queued then is dropped and counted.
    /// </summary>
    public static void WriteOut(LogQueue queue, LogDestination destination, long deadline)
    {
        bool reportDrops = true;
        while (queue.Flush(destination, reportDrops) == FlushResult.Blocked)
        {
            reportDrops = false;
            long remainingMs = (deadline - Stopwatch.GetTimestamp()) * 1000 / Stopwatch.Frequency;
            if (remainingMs <= 0)
                break;
            Sys.WaitWritable(destination.Fd, (int)Math.Min(remainingMs, int.MaxValue));
        }
        if (!queue.IsEmpty)
            queue.DiscardQueued();
    }
}
