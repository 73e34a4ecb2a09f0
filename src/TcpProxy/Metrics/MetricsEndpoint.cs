using System;
using System.Collections.Generic;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Proxy;
using TcpProxy.Reactor;

namespace TcpProxy.Metrics;

/// <summary>
/// --metrics ADDRESS:PORT: a listening socket on the proxy's own loop that
/// answers GET /metrics (<see cref="MetricsConnection"/>) from a body
/// rendered at most once a second (<see cref="ScrapeCache"/>). At most
/// <see cref="MaxConnections"/> scrapes are open at once; a new one takes the
/// place of the oldest, so clients that connect and say nothing cannot lock
/// a real scraper out, and none of this touches forwarding beyond a few
/// microseconds of the loop per request.
/// </summary>
public sealed class MetricsEndpoint : IDisposable, IFaultOwner
{
    public const int MaxConnections = 16;
    private const int AcceptBudget = 16;

    private readonly ProxyContext _context;
    private readonly int _fd;
    private readonly ScrapeCache _cache;
    private MetricsConnection? _oldest;
    private MetricsConnection? _newest;
    private int _open;
    private bool _disposed;

    private MetricsEndpoint(ProxyContext context, int fd, SocketAddress address)
    {
        _context = context;
        _fd = fd;
        Address = address;
        _cache = new ScrapeCache(() => ProxyMetrics.Render(AllReactors ?? [_context]));
    }

    public SocketAddress Address { get; }

    /// <summary>Binds and listens; null with a one-line error.</summary>
    public static MetricsEndpoint? Open(ProxyContext context, string host, int port, out string? error)
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
                SocketAddress bound = default;
                Sys.GetSocketName(fd, ref bound);
                var endpoint = new MetricsEndpoint(context, fd, bound);
                rc = context.Reactor.Add(fd, IoEvents.Readable, endpoint);
                if (rc < 0)
                {
                    Sys.Close(fd);
                    continue;
                }
                context.Reactor.SetCallback(fd, IoEvents.Readable, endpoint.OnAcceptable);
                error = null;
                return endpoint;
            }
            Sys.Close(fd);
        }
        error = "cannot listen for metrics on " + where + ": " + Errno.Name(-rc);
        return null;
    }

    /// <summary>Every reactor's context (the first is this endpoint's own loop); set before the loops start.</summary>
    public IReadOnlyList<ProxyContext>? AllReactors { get; set; }

    /// <summary>The 200 response to /metrics (rendered at most once a second); its first headLength bytes answer HEAD.</summary>
    internal byte[] Scrape(out int headLength) => _cache.Response(_context.Reactor.NowMs, out headLength);

    /// <summary>The accept callback threw: logged; scrapes go on with the next client.</summary>
    public void OnFault(Exception exception) =>
        _context.Log.Info("metrics endpoint: internal error (" + ProxyContext.DescribeFault(exception) + ")");

    private void OnAcceptable()
    {
        for (int i = 0; i < AcceptBudget; i++)
        {
            SocketAddress peer = default;
            int fd = Sys.Accept(_fd, ref peer);
            if (fd < 0)
            {
                if (fd == -Errno.EINTR || fd == -Errno.ECONNABORTED)
                    continue;
                // EAGAIN: all taken. EMFILE and the like: the proxy's own listener has the pause
                // logic; scrapes simply wait for the next client's edge.
                _context.Reactor.ClearReady(_fd, IoEvents.Readable);
                return;
            }
            if (_open == MaxConnections)
                _oldest!.Close(abort: true);
            var connection = new MetricsConnection(this, _context.Reactor, fd);
            Append(connection);
            if (!connection.Start())
                connection.Close(abort: true);
        }
    }

    private void Append(MetricsConnection connection)
    {
        connection.Older = _newest;
        if (_newest != null)
            _newest.Newer = connection;
        else
            _oldest = connection;
        _newest = connection;
        _open++;
    }

    internal void Closed(MetricsConnection connection)
    {
        if (connection.Older != null)
            connection.Older.Newer = connection.Newer;
        else
            _oldest = connection.Newer;
        if (connection.Newer != null)
            connection.Newer.Older = connection.Older;
        else
            _newest = connection.Older;
        connection.Newer = connection.Older = null;
        _open--;
    }

    public void Dispose()
    {
        if (_disposed)
            return;
        _disposed = true;
        // Bounded: each close unlinks one.
        while (_oldest is MetricsConnection connection)
            connection.Close(abort: true);
        _context.Reactor.Remove(_fd);
        Sys.Close(_fd);
    }
}
