using TcpProxy.Logging;

namespace TcpProxy.Proxy;

/// <summary>
/// What one loop's pairs work with, made once by the loop's assembly: its
/// reactor, the process's forwarding settings, its counters, its memory
/// (rings and, when splicing, pipes), its open connections, its admission,
/// and the destination's addresses (shared by every loop). Each pair, direction and listener keeps only the parts it
/// uses; metrics and the SIGUSR1 report read the figures.
/// </summary>
internal sealed record LoopParts(
    Reactor.Reactor Reactor,
    PairSettings Settings,
    ProxyCounters Counters,
    BufferMemory Memory,
    PipePool? Pipes,
    ConnectionTracker Connections,
    Admission Admission,
    Destinations Destinations)
{
    public Log Log => Connections.Log;

    public AccessLog? AccessLog => Connections.AccessLog;

    public string DestinationName => Settings.DestinationName;

    public int OpenConnections => Connections.Count;

    /// <summary>The buffer blocks: in use, carved, the limit.</summary>
    public BufferPool BufferPool => Memory.Pool;

    /// <summary>Times a direction waited for a buffer (the --buffer-memory limit or out of memory).</summary>
    public long BufferWaits => Memory.Waits;
}
