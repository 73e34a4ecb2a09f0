using System;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// Connects one accepted client to the destination without blocking:
/// connect() → EINPROGRESS → writable → SO_ERROR, trying each resolved
/// address in turn, each for at most the connect timeout. On success it hands
/// both fds to a new <see cref="ProxyPair"/>; when every address fails the
/// client is reset at once. Until the pair exists, the connector answers for
/// the client, its server socket and the rings: a fault or a drain resets the
/// client and releases them all.
/// </summary>
internal sealed class Connector : ClientConnection
{
    private readonly ProxyContext _context;
    private readonly int _client;
    private readonly Action _onWritable;
    private readonly WheelTimer _connectTimer;
    private readonly byte[]? _proxyHeader;
    private int _server = -1;
    private int _addressIndex;
    private int _lastError;
    private RingBuffer? _upRing;
    private RingBuffer? _downRing;
    // Set once the client is closed or handed to _pair: nothing left to release.
    private bool _finished;
    private ProxyPair? _pair;

    public Connector(ProxyContext context, int client, long number, string? peerName, byte[]? proxyHeader)
        : base(number, peerName, context.Reactor.NowMs)
    {
        _proxyHeader = proxyHeader;
        _context = context;
        _client = client;
        _onWritable = OnWritable;
        _connectTimer = new WheelTimer(context.Reactor.Guarded(this, OnConnectTimeout));
    }

    public override bool IsConnecting => true;

    public void Start()
    {
        _context.Connections.Add(this);
        // Runs inside the listener's callback: a fault from here on is this
        // connector's to clean up, not the listener's.
        try
        {
            TryNextAddress();
        }
        catch (Exception exception)
        {
            OnFault(exception);
        }
    }

    /// <summary>Drain: give up connecting and reset the client.</summary>
    public override void Abort(CloseReason reason) => Reset(reason, 0);

    /// <summary>A callback of this connector threw (or of its pair, still inside it).</summary>
    public override void OnFault(Exception exception)
    {
        if (_pair != null)
        {
            _pair.OnFault(exception);
            return;
        }
        Reset(CloseReason.Reset, 0);
        _context.Log.Info(Describe() + ": internal error while connecting (" + ProxyContext.DescribeFault(exception) + "); client reset");
    }

    private void TryNextAddress()
    {
        SocketAddress[] destinations = _context.Destinations;
        for (; _addressIndex < destinations.Length; _addressIndex++)
        {
            ref SocketAddress destination = ref destinations[_addressIndex];
            int fd = Sys.StreamSocket(destination.Family);
            if (fd < 0 && (fd == -Errno.EMFILE || fd == -Errno.ENFILE) && _context.DescriptorReserve.Release())
            {
                // The listener's spare is ours now; it accepts no more until it has one again.
                _context.DescriptorsExhausted?.Invoke(-fd);
                fd = Sys.StreamSocket(destination.Family);
            }
            if (fd < 0)
            {
                _lastError = -fd;
                continue;
            }
            // Urgent bytes from the server are forwarded in line, as the listener does for clients.
            int rc = Sys.SetOutOfBandInline(fd);
            if (rc == 0)
                rc = Sys.Connect(fd, destination);
            if (rc == 0 || rc == -Errno.EINPROGRESS)
            {
                int added = _context.Reactor.Add(fd, IoEvents.None, this);
                if (added == 0)
                {
                    _server = fd;
                    if (rc == 0)
                    {
                        Connected();
                    }
                    else
                    {
                        _context.Reactor.SetCallback(fd, IoEvents.Writable, _onWritable);
                        _context.Reactor.Timers.Arm(_connectTimer, _context.Reactor.NowMs + _context.ConnectTimeoutMs);
                    }
                    return;
                }
                rc = added;
            }
            else
            {
                _context.Counters.ConnectFailures++;
            }
            _lastError = -rc;
            Sys.Close(fd);
        }
        Fail();
    }

    private void OnWritable()
    {
        _context.Reactor.SetCallback(_server, IoEvents.Writable, null);
        int error = Sys.GetPendingError(_server);
        if (error == 0)
        {
            _context.Reactor.Timers.Cancel(_connectTimer);
            Connected();
            return;
        }
        _lastError = error;
        _context.Counters.ConnectFailures++;
        AbandonAttempt();
        _addressIndex++;
        TryNextAddress();
    }

    // The handshake did not complete in time: this address is dropped like a refused one.
    private void OnConnectTimeout()
    {
        _lastError = Errno.ETIMEDOUT;
        _context.Counters.ConnectFailures++;
        if (_context.Log.IsVerbose)
            _context.Log.Verbose(Describe() + ": connecting to " + _context.DestinationAddressNames[_addressIndex] + " timed out after "
                + (_context.ConnectTimeoutMs / 1000.0).ToString("0.###", CultureInfo.InvariantCulture) + " s");
        AbandonAttempt();
        _addressIndex++;
        TryNextAddress();
    }

    /// <summary>Closes the server socket of the attempt under way, if any.</summary>
    private void AbandonAttempt()
    {
        _context.Reactor.Timers.Cancel(_connectTimer);
        if (_server < 0)
            return;
        _context.Reactor.Remove(_server);
        Sys.Close(_server);
        _server = -1;
    }

    private void Connected()
    {
        Sys.SetNoDelay(_server);
        _upRing = RingBuffer.TryCreate(_context.BufferSize);
        _downRing = _upRing is null ? null : RingBuffer.TryCreate(_context.BufferSize);
        if (_upRing is null || _downRing is null)
        {
            // Out of memory costs this client only: reset it, never the process.
            _context.RingShortage.ClientReset(_context, Describe());
            Reset(CloseReason.Reset, Errno.ENOMEM);
            return;
        }
        _context.RingShortage.RingsAllocated(_context);
        _pair = new ProxyPair(_context, _client, _server, _upRing, _downRing, this, _addressIndex, _proxyHeader);
        _finished = true; // the pair owns the fds and the rings now
        _context.Connections.Replace(this, _pair);
        _pair.Start();
    }

    private void Fail()
    {
        // Everything was tried: warn at the normal level, since the operator must act.
        CloseReason reason = _lastError == Errno.ETIMEDOUT ? CloseReason.ConnectTimeout : CloseReason.ConnectFailed;
        _context.Log.Info(Describe() + ": cannot connect to " + _context.DestinationName + ": " + Errno.Name(_lastError)
            + (reason == CloseReason.ConnectTimeout ? " (connect timeout)" : "") + "; resetting the client");
        Reset(reason, _lastError);
    }

    /// <summary>Resets the client and the server socket, if any, frees the rings, if any, and reports the close; once.</summary>
    private void Reset(CloseReason reason, int errno)
    {
        if (_finished)
            return;
        _finished = true;
        _upRing?.Dispose();
        _downRing?.Dispose();
        if (_server >= 0)
            Sys.SetAbortOnClose(_server);
        AbandonAttempt();
        Sys.SetAbortOnClose(_client);
        Sys.Close(_client);
        _context.Closed(this, reason, errno, serverIndex: -1, bytesUp: 0, bytesDown: 0);
    }
}
