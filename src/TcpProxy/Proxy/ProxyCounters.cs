namespace TcpProxy.Proxy;

/// <summary>
/// Where the loop counts: plain fields, no locks (one thread), no allocation
/// to bump them. What each figure means, its metric name and its words in
/// the SIGUSR1 line are defined once, with the metric that reads it
/// (TcpProxy.Metrics.ProxyMetrics), not here.
/// </summary>
public sealed class ProxyCounters
{
    private readonly long[] _closed = new long[CloseReasons.Count];

    public long Accepted { get; set; }

    /// <summary>Client to destination.</summary>
    public long BytesUp { get; set; }

    /// <summary>Destination to client.</summary>
    public long BytesDown { get; set; }

    public long ConnectFailures { get; set; }

    public long AcceptPauses { get; set; }

    /// <summary>A gauge: every direction adds what it reads and takes off what it writes.</summary>
    public long BufferedBytes { get; set; }

    public long SwitchesToSplice { get; set; }

    public long SwitchesToCopy { get; set; }

    public long Closed(CloseReason reason) => _closed[(int)reason];

    public void CountClose(CloseReason reason) => _closed[(int)reason]++;
}
