using System;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// One client from accept to close: it connects to the destination (see
/// ProxyPair.Connect.cs), then forwards both ways through two
/// <see cref="Direction"/>s. Both fds close together: when both directions
/// have passed EOF on, or at once on a write error, a stall, the idle timeout
/// or the end of a drain.
///
/// A pair is few objects (itself — also its own timer, for the connect and
/// idle deadlines — two directions that are their own stall timers, and two
/// ring wrappers),
/// handles its fds' events itself (<see cref="IFdHandler"/>: no delegates),
/// holds ring memory only while data is in flight, and goes back to the
/// loop's <see cref="PairPool"/> when it closes, so serving a connection
/// allocates nothing in steady state.
/// </summary>
internal sealed partial class ProxyPair : TimerNode, IFdHandler, IFaultOwner
{
    private enum Phase : byte
    {
        Free,
        Connecting,
        Forwarding,
    }

    // One reference to the loop's parts, not one per part: every idle pair pays for each field.
    private readonly LoopParts _loop;
    private readonly PairPool _pool;
    private readonly Direction _upstream;
    private readonly Direction _downstream;
    private Phase _phase;
    private int _client = -1;
    private int _server = -1;

    public ProxyPair(PairPool pool, LoopParts loop)
    {
        _pool = pool;
        _loop = loop;
        _upstream = new Direction(this, isUpstream: true, loop);
        _downstream = new Direction(this, isUpstream: false, loop);
    }

    public Log Log => _loop.Connections.Log;

    public bool IsConnecting => _phase == Phase.Connecting;

    /// <summary>When a byte last moved either way (read or written); the idle timer compares against it.</summary>
    public long LastActivityMs { get; set; }

    /// <summary>Whether either direction holds a ring buffer now (an idle pair holds none).</summary>
    public bool HoldsBuffers => _upstream.HoldsBuffer || _downstream.HoldsBuffer;

    public void OnReadable(int fd)
    {
        if (_phase != Phase.Forwarding)
            return;
        if (fd == _client)
            _upstream.OnSourceReadable();
        else
            _downstream.OnSourceReadable();
    }

    public void OnWritable(int fd)
    {
        if (_phase == Phase.Connecting)
            OnConnectWritable();
        else if (fd == _server)
            _upstream.OnSinkWritable();
        else
            _downstream.OnSinkWritable();
    }

    /// <summary>Starts forwarding. The server fd is registered already (while connecting).</summary>
    private void StartForwarding()
    {
        _phase = Phase.Forwarding;
        Reactor.Reactor reactor = _loop.Reactor;
        LastActivityMs = reactor.NowMs;
        _upstream.Open(_client, _server);
        _downstream.Open(_server, _client);
        if (_proxyHeader != null)
            _upstream.Preload(_proxyHeader);
        int rc = reactor.Add(_client, this, IoEvents.Both, owner: this);
        if (rc < 0)
        {
            Close(CloseReason.Reset, -rc, "cannot watch client", abort: true);
            return;
        }
        if (Log.IsVerbose)
            Log.Verbose(Describe() + " connected to " + _set.Names[_addressIndex]);
        if (_loop.Settings.IdleTimeoutMs > 0)
            reactor.Timers.Arm(this, LastActivityMs + _loop.Settings.IdleTimeoutMs);
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

    /// <summary>Drain: a connecting client is reset, a forwarding pair aborted.</summary>
    public void Abort(CloseReason reason)
    {
        if (_phase == Phase.Connecting)
            ResetClient(reason, 0);
        else
            Close(reason, 0, "aborted", abort: true);
    }

    /// <summary>A callback of this pair threw: it costs this pair (aborted, reason reset), nothing else.</summary>
    public void OnFault(Exception exception)
    {
        if (_phase == Phase.Connecting)
        {
            ResetClient(CloseReason.Reset, 0);
            Log.Fault(Describe() + ": internal error while connecting (" + LogText.Fault(exception) + "); client reset");
            return;
        }
        bool wasOpen = _phase == Phase.Forwarding;
        Close(CloseReason.Reset, 0, "internal error", abort: true);
        Log.Fault(Describe() + ": internal error (" + LogText.Fault(exception) + ")"
            + (wasOpen ? "; connection aborted" : " after the connection closed"));
    }

    /// <summary>Its own timer's faults are its own.</summary>
    public override IFaultOwner Owner => this;

    /// <summary>The pair's one timer: the connect deadline, then the idle deadline.</summary>
    protected internal override void Fire()
    {
        if (_phase == Phase.Connecting)
            OnConnectTimeout();
        else if (_phase == Phase.Forwarding)
            OnIdleTimer();
    }

    // The timer is armed once and re-files itself: activity only stores a time (as the stall timer does).
    private void OnIdleTimer()
    {
        long idleMs = _loop.Reactor.NowMs - LastActivityMs;
        if (idleMs < _loop.Settings.IdleTimeoutMs)
        {
            _loop.Reactor.Timers.Arm(this, LastActivityMs + _loop.Settings.IdleTimeoutMs);
            return;
        }
        // Nothing buffered: an orderly close. Data stuck in a ring would be lost: say so with RST.
        bool buffered = _upstream.Buffered > 0 || _downstream.Buffered > 0;
        Close(CloseReason.Idle, 0, "idle for " + (idleMs / 1000.0).ToString("0.0", CultureInfo.InvariantCulture) + " s", abort: buffered);
    }

    private void Close(CloseReason reason, int errno, string detail, bool abort)
    {
        if (_phase != Phase.Forwarding)
            return;
        _phase = Phase.Free;
        Reactor.Reactor reactor = _loop.Reactor;
        reactor.Timers.Cancel(this);
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
        _client = _server = -1;
        _proxyHeader = null;
        _loop.Connections.Closed(this, reason, errno, _set.Names[_addressIndex], _upstream.BytesForwarded, _downstream.BytesForwarded);
        _pool.Return(this);
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
