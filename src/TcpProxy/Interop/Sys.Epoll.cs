using System;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>epoll, as the Linux poller backend uses it (Linux only: elsewhere -ENOSYS).</summary>
public static unsafe partial class Sys
{
    public const uint EpollIn = 0x001;
    public const uint EpollPri = 0x002;
    public const uint EpollOut = 0x004;
    public const uint EpollErr = 0x008;
    public const uint EpollHup = 0x010;
    public const uint EpollRdHup = 0x2000;
    public const uint EpollEdgeTriggered = 1u << 31;

    public static int EpollCreate() => Platform.IsLinux ? Opened(LinuxSys.EpollCreate()) : -Errno.ENOSYS;

    public static int EpollAdd(int epollFd, int fd, uint events, ulong token) => LinuxSys.EpollAdd(epollFd, fd, events, token);

    public static int EpollDelete(int epollFd, int fd) => LinuxSys.EpollDelete(epollFd, fd);

    /// <summary>Waits for events into <paramref name="events"/>; returns their count or -errno (-EINTR included, for the caller to loop).</summary>
    public static int EpollWait(int epollFd, EpollEventBuffer events, int capacity, int timeoutMs) =>
        LinuxSys.EpollWait(epollFd, events.Pointer, Math.Min(capacity, events.Capacity), timeoutMs);
}

/// <summary>
/// Native room for epoll_wait's results. struct epoll_event's layout depends
/// on the CPU (packed on x86-64), so only this folder touches it; the poller
/// reads each entry's flags and token.
/// </summary>
public sealed unsafe class EpollEventBuffer : IDisposable
{
    public EpollEventBuffer(int capacity)
    {
        Capacity = capacity;
        Pointer = System.Runtime.InteropServices.NativeMemory.Alloc((nuint)capacity, (nuint)LinuxSys.EpollEventSize);
    }

    public int Capacity { get; }

    internal void* Pointer { get; private set; }

    public uint Flags(int index) => LinuxSys.EpollEventFlags(Pointer, index);

    public ulong Token(int index) => LinuxSys.EpollEventToken(Pointer, index);

    public void Dispose()
    {
        System.Runtime.InteropServices.NativeMemory.Free(Pointer);
        Pointer = null;
    }
}
