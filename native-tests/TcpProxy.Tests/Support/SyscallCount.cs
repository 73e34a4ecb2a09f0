using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;

namespace TcpProxy.Tests.Support;

/// <summary>
/// The syscalls a running process makes during one action: strace -c -f
/// attached to all its threads before the action and detached after it.
/// </summary>
public static class SyscallCount
{
    /// <summary>Calls per syscall name, and "total".</summary>
    public static IReadOnlyDictionary<string, long> During(int pid, Action action)
    {
        string summary = Path.Combine(Path.GetTempPath(), $"tcpproxy-strace-{Guid.NewGuid():N}.txt");
        var info = new ProcessStartInfo("strace") { UseShellExecute = false, RedirectStandardError = true };
        foreach (string argument in new[] { "-c", "-f", "-o", summary, "-p", pid.ToString(CultureInfo.InvariantCulture) })
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
            return Parse(File.ReadAllLines(summary));
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

    // "% time  seconds  usecs/call  calls  errors  syscall": the errors column may be blank.
    static Dictionary<string, long> Parse(string[] lines)
    {
        var calls = new Dictionary<string, long>();
        foreach (string line in lines)
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
