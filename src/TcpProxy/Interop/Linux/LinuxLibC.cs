using System.Runtime.InteropServices;

namespace TcpProxy.Interop.Linux;

/// <summary>
/// glibc calls that Tmds.LibC does not bind (name resolution, resource limits,
/// malloc), with their Linux structure layouts.
/// </summary>
internal static unsafe partial class LinuxLibC
{
    private const string LibC = "libc.so.6";

    public const int RLIMIT_NOFILE = 7;

    public const int AI_PASSIVE = 0x0001;
    public const int AI_NUMERICSERV = 0x0400;

    [StructLayout(LayoutKind.Sequential)]
    public struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    /// <summary>glibc's struct addrinfo: ai_addr before ai_canonname (BSD has them the other way round).</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct AddrInfo
    {
        public int Flags;
        public int Family;
        public int SocketType;
        public int Protocol;
        public uint AddressLength;
        public byte* Address;
        public byte* CanonicalName;
        public AddrInfo* Next;
    }

    // Tmds.LibC 0.5.0 binds poll without SetLastError, so its errno would be
    // the last one saved by some earlier call (an EAGAIN from recv, typically).
    [LibraryImport(LibC, EntryPoint = "poll", SetLastError = true)]
    public static partial int Poll(PollFd* fds, nuint count, int timeoutMs);

    [LibraryImport(LibC, EntryPoint = "getrlimit", SetLastError = true)]
    public static partial int GetRLimit(int resource, RLimit* limit);

    [LibraryImport(LibC, EntryPoint = "setrlimit", SetLastError = true)]
    public static partial int SetRLimit(int resource, RLimit* limit);

    [LibraryImport(LibC, EntryPoint = "getaddrinfo", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int GetAddrInfo(string? node, string service, AddrInfo* hints, AddrInfo** result);

    [LibraryImport(LibC, EntryPoint = "freeaddrinfo")]
    public static partial void FreeAddrInfo(AddrInfo* info);

    [LibraryImport(LibC, EntryPoint = "gai_strerror")]
    public static partial byte* GaiStrError(int code);

    [LibraryImport(LibC, EntryPoint = "malloc")]
    public static partial void* Malloc(nuint size);

    [LibraryImport(LibC, EntryPoint = "free")]
    public static partial void Free(void* memory);

    // glibc only: gives free pages inside the heap back to the kernel.
    [LibraryImport(LibC, EntryPoint = "posix_memalign")]
    public static partial int PosixMemalign(void** memory, nuint alignment, nuint size);

    [LibraryImport(LibC, EntryPoint = "madvise", SetLastError = true)]
    public static partial int Madvise(void* address, nuint length, int advice);

    public const int MADV_DONTNEED = 4;

    [LibraryImport(LibC, EntryPoint = "malloc_trim")]
    public static partial int MallocTrim(nuint pad);

    // glibc 2.30 and later; struct linux_dirent64: ino 8, off 8, reclen 2, type 1, name.
    [LibraryImport(LibC, EntryPoint = "getdents64", SetLastError = true)]
    public static partial nint GetDents64(int fd, byte* buffer, nuint size);

    // <time.h>: CLOCK_REALTIME is 0 on every Linux architecture. struct timespec is two 64-bit fields on 64-bit Linux.
    public const int CLOCK_REALTIME = 0;

    [LibraryImport(LibC, EntryPoint = "clock_gettime", SetLastError = true)]
    public static partial int ClockGetTime(int clock, TimeSpec* time);
}
