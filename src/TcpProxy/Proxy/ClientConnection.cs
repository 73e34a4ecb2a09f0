using System;
using TcpProxy.Logging;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// One accepted client from accept to close (a <see cref="ProxyPair"/>,
/// connecting, then forwarding). Every open one is on its loop's
/// <see cref="ConnectionList"/>, so the drain can count and abort them.
/// It answers for the faults of its callbacks (<see cref="IFaultOwner"/>).
/// </summary>
public abstract class ClientConnection : IFaultOwner
{
    internal ClientConnection? PreviousOpen;
    internal bool IsListed;

    protected ClientConnection(long number, string? peerName, long acceptedMs)
    {
        Reopen(number, peerName, acceptedMs);
    }

    /// <summary>A pooled connection object gets its identity when it is taken for a client.</summary>
    protected ClientConnection()
    {
    }

    protected void Reopen(long number, string? peerName, long acceptedMs)
    {
        Number = number;
        PeerName = peerName;
        AcceptedMs = acceptedMs;
    }

    /// <summary>Numbers connections in the log, from 1.</summary>
    public long Number { get; private set; }

    /// <summary>"127.0.0.1:5000"; null unless a log that shows it is enabled.</summary>
    public string? PeerName { get; private set; }

    public long AcceptedMs { get; private set; }

    /// <summary>The next open connection on the loop's list.</summary>
    public ClientConnection? NextOpen { get; internal set; }

    /// <summary>Still connecting to the destination, not forwarding yet.</summary>
    public abstract bool IsConnecting { get; }

    /// <summary>Ends the connection at once with RST to both peers.</summary>
    public abstract void Abort(CloseReason reason);

    /// <summary>One of its callbacks threw: it gives up what it holds, and nothing else is harmed.</summary>
    public abstract void OnFault(Exception exception);

    /// <summary>How log lines name a connection: "#12 127.0.0.1:5000" (the peer only when known).</summary>
    public string Describe() => LogText.Connection(Number, PeerName);
}
