using System;
using BenchmarkDotNet.Attributes;
using TcpProxy.Reactor;

namespace TcpProxy.Benchmarks;

/// <summary>
/// The same dispatch as <see cref="DispatchBenchmarks"/> with the syscalls
/// taken out: a scripted poller hands the reactor ready events for
/// <see cref="Registered"/> fds (numbers only, never opened), and each
/// callback just reports EAGAIN. What is left is the fd-indexed table:
/// token check, readiness bookkeeping, callback call, pending queue.
/// </summary>
[MemoryDiagnoser]
[BenchmarkCategory(Categories.ZeroAlloc)]
[EventsPerSecondColumn]
public class DispatchTableBenchmarks : IFdHandler
{
    private const int FirstFd = 16;

    private Reactor.Reactor _reactor = null!;
    private ScriptedPoller _poller = null!;
    private int _dispatched;

    [Params(1000)]
    public int Registered { get; set; }

    [Params(1, 64, 512)]
    public int Signalled { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _poller = new ScriptedPoller(Registered) { EventsPerWait = Signalled };
        _reactor = new Reactor.Reactor(_poller);
        for (int fd = FirstFd; fd < FirstFd + Registered; fd++)
        {
            if (_reactor.Add(fd, this, IoEvents.None) != 0)
                throw new InvalidOperationException("register failed");
            _reactor.Watch(fd, IoEvents.Readable, true);
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _reactor.Dispose();

    [Benchmark]
    public int DispatchOnly()
    {
        int before = _dispatched;
        if (_reactor.RunOnce(0) != 0 || _dispatched - before != Signalled)
            throw new InvalidOperationException($"dispatched {_dispatched - before} of {Signalled} events");
        return _dispatched;
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
