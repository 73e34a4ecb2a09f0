using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Metrics;
using TcpProxy.Proxy;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// Wires the reactors (--reactors N: each a <see cref="ReactorLoop"/> with its
/// poller, context and listener), the signals, the access log and the
/// metrics endpoint from the options, and runs the loops until a drain ends
/// them (SIGINT/SIGTERM, or <see cref="RequestStop"/>). SIGHUP reopens the
/// access log, SIGUSR1 logs the counters.
///
/// With one reactor everything runs on the calling thread, as it always
/// did. With several, loop 0 runs on the calling thread and holds the
/// signalfd, the metrics endpoint and the log writers; loops 1..N-1 run on
/// threads of their own and hear from loop 0 through their mailboxes: a
/// termination signal reaches every loop, each drains its own clients, and
/// the process ends when the last loop has drained.
/// </summary>
public sealed class ProxyServer : IDisposable
{
    // At exit, a stuck access-log destination may delay the end this long, no longer.
    private static readonly TimeSpan AccessLogFlushLimit = TimeSpan.FromSeconds(1);
    // A loop thread is told to halt before it is waited for: this bound is for a bug, not for the normal end.
    private static readonly TimeSpan LoopJoinLimit = TimeSpan.FromSeconds(10);

    private readonly ReactorLoop[] _loops;
    private readonly ProxyContext[] _contexts;
    private readonly SignalEvents _signals;
    private readonly MetricsEndpoint? _metrics;
    private readonly LogWriter? _accessLogFile;
    private readonly string? _accessLogPath;
    // Several reactors only: drain outcomes added up by the loops as they finish.
    private int _otherLoopsDrained;
    private long _drainFinished;
    private long _drainAborted;
    private bool _firstLoopDrained;
    private long _drainStartedMs = -1;
    private int _failedLoops;
    private CounterReportBarrier? _reportBarrier;

    private ProxyServer(Parts parts, ProxyOptions options)
    {
        _loops = parts.Loops.ToArray();
        _contexts = new ProxyContext[_loops.Length];
        for (int i = 0; i < _loops.Length; i++)
            _contexts[i] = _loops[i].Context;
        _signals = parts.Signals!;
        _metrics = parts.Metrics;
        _accessLogFile = parts.AccessLogFile;
        _accessLogPath = options.AccessLogPath;
        foreach (ReactorLoop loop in _loops)
            loop.Drain = new Drain(loop.Context, loop.Listener!, options.DrainTimeout, loop.LogPrefix, (finished, aborted) => LoopDrained(loop, finished, aborted));
        _signals.OnTerminate = _loops.Length == 1 ? _loops[0].Drain!.OnTerminateSignal : TerminateEveryLoop;
        _signals.OnHangUp = ReopenAccessLog;
        _signals.OnUserReport = ReportCounters;
        if (_loops.Length > 1)
            WireMailboxes();
    }

    /// <summary>The first reactor's context (the only one, by default).</summary>
    public ProxyContext Context => _loops[0].Context;

    /// <summary>The first reactor (the only one, by default): the one the calling thread runs.</summary>
    public Reactor.Reactor Reactor => _loops[0].Reactor;

    /// <summary>Every reactor's context, in order: what SIGUSR1 and /metrics add up.</summary>
    public IReadOnlyList<ProxyContext> Contexts => _contexts;

    /// <summary>The port the proxy listens on (useful when 0 was asked for).</summary>
    public int ListenPort => _loops[0].Listener!.Address.Port;

    /// <summary>The metrics endpoint's port, 0 if there is none (useful when 0 was asked for).</summary>
    public int MetricsPort => _metrics?.Address.Port ?? 0;

    /// <summary>What Create has built so far: released in reverse if a later step fails.</summary>
    private sealed class Parts
    {
        public LogWriter? AccessLogFile;
        public readonly List<ReactorLoop> Loops = new();
        public SignalEvents? Signals;
        public MetricsEndpoint? Metrics;

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

    /// <summary>Resolves, raises the fd limit, opens the access log, binds and listens. Null with a one-line error on failure.</summary>
    public static ProxyServer? Create(ProxyOptions options, Log log, out string? error)
    {
        error = OptionChecks.FirstProblem(options);
        if (error is not null)
            return null;
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
        LogWriter? accessLogWriter = OpenAccessLog(options, log, parts, out error);
        if (options.AccessLogPath != null && accessLogWriter is null)
            return parts.Abandon();
        string destinationName = options.DestinationHost + ":" + options.DestinationPort.ToString(CultureInfo.InvariantCulture);
        int reactors = options.Reactors;
        SharedConnectionLimit? sharedLimit = reactors > 1 && options.MaxConnections > 0
            ? new SharedConnectionLimit(options.MaxConnections) { Loops = reactors }
            : null;
        // --buffer-memory bounds the process: each loop gets an even share (at least one buffer).
        ProxyOptions loopOptions = reactors > 1 && options.BufferMemory > 0
            ? options with { BufferMemory = Math.Max(options.BufferSize, options.BufferMemory / reactors) }
            : options;
        IPoller? firstPoller = null;
        for (int i = 0; i < reactors; i++)
        {
            IPoller? poller = PollerFactory.Create(options.Poller, out error);
            if (poller is null)
                return parts.Abandon();
            firstPoller ??= poller;
            var reactor = new Reactor.Reactor(poller);
            // One AccessLog per loop: each formats into a buffer of its own; they share the (locked) writer.
            var context = new ProxyContext(reactor, log, destinations, destinationName, loopOptions)
            {
                AccessLog = accessLogWriter is null ? null : new AccessLog(accessLogWriter, options.AccessLogFormat),
                ReactorIndex = i,
                ReactorCount = reactors,
                SharedLimit = sharedLimit,
            };
            var loop = new ReactorLoop(i, reactor, context);
            parts.Loops.Add(loop);
            string prefix = loop.LogPrefix;
            reactor.UnownedFault = exception => log.Info(prefix + "internal error in the event loop (" + ProxyContext.DescribeFault(exception) + ")");
            if (reactors > 1)
            {
                loop.Mailbox = Mailbox.Open(reactor, ReactorLoop.MessageKinds, out int errno);
                if (loop.Mailbox is null)
                {
                    error = "cannot create reactor " + i.ToString(CultureInfo.InvariantCulture) + "'s wake-up descriptor: " + Errno.Name(errno);
                    return parts.Abandon();
                }
                loop.Mailbox.Fault = exception => log.Info(prefix + "internal error in a message between reactors (" + ProxyContext.DescribeFault(exception) + ")");
            }
        }
        ReactorLoop first = parts.Loops[0];

        if ((parts.Signals = SignalEvents.Install(first.Reactor, out error)) is null)
            return parts.Abandon();
        if ((first.Listener = Listener.Open(first.Context, options.BindAddress, options.ListenPort, reusePort: reactors > 1, out error)) is null)
            return parts.Abandon();
        for (int i = 1; i < reactors; i++)
        {
            if ((parts.Loops[i].Listener = Listener.OpenBeside(parts.Loops[i].Context, first.Listener, out error)) is null)
                return parts.Abandon();
        }
        if (options.MetricsHost is string metricsHost
            && (parts.Metrics = MetricsEndpoint.Open(first.Context, metricsHost, options.MetricsPort, out error)) is null)
            return parts.Abandon();
        // The first loop flushes the logs from now on: a stuck pipe costs lines, never a loop.
        log.Writer?.Attach(first.Reactor);
        parts.AccessLogFile?.Attach(first.Reactor);
        log.Info(StartupLine(options, parts, destinationName, destinations, firstPoller!, fileLimit));
        // Every descriptor of the setup is open and no loop runs yet: /proc/self/fd is listed once, here.
        if (parts.Metrics != null)
            ProcessStats.Calibrate();
        return new ProxyServer(parts, options);
    }

    /// <summary>
    /// With several reactors: what each loop does on the messages of the
    /// others (termination, halt, a place freed at the connection limit), and
    /// how loop 0 hears of drains finished and of log lines queued elsewhere.
    /// </summary>
    private void WireMailboxes()
    {
        ReactorLoop first = _loops[0];
        foreach (ReactorLoop loop in _loops)
        {
            Mailbox mailbox = loop.Mailbox!;
            mailbox.On(ReactorLoop.TerminateMessage, loop.Drain!.OnTerminateSignal);
            mailbox.On(ReactorLoop.HaltMessage, loop.Reactor.Stop);
            mailbox.On(ReactorLoop.RoomFreedMessage, loop.Listener!.RoomFreed);
        }
        var otherMailboxes = new Mailbox[_loops.Length - 1];
        for (int i = 1; i < _loops.Length; i++)
            otherMailboxes[i - 1] = _loops[i].Mailbox!;
        _reportBarrier = new CounterReportBarrier(first.Reactor, first.Mailbox!, otherMailboxes, WriteCounterReport);
        for (int i = 1; i < _loops.Length; i++)
            _loops[i].Mailbox!.On(ReactorLoop.ReportAskMessage, _reportBarrier.Answer);
        first.Mailbox!.On(ReactorLoop.ReportAnswerMessage, _reportBarrier.Answered);
        first.Mailbox!.On(ReactorLoop.DrainedMessage, StopWhenEveryLoopDrained);
        LogWriter? stderr = Context.Log.Writer;
        first.Mailbox.On(ReactorLoop.LogFlushMessage, () =>
        {
            stderr?.FlushPosted();
            _accessLogFile?.FlushPosted();
        });
        Action postFlush = () => first.Mailbox.Post(ReactorLoop.LogFlushMessage);
        if (stderr != null)
            stderr.CrossThreadFlush = postFlush;
        if (_accessLogFile != null)
            _accessLogFile.CrossThreadFlush = postFlush;
        if (Context.SharedLimit is SharedConnectionLimit shared)
            shared.RoomFreed = index => _loops[index].Mailbox!.Post(ReactorLoop.RoomFreedMessage);
        if (_metrics != null)
            _metrics.AllReactors = _contexts;
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

    private static string StartupLine(ProxyOptions options, Parts parts, string destinationName, SocketAddress[] destinations, IPoller poller, long fileLimit)
    {
        var line = new List<string> { poller.Name };
        if (options.Reactors > 1)
            line.Add(options.Reactors.ToString(CultureInfo.InvariantCulture) + " reactors (SO_REUSEPORT)");
        line.AddRange(new[]
        {
            options.BufferSize.ToString(CultureInfo.InvariantCulture) + " B buffers",
            "stall timeout " + Seconds(options.StallTimeout),
            "connect timeout " + Seconds(options.ConnectTimeout),
        });
        if (options.IdleTimeout > TimeSpan.Zero)
            line.Add("idle timeout " + Seconds(options.IdleTimeout));
        if (options.SendProxy != ProxyProtocolVersion.None)
            line.Add("PROXY protocol " + options.SendProxy.Name());
        if (options.MaxConnections > 0)
            line.Add("at most " + options.MaxConnections.ToString(CultureInfo.InvariantCulture) + " connections");
        line.Add("fd limit " + fileLimit.ToString(CultureInfo.InvariantCulture));
        if (options.AccessLogPath != null)
            line.Add("access log " + (options.AccessLogPath == "-" ? "on stderr" : options.AccessLogPath)
                + (options.AccessLogFormat != AccessLogFormat.Text ? " (" + options.AccessLogFormat.Name().ToUpperInvariant() + ")" : ""));
        if (parts.Metrics != null)
            line.Add("metrics at http://" + parts.Metrics.Address + "/metrics");
        return "listening on " + parts.Loops[0].Listener!.Address + ", forwarding to " + destinationName
            + " (" + string.Join(", ", destinations) + "); " + string.Join(", ", line);
    }

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + " s";

    /// <summary>amain: runs the loops until stopped. Returns 0, or 1 if a loop failed.</summary>
    public int Run()
    {
        if (_loops.Length == 1)
            return RunLoop(_loops[0]) ? 0 : 1;
        for (int i = 1; i < _loops.Length; i++)
        {
            ReactorLoop loop = _loops[i];
            // A dedicated thread, never the pool's; it inherits the main thread's blocked signals.
            loop.Thread = new Thread(() =>
            {
                if (!RunLoop(loop))
                    _loops[0].Mailbox!.Post(ReactorLoop.HaltMessage);
            })
            {
                Name = loop.ThreadName,
                IsBackground = true,
            };
            loop.Thread.Start();
        }
        RunLoop(_loops[0]);
        // Every loop has drained, or one failed: the others are halted (a no-op for those already ended).
        for (int i = 1; i < _loops.Length; i++)
        {
            _loops[i].Mailbox!.Post(ReactorLoop.HaltMessage);
            if (!_loops[i].Thread!.Join(LoopJoinLimit))
            {
                Context.Log.Error(_loops[i].LogPrefix + "did not stop within " + Seconds(LoopJoinLimit));
                Interlocked.Increment(ref _failedLoops);
            }
        }
        return Volatile.Read(ref _failedLoops) == 0 ? 0 : 1;
    }

    // One loop until it stops; false if its poller failed or something escaped it.
    private bool RunLoop(ReactorLoop loop)
    {
        try
        {
            int rc = loop.Reactor.Run();
            if (rc == 0)
                return true;
            Context.Log.Error(loop.LogPrefix + "event loop failed: " + Errno.Name(-rc));
        }
        catch (Exception exception)
        {
            // The reactor catches its callbacks' faults: this is a bug in the loop itself. One line, no stack trace.
            Context.Log.Error(loop.LogPrefix + "internal error: " + ProxyContext.DescribeFault(exception));
        }
        Interlocked.Increment(ref _failedLoops);
        return false;
    }

    /// <summary>Starts the drain from any thread, as SIGTERM does.</summary>
    public void RequestStop() => _signals.RaiseTerminate();

    // Several reactors: a SIGTERM/SIGINT on loop 0 is every loop's (the first starts their drains, the second aborts them).
    private void TerminateEveryLoop()
    {
        if (_drainStartedMs < 0)
            _drainStartedMs = Reactor.NowMs;
        for (int i = 1; i < _loops.Length; i++)
            _loops[i].Mailbox!.Post(ReactorLoop.TerminateMessage);
        _loops[0].Drain!.OnTerminateSignal();
    }

    // On the loop whose drain ended: with one reactor that ends the process; with several, loop 0 waits for them all.
    private void LoopDrained(ReactorLoop loop, int finished, int aborted)
    {
        if (_loops.Length == 1)
        {
            loop.Reactor.Stop();
            return;
        }
        Interlocked.Add(ref _drainFinished, finished);
        Interlocked.Add(ref _drainAborted, aborted);
        if (loop.Index == 0)
        {
            _firstLoopDrained = true;
            StopWhenEveryLoopDrained();
            return;
        }
        loop.Reactor.Stop();
        Interlocked.Increment(ref _otherLoopsDrained);
        _loops[0].Mailbox!.Post(ReactorLoop.DrainedMessage);
    }

    // On loop 0: the last drain to finish ends the process.
    private void StopWhenEveryLoopDrained()
    {
        if (!_firstLoopDrained || Volatile.Read(ref _otherLoopsDrained) < _loops.Length - 1)
            return;
        long elapsedMs = Reactor.NowMs - Math.Max(0, _drainStartedMs);
        Context.Log.Info("drain finished on all " + _loops.Length.ToString(CultureInfo.InvariantCulture) + " reactors after "
            + (elapsedMs / 1000.0).ToString("0.0##", CultureInfo.InvariantCulture) + " s: "
            + Interlocked.Read(ref _drainFinished).ToString(CultureInfo.InvariantCulture) + " finished, "
            + Interlocked.Read(ref _drainAborted).ToString(CultureInfo.InvariantCulture) + " aborted");
        Reactor.Stop();
    }

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

    // Asked for by the operator (SIGUSR1): with several reactors once every loop has answered (see CounterReportBarrier).
    private void ReportCounters()
    {
        if (_reportBarrier is null)
            WriteCounterReport();
        else
            _reportBarrier.Request();
    }

    // Written whatever the log level; the sum over every reactor.
    private void WriteCounterReport() => Context.Log.Error(CounterReport.Format(_contexts));

    /// <summary>After <see cref="Run"/> has returned (every loop thread has ended).</summary>
    public void Dispose()
    {
        _metrics?.Dispose();
        foreach (ReactorLoop loop in _loops)
            loop.Listener?.Dispose();
        _signals.Dispose();
        if (_accessLogFile is LogWriter accessLog && !accessLog.FlushAtExit(AccessLogFlushLimit))
            Context.Log.Error("access log: a write is stuck after " + AccessLogFlushLimit.TotalSeconds.ToString(CultureInfo.InvariantCulture)
                + " s; exiting without it (" + accessLog.QueuedLines.ToString(CultureInfo.InvariantCulture) + " lines still queued)");
        _accessLogFile?.Dispose();
        Context.Log.Writer?.Detach();
        if (Context.Log.Writer is LogWriter stderr)
            stderr.CrossThreadFlush = null;
        for (int i = _loops.Length - 1; i >= 0; i--)
            _loops[i].Dispose();
    }
}
