using System;
using TcpProxy.Interop;

namespace TcpProxy.Reactor;

/// <summary>
/// The Linux backend. Edge-triggered (EPOLLET), chosen deliberately: each fd
/// is added once with EPOLLIN|EPOLLOUT and never modified, so pausing a
/// direction when its ring fills, resuming it when the ring drains, or waiting
/// for a sink to accept data costs no epoll_ctl at all — level-triggered
/// would need two EPOLL_CTL_MOD calls per back-pressure episode. The price is
/// that the reactor must remember readiness until a read or write returns
/// EAGAIN, which it does in its fd table.
/// </summary>
public sealed unsafe class EpollPoller : IPoller
{
    private const int Capacity = 1024;
    private readonly int _epollFd;
    private readonly EpollEventBuffer _events = new(Capacity);

    private EpollPoller(int epollFd) => _epollFd = epollFd;

    public string Name => "epoll";

    /// <summary>Creates the epoll instance, or returns null with the errno.</summary>
    public static EpollPoller? Create(out int errno)
    {
        int fd = Sys.EpollCreate();
        errno = fd < 0 ? -fd : 0;
        return fd < 0 ? null : new EpollPoller(fd);
    }

    public int Register(int fd, ulong token) =>
        Sys.EpollAdd(_epollFd, fd, Sys.EpollIn | Sys.EpollPri | Sys.EpollOut | Sys.EpollRdHup | Sys.EpollEdgeTriggered, token);

    public int Unregister(int fd) => Sys.EpollDelete(_epollFd, fd);

    public int Wait(Span<PollEvent> events, int timeoutMs)
    {
        int n = Sys.EpollWait(_epollFd, _events, Math.Min(events.Length, Capacity), timeoutMs);
        if (n == -Errno.EINTR)
            return 0;
        for (int i = 0; i < n; i++)
        {
            uint native = _events.Flags(i);
            IoEvents ready = IoEvents.None;
            if ((native & (Sys.EpollIn | Sys.EpollPri | Sys.EpollRdHup)) != 0)
                ready |= IoEvents.Readable;
            if ((native & Sys.EpollPri) != 0)
                ready |= IoEvents.Urgent;
            if ((native & Sys.EpollOut) != 0)
                ready |= IoEvents.Writable;
            if ((native & (Sys.EpollErr | Sys.EpollHup)) != 0)
                ready |= IoEvents.Both | IoEvents.HangUp;
            else if ((native & Sys.EpollRdHup) != 0)
                ready |= IoEvents.HangUp;
            events[i].Token = _events.Token(i);
            events[i].Events = ready;
        }
        return n;
    }

    public void Dispose()
    {
        Sys.Close(_epollFd);
        _events.Dispose();
    }
}
