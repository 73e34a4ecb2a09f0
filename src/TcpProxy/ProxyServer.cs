using System;
using System.Collections.Generic;
using System.Globalization;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Metrics;
using TcpProxy.Proxy;
using TcpProxy.Reactor;

namespace TcpProxy;

/// <summary>
/// Wires one reactor, its poller, a listener, the signals, the access log and
/// the metrics endpoint from the options, and runs the loop until a drain
/// ends it (SIGINT/SIGTERM, or <see cref="RequestStop"/>). SIGHUP reopens the
/// access log, SIGUSR1 logs the counters.
/// </summary>
public sealed class ProxyServer : IDisposable
{
    // At exit, a stuck access-log destination may delay the end this long, no longer.
    private static readonly TimeSpan AccessLogFlushLimit = TimeSpan.FromSeconds(1);

    private readonly Reactor.Reactor _reactor;
    private readonly Listener _listener;
    private readonly SignalEvents _signals;
    private readonly Drain _drain;
    private readonly MetricsEndpoint? _metrics;
    private readonly LogWriter? _accessLogFile;
    private readonly string? _accessLogPath;

    private ProxyServer(Parts parts, ProxyContext context, ProxyOptions options)
    {
        _reactor = parts.Reactor!;
        _listener = parts.Listener!;
        _signals = parts.Signals!;
        _metrics = parts.Metrics;
        _accessLogFile = parts.AccessLogFile;
        _accessLogPath = options.AccessLogPath;
        Context = context;
        _drain = new Drain(context, _listener, options.DrainTimeout, _reactor.Stop);
        _signals.OnTerminate = _drain.OnTerminateSignal;
        _signals.OnHangUp = ReopenAccessLog;
        _signals.OnUserReport = ReportCounters;
    }

    public ProxyContext Context { get; }

    public Reactor.Reactor Reactor => _reactor;

    /// <summary>The port the proxy listens on (useful when 0 was asked for).</summary>
    public int ListenPort => _listener.Address.Port;

    /// <summary>The metrics endpoint's port, 0 if there is none (useful when 0 was asked for).</summary>
    public int MetricsPort => _metrics?.Address.Port ?? 0;

    /// <summary>What Create has built so far: released in reverse if a later step fails.</summary>
    private sealed class Parts
    {
        public LogWriter? AccessLogFile;
        public Reactor.Reactor? Reactor;
        public SignalEvents? Signals;
        public Listener? Listener;
        public MetricsEndpoint? Metrics;

        public ProxyServer? Abandon()
        {
            Metrics?.Dispose();
            Listener?.Dispose();
            Signals?.Dispose();
            Reactor?.Dispose();
            AccessLogFile?.Dispose();
            return null;
        }
    }

    /// <summary>Resolves, raises the fd limit, opens the access log, binds and listens. Null with a one-line error on failure.</summary>
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

        var parts = new Parts();
        AccessLog? accessLog = OpenAccessLog(options, log, parts, out error);
        if (options.AccessLogPath != null && accessLog is null)
            return parts.Abandon();
        IPoller? poller = PollerFactory.Create(options.Poller, out error);
        if (poller is null)
            return parts.Abandon();
        var reactor = parts.Reactor = new Reactor.Reactor(poller);
        string destinationName = options.DestinationHost + ":" + options.DestinationPort.ToString(CultureInfo.InvariantCulture);
        var context = new ProxyContext(reactor, log, destinations, destinationName, options) { AccessLog = accessLog };
        reactor.UnownedFault = exception => log.Info("internal error in the event loop (" + ProxyContext.DescribeFault(exception) + ")");

        if ((parts.Signals = SignalEvents.Install(reactor, out error)) is null)
            return parts.Abandon();
        if ((parts.Listener = Listener.Open(context, options.BindAddress, options.ListenPort, out error)) is null)
            return parts.Abandon();
        if (options.MetricsHost is string metricsHost
            && (parts.Metrics = MetricsEndpoint.Open(context, metricsHost, options.MetricsPort, out error)) is null)
            return parts.Abandon();
        // The loop flushes the logs from now on: a stuck pipe costs lines, never the loop.
        log.Writer?.Attach(reactor);
        parts.AccessLogFile?.Attach(reactor);
        log.Info(StartupLine(options, parts, destinationName, destinations, poller, fileLimit));
        return new ProxyServer(parts, context, options);
    }

    /// <summary>"-" shares stderr's writer; a path gets a file writer of its own (null with an error if it cannot be opened).</summary>
    private static AccessLog? OpenAccessLog(ProxyOptions options, Log log, Parts parts, out string? error)
    {
        error = null;
        if (options.AccessLogPath is not string path)
            return null;
        if (path == "-")
        {
            if (log.Writer is not LogWriter stderr)
                return null;
            return new AccessLog(stderr, options.AccessLogFormat);
        }
        string notice = options.AccessLogFormat == AccessLogFormat.Json ? AccessLog.JsonDroppedNotice : AccessLog.TextDroppedNotice;
        parts.AccessLogFile = LogWriter.OpenFile(path, out string? openError, droppedNotice: notice);
        if (parts.AccessLogFile is null)
        {
            error = "--access-log: " + openError;
            return null;
        }
        return new AccessLog(parts.AccessLogFile, options.AccessLogFormat);
    }

    private static string StartupLine(ProxyOptions options, Parts parts, string destinationName, SocketAddress[] destinations, IPoller poller, long fileLimit)
    {
        var line = new List<string>
        {
            poller.Name,
            options.BufferSize.ToString(CultureInfo.InvariantCulture) + " B buffers",
            "stall timeout " + Seconds(options.StallTimeout),
            "connect timeout " + Seconds(options.ConnectTimeout),
        };
        if (options.IdleTimeout > TimeSpan.Zero)
            line.Add("idle timeout " + Seconds(options.IdleTimeout));
        if (options.SendProxy != ProxyProtocolVersion.None)
            line.Add("PROXY protocol " + (options.SendProxy == ProxyProtocolVersion.V1 ? "v1" : "v2"));
        if (options.MaxConnections > 0)
            line.Add("at most " + options.MaxConnections.ToString(CultureInfo.InvariantCulture) + " connections");
        line.Add("fd limit " + fileLimit.ToString(CultureInfo.InvariantCulture));
        if (options.AccessLogPath != null)
            line.Add("access log " + (options.AccessLogPath == "-" ? "on stderr" : options.AccessLogPath)
                + (options.AccessLogFormat == AccessLogFormat.Json ? " (JSON)" : ""));
        if (parts.Metrics != null)
            line.Add("metrics at http://" + parts.Metrics.Address + "/metrics");
        return "listening on " + parts.Listener!.Address + ", forwarding to " + destinationName
            + " (" + string.Join(", ", destinations) + "); " + string.Join(", ", line);
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

    // SIGHUP, as logrotate sends after renaming the file: lines go to a new file of the same name.
    private void ReopenAccessLog()
    {
        if (_accessLogFile is null)
        {
            Context.Log.Info("SIGHUP: no access-log file to reopen");
            return;
        }
        int rc = _accessLogFile.Reopen();
        if (rc == 0)
            Context.Log.Info("SIGHUP: reopened the access log " + _accessLogPath);
        else
            Context.Log.Error("SIGHUP: cannot reopen the access log " + _accessLogPath + ": " + Errno.Name(-rc) + "; still writing to the old file");
    }

    // Asked for by the operator (SIGUSR1): written whatever the log level.
    private void ReportCounters() => Context.Log.Error(CounterReport.Format(Context));

    public void Dispose()
    {
        _metrics?.Dispose();
        _listener.Dispose();
        _signals.Dispose();
        _accessLogFile?.FlushAtExit(AccessLogFlushLimit);
        _accessLogFile?.Dispose();
        Context.Log.Writer?.Detach();
        _reactor.Dispose();
    }
}
