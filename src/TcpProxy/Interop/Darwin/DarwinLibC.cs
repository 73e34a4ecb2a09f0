using System.Runtime.InteropServices;

namespace TcpProxy.Interop.Darwin;

/// <summary>
/// libSystem calls on macOS ("libc" resolves to /usr/lib/libc.dylib, part of
/// libSystem). SetLastError captures errno right after each call, so the
/// runtime cannot clobber it before <see cref="DarwinSys"/> translates it.
///
/// fcntl and open are variadic. On Apple arm64 a variadic argument goes on
/// the stack, not in a register as for an ordinary parameter, so a plain
/// P/Invoke would pass it where the callee never looks. The Arm64 forms fill
/// the six remaining argument registers (x2–x7) with padding, which puts the
/// real argument in the first stack slot, where va_arg reads it; x86-64
/// passes variadic arguments like ordinary ones.
/// </summary>
internal static unsafe partial class DarwinLibC
{
    private const string LibC = "libc";

    [LibraryImport(LibC, EntryPoint = "socket", SetLastError = true)]
    public static partial int Socket(int domain, int type, int protocol);

    [LibraryImport(LibC, EntryPoint = "accept", SetLastError = true)]
    public static partial int Accept(int fd, byte* address, uint* addressLength);

    [LibraryImport(LibC, EntryPoint = "connect", SetLastError = true)]
    public static partial int Connect(int fd, byte* address, uint addressLength);

    [LibraryImport(LibC, EntryPoint = "bind", SetLastError = true)]
    public static partial int Bind(int fd, byte* address, uint addressLength);

    [LibraryImport(LibC, EntryPoint = "listen", SetLastError = true)]
    public static partial int Listen(int fd, int backlog);

    [LibraryImport(LibC, EntryPoint = "getsockname", SetLastError = true)]
    public static partial int GetSockName(int fd, byte* address, uint* addressLength);

    [LibraryImport(LibC, EntryPoint = "getsockopt", SetLastError = true)]
    public static partial int GetSockOpt(int fd, int level, int name, void* value, uint* valueLength);

    [LibraryImport(LibC, EntryPoint = "setsockopt", SetLastError = true)]
    public static partial int SetSockOpt(int fd, int level, int name, void* value, uint valueLength);

    [LibraryImport(LibC, EntryPoint = "shutdown", SetLastError = true)]
    public static partial int Shutdown(int fd, int how);

    [LibraryImport(LibC, EntryPoint = "close", SetLastError = true)]
    public static partial int Close(int fd);

    [LibraryImport(LibC, EntryPoint = "recv", SetLastError = true)]
    public static partial nint Recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport(LibC, EntryPoint = "recvmsg", SetLastError = true)]
    public static partial nint RecvMsg(int fd, DarwinMsgHdr* message, int flags);

    [LibraryImport(LibC, EntryPoint = "send", SetLastError = true)]
    public static partial nint Send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport(LibC, EntryPoint = "sendmsg", SetLastError = true)]
    public static partial nint SendMsg(int fd, DarwinMsgHdr* message, int flags);

    [LibraryImport(LibC, EntryPoint = "read", SetLastError = true)]
    public static partial nint Read(int fd, byte* buffer, nuint length);

    [LibraryImport(LibC, EntryPoint = "write", SetLastError = true)]
    public static partial nint Write(int fd, byte* buffer, nuint length);

    [LibraryImport(LibC, EntryPoint = "pipe", SetLastError = true)]
    public static partial int Pipe(int* fds);

    [LibraryImport(LibC, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, uint count, int timeoutMs);

    [LibraryImport(LibC, EntryPoint = "kqueue", SetLastError = true)]
    public static partial int Kqueue();

    [LibraryImport(LibC, EntryPoint = "kevent", SetLastError = true)]
    public static partial int Kevent(int kq, KEvent* changes, int changeCount, KEvent* events, int eventCapacity, TimeSpec* timeout);

    [LibraryImport(LibC, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int FcntlX64(int fd, int command, nint argument);

    [LibraryImport(LibC, EntryPoint = "fcntl", SetLastError = true)]
    public static partial int FcntlArm64(int fd, int command, nint x2, nint x3, nint x4, nint x5, nint x6, nint x7, nint argument);

    [LibraryImport(LibC, EntryPoint = "open", SetLastError = true)]
    public static partial int OpenX64(byte* path, int flags, nint mode);

    [LibraryImport(LibC, EntryPoint = "open", SetLastError = true)]
    public static partial int OpenArm64(byte* path, int flags, nint x2, nint x3, nint x4, nint x5, nint x6, nint x7, nint mode);

    // x86-64 keeps the old 32-bit-inode fstat under the plain name; the
    // 64-bit-inode one (the struct DarwinStat describes) is fstat$INODE64.
    // arm64 only ever had 64-bit inodes, under the plain name.
    [LibraryImport(LibC, EntryPoint = "fstat$INODE64", SetLastError = true)]
    public static partial int FStatX64(int fd, DarwinStat* status);

    [LibraryImport(LibC, EntryPoint = "fstat", SetLastError = true)]
    public static partial int FStatArm64(int fd, DarwinStat* status);

    [LibraryImport(LibC, EntryPoint = "isatty")]
    public static partial int IsATty(int fd);

    [LibraryImport(LibC, EntryPoint = "dup", SetLastError = true)]
    public static partial int Dup(int fd);

    [LibraryImport(LibC, EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRLimit(int resource, DarwinRLimit* limit);

    [LibraryImport(LibC, EntryPoint = "setrlimit", SetLastError = true)]
    public static partial int SetRLimit(int resource, DarwinRLimit* limit);

    [LibraryImport(LibC, EntryPoint = "sysctlbyname", SetLastError = true)]
    public static partial int SysctlByName(byte* name, void* value, nuint* valueLength, void* newValue, nuint newLength);

    [LibraryImport(LibC, EntryPoint = "getaddrinfo", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int GetAddrInfo(string? node, string service, DarwinAddrInfo* hints, DarwinAddrInfo** result);

    [LibraryImport(LibC, EntryPoint = "freeaddrinfo")]
    public static partial void FreeAddrInfo(DarwinAddrInfo* info);

    [LibraryImport(LibC, EntryPoint = "gai_strerror")]
    public static partial byte* GaiStrError(int code);

    [LibraryImport(LibC, EntryPoint = "malloc")]
    public static partial void* Malloc(nuint size);

    [LibraryImport(LibC, EntryPoint = "free")]
    public static partial void Free(void* memory);

    [LibraryImport(LibC, EntryPoint = "posix_memalign")]
    public static partial int PosixMemalign(void** memory, nuint alignment, nuint size);

    // <sys/mman.h>: MADV_FREE (5) is the advice that lets macOS reclaim the pages.
    [LibraryImport(LibC, EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(void* address, nuint length, int advice);

    public const int MADV_FREE = 5;

    // <time.h>: _CLOCK_REALTIME is 0 (macOS 10.12 and later have clock_gettime).
    public const int CLOCK_REALTIME = 0;

    [LibraryImport(LibC, EntryPoint = "clock_gettime", SetLastError = true)]
    public static partial int ClockGetTime(int clock, TimeSpec* time);
}
