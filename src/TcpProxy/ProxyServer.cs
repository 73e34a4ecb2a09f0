using System;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Metrics;
using TcpProxy.Proxy;
using TcpProxy.Reactor;

namespace TcpProxy;

/// <summary>
/// Wires one reactor, its poller, a listener and the signals from the
/// options, and runs the loop until a drain ends it (SIGINT/SIGTERM, or
/// <see cref="RequestStop"/>). SIGUSR1 logs the counters.
/// </summary>
public sealed class ProxyServer : IDisposable
{
    private readonly Reactor.Reactor _reactor;
    private readonly Listener _listener;
    private readonly SignalEvents _signals;
    private readonly Drain _drain;
    private readonly MetricsEndpoint? _metrics;

    private ProxyServer(Reactor.Reactor reactor, Listener listener, SignalEvents signals, MetricsEndpoint? metrics, ProxyContext context, ProxyOptions options)
    {
        _reactor = reactor;
        _listener = listener;
        _signals = signals;
        _metrics = metrics;
        Context = context;
        _drain = new Drain(context, listener, options.DrainTimeout, reactor.Stop);
        signals.OnTerminate = _drain.OnTerminateSignal;
        signals.OnUserReport = ReportCounters;
    }

    public ProxyContext Context { get; }

    public Reactor.Reactor Reactor => _reactor;

    /// <summary>The port the proxy listens on (useful when 0 was asked for).</summary>
    public int ListenPort => _listener.Address.Port;

    /// <summary>Resolves, raises the fd limit, binds and listens. Null with a one-line error on failure.</summary>
    public static ProxyServer? Create(ProxyOptions options, Log log, out string? error)
    {
        if (options.SendProxy != ProxyProtocolVersion.None && options.BufferSize < ProxyProtocolHeader.MaxLength(options.SendProxy))
        {
            error = "--buffer-size is too small for a PROXY protocol header";
            return null;
        }
        SocketAddress[]? destinations = AddressResolver.Resolve(options.DestinationHost, options.DestinationPort, passive: false, out string? resolveError);
        if (destinations is null)
        {
            error = "cannot resolve destination '" + options.DestinationHost + "': " + resolveError;
            return null;
        }
        long fileLimit = ResourceLimits.RaiseFileLimit();
        if (fileLimit < 0)
            log.Info("cannot raise the descriptor limit: " + Errno.Name((int)-fileLimit));

        EpollPoller? poller = EpollPoller.Create(out int pollerErrno);
        if (poller is null)
        {
            error = "cannot create the epoll instance: " + Errno.Name(pollerErrno);
            return null;
        }
        var reactor = new Reactor.Reactor(poller);
        string destinationName = options.DestinationHost + ":" + options.DestinationPort.ToString(CultureInfo.InvariantCulture);
        var context = new ProxyContext(reactor, log, destinations, destinationName, options);

        SignalEvents? signals = SignalEvents.Install(reactor, out error);
        if (signals is null)
        {
            reactor.Dispose();
            return null;
        }
        Listener? listener = Listener.Open(context, options.BindAddress, options.ListenPort, out error);
        if (listener is null)
        {
            signals.Dispose();
            reactor.Dispose();
            return null;
        }
        MetricsEndpoint? metrics = null;
        if (options.MetricsHost is string metricsHost)
        {
            metrics = MetricsEndpoint.Open(context, metricsHost, options.MetricsPort, out error);
            if (metrics is null)
            {
                listener.Dispose();
                signals.Dispose();
                reactor.Dispose();
                return null;
            }
        }
        // The loop flushes the log from now on: a stuck stderr pipe costs lines, never the loop.
        log.Writer?.Attach(reactor);
        log.Info("listening on " + listener.Address + ", forwarding to " + destinationName
            + " (" + string.Join(", ", destinations) + "); " + poller.Name + ", "
            + options.BufferSize.ToString(CultureInfo.InvariantCulture) + " B buffers, stall timeout "
            + Seconds(options.StallTimeout) + ", connect timeout " + Seconds(options.ConnectTimeout)
            + (options.IdleTimeout > TimeSpan.Zero ? ", idle timeout " + Seconds(options.IdleTimeout) : "")
            + (options.SendProxy != ProxyProtocolVersion.None ? ", PROXY protocol " + (options.SendProxy == ProxyProtocolVersion.V1 ? "v1" : "v2") : "")
            + (options.MaxConnections > 0 ? ", at most " + options.MaxConnections.ToString(CultureInfo.InvariantCulture) + " connections" : "")
            + ", fd limit " + fileLimit.ToString(CultureInfo.InvariantCulture)
            + (metrics != null ? "; metrics at http://" + metrics.Address + "/metrics" : ""));
        return new ProxyServer(reactor, listener, signals, metrics, context, options);
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>amain: runs the loop until stopped. Returns 0, or 1 if the poller failed.</summary>
    public int Run()
    {
        int rc = _reactor.Run();
        if (rc == 0)
            return 0;
        Context.Log.Error("event loop failed: " + Errno.Name(-rc));
        return 1;
    }

    /// <summary>Starts the drain from any thread, as SIGTERM does.</summary>
    public void RequestStop() => _signals.RaiseTerminate();

    // Asked for by the operator (SIGUSR1): written whatever the log level.
    private void ReportCounters() => Context.Log.Error(CounterReport.Format(Context));

    public void Dispose()
    {
        _metrics?.Dispose();
        _listener.Dispose();
        _signals.Dispose();
        Context.Log.Writer?.Detach();
        _reactor.Dispose();
    }
}
