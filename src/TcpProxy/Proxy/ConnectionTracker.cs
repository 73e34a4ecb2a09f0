using System;
using TcpProxy.Logging;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// A loop's open connections and the one place a closing one is accounted
/// for, whatever stage it reached: off the list, counted by reason, its
/// access-log line, then whoever waits for closes (admission, the listener,
/// a drain) told.
/// </summary>
internal sealed class ConnectionTracker
{
    private readonly Reactor.Reactor _reactor;
    private readonly ProxyCounters _counters;

    public ConnectionTracker(Reactor.Reactor reactor, ProxyCounters counters, Log log, AccessLog? accessLog)
    {
        _reactor = reactor;
        _counters = counters;
        Log = log;
        AccessLog = accessLog;
    }

    // Clients accepted and not yet closed, connecting ones included; the newest first.
    private readonly IntrusiveList<ProxyPair> _open = new();

    public int Count => _open.Count;

    public Log Log { get; }

    /// <summary>One line per closed connection, when --access-log is on.</summary>
    public AccessLog? AccessLog { get; }

    /// <summary>Whether a log that names each connection's peer is enabled (so the peer name is worth formatting).</summary>
    public bool NamesPeers => Log.IsVerbose || AccessLog != null;

    /// <summary>After every close, once the connection is off the list and its descriptors are given back.</summary>
    public event Action? ConnectionClosed;

    public void Opened(ProxyPair connection) => _open.AddFirst(connection);

    /// <summary>Open connections still connecting to the destination.</summary>
    public int CountConnecting()
    {
        int connecting = 0;
        for (ProxyPair? connection = _open.First; connection != null; connection = IntrusiveList<ProxyPair>.Next(connection))
        {
            if (connection.IsConnecting)
                connecting++;
        }
        return connecting;
    }

    /// <summary>Aborts every open connection (the drain's end); returns how many.</summary>
    public int AbortAll(CloseReason reason)
    {
        int aborted = 0;
        // Bounded: each abort closes its connection, and nothing is accepted meanwhile.
        while (_open.First is ProxyPair connection)
        {
            connection.Abort(reason);
            _open.Remove(connection); // an abort that failed to unlist must not loop forever
            aborted++;
        }
        return aborted;
    }

    /// <summary>serverName is null when it never connected.</summary>
    internal void Closed(ProxyPair connection, CloseReason reason, int errno, string? serverName, long bytesUp, long bytesDown)
    {
        _open.Remove(connection);
        _counters.CountClose(reason);
        AccessLog?.Write(connection.PeerName, serverName,
            bytesUp, bytesDown, _reactor.NowMs - connection.AcceptedMs, reason, errno);
        ConnectionClosed?.Invoke();
    }
}
