using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Threading;

namespace TcpProxy.Tests.Support;

/// <summary>
/// One running ./tcpproxy child: started on a free port, ready once stderr says "listening on",
/// killed by PID on Dispose (and at test-host exit if a test leaked it). Its stderr lines are
/// kept with their timestamps checked and stripped (<see cref="StderrLine.Strip"/>), and as written.
/// </summary>
public sealed class ProxyProcess : IDisposable
{
    public const string ReadyMarker = "listening on";
    static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(10);
    const int MaxPortAttempts = 5;

    static readonly ConcurrentDictionary<int, Process> Live = new();

    static ProxyProcess()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var process in Live.Values) KillQuietly(process);
        };
    }

    readonly Process process;
    readonly LineLog stderr = new(ReadyMarker);
    readonly LineLog rawStderr = new();
    readonly ManualResetEventSlim exited = new(false);
    bool disposed;

    public int ListenPort { get; }
    public IReadOnlyList<string> Arguments { get; }
    public int Pid => process.Id;
    public bool HasExited => process.HasExited;
    public string StderrText => stderr.Text;
    public IReadOnlyList<string> StderrLines => stderr.Lines;
    /// <summary>The stderr lines as the proxy wrote them, timestamp (or journald priority) included.</summary>
    public IReadOnlyList<string> RawStderrLines => rawStderr.Lines;

    ProxyProcess(string binary, IReadOnlyList<string> launcher, IReadOnlyList<string> arguments, int listenPort)
    {
        Arguments = arguments;
        ListenPort = listenPort;
        // A launcher (e.g. `ip netns exec NAME`) execs the proxy, so the PID is still the proxy's.
        var info = new ProcessStartInfo(launcher.Count > 0 ? launcher[0] : binary)
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        for (int i = 1; i < launcher.Count; i++) info.ArgumentList.Add(launcher[i]);
        if (launcher.Count > 0) info.ArgumentList.Add(binary);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.ErrorDataReceived += (_, e) =>
        {
            rawStderr.Add(e.Data);
            stderr.Add(e.Data is null ? null : StderrLine.Strip(e.Data));
        };
        process.OutputDataReceived += (_, e) => stderr.Add(e.Data is null ? null : "[stdout] " + e.Data);
        process.Exited += (_, _) => exited.Set();
        process.Start();
        Live[process.Id] = process;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
    }

    /// <summary>Starts the proxy towards host:port; retries on a fresh port if the picked one was taken meanwhile.</summary>
    public static ProxyProcess Start(string destinationHost, int destinationPort, params string[] options) =>
        Start(Array.Empty<string>(), destinationHost, destinationPort, options);

    /// <summary>Starts the proxy through a launcher command that execs it (e.g. into a network namespace).</summary>
    public static ProxyProcess Start(IReadOnlyList<string> launcher, string destinationHost, int destinationPort, params string[] options) =>
        Start(_ => launcher, destinationHost, destinationPort, options);

    /// <summary>Starts the proxy through a launcher made for the listen port picked (e.g. one that binds it and passes the socket).</summary>
    public static ProxyProcess Start(Func<int, IReadOnlyList<string>> launcherFor, string destinationHost, int destinationPort, params string[] options) =>
        StartFrom(ProxyBinary.Path, launcherFor, destinationHost, destinationPort, options);

    /// <summary>Starts another copy of the binary (e.g. one a test replaces) through a launcher made for the listen port.</summary>
    public static ProxyProcess StartFrom(string binary, Func<int, IReadOnlyList<string>> launcherFor, string destinationHost, int destinationPort, params string[] options)
    {
        string lastStderr = "";
        for (int attempt = 1; attempt <= MaxPortAttempts; attempt++)
        {
            int listenPort = FreePort.Pick();
            var arguments = new List<string>
            {
                destinationHost,
                destinationPort.ToString(CultureInfo.InvariantCulture),
                listenPort.ToString(CultureInfo.InvariantCulture),
            };
            arguments.AddRange(options);
            arguments.AddRange(ProxyBinary.ExtraArgumentsBeside(options));

            var proxy = new ProxyProcess(binary, launcherFor(listenPort), arguments, listenPort);
            if (proxy.WaitUntilListening(out string why)) return proxy;

            lastStderr = proxy.StderrText;
            bool portRace = proxy.HasExited && lastStderr.Contains("in use", StringComparison.OrdinalIgnoreCase);
            proxy.Dispose();
            if (!portRace)
                throw new InvalidOperationException(
                    $"tcpproxy {string.Join(' ', arguments)}: {why}; stderr:\n{lastStderr}");
        }
        throw new InvalidOperationException(
            $"tcpproxy: listen port in use {MaxPortAttempts} times in a row; last stderr:\n{lastStderr}");
    }

    bool WaitUntilListening(out string why)
    {
        int signalled = WaitHandle.WaitAny(new[] { stderr.MarkerSeen.WaitHandle, exited.WaitHandle }, StartupTimeout);
        if (signalled == 0) { why = ""; return true; }
        if (signalled == WaitHandle.WaitTimeout)
        {
            why = $"no '{ReadyMarker}' line on stderr within {StartupTimeout.TotalSeconds} s";
            return false;
        }
        process.WaitForExit(); // flushes the asynchronous stderr reader
        why = $"exited with code {process.ExitCode} before '{ReadyMarker}'";
        return false;
    }

    /// <summary>The first stderr line that matches, waiting at most the limit; null if none came.</summary>
    public string? WaitForStderrLine(Func<string, bool> match, TimeSpan limit) => stderr.WaitFor(match, limit);

    /// <summary>Exit code if the proxy has ended within the limit, else null.</summary>
    public int? WaitForExit(TimeSpan limit)
    {
        if (!process.WaitForExit(limit)) return null;
        process.WaitForExit();
        return process.ExitCode;
    }

    /// <summary>
    /// Exit code if the proxy itself has ended within the limit, else null — without waiting
    /// for its stderr to close, which a process it started (a binary upgrade) keeps open.
    /// </summary>
    public int? WaitForOwnExit(TimeSpan limit) => exited.Wait(limit) ? process.ExitCode : null;

    /// <summary>Human-readable state for test output and failure messages.</summary>
    public string Describe() =>
        $"tcpproxy pid {process.Id} [{string.Join(' ', Arguments)}] " +
        (process.HasExited ? $"exited with {process.ExitCode}" : "running") +
        $"; stderr:\n{StderrText}";

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        KillQuietly(process);
        Live.TryRemove(process.Id, out _);
        process.Dispose();
        exited.Dispose();
        stderr.Dispose();
        rawStderr.Dispose();
    }

    static void KillQuietly(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { } // already gone
        catch (SystemException) { }           // racing with its own exit
    }
}
