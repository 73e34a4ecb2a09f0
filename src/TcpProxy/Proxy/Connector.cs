using System;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// Connects one accepted client to the destination without blocking:
/// connect() → EINPROGRESS → writable → SO_ERROR, trying each resolved
/// address in turn. On success it hands both fds to a new <see cref="ProxyPair"/>;
/// when every address fails the client is reset at once. Until the pair
/// exists, the connector answers for the client, its server socket and the
/// rings: a fault resets the client and releases them all.
/// </summary>
internal sealed class Connector : IFaultOwner
{
    private readonly ProxyContext _context;
    private readonly int _client;
    private readonly long _number;
    private readonly string? _peerName;
    private readonly Action _onWritable;
    private int _server = -1;
    private int _addressIndex;
    private int _lastError;
    private RingBuffer? _upRing;
    private RingBuffer? _downRing;
    // Set once the client is closed or handed to _pair: nothing left to release.
    private bool _finished;
    private ProxyPair? _pair;

    public Connector(ProxyContext context, int client, long number, string? peerName)
    {
        _context = context;
        _client = client;
        _number = number;
        _peerName = peerName;
        _onWritable = OnWritable;
    }

    public void Start()
    {
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
                        Connected();
                    else
                        _context.Reactor.SetCallback(fd, IoEvents.Writable, _onWritable);
                    return;
                }
                rc = added;
            }
            _lastError = -rc;
            Sys.Close(fd);
        }
        Fail();
    }

    private void OnWritable()
    {
        Reactor.Reactor reactor = _context.Reactor;
        reactor.SetCallback(_server, IoEvents.Writable, null);
        int error = Sys.GetPendingError(_server);
        if (error == 0)
        {
            Connected();
            return;
        }
        _lastError = error;
        reactor.Remove(_server);
        Sys.Close(_server);
        _server = -1;
        _addressIndex++;
        TryNextAddress();
    }

    private void Connected()
    {
        Sys.SetNoDelay(_server);
        _upRing = RingBuffer.TryCreate(_context.BufferSize);
        _downRing = _upRing is null ? null : RingBuffer.TryCreate(_context.BufferSize);
        if (_upRing is null || _downRing is null)
        {
            // Out of memory costs this client only: reset it, never the process.
            Reset();
            _context.RingShortage.ClientReset(_context, ProxyContext.DescribeConnection(_number, _peerName));
            return;
        }
        _context.RingShortage.RingsAllocated(_context);
        _pair = new ProxyPair(_context, _client, _server, _upRing, _downRing, _number, _peerName);
        _finished = true; // the pair owns the fds and the rings now
        _pair.Start();
    }

    private void Fail()
    {
        Reset();
        // Everything was tried: warn at the normal level, since the operator must act.
        _context.Log.Info(ProxyContext.DescribeConnection(_number, _peerName)
            + ": cannot connect to " + _context.DestinationName + ": " + Errno.Name(_lastError) + "; closing the client");
    }

    /// <summary>A callback of this connector threw (or of its pair, still inside it).</summary>
    public void OnFault(Exception exception)
    {
        if (_finished && _pair != null)
        {
            _pair.OnFault(exception);
            return;
        }
        Reset();
        _context.Log.Info(ProxyContext.DescribeConnection(_number, _peerName) + ": internal error while connecting ("
            + ProxyContext.DescribeFault(exception) + "); client reset");
    }

    /// <summary>Resets the client and the server socket, if any, and frees the rings, if any; once.</summary>
    private void Reset()
    {
        if (_finished)
            return;
        _finished = true;
        _upRing?.Dispose();
        _downRing?.Dispose();
        if (_server >= 0)
        {
            _context.Reactor.Remove(_server);
            Sys.SetAbortOnClose(_server);
            Sys.Close(_server);
            _server = -1;
        }
        Sys.SetAbortOnClose(_client);
        Sys.Close(_client);
        _context.ConnectionClosed();
    }
}
