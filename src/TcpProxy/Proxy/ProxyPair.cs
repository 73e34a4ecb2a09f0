using System;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// A client connection and its connection to the destination, forwarded both
/// ways by two <see cref="Direction"/>s. Both fds close together: when both
/// directions have passed EOF on, or at once on a write error or a stall.
/// </summary>
internal sealed class ProxyPair : IFaultOwner
{
    private readonly ProxyContext _context;
    private readonly int _client;
    private readonly int _server;
    private readonly Direction _upstream;
    private readonly Direction _downstream;
    private readonly long _openedMs;
    private readonly long _number;
    private readonly string? _peerName;
    private bool _closed;

    /// <summary>Takes over both fds and both rings (allocated by the connector, which can fail cleanly).</summary>
    public ProxyPair(ProxyContext context, int client, int server, RingBuffer upRing, RingBuffer downRing, long number, string? peerName)
    {
        _context = context;
        _client = client;
        _server = server;
        _number = number;
        _peerName = peerName;
        _openedMs = context.Reactor.NowMs;
        _upstream = new Direction(this, context, client, server, upRing, "up");
        _downstream = new Direction(this, context, server, client, downRing, "down");
    }

    public Log Log => _context.Log;

    /// <summary>Starts forwarding. The server fd is registered already (by the connector).</summary>
    public void Start()
    {
        _context.Reactor.SetOwner(_server, this);
        int rc = _context.Reactor.Add(_client, IoEvents.Both, this);
        if (rc < 0)
        {
            Abort("cannot watch client: " + Errno.Name(-rc));
            return;
        }
        if (Log.IsVerbose)
            Log.Verbose(Describe() + " connected to " + _context.DestinationName);
        _upstream.Start();
        _downstream.Start();
    }

    public string SideName(int fd) => fd == _client ? "client" : "server";

    /// <summary>Closes the pair if both directions are done; returns false if it did.</summary>
    public bool CloseIfFinished()
    {
        if (!_upstream.IsFinished || !_downstream.IsFinished)
            return true;
        Close("both sides finished", abort: false);
        return false;
    }

    /// <summary>Closes both fds now with RST, dropping whatever is buffered.</summary>
    public void Abort(string reason) => Close(reason, abort: true);

    /// <summary>A callback of this pair threw: it costs this pair (aborted), nothing else.</summary>
    public void OnFault(Exception exception)
    {
        bool wasOpen = !_closed;
        Abort("internal error");
        Log.Info(Describe() + ": internal error (" + ProxyContext.DescribeFault(exception) + ")"
            + (wasOpen ? "; connection aborted" : " after the connection closed"));
    }

    private void Close(string reason, bool abort)
    {
        if (_closed)
            return;
        _closed = true;
        Reactor.Reactor reactor = _context.Reactor;
        _upstream.Release();
        _downstream.Release();
        reactor.Remove(_client);
        reactor.Remove(_server);
        if (abort)
        {
            Sys.SetAbortOnClose(_client);
            Sys.SetAbortOnClose(_server);
        }
        Sys.Close(_client);
        Sys.Close(_server);
        _context.ConnectionClosed();
        if (Log.IsVerbose)
            Log.Verbose(Describe() + " closed after " + ((reactor.NowMs - _openedMs) / 1000.0).ToString("0.000", CultureInfo.InvariantCulture)
                + " s: " + _upstream.BytesForwarded.ToString(CultureInfo.InvariantCulture) + " B up, "
                + _downstream.BytesForwarded.ToString(CultureInfo.InvariantCulture) + " B down; " + reason + ReadErrors());
    }

    private string ReadErrors()
    {
        string text = "";
        if (_upstream.SourceError != 0)
            text += "; client read error " + Errno.Name(_upstream.SourceError);
        if (_downstream.SourceError != 0)
            text += "; server read error " + Errno.Name(_downstream.SourceError);
        return text;
    }

    private string Describe() => ProxyContext.DescribeConnection(_number, _peerName);
}
