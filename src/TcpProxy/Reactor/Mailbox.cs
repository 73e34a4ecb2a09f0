using System;
using System.Threading;
using TcpProxy.Interop;

namespace TcpProxy.Reactor;

/// <summary>
/// How another thread hands a loop something to do: an eventfd the loop
/// watches like any socket, and per kind of message a counter bumped with
/// Interlocked. <see cref="Post"/> is safe from any thread; the loop runs each
/// kind's action once per post, on its own thread, so the action touches
/// that loop's state without a lock. Posts are rare (signals, drain
/// progress, the connection limit freeing up, log flushes): each costs one
/// write(2), nothing on the data path.
/// </summary>
public sealed class Mailbox : IDisposable, IFaultOwner, IFdHandler
{
    private readonly Reactor _reactor;
    private readonly int _fd;
    private readonly int[] _posted;
    private readonly Action?[] _actions;
    private bool _disposed;

    private Mailbox(Reactor reactor, int fd, int kinds)
    {
        _reactor = reactor;
        _fd = fd;
        _posted = new int[kinds];
        _actions = new Action?[kinds];
    }

    /// <summary>Told of an action that threw; the other kinds still run.</summary>
    public Action<Exception>? Fault { get; set; }

    /// <summary>An eventfd watched by the reactor, for kinds 0..kinds-1; null with -errno on failure.</summary>
    public static Mailbox? Open(Reactor reactor, int kinds, out int errno)
    {
        int fd = Sys.OpenWakeup();
        if (fd < 0)
        {
            errno = -fd;
            return null;
        }
        var mailbox = new Mailbox(reactor, fd, kinds);
        int rc = reactor.Add(fd, mailbox, IoEvents.None, owner: mailbox);
        if (rc < 0)
        {
            Sys.Close(fd);
            errno = -rc;
            return null;
        }
        errno = 0;
        reactor.Watch(fd, IoEvents.Readable, true);
        return mailbox;
    }

    /// <summary>What the loop does for each post of this kind (set before any thread posts).</summary>
    public void On(int kind, Action action) => _actions[kind] = action;

    /// <summary>From any thread: the loop will run the kind's action once more.</summary>
    public void Post(int kind)
    {
        Interlocked.Increment(ref _posted[kind]);
        // Once disposed the fd number may belong to something else: the post is only counted.
        if (!Volatile.Read(ref _disposed))
            Sys.Wake(_fd);
    }

    public void OnReadable(int fd)
    {
        // Drained before the counters are read: a post after this point makes a new edge.
        Sys.DrainWakeup(_fd);
        _reactor.ClearReady(_fd, IoEvents.Readable);
        for (int kind = 0; kind < _posted.Length; kind++)
        {
            for (int count = Interlocked.Exchange(ref _posted[kind], 0); count > 0; count--)
            {
                try
                {
                    _actions[kind]?.Invoke();
                }
                catch (Exception exception)
                {
                    OnFault(exception);
                }
            }
        }
    }

    public void OnWritable(int fd)
    {
    }

    public void OnFault(Exception exception) => Fault?.Invoke(exception);

    /// <summary>Only once no other thread posts any more (their loops have ended).</summary>
    public void Dispose()
    {
        if (_disposed)
            return;
        Volatile.Write(ref _disposed, true);
        _reactor.Remove(_fd);
        Sys.Close(_fd);
    }
}
