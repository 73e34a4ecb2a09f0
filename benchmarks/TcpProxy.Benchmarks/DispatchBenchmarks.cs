using System;
using BenchmarkDotNet.Attributes;
using TcpProxy.Configuration;
using TcpProxy.Interop;
using TcpProxy.Reactor;

namespace TcpProxy.Benchmarks;

/// <summary>
/// Events through the reactor's fd-indexed callback table with the real
/// epoll backend: <see cref="Registered"/> eventfds are watched, <see cref="Signalled"/>
/// of them are written to, and one RunOnce(0) fetches and dispatches them.
/// One operation = one RunOnce with Signalled events, including the eventfd
/// writes and the epoll_wait; the Events/s column divides it out.
/// The callbacks only report EAGAIN and do not read their eventfd: a read
/// wakes the eventfd's writers, i.e. raises a second (writable) edge, so the
/// loop would see two events per signal and the count would no longer be the
/// one asked for. Each write still raises a fresh readable edge.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
[EventsPerSecondColumn]
public class DispatchBenchmarks : IFdHandler
{
    private Reactor.Reactor _reactor = null!;
    private int[] _fds = null!;
    private int _next;
    private int _dispatched;

    [Params(1000)]
    public int Registered { get; set; }

    [Params(1, 64, 512)]
    public int Signalled { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        IPoller poller = PollerFactory.Create(PollerKind.Auto, out string? error) ?? throw new InvalidOperationException(error); // the OS's own: epoll, kqueue
        _reactor = new Reactor.Reactor(poller);
        _fds = new int[Registered];
        for (int i = 0; i < Registered; i++)
        {
            int fd = Sys.OpenWakeup();
            if (fd < 0)
                throw new InvalidOperationException("eventfd: " + Errno.Name(-fd));
            _fds[i] = fd;
            Check(_reactor.Add(fd, this, IoEvents.None), "register");
            _reactor.Watch(fd, IoEvents.Readable, true);
        }
        // Every eventfd is reported writable once (edge-triggered); fetch those
        // edges now, a batch of at most 512 per wait, so runs see only their own events.
        for (int i = 0; i <= Registered / 512 + 1; i++)
            Check(_reactor.RunOnce(0), "first polls");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        foreach (int fd in _fds)
        {
            _reactor.Remove(fd);
            Sys.Close(fd);
        }
        _reactor.Dispose();
    }

    [Benchmark]
    public int SignalAndDispatch()
    {
        // A window that moves through the table, so successive runs touch different entries.
        int[] fds = _fds;
        int next = _next;
        for (int i = 0; i < Signalled; i++)
        {
            if (Sys.Wake(fds[next]) < 0)
                throw new InvalidOperationException("eventfd write failed");
            next = next + 1 == fds.Length ? 0 : next + 1;
        }
        _next = next;
        int before = _dispatched;
        Check(_reactor.RunOnce(0), "poll");
        if (_dispatched - before != Signalled)
            throw new InvalidOperationException($"dispatched {_dispatched - before} of {Signalled} events");
        return _dispatched;
    }

    private static void Check(int rc, string what)
    {
        if (rc < 0)
            throw new InvalidOperationException(what + ": " + Errno.Name(-rc));
    }

    // The handler every registered fd shares, as pairs are their fds' handlers.
    public void OnReadable(int fd)
    {
        _reactor.ClearReady(fd, IoEvents.Readable);
        _dispatched++;
    }

    public void OnWritable(int fd)
    {
    }
}
