using System;
using System.ComponentModel;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace TcpProxy.Tests.Support;

/// <summary>Lowers a running child's resource limits (prlimit(2)) and reads what it uses from /proc.</summary>
public static partial class ProcessLimits
{
    const int RlimitNoFile = 7;
    const int RlimitAddressSpace = 9;

    [StructLayout(LayoutKind.Sequential)]
    struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [LibraryImport("libc", EntryPoint = "prlimit", SetLastError = true)]
    private static partial int PrLimit(int pid, int resource, in RLimit newLimit, IntPtr oldLimit);

    /// <summary>Sets both the soft and the hard limit on the process's descriptors.</summary>
    public static void SetDescriptorLimit(int pid, long count) => Set(pid, RlimitNoFile, count);

    /// <summary>Sets both the soft and the hard limit on the process's virtual address space, in bytes.</summary>
    public static void SetAddressSpaceLimit(int pid, long bytes) => Set(pid, RlimitAddressSpace, bytes);

    static void Set(int pid, int resource, long value)
    {
        var limit = new RLimit { Current = (ulong)value, Maximum = (ulong)value };
        if (PrLimit(pid, resource, limit, IntPtr.Zero) != 0)
            throw new Win32Exception(Marshal.GetLastPInvokeError(), $"prlimit({pid}, {resource}, {value})");
    }

    /// <summary>The process's virtual address space in bytes (VmSize).</summary>
    public static long VirtualSize(int pid)
    {
        string line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith("VmSize:", StringComparison.Ordinal));
        return long.Parse(line["VmSize:".Length..].Trim().Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    /// <summary>How many descriptors the process has open.</summary>
    public static int OpenDescriptors(int pid) => Directory.GetFileSystemEntries($"/proc/{pid}/fd").Length;
}
