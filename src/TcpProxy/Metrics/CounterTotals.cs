using System.Collections.Generic;
using TcpProxy.Proxy;

namespace TcpProxy.Metrics;

/// <summary>
/// Every loop's counters added up, for SIGUSR1 and /metrics. Read on the
/// loop that serves the request while the other loops go on counting,
/// without a lock: each counter is an aligned 64-bit (or 32-bit) field, so
/// each read is whole (the proxy builds for 64-bit targets only), but the
/// figures of one report may be a few microseconds apart from loop to loop.
/// A monotonic counter never goes backwards between reports.
/// </summary>
internal readonly struct CounterTotals
{
    private readonly long[] _closed;

    public CounterTotals(IReadOnlyList<LoopParts> contexts)
    {
        _closed = new long[CloseReasons.Count];
        foreach (LoopParts context in contexts)
        {
            ProxyCounters counters = context.Counters;
            Accepted += counters.Accepted;
            Active += context.OpenConnections;
            BytesUp += counters.BytesUp;
            BytesDown += counters.BytesDown;
            ConnectFailures += counters.ConnectFailures;
            AcceptPauses += counters.AcceptPauses;
            BufferedBytes += counters.BufferedBytes;
            BuffersInUse += context.BufferPool.BlocksInUse;
            BufferMemoryBytes += context.BufferPool.BlocksCarved * context.BufferPool.BlockSize;
            BufferWaits += context.BufferWaits;
            SwitchesToSplice += counters.SwitchesToSplice;
            SwitchesToCopy += counters.SwitchesToCopy;
            PipesInUse += context.Pipes?.InUse ?? 0;
            PipesIdle += context.Pipes?.Idle ?? 0;
            for (int i = 0; i < CloseReasons.Count; i++)
                _closed[i] += counters.Closed((CloseReason)i);
        }
    }

    public long Accepted { get; }

    public long Active { get; }

    public long BytesUp { get; }

    public long BytesDown { get; }

    public long ConnectFailures { get; }

    public long AcceptPauses { get; }

    public long BufferedBytes { get; }

    public long BuffersInUse { get; }

    public long BufferMemoryBytes { get; }

    public long BufferWaits { get; }

    public long SwitchesToSplice { get; }

    public long SwitchesToCopy { get; }

    public long PipesInUse { get; }

    public long PipesIdle { get; }

    public long Closed(CloseReason reason) => _closed[(int)reason];
}
