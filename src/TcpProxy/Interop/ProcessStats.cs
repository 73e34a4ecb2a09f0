using System;
using System.Globalization;
using System.IO;
using TcpProxy.Interop.Linux;

namespace TcpProxy.Interop;

/// <summary>
/// The standard process_* metrics. Linux reads two small /proc files per call
/// (in-memory: reading them does not block) and nothing per descriptor: the
/// open descriptors are those counted once by <see cref="Calibrate"/> plus
/// <see cref="Sys.OpenDescriptors"/>. Elsewhere (macOS) only the descriptor
/// limit is known and the rest is -1.
/// </summary>
public readonly record struct ProcessStats(long ResidentBytes, long OpenFds, long MaxFds, double CpuSeconds, double StartTimeSeconds)
{
    // What the process held that Sys did not open (stdio, the runtime's own), and its start time: fixed after Calibrate.
    private static long s_descriptorsBeforeSys = -1;
    private static double s_startTimeSeconds = -1;

    /// <summary>
    /// Lists /proc/self/fd once, before the loops run (no other thread opens
    /// descriptors then), and reads the start time. Later reads cost no work per descriptor.
    /// </summary>
    public static void Calibrate()
    {
        if (!Platform.IsLinux)
            return;
        int open = LinuxSys.CountOpenDescriptors();
        if (open >= 0)
            s_descriptorsBeforeSys = open - Sys.OpenDescriptors;
        try
        {
            s_startTimeSeconds = BootTimeSeconds() + ReadStatField(StartTimeField) / ClockTicks();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { }
    }

    /// <summary>Every figure; one that cannot be read (or was not calibrated) is -1.</summary>
    public static ProcessStats Read()
    {
        if (!Platform.IsLinux)
            return new ProcessStats(-1, -1, ResourceLimits.FileLimit(), -1, -1);
        long resident = -1;
        double cpu = -1;
        try
        {
            // statm: size resident shared ... in pages.
            string[] statm = ReadProcFile("/proc/self/statm").Split(' ');
            resident = long.Parse(statm[1], CultureInfo.InvariantCulture) * Environment.SystemPageSize;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { }
        try
        {
            string[] fields = ReadStatFields();
            cpu = (Field(fields, UserTimeField) + Field(fields, SystemTimeField)) / ClockTicks();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException) { }
        long openFds = s_descriptorsBeforeSys < 0 ? -1 : s_descriptorsBeforeSys + Sys.OpenDescriptors;
        return new ProcessStats(resident, openFds, ResourceLimits.FileLimit(), cpu, s_startTimeSeconds);
    }

    // Fields of /proc/self/stat, numbered as in proc(5).
    private const int UserTimeField = 14, SystemTimeField = 15, StartTimeField = 22;

    private static double ClockTicks()
    {
        double ticks = LinuxSys.ClockTicksPerSecond();
        return ticks > 0 ? ticks : 100;
    }

    private static long ReadStatField(int field) => Field(ReadStatFields(), field);

    // The command name (field 2) may hold spaces and parentheses: fields[0] is field 3, after the last ')'.
    private static string[] ReadStatFields()
    {
        string stat = ReadProcFile("/proc/self/stat");
        return stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    }

    // Read on the loop, once a second at most: procfs is in memory, and open/read/close is all it takes.
    private static string ReadProcFile(string path)
    {
        Span<byte> buffer = stackalloc byte[ProcFileBytes];
        int n = LinuxSys.ReadProcFile(path, buffer);
        if (n < 0)
            throw new IOException(path + ": " + Errno.Name(-n));
        return System.Text.Encoding.ASCII.GetString(buffer[..n]);
    }

    // /proc/self/stat is ~300 bytes, statm ~40: room to spare.
    private const int ProcFileBytes = 4096;

    private static long Field(string[] fields, int field) => long.Parse(fields[field - 3], CultureInfo.InvariantCulture);

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
