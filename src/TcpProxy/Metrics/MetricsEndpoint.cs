using System;
using System.Collections.Generic;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Proxy;
using TcpProxy.Reactor;

namespace TcpProxy.Metrics;

/// <summary>
/// --metrics ADDRESS:PORT: a listening socket on the proxy's own loop that
/// answers GET /metrics (<see cref="MetricsConnection"/>) from a body
/// rendered at most once a second (<see cref="ScrapeCache"/>).
///
/// At most <see cref="MaxConnections"/> scrapes are open at once. When a new
/// one needs a place, the oldest silent connection (no byte received) that
/// has had <see cref="GraceMs"/> to speak gives way. A connection that has
/// sent a byte is never evicted (its 5 s limit bounds it), nor is one still
/// in its grace: a scraper's request arrives a round trip after its accept,
/// so a flood of connects cannot reset it first. When no place can be freed,
/// accepting pauses and newcomers wait in the kernel's backlog, in order,
/// until a scrape ends or the oldest silent one's grace runs out. So clients
/// that connect and say nothing can delay a scraper but never lock it out.
/// Answers are paced (<see cref="AnswerPacing"/>, 100 a second), so scrapers
/// however many and fast take a bounded share of the loop.
/// </summary>
public sealed class MetricsEndpoint : IDisposable, IFaultOwner, IFdHandler
{
    public const int MaxConnections = 16;
    // A scraper speaks a round trip after its accept; the margin is for a client host that is busy.
    public const long GraceMs = 1000;
    private const int AcceptBudget = 16;

    private readonly Reactor.Reactor _reactor;
    private readonly Log _log;
    private readonly int _fd;
    private readonly ScrapeCache _cache;
    private readonly LoopTimer _graceOver;
    // Oldest first: the oldest silent one gives way when a new one needs its place.
    private readonly IntrusiveList<MetricsConnection> _open = new();
    private bool _paused;
    private bool _disposed;
    private bool _listenerClosed;

    private MetricsEndpoint(Reactor.Reactor reactor, Log log, Func<string> render, int fd, SocketAddress address)
    {
        _reactor = reactor;
        _log = log;
        _fd = fd;
        Address = address;
        _cache = new ScrapeCache(render);
        _graceOver = new LoopTimer(Resume, owner: this);
        Pacing = new AnswerPacing(reactor);
    }

    /// <summary>How many answers the loop gives per interval (<see cref="AnswerPacing"/>).</summary>
    internal AnswerPacing Pacing { get; }

    public SocketAddress Address { get; }

    /// <summary>Binds and listens on <paramref name="reactor"/>'s loop, answering with what <paramref name="render"/> writes; null with a one-line error.</summary>
    public static MetricsEndpoint? Open(Reactor.Reactor reactor, Log log, Func<string> render, string host, int port, out string? error)
    {
        string where = (host.Contains(':') ? "[" + host + "]" : host) + ":" + port.ToString(CultureInfo.InvariantCulture);
        SocketAddress[]? addresses = AddressResolver.Resolve(host, port, passive: true, out string? resolveError);
        if (addresses is null)
        {
            error = "cannot resolve the --metrics address '" + host + "': " + resolveError;
            return null;
        }
        int rc = 0;
        foreach (SocketAddress address in addresses)
        {
            int fd = Sys.StreamSocket(address.Family);
            rc = fd;
            if (fd < 0)
                continue;
            rc = Sys.SetReuseAddress(fd);
            if (rc == 0)
                rc = Sys.Bind(fd, address);
            if (rc == 0)
                rc = Sys.Listen(fd, 64);
            if (rc == 0)
            {
                // A loop that cannot watch a socket will not watch the next one either.
                return Serve(reactor, log, render, fd, out error);
            }
            Sys.Close(fd);
        }
        error = "cannot listen for metrics on " + where + ": " + Errno.Name(-rc);
        return null;
    }

    /// <summary>Serves scrapes on a listening fd (bound above, or passed by systemd); null with an error, the fd closed.</summary>
    public static MetricsEndpoint? Serve(Reactor.Reactor reactor, Log log, Func<string> render, int fd, out string? error)
    {
        SocketAddress bound = default;
        Sys.GetSocketName(fd, ref bound);
        var endpoint = new MetricsEndpoint(reactor, log, render, fd, bound);
        int rc = reactor.Add(fd, endpoint, IoEvents.Readable, owner: endpoint);
        if (rc < 0)
        {
            Sys.Close(fd);
            error = "cannot watch the metrics socket: " + Errno.Name(-rc);
            return null;
        }
        reactor.Watch(fd, IoEvents.Readable, true);
        error = null;
        return endpoint;
    }

    /// <summary>The 200 response to /metrics (rendered at most once a second); its first headLength bytes answer HEAD.</summary>
    internal byte[] Scrape(out int headLength) => _cache.Response(_reactor.NowMs, out headLength);

    /// <summary>What /readyz answers: whether the proxy accepts new clients (set before the loops start).</summary>
    public Func<bool> Accepting { get; set; } = () => true;

    /// <summary>The accept callback threw: logged; scrapes go on with the next client.</summary>
    public void OnFault(Exception exception) =>
        _log.Fault("metrics endpoint: internal error (" + LogText.Fault(exception) + ")");

    public void OnWritable(int fd)
    {
    }

    public void OnReadable(int listening)
    {
        if (_listenerClosed)
            return;
        for (int i = 0; i < AcceptBudget; i++)
        {
            if (_open.Count == MaxConnections && !MakeRoom())
            {
                Pause();
                return;
            }
            SocketAddress peer = default;
            int fd = Sys.Accept(_fd, ref peer);
            if (fd < 0)
            {
                if (fd == -Errno.EINTR || fd == -Errno.ECONNABORTED)
                    continue;
                // EAGAIN: all taken. EMFILE and the like: the proxy's own listener has the pause
                // logic; scrapes simply wait for the next client's edge.
                _reactor.ClearReady(_fd, IoEvents.Readable);
                return;
            }
            var connection = new MetricsConnection(this, _reactor, fd);
            _open.AddLast(connection);
            if (!connection.Start())
                connection.Close(abort: true);
        }
    }

    /// <summary>Closes the oldest silent connection past its grace; false if there is none (then the grace timer is set).</summary>
    private bool MakeRoom()
    {
        MetricsConnection? next;
        for (MetricsConnection? candidate = _open.First; candidate != null; candidate = next)
        {
            next = IntrusiveList<MetricsConnection>.Next(candidate);
            if (!candidate.IsSilent)
                continue;
            long graceEndsMs = candidate.OpenedMs + GraceMs;
            if (_reactor.NowMs < graceEndsMs)
            {
                _reactor.Timers.Arm(_graceOver, graceEndsMs);
                return false;
            }
            // Its request may be waiting unread behind this accept (a loop that fell behind): read first.
            candidate.ReadWaiting();
            if (candidate.IsClosed)
                return true;
            if (candidate.IsSilent)
            {
                candidate.Close(abort: true);
                return true;
            }
        }
        return false;
    }

    // The listener's readiness stays recorded while its callback is off: turning it back on runs the accepts.
    private void Pause()
    {
        _paused = true;
        _reactor.Watch(_fd, IoEvents.Readable, false);
    }

    private void Resume()
    {
        if (!_paused || _disposed || _listenerClosed)
            return;
        _paused = false;
        _reactor.Timers.Cancel(_graceOver);
        _reactor.Watch(_fd, IoEvents.Readable, true);
    }

    internal void Closed(MetricsConnection connection)
    {
        _open.Remove(connection);
        Resume();
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        _reactor.Timers.Cancel(_graceOver);
        Pacing.Dispose();
        // Bounded: each close unlinks one.
        while (_open.First is MetricsConnection connection)
            connection.Close(abort: true);
        StopListening();
    }

    /// <summary>
    /// Stops accepting (a binary upgrade handed the socket to the new process, which
    /// serves it from now on); scrapes already accepted are answered. The poller is
    /// told explicitly: the new process's copy keeps the socket open past close().
    /// </summary>
    public void StopListening()
    {
        if (_listenerClosed)
            return;
        _listenerClosed = true;
        _reactor.Timers.Cancel(_graceOver);
        _reactor.Release(_fd);
        Sys.Close(_fd);
    }

    /// <summary>The listening descriptor (what a binary upgrade hands to the new process).</summary>
    public int ListeningFd => _fd;
}
