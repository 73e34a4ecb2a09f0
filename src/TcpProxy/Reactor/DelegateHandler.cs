using System;

namespace TcpProxy.Reactor;

/// <summary>
/// The fdcb-style callbacks of one registration (<see cref="Reactor.SetCallback"/>),
/// behind the same <see cref="IFdHandler"/> the table holds for every fd:
/// one object per such registration (the listener, a metrics scrape, the
/// signal fd), so the table entry of every fd — a pair's included — needs
/// no delegate fields.
/// </summary>
internal sealed class DelegateHandler : IFdHandler
{
    public Action? Readable;
    public Action? Writable;

    public void OnReadable(int fd) => Readable?.Invoke();

    public void OnWritable(int fd) => Writable?.Invoke();
}
