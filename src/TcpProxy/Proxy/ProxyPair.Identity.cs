using TcpProxy.Logging;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// Who a pair serves, from accept to close: its number and peer for the
/// logs, when it was accepted, and its place on the loop's list of open
/// connections (intrusive, so the drain can count and abort them and
/// listing costs no allocation).
/// </summary>
internal sealed partial class ProxyPair : IListNode<ProxyPair>
{
    private ListLinks<ProxyPair> _openLinks;

    /// <summary>Numbers connections in the log, from 1.</summary>
    public long Number { get; private set; }

    /// <summary>"127.0.0.1:5000"; null unless a log that shows it is enabled.</summary>
    public string? PeerName { get; private set; }

    public long AcceptedMs { get; private set; }

    /// <summary>Its place on the loop's list of open connections.</summary>
    public ref ListLinks<ProxyPair> Links => ref _openLinks;

    /// <summary>How log lines name a connection: "#12 127.0.0.1:5000" (the peer only when known).</summary>
    public string Describe() => LogText.Connection(Number, PeerName);

    /// <summary>A pooled pair gets its identity when it is taken for a client.</summary>
    private void Reopen(long number, string? peerName, long acceptedMs)
    {
        Number = number;
        PeerName = peerName;
        AcceptedMs = acceptedMs;
    }
}
