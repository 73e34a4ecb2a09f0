using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using TcpProxy.Configuration;
using TcpProxy.Hosting;
using TcpProxy.Logging;
using TcpProxy.Reactor;
using TcpProxy.Tests.Support;

namespace TcpProxy.Tests.InProcess;

/// <summary>
/// The real proxy in this process, the test thread running its loop: a pair
/// whose callback throws is aborted, and only that pair.
/// </summary>
[Collection(NonParallelCollection.Name)]
public sealed class PairFaultTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(5);

    [LinuxFact("finds the proxy's socket in /proc/self/fd")]
    public void ThrowingCallback_AbortsOnlyItsPair_WhileAnotherPairKeepsForwarding()
    {
        using var destination = LoopbackServer.Listening();
        destination.EchoEveryConnection();
        string logPath = Path.Combine(Path.GetTempPath(), "tcpproxy-pairfault-" + Environment.ProcessId + ".log");
        File.Delete(logPath);
        using LogWriter log = LogWriter.OpenFile(logPath, out string? logError) ?? throw new InvalidOperationException(logError);
        var options = new ProxyOptions { DestinationHost = destination.Host, DestinationPort = destination.Port, ListenPort = 0, BindAddress = "127.0.0.1" };
        using ProxyServer server = ProxyServer.Create(options, new Log(LogLevel.Normal, log), out string? error)
            ?? throw new InvalidOperationException(error);
        using Socket victim = SocketIo.Connect(IPAddress.Loopback, server.ListenPort);
        using Socket neighbour = SocketIo.Connect(IPAddress.Loopback, server.ListenPort);
        AssertEchoes(server, victim, 1);
        AssertEchoes(server, neighbour, 2);

        // The proxy's socket for the victim: its readable callback now throws, as a bug would.
        int victimFd = SocketPeers.FindConnectedTo((IPEndPoint)victim.LocalEndPoint!);
        Assert.True(victimFd >= 0, "the proxy's socket for the victim was not found");
        server.Reactor.SetCallback(victimFd, IoEvents.Readable, () => throw new InvalidOperationException("injected fault"));
        SocketIo.SendAll(victim, new byte[] { 3 });

        Pump(server, () => victim.Poll(0, SelectMode.SelectRead));
        var closed = SocketIo.WaitForClose(victim, Limit);
        Assert.Equal(CloseKind.Reset, closed.Kind);
        AssertEchoes(server, neighbour, 4);
        using Socket newcomer = SocketIo.Connect(IPAddress.Loopback, server.ListenPort);
        AssertEchoes(server, newcomer, 5);

        Assert.Equal(1, server.Reactor.Faults);
        string[] lines = File.ReadAllText(logPath).Split('\n');
        File.Delete(logPath);
        Assert.Single(lines, l => l.Contains("internal error (InvalidOperationException: injected fault); connection aborted", StringComparison.Ordinal));
    }

    /// <summary>One byte there and back, the test thread running the loop meanwhile.</summary>
    private static void AssertEchoes(ProxyServer server, Socket client, byte value)
    {
        SocketIo.SendAll(client, new[] { value });
        Pump(server, () => client.Available > 0);
        Assert.Equal(value, SocketIo.ReceiveExactly(client, 1, Limit)[0]);
    }

    private static void Pump(ProxyServer server, Func<bool> done)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!done())
        {
            Assert.True(DateTime.UtcNow < deadline, "the loop did not get there within " + Limit.TotalSeconds + " s");
            Assert.Equal(0, server.Reactor.RunOnce(10));
        }
    }
}
