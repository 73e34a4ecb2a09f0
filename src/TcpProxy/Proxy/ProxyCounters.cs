namespace TcpProxy.Proxy;

/// <summary>
/// The proxy's counters, owned by the loop: plain fields, no locks (one
/// thread), no allocation to bump them. Metrics and SIGUSR1 read them.
/// </summary>
public sealed class ProxyCounters
{
    private readonly long[] _closed = new long[CloseReasons.Count];

    /// <summary>Clients accepted since start.</summary>
    public long Accepted { get; set; }

    /// <summary>Bytes written to the destination (client to server).</summary>
    public long BytesUp { get; set; }

    /// <summary>Bytes written to clients (server to client).</summary>
    public long BytesDown { get; set; }

    /// <summary>Destination addresses that refused, failed or timed out, fallback attempts included.</summary>
    public long ConnectFailures { get; set; }

    /// <summary>Times accepting paused: the connection limit was reached, or descriptors ran out.</summary>
    public long AcceptPauses { get; set; }

    /// <summary>Bytes held in every ring and pipe right now.</summary>
    public long BufferedBytes { get; set; }

    /// <summary>Directions that switched from copying to splice (--splice auto: a bulk stream).</summary>
    public long SwitchesToSplice { get; set; }

    /// <summary>Directions that switched from splice back to copying (--splice auto: the stream went quiet).</summary>
    public long SwitchesToCopy { get; set; }

    public long Closed(CloseReason reason) => _closed[(int)reason];

    public void CountClose(CloseReason reason) => _closed[(int)reason]++;
}
