using System;
using System.Globalization;
using System.IO;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>
/// The standard process_* metrics, read from /proc (in-memory files: reading
/// them does not block). Linux only: elsewhere (macOS) only the descriptor
/// limit is known and the rest is -1.
/// </summary>
public readonly record struct ProcessStats(long ResidentBytes, int OpenFds, long MaxFds, double CpuSeconds, double StartTimeSeconds)
{
    /// <summary>Reads every figure; one that cannot be read is reported as -1.</summary>
    public static ProcessStats Read()
    {
        if (!Platform.IsLinux)
            return new ProcessStats(-1, -1, ResourceLimits.FileLimit(), -1, -1);
        long resident = -1;
        int openFds = -1;
        double cpu = -1, start = -1;
        try
        {
            // statm: size resident shared ... in pages.
            string[] statm = File.ReadAllText("/proc/self/statm").Split(' ');
            resident = long.Parse(statm[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { }
        try
        {
            openFds = Directory.GetFileSystemEntries("/proc/self/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        try
        {
            ReadCpuAndStart(out cpu, out start);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { }
        return new ProcessStats(resident, openFds, ResourceLimits.FileLimit(), cpu, start);
    }

    private static void ReadCpuAndStart(out double cpuSeconds, out double startSeconds)
    {
        double ticks = LinuxSys.ClockTicksPerSecond();
        if (ticks <= 0)
            ticks = 100;
        // The command name (field 2) may hold spaces and parentheses: count fields from the last ')'.
        string stat = File.ReadAllText("/proc/self/stat");
        string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // fields[0] is field 3 (state): utime is field 14, stime 15, starttime 22.
        long userTicks = long.Parse(fields[11], CultureInfo.InvariantCulture);
        long systemTicks = long.Parse(fields[12], CultureInfo.InvariantCulture);
        long startTicks = long.Parse(fields[19], CultureInfo.InvariantCulture);
        cpuSeconds = (userTicks + systemTicks) / ticks;
        startSeconds = BootTimeSeconds() + startTicks / ticks;
    }

    private static long BootTimeSeconds()
    {
        foreach (string line in File.ReadLines("/proc/stat"))
        {
            if (line.StartsWith("btime ", StringComparison.Ordinal))
                return long.Parse(line.AsSpan(6), CultureInfo.InvariantCulture);
        }
        throw new FormatException("no btime in /proc/stat");
    }
}
