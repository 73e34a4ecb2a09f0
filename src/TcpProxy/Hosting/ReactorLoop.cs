using System;
using System.Globalization;
using System.Threading;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Proxy;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// One of the --reactors loops, assembled here and nowhere else: its reactor
/// (poller, fd table, timer wheel), its counters, ring and pipe memory, open
/// connections, admission and pair pool, its listening socket, its drain and,
/// with several loops, its mailbox. Nothing of it is touched by another
/// loop's thread except through that <see cref="Mailbox"/> (and the
/// lock-free counter reads of a report).
/// </summary>
internal sealed class ReactorLoop : IDisposable
{
    private ReactorLoop(int index, int count, LoopParts parts)
    {
        Index = index;
        Count = count;
        Parts = parts;
    }

    public int Index { get; }

    /// <summary>How many loops the process runs.</summary>
    public int Count { get; }

    public Reactor.Reactor Reactor => Parts.Reactor;

    /// <summary>What this loop's pairs work with; what metrics and the SIGUSR1 report read.</summary>
    public LoopParts Parts { get; }

    public Listener? Listener { get; private set; }

    /// <summary>Null with one loop: nobody else posts to it.</summary>
    public Mailbox? Mailbox { get; private set; }

    public Drain? Drain { get; private set; }

    /// <summary>The dedicated thread (none for loop 0: the main thread runs it).</summary>
    public Thread? Thread { get; set; }

    /// <summary>The name its thread shows in /proc/PID/task/*/comm (15 bytes at most).</summary>
    public string ThreadName => "tcpproxy r" + Index.ToString(CultureInfo.InvariantCulture);

    /// <summary>"reactor 2: " before a loop's own lines when there are several; "" with one.</summary>
    public string LogPrefix => Count > 1 ? "reactor " + Index.ToString(CultureInfo.InvariantCulture) + ": " : "";

    /// <summary>
    /// Builds loop <paramref name="index"/> of <paramref name="count"/> and
    /// binds its listening socket: the first binds the address asked for,
    /// the others <paramref name="besideFirst"/>'s address with SO_REUSEPORT.
    /// Null with a one-line error (what was built is released).
    /// </summary>
    public static ReactorLoop? Assemble(int index, int count, ProcessParts process, SocketAddress? besideFirst, out string? error)
    {
        IPoller? poller = PollerFactory.Create(process.Options.Poller, out error);
        if (poller is null)
            return null;
        var loop = new ReactorLoop(index, count, BuildParts(new Reactor.Reactor(poller), index, process));
        string prefix = loop.LogPrefix;
        Log log = process.Log;
        loop.Reactor.UnownedFault = exception => log.Fault(prefix + "internal error in the event loop (" + LogText.Fault(exception) + ")");
        // Other threads post to a loop: the other loops, and the resolver's log lines to loop 0.
        if ((count > 1 || process.Resolving) && !loop.OpenMailbox(log, out error))
        {
            loop.Dispose();
            return null;
        }
        if (!loop.Listen(process, besideFirst, out error))
        {
            loop.Dispose();
            return null;
        }
        return loop;
    }

    internal static LoopParts BuildParts(Reactor.Reactor reactor, int index, ProcessParts process)
    {
        PairSettings settings = process.Settings;
        var counters = new ProxyCounters();
        var memory = new BufferMemory(settings.BufferSize, process.LoopBufferMemory, reactor, process.Log);
        PipePool? pipes = null;
        if (settings.Splice != SpliceMode.Off)
        {
            pipes = new PipePool(settings.BufferSize);
            // Kept alive by the pool, whose Returned hook it is.
            _ = new PipeReaper(pipes, reactor);
        }
        // One AccessLog per loop: each formats into a buffer of its own; they share the (locked) writer.
        AccessLog? accessLog = process.AccessLogWriter is null ? null : new AccessLog(process.AccessLogWriter, process.Options.AccessLogFormat);
        var connections = new ConnectionTracker(reactor, counters, process.Log, accessLog);
        var admission = new Admission(process.Options.MaxConnections, process.SharedLimit, index, connections, pipes);
        return new LoopParts(reactor, settings, counters, memory, pipes, connections, admission, process.Destinations);
    }

    private bool OpenMailbox(Log log, out string? error)
    {
        Mailbox = Mailbox.Open(Reactor, LoopMessages.Count, out int errno);
        if (Mailbox is null)
        {
            error = "cannot create reactor " + Index.ToString(CultureInfo.InvariantCulture) + "'s wake-up descriptor: " + Errno.Name(errno);
            return false;
        }
        string prefix = LogPrefix;
        Mailbox.Fault = exception => log.Fault(prefix + "internal error in a message between reactors (" + LogText.Fault(exception) + ")");
        error = null;
        return true;
    }

    private bool Listen(ProcessParts process, SocketAddress? besideFirst, out string? error)
    {
        if (process.PassedListeners is SharedListeningSocket[] passed)
        {
            SharedListeningSocket mine = passed.Length == 1 ? passed[0] : passed[Index];
            return Serve(mine.Fd, mine, out error);
        }
        ProxyOptions options = process.Options;
        int fd = besideFirst is SocketAddress first
            ? ListeningSocket.OpenBeside(first, out error)
            : ListeningSocket.Open(options.BindAddress, options.ListenPort, reusePort: Count > 1, out error);
        return fd >= 0 && Serve(fd, null, out error);
    }

    private bool Serve(int fd, SharedListeningSocket? shared, out string? error)
    {
        SocketAddress bound = default;
        Sys.GetSocketName(fd, ref bound);
        Listener = new Listener(fd, bound, Parts, new PairPool(Parts), Index, Count, shared);
        error = null;
        int rc = Listener.Start();
        if (rc < 0)
        {
            error = "cannot watch the listening socket: " + Errno.Name(-rc);
            return false;
        }
        return true;
    }

    /// <summary>How the loop drains on SIGTERM; <paramref name="finished"/> hears the outcome, on this loop.</summary>
    public void PrepareDrain(TimeSpan timeout, Action<ReactorLoop, int, int> finished) =>
        Drain = new Drain(Reactor, Parts.Connections, Listener!, timeout, LogPrefix, (done, aborted) => finished(this, done, aborted));

    public void On(LoopMessage message, Action action) => Mailbox!.On((int)message, action);

    /// <summary>From any thread; a loop without a mailbox (the only one) is never posted to.</summary>
    public void Post(LoopMessage message) => Mailbox!.Post((int)message);

    public void Dispose()
    {
        Listener?.Dispose();
        Mailbox?.Dispose();
        Parts.Pipes?.Dispose();
        Reactor.Dispose();
    }
}
