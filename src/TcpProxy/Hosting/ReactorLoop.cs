using System;
using System.Threading;
using TcpProxy.Proxy;
using TcpProxy.Reactor;

namespace TcpProxy.Hosting;

/// <summary>
/// One of the --reactors loops: its reactor (poller, fd table, timer wheel),
/// its ProxyContext (counters, open connections, spare descriptor, rings),
/// its listening socket and its drain. Nothing of it is touched by another
/// loop's thread except through its <see cref="Mailbox"/> (and the lock-free
/// counter reads of a report). Loop 0 runs on the main thread and also owns
/// the signals, the metrics endpoint and the log writers' flushing; the
/// others run on threads of their own, "tcpproxy r1"...
/// </summary>
internal sealed class ReactorLoop : IDisposable
{
    // What a Mailbox of a loop carries (only with more than one reactor).
    public const int TerminateMessage = 0;
    public const int HaltMessage = 1;
    public const int DrainedMessage = 2;
    public const int RoomFreedMessage = 3;
    public const int LogFlushMessage = 4;
    public const int ReportAskMessage = 5;
    public const int ReportAnswerMessage = 6;
    public const int MessageKinds = 7;

    public ReactorLoop(int index, Reactor.Reactor reactor, ProxyContext context)
    {
        Index = index;
        Reactor = reactor;
        Context = context;
    }

    public int Index { get; }

    public Reactor.Reactor Reactor { get; }

    public ProxyContext Context { get; }

    public Listener? Listener { get; set; }

    public Mailbox? Mailbox { get; set; }

    public Drain? Drain { get; set; }

    /// <summary>The dedicated thread (none for loop 0: the main thread runs it).</summary>
    public Thread? Thread { get; set; }

    /// <summary>The name its thread shows in /proc/PID/task/*/comm (15 bytes at most).</summary>
    public string ThreadName => "tcpproxy r" + Index.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>"reactor 2: " before a loop's own lines when there are several; "" with one.</summary>
    public string LogPrefix => Context.ReactorCount > 1
        ? "reactor " + Index.ToString(System.Globalization.CultureInfo.InvariantCulture) + ": "
        : "";

    public void Dispose()
    {
        Listener?.Dispose();
        Mailbox?.Dispose();
        Reactor.Dispose();
    }
}
