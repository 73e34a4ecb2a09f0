using System;
using TcpProxy.Reactor;

namespace TcpProxy.Benchmarks;

/// <summary>
/// A poller that makes no syscalls: each Wait reports the next
/// <see cref="EventsPerWait"/> of the registered tokens as readable, so the
/// reactor's own table lookup and dispatch can be timed alone.
/// </summary>
internal sealed class ScriptedPoller : IPoller
{
    private readonly ulong[] _tokens;
    private int _registered;
    private int _next;

    public ScriptedPoller(int capacity) => _tokens = new ulong[capacity];

    public int EventsPerWait { get; set; }

    public string Name => "scripted";

    public int Register(int fd, ulong token)
    {
        _tokens[_registered++] = token;
        return 0;
    }

    public int Unregister(int fd) => 0;

    public int Wait(Span<PollEvent> events, int timeoutMs)
    {
        int count = Math.Min(EventsPerWait, events.Length);
        int next = _next;
        for (int i = 0; i < count; i++)
        {
            events[i].Token = _tokens[next];
            events[i].Events = IoEvents.Readable;
            next = next + 1 == _registered ? 0 : next + 1;
        }
        _next = next;
        return count;
    }

    public void Dispose()
    {
    }
}
