using TcpProxy.Interop.Darwin;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>
/// malloc and free. Unlike NativeMemory.Alloc, which throws
/// OutOfMemoryException, a failed allocation is a null result the caller
/// handles: running out of memory for one client is not an exception.
/// </summary>
public static unsafe class NativeHeap
{
    /// <summary>size bytes of uninitialised memory, or null when none is left.</summary>
    public static byte* TryAllocate(int size) => Platform.IsDarwin ? DarwinSys.Malloc((nuint)size) : LinuxSys.Malloc((nuint)size);

    /// <summary>size bytes aligned to alignment (a power of two, e.g. the page size), or null; free with <see cref="Free"/>.</summary>
    public static byte* TryAllocateAligned(long size, int alignment) =>
        Platform.IsDarwin ? DarwinSys.AllocateAligned((nuint)size, (nuint)alignment) : LinuxSys.AllocateAligned((nuint)size, (nuint)alignment);

    /// <summary>
    /// Gives the pages of [address, address+length) back to the kernel while
    /// keeping the range allocated: the next touch gets fresh pages. Returns 0 or -errno.
    /// </summary>
    public static int DiscardPages(byte* address, long length) =>
        Platform.IsDarwin ? DarwinSys.DiscardPages(address, (nuint)length) : LinuxSys.DiscardPages(address, (nuint)length);

    public static void Free(byte* memory)
    {
        if (Platform.IsDarwin)
            DarwinSys.Free(memory);
        else
            LinuxSys.Free(memory);
    }

    /// <summary>
    /// Returns whole free pages of the heap to the kernel (glibc's
    /// malloc_trim). free() keeps a freed ring's pages resident while
    /// neighbouring chunks are live, so after a wave of connections the RSS
    /// would stay at its peak. macOS has no malloc_trim (its allocator
    /// madvises free pages by itself): nothing is done there.
    /// </summary>
    public static void ReleaseFreePages()
    {
        if (Platform.IsLinux)
            LinuxSys.ReleaseFreePages();
    }
}
