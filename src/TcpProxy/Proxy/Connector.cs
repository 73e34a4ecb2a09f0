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
/// client is reset at once.
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

    public Connector(ProxyContext context, int client, long number, string? peerName, byte[]? proxyHeader)
        : base(number, peerName, context.Reactor.NowMs)
    {
        _proxyHeader = proxyHeader;
        _context = context;
        _client = client;
        _onWritable = OnWritable;
        _connectTimer = new WheelTimer(OnConnectTimeout);
    }

    public override bool IsConnecting => true;

    public void Start()
    {
        _context.Connections.Add(this);
        TryNextAddress();
    }

    /// <summary>Drain: give up connecting and reset the client.</summary>
    public override void Abort(CloseReason reason)
    {
        AbandonAttempt();
        Finish(reason, 0);
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
                int added = _context.Reactor.Add(fd, IoEvents.None);
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
        RingBuffer? upRing = RingBuffer.TryCreate(_context.BufferSize);
        RingBuffer? downRing = upRing is null ? null : RingBuffer.TryCreate(_context.BufferSize);
        if (upRing is null || downRing is null)
        {
            // Out of memory costs this client only: reset it, never the process.
            upRing?.Dispose();
            _context.RingShortage.ClientReset(_context, Describe());
            Sys.SetAbortOnClose(_server);
            AbandonAttempt();
            Finish(CloseReason.Reset, Errno.ENOMEM);
            return;
        }
        _context.RingShortage.RingsAllocated(_context);
        var pair = new ProxyPair(_context, _client, _server, upRing, downRing, this, _addressIndex, _proxyHeader);
        _context.Connections.Replace(this, pair);
        pair.Start();
    }

    private void Fail()
    {
        // Everything was tried: warn at the normal level, since the operator must act.
        CloseReason reason = _lastError == Errno.ETIMEDOUT ? CloseReason.ConnectTimeout : CloseReason.ConnectFailed;
        _context.Log.Info(Describe() + ": cannot connect to " + _context.DestinationName + ": " + Errno.Name(_lastError)
            + (reason == CloseReason.ConnectTimeout ? " (connect timeout)" : "") + "; resetting the client");
        Finish(reason, _lastError);
    }

    private void Finish(CloseReason reason, int errno)
    {
        Sys.SetAbortOnClose(_client);
        Sys.Close(_client);
        _context.Closed(this, reason, errno, serverIndex: -1, bytesUp: 0, bytesDown: 0);
    }
}
