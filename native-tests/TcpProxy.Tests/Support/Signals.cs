using System;
using System.Diagnostics;
using System.Globalization;

namespace TcpProxy.Tests.Support;

/// <summary>Sends a POSIX signal to one process by PID (via kill(1), so no P/Invoke in the tests).</summary>
public static class Signals
{
    public static void Send(int pid, string signalName)
    {
        var info = new ProcessStartInfo("kill") { UseShellExecute = false };
        info.ArgumentList.Add("-s");
        info.ArgumentList.Add(signalName);
        info.ArgumentList.Add(pid.ToString(CultureInfo.InvariantCulture));
        using var kill = Process.Start(info) ?? throw new InvalidOperationException("could not start kill(1)");
        if (!kill.WaitForExit(TimeSpan.FromSeconds(5)))
        {
            kill.Kill();
            throw new TimeoutException($"kill -s {signalName} {pid} did not finish");
        }
        if (kill.ExitCode != 0) throw new InvalidOperationException($"kill -s {signalName} {pid} exited with {kill.ExitCode}");
    }
}
