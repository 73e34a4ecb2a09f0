using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Net;
using System.Net.Sockets;
using System.Threading;

namespace TcpProxy.Tests.Support;

/// <summary>
/// A real HAProxy (Debian's haproxy, installed by `make dotnet-test`) in the foreground, with a
/// config of the test's own in a temp directory: a TCP frontend on a free loopback port that
/// requires the PROXY protocol (`accept-proxy`) in front of one backend server. It logs one raw
/// line per connection to stdout: "client=%ci:%cp frontend=%fi:%fp". Killed by PID on Dispose.
/// </summary>
public sealed class HaproxyProcess : IDisposable
{
    readonly Process process;
    readonly LineLog stdout = new();
    readonly string directory;

    public int Port { get; }

    HaproxyProcess(int port, int backendPort)
    {
        Port = port;
        directory = Directory.CreateTempSubdirectory("tcpproxy-haproxy-").FullName;
        string config = Path.Combine(directory, "haproxy.cfg");
        File.WriteAllText(config, string.Join('\n',
            "global",
            "    log stdout format raw local0 info",
            "defaults",
            "    mode tcp",
            "    log global",
            "    timeout connect 5s",
            "    timeout client 30s",
            "    timeout server 30s",
            "frontend fe",
            $"    bind 127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)} accept-proxy",
            "    log-format \"client=%ci:%cp frontend=%fi:%fp\"",
            "    default_backend be",
            "backend be",
            $"    server echo 127.0.0.1:{backendPort.ToString(CultureInfo.InvariantCulture)}",
            ""));
        var info = new ProcessStartInfo("haproxy") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in new[] { "-f", config, "-db" }) info.ArgumentList.Add(argument);
        process = new Process { StartInfo = info };
        process.OutputDataReceived += (_, e) => stdout.Add(e.Data);
        process.ErrorDataReceived += (_, e) => stdout.Add(e.Data is null ? null : "[stderr] " + e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public string Output => stdout.Text;

    public static HaproxyProcess Start(int backendPort)
    {
        var haproxy = new HaproxyProcess(FreePort.Pick(), backendPort);
        try
        {
            haproxy.WaitUntilListening();
            return haproxy;
        }
        catch
        {
            haproxy.Dispose();
            throw;
        }
    }

    /// <summary>HAProxy says nothing when it is ready: connect until it accepts (bounded: 10 s).</summary>
    void WaitUntilListening()
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (process.HasExited)
                throw new InvalidOperationException($"haproxy exited with {process.ExitCode}:\n{Output}");
            try
            {
                using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                probe.Connect(IPAddress.Loopback, Port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(50); // nothing to wait on but the port
            }
        }
        throw new TimeoutException($"haproxy did not listen on {Port} within 10 s:\n{Output}");
    }

    public string? WaitForLine(Func<string, bool> match, TimeSpan limit) => stdout.WaitFor(match, limit);

    public void Dispose()
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill();
                process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException) { }
        process.Dispose();
        stdout.Dispose();
        try { Directory.Delete(directory, recursive: true); }
        catch (IOException) { }
    }
}
