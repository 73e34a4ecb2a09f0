using TcpProxy.Configuration;
using TcpProxy.Interop;

namespace TcpProxy.Proxy;

/// <summary>
/// What the options say about forwarding, derived once for the process and
/// shared read-only by every loop: the destination's name, the ring size, the
/// timeouts, the PROXY header and how directions move bytes. (Its addresses
/// change with its records: <see cref="Destinations"/>.)
/// </summary>
public sealed class PairSettings
{
    private PairSettings(string destinationName, ProxyOptions options)
    {
        DestinationName = destinationName;
        BufferSize = options.BufferSize;
        StallTimeoutMs = (long)options.StallTimeout.TotalMilliseconds;
        ConnectTimeoutMs = (long)options.ConnectTimeout.TotalMilliseconds;
        IdleTimeoutMs = (long)options.IdleTimeout.TotalMilliseconds;
        SendProxy = options.SendProxy;
        // auto means off where there is no splice(2); on was refused there already.
        Splice = Sys.SpliceAvailable ? options.Splice : SpliceMode.Off;
    }

    public static PairSettings From(ProxyOptions options) =>
        new(options.DestinationHost + ":" + options.DestinationPort.ToString(System.Globalization.CultureInfo.InvariantCulture), options);

    /// <summary>"host:port" as given on the command line.</summary>
    public string DestinationName { get; }

    /// <summary>The ring size: the high-water mark of each direction.</summary>
    public int BufferSize { get; }

    public long StallTimeoutMs { get; }

    /// <summary>How long one destination address may take to complete the handshake.</summary>
    public long ConnectTimeoutMs { get; }

    /// <summary>A pair that moved nothing for this long is closed; 0: never.</summary>
    public long IdleTimeoutMs { get; }

    /// <summary>Which PROXY protocol header precedes each client's bytes to the destination, if any.</summary>
    public ProxyProtocolVersion SendProxy { get; }

    /// <summary>How directions move bytes: copying, splicing, or each choosing by its traffic (auto); off where splice(2) is absent.</summary>
    public SpliceMode Splice { get; }

    /// <summary>Directions switch between copying and splicing by their traffic.</summary>
    public bool AutoSplice => Splice == SpliceMode.Auto;
}
