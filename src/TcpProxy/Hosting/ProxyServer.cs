using System;
using System.Collections.Generic;
using System.Globalization;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Metrics;
using TcpProxy.Proxy;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// What the process owns, once: the resolved destination, the descriptor
/// limit, the access-log file, the signals, the metrics endpoint, and the
/// loops (<see cref="LoopGroup"/>, each a <see cref="ReactorLoop"/>). It runs
/// them until a drain ends them (SIGINT/SIGTERM, or <see cref="RequestStop"/>).
/// SIGHUP reopens the access log, SIGUSR1 logs the counters, SIGUSR2 upgrades
/// the binary (ProxyServer.Upgrade.cs).
/// </summary>
public sealed partial class ProxyServer : IDisposable
{
    // At exit, a stuck access-log destination may delay the end this long, no longer.
    private static readonly TimeSpan AccessLogFlushLimit = TimeSpan.FromSeconds(1);

    private readonly LoopGroup _group;
    private readonly Log _log;
    private readonly SignalEvents _signals;
    private readonly MetricsEndpoint? _metrics;
    private readonly LogWriter? _accessLogFile;
    private readonly string? _accessLogPath;
    private readonly ServiceNotifier? _notifier;
    private readonly DestinationResolver? _resolver;
    private readonly Destinations _destinations;
    private readonly BinaryUpgrade _upgrade;
    private readonly UpgradeReadiness? _upgradedFrom;

    private ProxyServer(Parts parts, ProxyOptions options, Log log, ProgramCommand? command)
    {
        _log = log;
        _signals = parts.Signals!;
        _metrics = parts.Metrics;
        _accessLogFile = parts.AccessLogFile;
        _accessLogPath = options.AccessLogPath;
        _group = new LoopGroup(parts.Loops.ToArray(), log, options.DrainTimeout, WriteCounterReport);
        _notifier = ServiceNotifier.FromEnvironment(_group.First.Reactor, log, StatusLine);
        _upgrade = new BinaryUpgrade(_group.First.Reactor, log, command, options.UpgradeTimeout, SocketsToHandOver, HandOver);
        _upgradedFrom = parts.UpgradedFrom;
        if (_metrics != null)
            _metrics.Accepting = () => !_group.Draining && !_upgrade.InProgress;
        _signals.OnTerminate = Terminate;
        _signals.OnUpgrade = Upgrade;
        _signals.OnHangUp = Reload;
        _signals.OnUserReport = _group.ReportCounters;
        if (parts.Shared?.SharedLimit is SharedConnectionLimit shared)
            shared.RoomFreed = _group.RoomFreedPoster;
        if (_group.First.Mailbox != null)
            PostLogFlushesToTheFirstLoop();
        _destinations = parts.Shared!.Destinations;
        if (parts.Shared.Resolving)
            _resolver = DestinationResolver.Start(options.DestinationHost, options.DestinationPort, options.ResolveInterval, _destinations, log);
    }

    /// <summary>The first reactor (the only one, by default): the one the calling thread runs.</summary>
    public Reactor.Reactor Reactor => _group.First.Reactor;

    /// <summary>Every loop's parts, in order: what SIGUSR1 and /metrics add up.</summary>
    internal IReadOnlyList<LoopParts> Loops => Array.ConvertAll(_group.Loops, loop => loop.Parts);

    /// <summary>The port the proxy listens on (useful when 0 was asked for).</summary>
    public int ListenPort => _group.First.Listener!.Address.Port;

    /// <summary>The metrics endpoint's port, 0 if there is none (useful when 0 was asked for).</summary>
    public int MetricsPort => _metrics?.Address.Port ?? 0;

    /// <summary>What Create has built so far: released in reverse if a later step fails.</summary>
    private sealed class Parts
    {
        public ProcessParts? Shared;
        public LogWriter? AccessLogFile;
        public readonly List<ReactorLoop> Loops = new();
        public SignalEvents? Signals;
        public MetricsEndpoint? Metrics;
        public UpgradeReadiness? UpgradedFrom;

        public ProxyServer? Abandon()
        {
            Metrics?.Dispose();
            Signals?.Dispose();
            for (int i = Loops.Count - 1; i >= 0; i--)
                Loops[i].Dispose();
            AccessLogFile?.Dispose();
            return null;
        }
    }

    /// <summary>
    /// Resolves, raises the fd limit, opens the access log, assembles the loops (binding and listening,
    /// or serving sockets passed by systemd or an upgraded process). Null with a one-line error on failure.
    /// <paramref name="command"/> is what SIGUSR2 runs again; without it the upgrade is declined.
    /// </summary>
    public static ProxyServer? Create(ProxyOptions options, Log log, out string? error, ProgramCommand? command = null)
    {
        error = OptionChecks.FirstProblem(options);
        if (error is not null)
            return null;
        SocketAddress[]? addresses = AddressResolver.Resolve(options.DestinationHost, options.DestinationPort, passive: false, out string? resolveError);
        if (addresses is null)
        {
            error = "cannot resolve destination '" + options.DestinationHost + "': " + resolveError;
            return null;
        }
        long fileLimit = ResourceLimits.RaiseFileLimit();
        if (fileLimit < 0)
            log.Warning("cannot raise the descriptor limit: " + Errno.Name((int)-fileLimit));

        var parts = new Parts();
        LogWriter? accessLogWriter = OpenAccessLog(options, log, parts, out error);
        if (options.AccessLogPath != null && accessLogWriter is null)
            return parts.Abandon();
        SocketActivation? passed = SocketActivation.FromEnvironment(options.ListenPort, options.MetricsHost is null ? null : options.MetricsPort, options.Reactors, out error);
        if (error != null)
            return parts.Abandon();
        parts.UpgradedFrom = UpgradeReadiness.FromEnvironment(passed);
        parts.Shared = SharedParts(options, log, addresses, accessLogWriter, passed);
        if (!AssembleLoops(parts, out error))
            return parts.Abandon();
        ReactorLoop first = parts.Loops[0];
        if ((parts.Signals = SignalEvents.Install(first.Reactor, out error)) is null)
            return parts.Abandon();
        if (options.MetricsHost is string metricsHost
            && (parts.Metrics = OpenMetrics(parts, metricsHost, options.MetricsPort, passed?.MetricsFd ?? -1, out error)) is null)
            return parts.Abandon();
        // The first loop flushes the logs from now on: a stuck pipe costs lines, never a loop.
        log.Writer?.Attach(first.Reactor);
        parts.AccessLogFile?.Attach(first.Reactor);
        string pollerName = PollerFactory.NameOf(PollerFactory.Resolve(options.Poller));
        log.Info(StartupLine.Format(options, first.Listener!.Address, parts.Shared.Settings, parts.Shared.Destinations.Current,
            pollerName, fileLimit, parts.Metrics?.Address, passed));
        // Every descriptor of the setup is open and no loop runs yet: /proc/self/fd is listed once, here.
        if (parts.Metrics != null)
            ProcessStats.Calibrate();
        return new ProxyServer(parts, options, log, command);
    }

    private static ProcessParts SharedParts(ProxyOptions options, Log log, SocketAddress[] addresses, LogWriter? accessLogWriter, SocketActivation? passed)
    {
        var settings = PairSettings.From(options);
        return new ProcessParts(options, log, settings, new Destinations(settings.DestinationName, new DestinationSet(addresses)), accessLogWriter)
        {
            PassedListeners = passed is null ? null
                : Array.ConvertAll(passed.ProxyFds, fd => new SharedListeningSocket(fd, passed.ProxyFds.Length == 1 ? options.Reactors : 1)),
            Resolving = DestinationResolver.Wanted(options.DestinationHost, options.ResolveInterval),
        };
    }

    private static bool AssembleLoops(Parts parts, out string? error)
    {
        int count = parts.Shared!.Options.Reactors;
        error = null;
        for (int i = 0; i < count; i++)
        {
            SocketAddress? besideFirst = i == 0 ? null : parts.Loops[0].Listener!.Address;
            ReactorLoop? loop = ReactorLoop.Assemble(i, count, parts.Shared, besideFirst, out error);
            if (loop is null)
                return false;
            parts.Loops.Add(loop);
        }
        return true;
    }

    // On a socket systemd or the upgraded process passed (passedFd), else bound here.
    private static MetricsEndpoint? OpenMetrics(Parts parts, string host, int port, int passedFd, out string? error)
    {
        LoopParts[] loops = parts.Loops.ConvertAll(loop => loop.Parts).ToArray();
        Func<string> render = () => ProxyMetrics.Render(loops);
        Reactor.Reactor reactor = parts.Loops[0].Reactor;
        return passedFd >= 0
            ? MetricsEndpoint.Serve(reactor, parts.Shared!.Log, render, passedFd, out error)
            : MetricsEndpoint.Open(reactor, parts.Shared!.Log, render, host, port, out error);
    }

    /// <summary>"-" shares stderr's writer; a path gets a file writer of its own (null with an error if it cannot be opened).</summary>
    private static LogWriter? OpenAccessLog(ProxyOptions options, Log log, Parts parts, out string? error)
    {
        error = null;
        if (options.AccessLogPath is not string path)
            return null;
        if (path == "-")
            return log.Writer;
        string notice = options.AccessLogFormat == AccessLogFormat.Json ? AccessLog.JsonDroppedNotice : AccessLog.TextDroppedNotice;
        parts.AccessLogFile = LogWriter.OpenFile(path, out string? openError, droppedNotice: notice);
        if (parts.AccessLogFile is null)
            error = "--access-log: " + openError;
        return parts.AccessLogFile;
    }

    // Lines the other loops queue are flushed by loop 0, which alone watches the writers' descriptors.
    private void PostLogFlushesToTheFirstLoop()
    {
        ReactorLoop first = _group.First;
        LogWriter? stderr = _log.Writer;
        first.On(LoopMessage.LogFlush, () =>
        {
            stderr?.FlushPosted();
            _accessLogFile?.FlushPosted();
        });
        Action postFlush = () => first.Post(LoopMessage.LogFlush);
        if (stderr != null)
            stderr.CrossThreadFlush = postFlush;
        if (_accessLogFile != null)
            _accessLogFile.CrossThreadFlush = postFlush;
    }

    /// <summary>amain: runs the loops until stopped. Returns 0, or 1 if a loop failed.</summary>
    public int Run()
    {
        if (_notifier != null || _upgradedFrom != null)
        {
            // Loop 0's first turn: the other loops' threads have started by then.
            var ready = new LoopTimer(Ready);
            Reactor.Timers.Arm(ready, Reactor.NowMs);
        }
        return _group.Run();
    }

    // Every loop accepts: systemd hears it, and so does the process this one replaces.
    private void Ready()
    {
        _notifier?.Ready(upgraded: _upgradedFrom != null);
        _upgradedFrom?.Tell(_log);
    }

    // SIGTERM/SIGINT: the drain, told to systemd first so it waits for the exit.
    private void Terminate()
    {
        _upgrade.Abandon("SIGTERM");
        _notifier?.Stopping();
        _group.TerminateEveryLoop();
    }

    // STATUS= for systemd: what `systemctl status` shows.
    private string StatusLine()
    {
        long open = 0, accepted = 0;
        foreach (ReactorLoop loop in _group.Loops)
        {
            open += loop.Parts.OpenConnections;
            accepted += loop.Parts.Counters.Accepted;
        }
        return open.ToString(CultureInfo.InvariantCulture) + " open connections, "
            + accepted.ToString(CultureInfo.InvariantCulture) + " accepted since start";
    }

    /// <summary>Starts the drain from any thread, as SIGTERM does.</summary>
    public void RequestStop() => _signals.RaiseTerminate();

    // The sum over every loop; then, on a line of its own, the addresses new clients go to.
    private void WriteCounterReport()
    {
        _log.Report(CounterReport.Format(Loops));
        _log.Report("destination " + _destinations.Name + ": " + _destinations.Current
            + (_resolver is null ? "" : " (looked up " + _destinations.Resolutions.ToString(CultureInfo.InvariantCulture) + " times since start-up, "
                + _destinations.Failures.ToString(CultureInfo.InvariantCulture) + " failed)"));
    }

    /// <summary>After <see cref="Run"/> has returned (every loop thread has ended).</summary>
    public void Dispose()
    {
        _metrics?.Dispose();
        foreach (ReactorLoop loop in _group.Loops)
            loop.Listener?.Dispose();
        _signals.Dispose();
        _notifier?.Dispose();
        _resolver?.Dispose();
        if (_accessLogFile is LogWriter accessLog && !accessLog.FlushAtExit(AccessLogFlushLimit))
            _log.Error("access log: a write is stuck after " + AccessLogFlushLimit.TotalSeconds.ToString(CultureInfo.InvariantCulture)
                + " s; exiting without it (" + accessLog.QueuedLines.ToString(CultureInfo.InvariantCulture) + " lines still queued)");
        _accessLogFile?.Dispose();
        _log.Writer?.Detach();
        if (_log.Writer is LogWriter stderr)
            stderr.CrossThreadFlush = null;
        for (int i = _group.Loops.Length - 1; i >= 0; i--)
            _group.Loops[i].Dispose();
    }
}
