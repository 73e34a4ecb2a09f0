using System;
using System.Globalization;
using System.Threading;
using IPAddress = System.Net.IPAddress;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Proxy;

namespace TcpProxy.Hosting;

/// <summary>
/// Follows the destination's records: a thread of its own (never the pool's)
/// looks the name up every --resolve-interval, and at once when clients keep
/// failing on every address, with the blocking getaddrinfo no loop may call.
/// A changed answer replaces <see cref="Destinations"/>' set, which each loop
/// reads as its next client connects (no loop is woken for it); a failed or
/// empty one keeps the last good set, said once per episode.
/// </summary>
internal sealed class DestinationResolver : IDisposable
{
    // A loop thread is told to stop before it is waited for; a lookup stuck in the resolver is not waited out.
    private static readonly TimeSpan StopLimit = TimeSpan.FromSeconds(1);

    private readonly string _host;
    private readonly int _port;
    private readonly TimeSpan _interval;
    private readonly Destinations _destinations;
    private readonly Log _log;
    private readonly AutoResetEvent _wake = new(false);
    private readonly Thread _thread;
    private volatile bool _stopping;
    private bool _failing;

    private DestinationResolver(string host, int port, TimeSpan interval, Destinations destinations, Log log)
    {
        _host = host;
        _port = port;
        _interval = interval;
        _destinations = destinations;
        _log = log;
        _thread = new Thread(Run) { Name = "tcpproxy dns", IsBackground = true };
    }

    /// <summary>Whether the destination is a name worth looking up again: not an address, and an interval asked for.</summary>
    public static bool Wanted(string host, TimeSpan interval) => interval > TimeSpan.Zero && !IPAddress.TryParse(host, out _);

    /// <summary>Starts the thread; stale-looking sets wake it early.</summary>
    public static DestinationResolver Start(string host, int port, TimeSpan interval, Destinations destinations, Log log)
    {
        var resolver = new DestinationResolver(host, port, interval, destinations, log);
        destinations.LooksStale = resolver.ResolveNow;
        resolver._thread.Start();
        return resolver;
    }

    /// <summary>From a loop: look again now rather than at the next interval (a futex wake; never waits).</summary>
    public void ResolveNow() => _wake.Set();

    private void Run()
    {
        try
        {
            while (!_stopping)
            {
                _wake.WaitOne(_interval);
                if (!_stopping)
                    ResolveOnce();
            }
        }
        catch (Exception exception)
        {
            // The last good set stays in use; only following the records stops.
            _log.Error("resolver: internal error (" + LogText.Fault(exception) + "); the destination's addresses stay as they are");
        }
    }

    private void ResolveOnce()
    {
        SocketAddress[]? addresses = AddressResolver.Resolve(_host, _port, passive: false, out string? error);
        if (addresses is null)
        {
            _destinations.Resolved(null);
            if (!_failing)
                _log.Warning("cannot resolve destination '" + _host + "': " + error + "; keeping " + _destinations.Current);
            _failing = true;
            return;
        }
        var found = new DestinationSet(addresses);
        DestinationSet before = _destinations.Current;
        _destinations.Resolved(found);
        if (_failing)
            _log.Info("destination '" + _host + "' resolves again");
        _failing = false;
        if (!found.SameAs(before))
            _log.Info("destination " + _destinations.Name + " now resolves to " + found + " (was " + before + "); new clients use it");
    }

    public void Dispose()
    {
        _stopping = true;
        _wake.Set();
        // A getaddrinfo stuck on a resolver that never answers keeps its thread (a background one): the process need not wait.
        if (_thread.Join(StopLimit))
            _wake.Dispose();
    }
}
