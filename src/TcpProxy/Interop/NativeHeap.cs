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
