using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Interop.Linux;

internal static unsafe partial class LinuxSys
{
    public static int EpollCreate() => Result(epoll_create1(EPOLL_CLOEXEC));

    public static int EpollControl(int epollFd, int operation, int fd, uint events, ulong token)
    {
        epoll_event ev = default;
        ev.events = (int)events;
        ev.data.u64 = token;
        return Result(epoll_ctl(epollFd, operation, fd, &ev));
    }

    public static int EpollAdd(int epollFd, int fd, uint events, ulong token) => EpollControl(epollFd, EPOLL_CTL_ADD, fd, events, token);

    public static int EpollDelete(int epollFd, int fd) => EpollControl(epollFd, EPOLL_CTL_DEL, fd, 0, 0);

    public static int EpollWait(int epollFd, void* events, int capacity, int timeoutMs) =>
        Result(epoll_wait(epollFd, (epoll_event*)events, capacity, timeoutMs));

    // struct epoll_event is packed on x86-64 (12 bytes) and not on arm64 (16): Tmds.LibC knows which.
    public static int EpollEventSize => sizeof(epoll_event);

    public static uint EpollEventFlags(void* events, int index) => (uint)((epoll_event*)events)[index].events;

    public static ulong EpollEventToken(void* events, int index) => ((epoll_event*)events)[index].data.u64;
}
