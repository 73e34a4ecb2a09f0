using System;
using TcpProxy.Logging;

namespace TcpProxy.Proxy;

/// <summary>
/// A loop's open connections and the one place a closing one is accounted
/// for, whatever stage it reached: off the list, counted by reason, its
/// access-log line, then whoever waits for closes (admission, the listener,
/// a drain) told.
/// </summary>
public sealed class ConnectionTracker
{
    private readonly Reactor.Reactor _reactor;
    private readonly ProxyCounters _counters;
    private readonly string[] _serverNames;

    /// <summary><paramref name="serverNames"/> name the destination addresses by index, for the access log.</summary>
    public ConnectionTracker(Reactor.Reactor reactor, ProxyCounters counters, string[] serverNames, Log log, AccessLog? accessLog)
    {
        _reactor = reactor;
        _counters = counters;
        _serverNames = serverNames;
        Log = log;
        AccessLog = accessLog;
    }

    /// <summary>Clients accepted and not yet closed, connecting ones included.</summary>
    public ConnectionList List { get; } = new();

    public int Count => List.Count;

    public Log Log { get; }

    /// <summary>One line per closed connection, when --access-log is on.</summary>
    public AccessLog? AccessLog { get; }

    /// <summary>Whether a log that names each connection's peer is enabled (so the peer name is worth formatting).</summary>
    public bool NamesPeers => Log.IsVerbose || AccessLog != null;

    /// <summary>After every close, once the connection is off the list and its descriptors are given back.</summary>
    public event Action? ConnectionClosed;

    public void Opened(ClientConnection connection) => List.Add(connection);

    /// <summary>serverIndex is -1 when it never connected.</summary>
    internal void Closed(ClientConnection connection, CloseReason reason, int errno, int serverIndex, long bytesUp, long bytesDown)
    {
        List.Remove(connection);
        _counters.CountClose(reason);
        AccessLog?.Write(connection.PeerName, serverIndex >= 0 ? _serverNames[serverIndex] : null,
            bytesUp, bytesDown, _reactor.NowMs - connection.AcceptedMs, reason, errno);
        ConnectionClosed?.Invoke();
    }
}
