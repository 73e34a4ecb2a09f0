using System;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// A client connection and its connection to the destination, forwarded both
/// ways by two <see cref="Direction"/>s. Both fds close together: when both
/// directions have passed EOF on, or at once on a write error, a stall, the
/// idle timeout or the end of a drain.
/// </summary>
internal sealed class ProxyPair : ClientConnection
{
    private readonly ProxyContext _context;
    private readonly int _client;
    private readonly int _server;
    private readonly int _serverIndex;
    private readonly Direction _upstream;
    private readonly Direction _downstream;
    private readonly WheelTimer? _idleTimer;
    private bool _closed;

    /// <summary>Takes over both fds and both rings (allocated by the connector, which can fail cleanly).</summary>
    public ProxyPair(ProxyContext context, int client, int server, RingBuffer upRing, RingBuffer downRing, ClientConnection accepted, int serverIndex,
        byte[]? proxyHeader)
        : base(accepted.Number, accepted.PeerName, accepted.AcceptedMs)
    {
        _context = context;
        _client = client;
        _server = server;
        _serverIndex = serverIndex;
        _upstream = new Direction(this, context, client, server, upRing, isUpstream: true);
        _downstream = new Direction(this, context, server, client, downRing, isUpstream: false);
        if (proxyHeader != null)
            _upstream.Preload(proxyHeader);
        if (context.IdleTimeoutMs > 0)
            _idleTimer = new WheelTimer(context.Reactor.Guarded(this, OnIdleTimer));
    }

    public Log Log => _context.Log;

    public override bool IsConnecting => false;

    /// <summary>When a byte last moved either way (read or written); the idle timer compares against it.</summary>
    public long LastActivityMs { get; set; }

    /// <summary>Starts forwarding. The server fd is registered already (by the connector).</summary>
    public void Start()
    {
        Reactor.Reactor reactor = _context.Reactor;
        LastActivityMs = reactor.NowMs;
        reactor.SetOwner(_server, this);
        int rc = reactor.Add(_client, IoEvents.Both, this);
        if (rc < 0)
        {
            Close(CloseReason.Reset, -rc, "cannot watch client", abort: true);
            return;
        }
        if (Log.IsVerbose)
            Log.Verbose(Describe() + " connected to " + _context.DestinationAddressNames[_serverIndex]);
        if (_idleTimer != null)
            reactor.Timers.Arm(_idleTimer, LastActivityMs + _context.IdleTimeoutMs);
        _upstream.Start();
        _downstream.Start();
    }

    public string SideName(int fd) => fd == _client ? "client" : "server";

    /// <summary>Closes the pair if both directions are done; returns false if it did.</summary>
    public bool CloseIfFinished()
    {
        if (!_upstream.IsFinished || !_downstream.IsFinished)
            return true;
        // A read error (a peer's reset) ended a direction: the pair ended in a reset, not a clean EOF.
        int readError = _upstream.SourceError != 0 ? _upstream.SourceError : _downstream.SourceError;
        Close(readError != 0 ? CloseReason.Reset : CloseReason.Eof, readError, "both sides finished", abort: false);
        return false;
    }

    /// <summary>Closes both fds now with RST, dropping whatever is buffered.</summary>
    public void Abort(CloseReason reason, int errno, string detail) => Close(reason, errno, detail, abort: true);

    public override void Abort(CloseReason reason) => Close(reason, 0, "aborted", abort: true);

    /// <summary>A callback of this pair threw: it costs this pair (aborted, reason reset), nothing else.</summary>
    public override void OnFault(Exception exception)
    {
        bool wasOpen = !_closed;
        Close(CloseReason.Reset, 0, "internal error", abort: true);
        Log.Info(Describe() + ": internal error (" + ProxyContext.DescribeFault(exception) + ")"
            + (wasOpen ? "; connection aborted" : " after the connection closed"));
    }

    // The timer is armed once and re-files itself: activity only stores a time (as the stall timer does).
    private void OnIdleTimer()
    {
        long idleMs = _context.Reactor.NowMs - LastActivityMs;
        if (idleMs < _context.IdleTimeoutMs)
        {
            _context.Reactor.Timers.Arm(_idleTimer!, LastActivityMs + _context.IdleTimeoutMs);
            return;
        }
        // Nothing buffered: an orderly close. Data stuck in a ring would be lost: say so with RST.
        bool buffered = _upstream.Buffered > 0 || _downstream.Buffered > 0;
        Close(CloseReason.Idle, 0, "idle for " + (idleMs / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " s", abort: buffered);
    }

    private void Close(CloseReason reason, int errno, string detail, bool abort)
    {
        if (_closed)
            return;
        _closed = true;
        Reactor.Reactor reactor = _context.Reactor;
        if (_idleTimer != null)
            reactor.Timers.Cancel(_idleTimer);
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
        if (Log.IsVerbose)
            Log.Verbose(Describe() + " closed after " + ((reactor.NowMs - AcceptedMs) / 1000.0).ToString("0.000", CultureInfo.InvariantCulture)
                + " s: " + _upstream.BytesForwarded.ToString(CultureInfo.InvariantCulture) + " B up, "
                + _downstream.BytesForwarded.ToString(CultureInfo.InvariantCulture) + " B down; " + CloseReasons.Name(reason)
                + (errno != 0 ? " " + Errno.Name(errno) : "") + " (" + detail + ")" + ReadErrors());
        _context.Closed(this, reason, errno, _serverIndex, _upstream.BytesForwarded, _downstream.BytesForwarded);
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
}
