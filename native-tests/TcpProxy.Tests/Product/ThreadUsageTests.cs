using System;
using System.Collections.Generic;
using System.IO;
using System.Threading.Tasks;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.Product;

/// <summary>
/// The shipped binary is one event loop: after a bulk transfer it must still
/// have no thread-pool (or any other worker) thread, only the loop and the
/// runtime's finalizer and signal threads.
/// </summary>
public sealed class ThreadUsageTests : EndToEndTest
{
    private static readonly HashSet<string> AllowedThreads = new(StringComparer.Ordinal)
    {
        "tcpproxy",          // the loop (the main thread)
        ".NET Finalizer",
        ".NET SigHandler",   // the runtime's signal thread, if something started it (signals themselves go to a signalfd)
    };

    public ThreadUsageTests(ITestOutputHelper output) : base(output) { }

    [LinuxFact("counts threads in /proc/PID/task")]
    public void BulkTransfer_RunsWithoutAnyThreadPoolThread()
    {
        var server = StartServer();
        var proxy = StartProxy(server);
        var (client, upstream) = ConnectPair(proxy, server);
        const long Bytes = 32L << 20;

        Task<Digest> received = Background.Run(() => BulkData.Receive(upstream, Bytes));
        Digest sent = BulkData.Send(client, Bytes, seed: 7);
        Assert.Equal(sent, Background.Await(received, TimeSpan.FromSeconds(30), "the bulk receive"));

        AssertOnlyAllowedThreads(proxy);
    }

    /// <summary>
    /// .NET's PosixSignalRegistration runs SIGHUP and SIGUSR1 handlers on the
    /// thread pool (and starts a thread for each SIGINT/SIGTERM). The binary
    /// reads its signals from a signalfd instead: after each signal has been
    /// handled — SIGUSR1's counters line is the proof — no thread was added.
    /// </summary>
    [LinuxFact("a signalfd, and threads counted in /proc/PID/task")]
    public void Signals_AreHandledWithoutAnyNewThread()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server);
        for (int round = 1; round <= 3; round++)
        {
            Signals.Send(proxy.Pid, "HUP");
            Signals.Send(proxy.Pid, "USR1");
            int seen = round;
            Assert.NotNull(proxy.WaitForStderrLine(_ => CountLines(proxy, "counters: accepted") >= seen, TimeSpan.FromSeconds(10)));
        }
        AssertOnlyAllowedThreads(proxy);
        int threadCount = Directory.GetDirectories($"/proc/{proxy.Pid}/task").Length;
        Assert.True(threadCount <= 2, $"{threadCount} threads after signals: the loop and the finalizer were expected");

        Signals.Send(proxy.Pid, "TERM");
        Assert.Equal(0, proxy.WaitForExit(TimeSpan.FromSeconds(10)));
    }

    private static int CountLines(ProxyProcess proxy, string text)
    {
        int count = 0;
        foreach (string line in proxy.StderrLines)
            if (line.Contains(text, StringComparison.Ordinal))
                count++;
        return count;
    }

    private void AssertOnlyAllowedThreads(ProxyProcess proxy)
    {
        var threads = new List<string>();
        foreach (string task in Directory.GetDirectories($"/proc/{proxy.Pid}/task"))
            threads.Add(File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'));
        Output.WriteLine("proxy threads: " + string.Join(", ", threads));
        foreach (string name in threads)
            Assert.Contains(name, AllowedThreads);
    }
}
