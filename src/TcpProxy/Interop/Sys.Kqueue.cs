using System.Runtime.InteropServices;
using TcpProxy.Interop.Darwin;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>
/// struct kevent, 64-bit macOS (&lt;sys/event.h&gt;; its #pragma pack(4) changes
/// nothing on LP64): 32 bytes. Declared here because no package has it.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 32)]
public struct KEvent
{
    /// <summary>uintptr_t ident: the fd.</summary>
    [FieldOffset(0)] public ulong Ident;
    /// <summary>int16_t filter: EVFILT_READ (-1) or EVFILT_WRITE (-2).</summary>
    [FieldOffset(8)] public short Filter;
    /// <summary>uint16_t flags: EV_ADD, EV_CLEAR... in; EV_EOF, EV_ERROR out.</summary>
    [FieldOffset(10)] public ushort Flags;
    [FieldOffset(12)] public uint FilterFlags;
    /// <summary>intptr_t data: bytes readable/writable, or the errno with EV_ERROR.</summary>
    [FieldOffset(16)] public long Data;
    /// <summary>void *udata: the reactor's token, returned with every event.</summary>
    [FieldOffset(24)] public ulong UserData;
}

/// <summary>struct timespec, 64-bit macOS (&lt;sys/_types/_timespec.h&gt;): 16 bytes.</summary>
[StructLayout(LayoutKind.Explicit, Size = 16)]
public struct TimeSpec
{
    [FieldOffset(0)] public long Seconds;
    [FieldOffset(8)] public long Nanoseconds;
}

/// <summary>
/// kqueue and kevent, as the kqueue poller backend uses them: macOS's own; on
/// Linux libkqueue's when $LIBKQUEUE names it (a testing aid, see
/// <see cref="LibKqueue"/>); elsewhere -ENOSYS.
/// </summary>
public static unsafe partial class Sys
{
    public const short KqueueFilterRead = DarwinConstants.EVFILT_READ;
    public const short KqueueFilterWrite = DarwinConstants.EVFILT_WRITE;
    public const ushort KqueueAdd = DarwinConstants.EV_ADD;
    public const ushort KqueueDelete = DarwinConstants.EV_DELETE;
    public const ushort KqueueClear = DarwinConstants.EV_CLEAR;
    public const ushort KqueueReceipt = DarwinConstants.EV_RECEIPT;
    public const ushort KqueueOutOfBand = DarwinConstants.EV_OOBAND;
    public const ushort KqueueError = DarwinConstants.EV_ERROR;
    public const ushort KqueueEndOfFile = DarwinConstants.EV_EOF;

    /// <summary>Whether kqueue here is libkqueue's, which keeps a closed fd's registration (docs/kqueue-libkqueue.md).</summary>
    public static bool KqueueIsLibKqueue => Platform.IsLinux && LibKqueue.IsLoaded;

    /// <summary>Why kqueue is missing on Linux although $LIBKQUEUE is set (cannot be loaded...); null otherwise.</summary>
    public static string? KqueueProblem => Platform.IsLinux ? LibKqueue.Problem : null;

    /// <summary>A close-on-exec kqueue, or -errno.</summary>
    public static int KqueueCreate() =>
        Platform.IsDarwin ? Opened(DarwinSys.KqueueCreate()) : Platform.IsLinux ? Opened(LibKqueue.Kqueue()) : -Errno.ENOSYS;

    /// <summary>kevent(2): applies the changes, then waits for events; their count or -errno (-EINTR included). EV_ERROR entries carry the system's errno in Data: see <see cref="KqueueErrno"/>.</summary>
    public static int Kevent(int kq, KEvent* changes, int changeCount, KEvent* events, int eventCapacity, TimeSpec* timeout) =>
        Platform.IsDarwin ? DarwinSys.Kevent(kq, changes, changeCount, events, eventCapacity, timeout)
        : Platform.IsLinux ? LibKqueue.Kevent(kq, changes, changeCount, events, eventCapacity, timeout)
        : -Errno.ENOSYS;

    /// <summary>The errno an EV_ERROR entry carries in its data field, in the proxy's numbering (libkqueue's is Linux's already).</summary>
    public static int KqueueErrno(in KEvent entry) => Platform.IsDarwin ? DarwinErrno.ToProxy((int)entry.Data) : (int)entry.Data;
}
