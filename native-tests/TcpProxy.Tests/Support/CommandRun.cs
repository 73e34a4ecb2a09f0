using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;

namespace TcpProxy.Tests.Support;

/// <summary>Outcome of running ./tcpproxy to completion; stderr as written, and with each line's timestamp checked and stripped.</summary>
public sealed record CommandResult(int? ExitCode, IReadOnlyList<string> StdoutLines, IReadOnlyList<string> RawStderrLines, TimeSpan Elapsed)
{
    public IReadOnlyList<string> StderrLines => RawStderrLines.Select(StderrLine.Strip).ToArray();

    public bool TimedOut => ExitCode is null;

    public IReadOnlyList<string> NonEmptyStderrLines => StderrLines.Where(l => l.Trim().Length > 0).ToArray();

    public override string ToString() =>
        $"exit {(ExitCode?.ToString() ?? "none (killed after timeout)")} after {Elapsed.TotalSeconds:0.00} s\n" +
        $"stderr:\n{string.Join('\n', RawStderrLines)}\nstdout:\n{string.Join('\n', StdoutLines)}";
}

/// <summary>Runs ./tcpproxy with arguments that should make it exit by itself (usage errors, --help).</summary>
public static class CommandRun
{
    public static CommandResult Run(TimeSpan limit, params string[] arguments) => RunVia([], limit, arguments);

    /// <summary>As <see cref="Run"/>, through a launcher that execs the proxy (env, a socket activator).</summary>
    public static CommandResult RunVia(IReadOnlyList<string> launcher, TimeSpan limit, params string[] arguments)
    {
        var stdout = new LineLog();
        var stderr = new LineLog();
        var info = new ProcessStartInfo(launcher.Count > 0 ? launcher[0] : ProxyBinary.Path)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        // Judged on the system's own backends: $LIBKQUEUE (the kqueue step sets it) would make --poller kqueue valid on Linux.
        info.Environment.Remove("LIBKQUEUE");
        for (int i = 1; i < launcher.Count; i++) info.ArgumentList.Add(launcher[i]);
        if (launcher.Count > 0) info.ArgumentList.Add(ProxyBinary.Path);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);

        using var process = new Process { StartInfo = info };
        process.ErrorDataReceived += (_, e) => stderr.Add(e.Data);
        process.OutputDataReceived += (_, e) => stdout.Add(e.Data);
        var clock = Stopwatch.StartNew();
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            if (!process.WaitForExit(limit))
                return new CommandResult(null, stdout.Lines, stderr.Lines, clock.Elapsed);
            var elapsed = clock.Elapsed;
            process.WaitForExit(); // flush the asynchronous readers
            return new CommandResult(process.ExitCode, stdout.Lines, stderr.Lines, elapsed);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
            stdout.Dispose();
            stderr.Dispose();
        }
    }
}
