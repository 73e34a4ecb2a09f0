using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Threading;

namespace TcpProxy.Tests.Support;

/// <summary>
/// A ./tcpproxy child whose stderr the test does not read line by line: a file or device
/// (`sh -c 'exec tcpproxy ... 2>/dev/full'`: exec keeps the PID, so the child is the proxy),
/// or a pipe left unread until the test drains it. Ready once its port is in LISTEN state in
/// /proc/net/tcp6 (stderr cannot say so). Killed by PID on Dispose.
/// </summary>
public sealed class RawStderrProxy : IDisposable
{
    static readonly TimeSpan StartupTimeout = TimeSpan.FromSeconds(10);
    const int MaxPortAttempts = 5;

    readonly Process process;
    bool disposed;

    public int ListenPort { get; }
    public int Pid => process.Id;
    public bool HasExited => process.HasExited;

    RawStderrProxy(Process process, int listenPort)
    {
        this.process = process;
        ListenPort = listenPort;
    }

    /// <summary>The proxy with fd 2 opened by the shell on <paramref name="stderrPath"/> (e.g. /dev/full).</summary>
    public static RawStderrProxy StartWithStderrOn(string stderrPath, string host, int port, params string[] options) =>
        Start(listenPort =>
        {
            var info = new ProcessStartInfo("/bin/sh") { UseShellExecute = false, RedirectStandardOutput = true };
            info.ArgumentList.Add("-c");
            info.ArgumentList.Add("exec \"$0\" \"$@\" 2>" + stderrPath);
            info.ArgumentList.Add(ProxyBinary.Path);
            AddArguments(info, host, port, listenPort, options);
            return info;
        });

    /// <summary>The proxy with stderr a pipe that nobody reads until <see cref="DrainStderrUntil"/>.</summary>
    public static RawStderrProxy StartWithUnreadStderrPipe(string host, int port, params string[] options) =>
        Start(listenPort =>
        {
            var info = new ProcessStartInfo(ProxyBinary.Path) { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
            AddArguments(info, host, port, listenPort, options);
            return info;
        });

    static void AddArguments(ProcessStartInfo info, string host, int port, int listenPort, string[] options)
    {
        info.ArgumentList.Add(host);
        info.ArgumentList.Add(port.ToString(CultureInfo.InvariantCulture));
        info.ArgumentList.Add(listenPort.ToString(CultureInfo.InvariantCulture));
        foreach (string option in options) info.ArgumentList.Add(option);
        foreach (string option in ProxyBinary.ExtraArgumentsBeside(options)) info.ArgumentList.Add(option);
    }

    static RawStderrProxy Start(Func<int, ProcessStartInfo> describe)
    {
        for (int attempt = 1; attempt <= MaxPortAttempts; attempt++)
        {
            int listenPort = FreePort.Pick();
            var process = Process.Start(describe(listenPort)) ?? throw new InvalidOperationException("cannot start the proxy");
            var proxy = new RawStderrProxy(process, listenPort);
            if (proxy.WaitUntilListening())
                return proxy;
            bool exited = process.HasExited;
            string state = exited ? $"exited with code {process.ExitCode}" : "running but not listening";
            proxy.Dispose();
            // An early exit is most likely the port taken meanwhile (its message went to stderr); a live proxy that never listens is a failure.
            if (!exited || attempt == MaxPortAttempts)
                throw new InvalidOperationException($"tcpproxy on port {listenPort}: {state} (attempt {attempt}, waiting at most {StartupTimeout.TotalSeconds} s for LISTEN)");
        }
        throw new InvalidOperationException("unreachable");
    }

    bool WaitUntilListening()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < StartupTimeout)
        {
            if (IsListening(ListenPort)) return true;
            if (process.WaitForExit(20)) return false; // nothing announces the listen: poll the kernel's table
        }
        return false;
    }

    /// <summary>Whether a socket listens on the TCP port (IPv4 or IPv6), from /proc/net/tcp{,6}.</summary>
    public static bool IsListening(int port)
    {
        string localPort = ":" + port.ToString("X4", CultureInfo.InvariantCulture);
        foreach (string table in new[] { "/proc/net/tcp6", "/proc/net/tcp" })
        {
            if (!File.Exists(table)) continue;
            foreach (string line in File.ReadLines(table))
            {
                string[] fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                // sl local_address rem_address st ...; 0A is TCP_LISTEN
                if (fields.Length > 3 && fields[1].EndsWith(localPort, StringComparison.Ordinal) && fields[3] == "0A")
                    return true;
            }
        }
        return false;
    }

    /// <summary>
    /// Reads the stderr pipe (from its start) on a dedicated thread until a line matches or the
    /// limit passes; returns every line read and the match (null if none came), their timestamps
    /// checked and stripped (<see cref="StderrLine.Strip"/>).
    /// </summary>
    public (IReadOnlyList<string> Lines, string? Match) DrainStderrUntil(Func<string, bool> match, TimeSpan limit)
    {
        var lines = new List<string>();
        string? found = null;
        var reader = new Thread(() =>
        {
            try
            {
                string? line;
                while ((line = process.StandardError.ReadLine()) is not null)
                {
                    line = StderrLine.Strip(line);
                    lock (lines) lines.Add(line);
                    if (match(line)) { Volatile.Write(ref found, line); return; }
                }
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException) { }
        }) { IsBackground = true, Name = "stderr-drain" };
        reader.Start();
        reader.Join(limit); // a reader still blocked ends when Dispose kills the proxy
        lock (lines) return (lines.ToArray(), Volatile.Read(ref found));
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { } // already gone
        catch (SystemException) { }
        process.Dispose();
    }
}
