using System;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// The listening socket: accepts until EAGAIN (within a budget per callback)
/// and starts a <see cref="Connector"/> per client. It accepts only while it
/// holds a spare descriptor (<see cref="DescriptorReserve"/>), so every client
/// it accepts gets its server socket too. When descriptors run out it stops
/// accepting — clients wait in the backlog — until a connection closes (or,
/// for descriptors freed elsewhere, a retry timer fires), and says so once per
/// episode.
/// </summary>
public sealed class Listener : IDisposable, IFaultOwner
{
    private const int AcceptBudget = 64;
    private const int DescriptorPauseMs = 100;

    private readonly ProxyContext _context;
    private readonly int _fd;
    private readonly Action _onReadable;
    private readonly WheelTimer _resumeTimer;
    private bool _paused;
    // Accepted, not yet taken over by its connector: a fault meanwhile must close it.
    private int _unclaimedClient = -1;
    // From the first pause until the backlog is drained: one log line per episode.
    private bool _exhausted;

    private Listener(ProxyContext context, int fd, SocketAddress boundAddress)
    {
        _context = context;
        _fd = fd;
        Address = boundAddress;
        _onReadable = OnReadable;
        _resumeTimer = new WheelTimer(context.Reactor.Guarded(this, TryResume));
    }

    /// <summary>The address actually bound (the port filled in when 0 was asked for).</summary>
    public SocketAddress Address { get; }

    /// <summary>
    /// Binds and listens. Without a bind address: IPv6 any with V6ONLY off, so
    /// one socket serves IPv4 and IPv6 clients; IPv4 any where IPv6 is absent.
    /// Returns null with a one-line error.
    /// </summary>
    public static Listener? Open(ProxyContext context, string? bindAddress, int port, out string? error)
    {
        string? resolveError = null;
        SocketAddress[]? candidates = bindAddress is null
            ? WildcardAddresses(port)
            : AddressResolver.Resolve(bindAddress, port, passive: true, out resolveError);
        if (candidates is null || candidates.Length == 0)
        {
            error = "cannot resolve bind address '" + bindAddress + "': " + resolveError;
            return null;
        }
        int lastError = 0;
        foreach (SocketAddress candidate in candidates)
        {
            int fd = Sys.StreamSocket(candidate.Family);
            if (fd < 0)
            {
                lastError = -fd;
                continue;
            }
            int rc = Prepare(fd, candidate);
            if (rc == 0)
            {
                error = null;
                SocketAddress bound = default;
                Sys.GetSocketName(fd, ref bound);
                var listener = new Listener(context, fd, bound);
                rc = context.Reactor.Add(fd, IoEvents.Readable, listener);
                if (rc == 0)
                {
                    context.Reactor.SetCallback(fd, IoEvents.Readable, listener._onReadable);
                    // Failing here is not fatal: the first accept retries and pauses instead.
                    context.DescriptorReserve.TryAcquire();
                    context.DescriptorsExhausted = listener.PauseAccepting;
                    context.DescriptorsFreed = listener.TryResume;
                    return listener;
                }
            }
            lastError = -rc;
            Sys.Close(fd);
        }
        error = "cannot listen on port " + port.ToString(System.Globalization.CultureInfo.InvariantCulture) + ": " + Describe(lastError);
        return null;
    }

    private static int Prepare(int fd, in SocketAddress address)
    {
        int rc = Sys.SetReuseAddress(fd);
        // Inherited by every accepted client: urgent bytes are forwarded in line.
        if (rc == 0)
            rc = Sys.SetOutOfBandInline(fd);
        if (rc == 0 && address.Family == SocketAddress.AF_INET6)
            rc = Sys.SetIPv6Only(fd, false);
        if (rc == 0)
            rc = Sys.Bind(fd, address);
        if (rc == 0)
            rc = Sys.Listen(fd, 4096);
        return rc;
    }

    private static SocketAddress[] WildcardAddresses(int port)
    {
        SocketAddress[]? v6 = AddressResolver.Resolve("::", port, passive: true, out _);
        SocketAddress[]? v4 = AddressResolver.Resolve("0.0.0.0", port, passive: true, out _);
        if (v6 is null)
            return v4 ?? Array.Empty<SocketAddress>();
        return v4 is null ? v6 : [v6[0], v4[0]];
    }

    private static string Describe(int errno) => errno switch
    {
        Errno.EADDRINUSE => "address already in use (EADDRINUSE)",
        Errno.EACCES => "permission denied (EACCES)",
        Errno.EADDRNOTAVAIL => "address not available on this machine (EADDRNOTAVAIL)",
        _ => Errno.Name(errno),
    };

    private void OnReadable()
    {
        if (!_context.DescriptorReserve.TryAcquire())
        {
            PauseAccepting(Errno.EMFILE);
            return;
        }
        for (int i = 0; i < AcceptBudget; i++)
        {
            SocketAddress peer = default;
            int fd = Sys.Accept(_fd, ref peer);
            if (fd >= 0)
            {
                Accepted(fd, peer);
                // Its connector took the spare descriptor: the next client could not have a server socket.
                if (_paused)
                    return;
                continue;
            }
            int errno = -fd;
            switch (AcceptErrors.Classify(errno))
            {
                case AcceptErrorAction.Drained:
                    _context.Reactor.ClearReady(_fd, IoEvents.Readable);
                    EndEpisode();
                    return;
                case AcceptErrorAction.Retry:
                    _context.AcceptErrorsRetried++;
                    continue;
                case AcceptErrorAction.Pause:
                    PauseAccepting(errno);
                    return;
                default:
                    _context.Log.Error("accept failed: " + Errno.Name(errno));
                    PauseAccepting(errno);
                    return;
            }
        }
    }

    private void Accepted(int fd, in SocketAddress peer)
    {
        _unclaimedClient = fd;
        Sys.SetNoDelay(fd);
        long number = ++_context.AcceptedConnections;
        string? peerName = _context.Log.IsVerbose ? peer.ToString() : null;
        var connector = new Connector(_context, fd, number, peerName);
        _context.OpenConnections++;
        _unclaimedClient = -1;
        connector.Start();
    }

    /// <summary>A callback of the listener threw: the client in hand, if any, is reset; accepting goes on.</summary>
    public void OnFault(Exception exception)
    {
        bool hadClient = _unclaimedClient >= 0;
        if (hadClient)
        {
            Sys.SetAbortOnClose(_unclaimedClient);
            Sys.Close(_unclaimedClient);
            _unclaimedClient = -1;
        }
        _context.Log.Info("listener: internal error (" + ProxyContext.DescribeFault(exception) + ")" + (hadClient ? "; client reset" : ""));
    }

    // Pending clients stay in the backlog. A connection closing resumes
    // accepting; the timer retries for descriptors freed elsewhere. The edge
    // state is kept, so resuming accepts without waiting for a new client.
    private void PauseAccepting(int errno)
    {
        if (!_exhausted)
        {
            _exhausted = true;
            // errno is accept's own, or that of a connector's socket() which took the spare descriptor.
            _context.Log.Info(Errno.Name(errno) + " with " + _context.OpenConnections.ToString(System.Globalization.CultureInfo.InvariantCulture)
                + " connections open: pausing accepts until a connection closes (new clients wait in the backlog)");
        }
        _paused = true;
        _context.Reactor.SetCallback(_fd, IoEvents.Readable, null);
        if (!_resumeTimer.IsArmed)
            _context.Reactor.Timers.Arm(_resumeTimer, _context.Reactor.NowMs + DescriptorPauseMs);
    }

    /// <summary>Resumes accepting if paused and a spare descriptor can be held again.</summary>
    private void TryResume()
    {
        if (!_paused)
            return;
        if (!_context.DescriptorReserve.TryAcquire())
        {
            if (!_resumeTimer.IsArmed)
                _context.Reactor.Timers.Arm(_resumeTimer, _context.Reactor.NowMs + DescriptorPauseMs);
            return;
        }
        _paused = false;
        _context.Reactor.Timers.Cancel(_resumeTimer);
        _context.Reactor.SetCallback(_fd, IoEvents.Readable, _onReadable);
    }

    /// <summary>The backlog is drained: an episode of exhaustion, if any, is over.</summary>
    private void EndEpisode()
    {
        if (!_exhausted)
            return;
        _exhausted = false;
        _context.Log.Info("accepting again: every waiting client accepted (" + _context.OpenConnections.ToString(System.Globalization.CultureInfo.InvariantCulture) + " connections open)");
    }

    public void Dispose()
    {
        _context.DescriptorReserve.Release();
        _context.Reactor.Timers.Cancel(_resumeTimer);
        _context.Reactor.Remove(_fd);
        Sys.Close(_fd);
    }
}
