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

    /// <summary>
    /// --reactors 2 adds exactly one thread, the second loop's, named
    /// "tcpproxy r1": no thread-pool thread appears after both loops carried
    /// clients (many small pairs and a bulk one) and every signal was handled.
    /// </summary>
    [LinuxFact("counts threads in /proc/PID/task")]
    public void TwoReactors_AddExactlyOneNamedLoopThread_AndNoThreadPoolThread()
    {
        var server = StartEchoServer();
        int metricsPort = FreePort.Pick();
        var proxy = StartProxy(server, "--reactors", "2", "--metrics", "127.0.0.1:" + metricsPort.ToString(System.Globalization.CultureInfo.InvariantCulture));
        var clients = new List<System.Net.Sockets.Socket>();
        for (int i = 0; i < 100; i++)
        {
            var client = Connect(proxy);
            SocketIo.SendAll(client, new byte[] { (byte)i });
            Assert.Equal((byte)i, SocketIo.ReceiveExactly(client, 1)[0]);
            clients.Add(client);
        }
        // A bulk stream through the echo destination: sent from a test thread, received here.
        var bulkClient = Connect(proxy);
        const long Bytes = 16L << 20;
        Task<Digest> sending = Background.Run(() => BulkData.Send(bulkClient, Bytes, seed: 9));
        Digest echoed = BulkData.Receive(bulkClient, Bytes);
        Assert.Equal(Background.Await(sending, TimeSpan.FromSeconds(30), "the bulk send"), echoed);
        HttpReply reply = HttpScrape.Get(metricsPort);
        Assert.True(reply.Sample("tcpproxy_reactor_connections_accepted_total", "reactor=\"0\"") > 0, "reactor 0 accepted nothing");
        Assert.True(reply.Sample("tcpproxy_reactor_connections_accepted_total", "reactor=\"1\"") > 0, "reactor 1 accepted nothing");
        for (int round = 1; round <= 3; round++)
        {
            Signals.Send(proxy.Pid, "HUP");
            Signals.Send(proxy.Pid, "USR1");
            int seen = round;
            Assert.NotNull(proxy.WaitForStderrLine(_ => CountLines(proxy, "counters: accepted") >= seen, TimeSpan.FromSeconds(10)));
        }

        List<string> threads = ThreadNames(proxy);
        Assert.Single(threads, name => name == "tcpproxy r1");
        Assert.Single(threads, name => name == "tcpproxy");
        foreach (string name in threads)
            Assert.True(name == "tcpproxy r1" || AllowedThreads.Contains(name), $"unexpected thread '{name}'");
        Assert.True(threads.Count <= 3, $"{threads.Count} threads: the two loops and the finalizer were expected");

        Signals.Send(proxy.Pid, "TERM");
        foreach (var client in clients)
            client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        bulkClient.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        Assert.Equal(0, proxy.WaitForExit(TimeSpan.FromSeconds(15)));
    }

    /// <summary>--reactors 1 is the default: one loop on the main thread, no loop thread, and the start-up line as before.</summary>
    [LinuxFact("counts threads in /proc/PID/task")]
    public void OneReactor_IsTheSingleThreadedProxyOfOld()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--reactors", "1");
        var client = Connect(proxy);
        SocketIo.SendAll(client, new byte[] { 1, 2, 3 });
        Assert.Equal(new byte[] { 1, 2, 3 }, SocketIo.ReceiveExactly(client, 3));
        List<string> threads = ThreadNames(proxy);
        Assert.DoesNotContain(threads, name => name.StartsWith("tcpproxy r", StringComparison.Ordinal));
        Assert.True(threads.Count <= 2, $"{threads.Count} threads: the loop and the finalizer were expected");
        Assert.DoesNotContain(proxy.StderrLines, l => l.Contains("reactors", StringComparison.Ordinal));
    }

    private List<string> ThreadNames(ProxyProcess proxy)
    {
        var threads = new List<string>();
        foreach (string task in Directory.GetDirectories($"/proc/{proxy.Pid}/task"))
            threads.Add(File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'));
        Output.WriteLine("proxy threads: " + string.Join(", ", threads));
        return threads;
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
