using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop;

/// <summary>epoll, as the Linux poller backend uses it.</summary>
public static unsafe partial class Sys
{
    public const uint EpollIn = 0x001;
    public const uint EpollPri = 0x002;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;
    public const uint EpollEdgeTriggered = 1u << 31;

    public static int EpollCreate() => Result(epoll_create1(EPOLL_CLOEXEC));

    public static int EpollAdd(int epollFd, int fd, uint events, ulong token) => EpollControl(epollFd, EPOLL_CTL_ADD, fd, events, token);

    public static int EpollDelete(int epollFd, int fd) => EpollControl(epollFd, EPOLL_CTL_DEL, fd, 0, 0);

    /// <summary>Waits for events; returns their count or -errno (-EINTR included, for the caller to loop).</summary>
    public static int EpollWait(int epollFd, epoll_event* events, int capacity, int timeoutMs) =>
        Result(epoll_wait(epollFd, events, capacity, timeoutMs));

    private static int EpollControl(int epollFd, int operation, int fd, uint events, ulong token)
    {
        epoll_event ev = default;
        ev.events = (int)events;
        ev.data.u64 = token;
        return Result(epoll_ctl(epollFd, operation, fd, &ev));
    }
}
