using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Text.RegularExpressions;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// SIGUSR2: the binary at the proxy's path (replaced, as a package upgrade
/// replaces it) starts with the listening sockets; once it accepts, the old
/// process drains and exits 0. Under load nothing is refused, reset or
/// altered; an upgrade that fails leaves the old process serving.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class BinaryUpgradeTests : EndToEndTest
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);
    static readonly Regex StartedPid = new(@"SIGUSR2: started .* as pid (\d+) ");

    readonly string directory;

    public BinaryUpgradeTests(ITestOutputHelper output) : base(output) =>
        directory = Own(new RemovedAtEnd(Directory.CreateTempSubdirectory("tcpproxy-upgrade-").FullName)).Path;

    [LinuxTheory("posix_spawn with descriptors handed down")]
    [InlineData(1)]
    [InlineData(2)]
    public void UnderContinuousLoad_NothingIsRefusedResetOrAltered(int reactors)
    {
        var server = StartEchoServer();
        string binary = CopyOfTheProxy();
        int metricsPort = FreePort.Pick();
        var old = StartProxyFrom(binary, _ => Array.Empty<string>(), server,
            "--reactors", reactors.ToString(CultureInfo.InvariantCulture), "--metrics", "127.0.0.1:" + metricsPort);
        var load = Own(new ContinuousLoad(old.ListenPort));
        Assert.True(load.WaitUntil(l => l.Connections >= 100 && l.PingPongRounds >= 100 && l.BulkTransfers >= 3, Wait), load.Summary);

        Replace(binary, File.ReadAllBytes(ProxyBinary.Path));
        Signals.Send(old.Pid, "USR2");
        int newPid = NewProcess(old);
        Assert.NotNull(old.WaitForStderrLine(l => l.Contains($"upgrade: pid {newPid} accepts"), Wait));
        long handedOver = load.Connections, transfersBefore = load.BulkTransfers;
        // After the hand-over: new clients reach the new process, old ones finish on the old.
        Assert.True(load.WaitUntil(l => l.Connections >= handedOver + 200 && l.BulkTransfers >= transfersBefore + 3, Wait), load.Summary);
        load.Stop();

        Assert.Equal(0, old.WaitForOwnExit(Wait));
        Assert.True(load.Refused == 0 && load.Resets == 0 && load.Mismatches == 0 && load.OtherErrors == 0, load.Summary);
        Output.WriteLine(load.Summary);
        // The new process runs the file now at the path, not the one replaced; it serves the port and the metrics.
        Assert.Equal(binary, new FileInfo($"/proc/{newPid}/exe").LinkTarget);
        AssertEchoes(old.ListenPort);
        Assert.Equal(200, HttpScrape.Get(metricsPort, "/readyz").Status);
    }

    [LinuxFact("posix_spawn with descriptors handed down")]
    public void NewBinaryExitsAtOnce_OldServesOn_WithOneLine_AndALaterUpgradeWorks()
    {
        var server = StartEchoServer();
        string binary = CopyOfTheProxy();
        var old = StartProxyFrom(binary, _ => Array.Empty<string>(), server);
        byte[] realBinary = File.ReadAllBytes(binary);
        Replace(binary, "#!/bin/sh\nexit 1\n"u8.ToArray());

        Signals.Send(old.Pid, "USR2");
        int failedPid = NewProcess(old);
        string? failure = old.WaitForStderrLine(l => l.Contains("upgrade failed:"), Wait);
        Assert.NotNull(failure);
        Assert.Contains($"{binary} (pid {failedPid}) closed its readiness pipe before accepting and exited with status 1; still serving", failure);
        AssertEchoes(old.ListenPort);
        AssertProxyAlive(old);

        Replace(binary, realBinary);
        Signals.Send(old.Pid, "USR2");
        int newPid = NewProcess(old, after: failedPid);
        Assert.NotNull(old.WaitForStderrLine(l => l.Contains($"upgrade: pid {newPid} accepts"), Wait));
        Assert.Equal(0, old.WaitForOwnExit(Wait));
        AssertEchoes(old.ListenPort);
        Assert.Single(old.StderrLines, l => l.Contains("upgrade failed:"));
    }

    [LinuxFact("posix_spawn with descriptors handed down")]
    public void NewBinaryNeverAccepts_IsKilledAfterTheTimeout_OldServesOn()
    {
        var server = StartEchoServer();
        string binary = CopyOfTheProxy();
        var old = StartProxyFrom(binary, _ => Array.Empty<string>(), server, "--upgrade-timeout", "0.5");
        Replace(binary, "#!/bin/sh\nexec sleep 60\n"u8.ToArray());

        Signals.Send(old.Pid, "USR2");
        int stuckPid = NewProcess(old);
        // While it waits, the old process still serves (both hold the socket; only the old one accepts).
        AssertEchoes(old.ListenPort);
        string? failure = old.WaitForStderrLine(l => l.Contains("upgrade failed:"), Wait);
        Assert.NotNull(failure);
        Assert.Contains($"(pid {stuckPid}) was not accepting after 0.5 s; killed it; still serving", failure);
        // Reaped before the line was written: no process, not even a zombie.
        Assert.False(Directory.Exists($"/proc/{stuckPid}"), $"pid {stuckPid} is still there");
        AssertEchoes(old.ListenPort);
        AssertProxyAlive(old);
    }

    [LinuxFact("systemd's notify protocol")]
    public void UnderSystemd_TheNewProcessBecomesMainPid_AndTheOldOneFallsSilent()
    {
        using var systemd = new NotifySocket();
        var server = StartEchoServer();
        string binary = CopyOfTheProxy();
        var old = StartProxyFrom(binary, _ => systemd.Launcher(), server);
        Assert.NotNull(systemd.ReceiveStartingWith("READY=1", Wait));

        Signals.Send(old.Pid, "USR2");
        int newPid = NewProcess(old);
        Assert.Equal(0, old.WaitForOwnExit(Wait));
        var messages = new List<string>();
        for (string? message; (message = systemd.Receive(TimeSpan.FromMilliseconds(200))) != null;)
            messages.Add(message);
        string all = string.Join(" | ", messages);
        // The old process names the new one (accepted from the main process), and the new one names itself.
        Assert.True(messages.Contains($"MAINPID={newPid}"), all);
        Assert.True(messages.Any(m => m.StartsWith($"MAINPID={newPid}\nREADY=1\nSTATUS=", StringComparison.Ordinal)), all);
        Assert.DoesNotContain(messages, m => m.StartsWith("STOPPING=1", StringComparison.Ordinal));
    }

    // A copy the test may replace, as a package manager replaces an installed binary.
    string CopyOfTheProxy()
    {
        string path = Path.Combine(directory, "tcpproxy");
        Replace(path, File.ReadAllBytes(ProxyBinary.Path));
        return path;
    }

    // Written beside it, then renamed over it: the running process keeps the old file.
    static void Replace(string path, byte[] content)
    {
        string next = path + ".next";
        File.WriteAllBytes(next, content);
        File.SetUnixFileMode(next, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.Move(next, path, overwrite: true);
    }

    // The pid SIGUSR2 started, killed at the end of the test if it still runs.
    int NewProcess(ProxyProcess old, int after = 0)
    {
        string? line = old.WaitForStderrLine(l => StartedPid.IsMatch(l) && Pid(l) != after, Wait);
        Assert.True(line != null, "no 'SIGUSR2: started' line; " + old.Describe());
        int pid = Pid(line!);
        Own(new KillAtEnd(pid));
        return pid;
    }

    static int Pid(string line) => int.Parse(StartedPid.Match(line).Groups[1].Value, CultureInfo.InvariantCulture);

    static void AssertEchoes(int port)
    {
        using var client = SocketIo.Connect(IPAddress.Loopback, port);
        byte[] message = "upgrade"u8.ToArray();
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
    }

    sealed class KillAtEnd(int pid) : IDisposable
    {
        public void Dispose()
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                process.Kill();
                process.WaitForExit(5000);
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or SystemException) { } // gone already
        }
    }

    // Registered first, so removed last: after every process that ran from it.
    sealed class RemovedAtEnd(string path) : IDisposable
    {
        public string Path { get; } = path;

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
