using System;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Proxy;

/// <summary>
/// The listening socket: accepts until EAGAIN (within a budget per callback)
/// and hands each client to a pooled <see cref="ProxyPair"/>. Accepting pauses while
/// any reason to hold clients back holds (<see cref="MayAccept"/>); pending
/// clients then wait in the kernel's backlog, never reset:
/// - descriptors: it accepts only while it holds a spare descriptor
///   (<see cref="DescriptorReserve"/>), so every client it accepts gets its
///   server socket too; when they run out it pauses until a connection closes
///   (or, for descriptors freed elsewhere, a retry timer fires), and says so
///   once per episode;
/// - --max-connections: at the limit it pauses until a connection closes.
///   With several reactors the limit is one count for the process
///   (<see cref="SharedConnectionLimit"/>): a place is reserved before each
///   accept, and a close on any loop wakes the loops paused at the limit.
/// With several reactors each has a listener of its own on the same address
/// and port (SO_REUSEPORT): the kernel spreads clients over them.
/// </summary>
public sealed class Listener : IDisposable, IFaultOwner, IFdHandler
{
    private const int AcceptBudget = 64;
    private const int DescriptorPauseMs = 100;

    private readonly ProxyContext _context;
    private readonly int _fd;
    private readonly LoopTimer _resumeTimer;
    private readonly Action _onConnectionClosed;
    // Out of descriptors: until a spare can be held again.
    private bool _paused;
    // Accepted, not yet taken over by its connector: a fault meanwhile must close it.
    private int _unclaimedClient = -1;
    // From the first pause until the backlog is drained: one log line per episode.
    private bool _exhausted;
    // Whether the socket is watched now: exactly while MayAccept.
    private bool _accepting;
    private bool _disposed;

    private Listener(ProxyContext context, int fd, SocketAddress boundAddress)
    {
        _context = context;
        _fd = fd;
        Address = boundAddress;
        _resumeTimer = new LoopTimer(TryResume, owner: this);
        _onConnectionClosed = TryResume;
    }

    /// <summary>The address actually bound (the port filled in when 0 was asked for).</summary>
    public SocketAddress Address { get; }

    /// <summary>
    /// Binds and listens. Without a bind address: IPv6 any with V6ONLY off, so
    /// one socket serves IPv4 and IPv6 clients; IPv4 any where IPv6 is absent.
    /// Returns null with a one-line error.
    /// </summary>
    public static Listener? Open(ProxyContext context, string? bindAddress, int port, out string? error) =>
        Open(context, bindAddress, port, reusePort: false, out error);

    /// <summary>As <see cref="Open(ProxyContext, string?, int, out string?)"/>; with <paramref name="reusePort"/> the socket takes SO_REUSEPORT, for the first of several reactors.</summary>
    public static Listener? Open(ProxyContext context, string? bindAddress, int port, bool reusePort, out string? error)
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
        return OpenFirst(context, candidates, port, reusePort, out error);
    }

    /// <summary>Another reactor's listener on exactly the address the first one bound (its port too, if 0 was asked for), with SO_REUSEPORT.</summary>
    public static Listener? OpenBeside(ProxyContext context, Listener first, out string? error) =>
        OpenFirst(context, [first.Address], first.Address.Port, reusePort: true, out error);

    private static Listener? OpenFirst(ProxyContext context, SocketAddress[] candidates, int port, bool reusePort, out string? error)
    {
        int lastError = 0;
        foreach (SocketAddress candidate in candidates)
        {
            int fd = Sys.StreamSocket(candidate.Family);
            if (fd < 0)
            {
                lastError = -fd;
                continue;
            }
            int rc = reusePort ? Sys.SetReusePort(fd) : 0;
            if (rc == 0)
                rc = Prepare(fd, candidate);
            if (rc == 0)
            {
                error = null;
                SocketAddress bound = default;
                Sys.GetSocketName(fd, ref bound);
                var listener = new Listener(context, fd, bound);
                rc = context.Reactor.Add(fd, listener, IoEvents.Readable, owner: listener);
                if (rc == 0)
                {
                    // Failing here is not fatal: the first accept retries and pauses instead.
                    context.DescriptorReserve.TryAcquire();
                    context.DescriptorsExhausted = listener.PauseAccepting;
                    context.ConnectionClosed += listener._onConnectionClosed;
                    listener.UpdateAccepting();
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

    /// <summary>
    /// The one question every pause feeds: descriptors ran out (until a spare
    /// can be held again), or the connection limit is reached.
    /// </summary>
    private bool MayAccept => !_paused && HasRoom;

    private bool HasRoom =>
        _context.MaxConnections == 0
        || (_context.SharedLimit is SharedConnectionLimit shared ? shared.HasRoom : _context.OpenConnections < _context.MaxConnections);

    /// <summary>Another loop closed a connection at the shared limit: accept again if there is room now.</summary>
    internal void RoomFreed()
    {
        if (!_disposed)
            TryResume();
    }

    /// <summary>Watches the socket for clients exactly while <see cref="MayAccept"/>; cheap to call after every close.</summary>
    private void UpdateAccepting()
    {
        bool accepting = MayAccept && !_disposed;
        if (accepting == _accepting)
            return;
        _accepting = accepting;
        // The edge state is kept while paused: resuming accepts what waited in the backlog at once.
        _context.Reactor.Watch(_fd, IoEvents.Readable, accepting);
        if (!accepting && !_paused)
        {
            _context.Counters.AcceptPauses++;
            if (_context.Log.IsVerbose)
                _context.Log.Verbose("connection limit reached (" + _context.OpenConnections.ToString(System.Globalization.CultureInfo.InvariantCulture)
                    + " open): pausing accepts until one closes");
        }
    }

    public void OnWritable(int fd)
    {
    }

    public void OnReadable(int listening)
    {
        if (!_context.DescriptorReserve.TryAcquire() && !(_context.CloseIdlePipes() && _context.DescriptorReserve.TryAcquire()))
        {
            PauseAccepting(Errno.EMFILE);
            return;
        }
        for (int i = 0; i < AcceptBudget; i++)
        {
            // At the connection limit, or its connector took the spare descriptor:
            // the next client could not be served.
            if (!MayAccept)
            {
                UpdateAccepting();
                return;
            }
            SharedConnectionLimit? shared = _context.MaxConnections > 0 ? _context.SharedLimit : null;
            if (shared != null && !shared.TryReserve())
            {
                // Another loop took the last place since MayAccept: pause (or, if one freed meanwhile, run again).
                UpdateAccepting();
                return;
            }
            SocketAddress peer = default;
            int fd = Sys.Accept(_fd, ref peer);
            if (fd >= 0)
            {
                Accepted(fd, peer);
                continue;
            }
            shared?.Release(_context.ReactorIndex);
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
                    // Idle pipes (splice mode) give way to a client.
                    if ((errno == Errno.EMFILE || errno == Errno.ENFILE) && _context.CloseIdlePipes())
                        continue;
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
        long accepted = ++_context.Counters.Accepted;
        // Unique over every loop without sharing a counter: loop i numbers i+1, i+1+N, i+1+2N...
        long number = (accepted - 1) * _context.ReactorCount + _context.ReactorIndex + 1;
        string? peerName = _context.NamesPeers ? peer.ToString() : null;
        byte[]? proxyHeader = null;
        if (_context.SendProxy != ProxyProtocolVersion.None)
        {
            // The address this client connected to: the listener may be bound to several.
            SocketAddress local = default;
            Sys.GetSocketName(fd, ref local);
            proxyHeader = ProxyProtocolHeader.Build(_context.SendProxy, peer, local);
        }
        ProxyPair pair = _context.Pairs.Rent();
        _unclaimedClient = -1;
        pair.Connect(fd, number, peerName, proxyHeader);
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
            // Its place at the shared limit: no connector listed it, so no close will give it back.
            if (_context.MaxConnections > 0)
                _context.SharedLimit?.Release(_context.ReactorIndex);
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
            _context.Counters.AcceptPauses++;
            // errno is accept's own, or that of a connector's socket() which took the spare descriptor.
            _context.Log.Info(Errno.Name(errno) + " with " + _context.OpenConnections.ToString(System.Globalization.CultureInfo.InvariantCulture)
                + " connections open: pausing accepts until a connection closes (new clients wait in the backlog)");
        }
        _paused = true;
        UpdateAccepting();
        if (!_resumeTimer.IsArmed)
            _context.Reactor.Timers.Arm(_resumeTimer, _context.Reactor.NowMs + DescriptorPauseMs);
    }

    /// <summary>After a close or the retry timer: holds a spare descriptor again if paused for want of one, then re-asks <see cref="MayAccept"/>.</summary>
    private void TryResume()
    {
        if (_paused)
        {
            if (!_context.DescriptorReserve.TryAcquire() && !(_context.CloseIdlePipes() && _context.DescriptorReserve.TryAcquire()))
            {
                if (!_resumeTimer.IsArmed)
                    _context.Reactor.Timers.Arm(_resumeTimer, _context.Reactor.NowMs + DescriptorPauseMs);
                return;
            }
            _paused = false;
            _context.Reactor.Timers.Cancel(_resumeTimer);
        }
        UpdateAccepting();
    }

    /// <summary>The backlog is drained: an episode of exhaustion, if any, is over.</summary>
    private void EndEpisode()
    {
        if (!_exhausted)
            return;
        _exhausted = false;
        _context.Log.Info("accepting again: every waiting client accepted (" + _context.OpenConnections.ToString(System.Globalization.CultureInfo.InvariantCulture) + " connections open)");
    }

    /// <summary>Closes the listening socket: new clients are refused by the kernel from now on.</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _context.ConnectionClosed -= _onConnectionClosed;
        _context.DescriptorsExhausted = null;
        _context.DescriptorReserve.Release();
        _context.Reactor.Timers.Cancel(_resumeTimer);
        _context.Reactor.Remove(_fd);
        Sys.Close(_fd);
    }
}
