using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text.RegularExpressions;

namespace TcpProxy.Tests.Support;

/// <summary>
/// The syscalls a running process makes during one action: strace -C -f
/// (each call, then the -c summary) attached to all its threads before the
/// action and detached after it.
/// </summary>
public static class SyscallCount
{
    private static readonly Regex StatCall = new(@"\b(stat|lstat|statx|newfstatat|fstatat64)\((?<args>[^)]*)", RegexOptions.Compiled);

    /// <summary>
    /// Calls per syscall name, and "total"; <paramref name="pathStats"/> gets
    /// each call that stat'ed a path. A stat of an open descriptor
    /// (newfstatat(fd, "", AT_EMPTY_PATH), what glibc's fstat is: the GC reads
    /// /proc/meminfo through stdio at each collection) is not one.
    /// </summary>
    public static IReadOnlyDictionary<string, long> During(int pid, Action action, List<string>? pathStats = null)
    {
        string summary = Path.Combine(Path.GetTempPath(), $"tcpproxy-strace-{Guid.NewGuid():N}.txt");
        var info = new ProcessStartInfo("strace") { UseShellExecute = false, RedirectStandardError = true };
        foreach (string argument in new[] { "-C", "-f", "-o", summary, "-p", pid.ToString(CultureInfo.InvariantCulture) })
            info.ArgumentList.Add(argument);
        using var stderr = new LineLog();
        using var strace = new Process { StartInfo = info };
        strace.ErrorDataReceived += (_, e) => stderr.Add(e.Data);
        strace.Start();
        strace.BeginErrorReadLine();
        try
        {
            // "Process N attached with T threads", said once every thread is traced.
            if (stderr.WaitFor(l => l.Contains(" attached", StringComparison.Ordinal), TimeSpan.FromSeconds(10)) is null)
                throw new TimeoutException($"strace did not attach to {pid}: {string.Join('\n', stderr.Lines)}");
            action();
            Signals.Send(strace.Id, "INT");
            if (!strace.WaitForExit(TimeSpan.FromSeconds(10)))
                throw new TimeoutException("strace did not detach: " + string.Join('\n', stderr.Lines));
            string[] lines = File.ReadAllLines(summary);
            pathStats?.AddRange(PathStats(lines));
            return Parse(lines);
        }
        finally
        {
            if (!strace.HasExited)
            {
                strace.Kill();
                strace.WaitForExit(5000);
            }
            File.Delete(summary);
        }
    }

    static IEnumerable<string> PathStats(string[] lines)
    {
        foreach (string line in lines)
        {
            Match call = StatCall.Match(line);
            if (call.Success && !call.Groups["args"].Value.Contains("AT_EMPTY_PATH", StringComparison.Ordinal))
                yield return line;
        }
    }

    // After the trace, "% time  seconds  usecs/call  calls  errors  syscall": the errors column may be blank.
    static Dictionary<string, long> Parse(string[] lines)
    {
        var calls = new Dictionary<string, long>();
        int header = Array.FindIndex(lines, l => l.TrimStart().StartsWith("% time", StringComparison.Ordinal));
        foreach (string line in lines.AsSpan(Math.Max(0, header)))
        {
            string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 5 || !double.TryParse(fields[0], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                continue;
            calls[fields[^1]] = long.Parse(fields[3], CultureInfo.InvariantCulture);
        }
        if (!calls.ContainsKey("total"))
            throw new FormatException("no strace -c summary in:\n" + string.Join('\n', lines));
        return calls;
    }
}
