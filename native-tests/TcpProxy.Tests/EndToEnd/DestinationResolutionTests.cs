using System;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// The destination is a name whose address changes (--resolve-interval):
/// new clients follow it, open pairs stay where they are, a failed lookup
/// keeps the last good addresses, and a resolver that never answers slows
/// no byte. The proxy runs with a hosts file and resolv.conf of the test's
/// own (<see cref="PrivateNameService"/>).
/// </summary>
public sealed class DestinationResolutionTests : EndToEndTest
{
    const string Name = "moving.tcpproxy.test";
    static readonly IPAddress First = IPAddress.Parse("127.0.0.2");
    static readonly IPAddress Second = IPAddress.Parse("127.0.0.3");
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public DestinationResolutionTests(ITestOutputHelper output) : base(output) { }

    [LinuxFact("a mount namespace over /etc/hosts")]
    public void NameMoves_NewClientsFollowWithinAnInterval_OpenPairsStay()
    {
        using var names = new PrivateNameService();
        names.Map((Name, "127.0.0.2"));
        var first = Own(LoopbackServer.Listening(First));
        var second = Own(LoopbackServer.ListeningOn(Second, first.Port));
        var proxy = StartProxyVia(_ => names.Launcher, Name, first.Port, "--resolve-interval", "0.2");
        var (oldClient, oldServer) = ConnectPair(proxy, first);

        names.Map((Name, "127.0.0.3"));
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("now resolves to 127.0.0.3:", StringComparison.Ordinal), Wait));
        var (newClient, newServer) = ConnectPair(proxy, second);

        SocketIo.SendAll(oldClient, [1]);
        Assert.Equal(1, SocketIo.ReceiveExactly(oldServer, 1)[0]);
        SocketIo.SendAll(newClient, [2]);
        Assert.Equal(2, SocketIo.ReceiveExactly(newServer, 1)[0]);
    }

    [LinuxFact("a mount namespace over /etc/hosts")]
    public void NameGone_TheLastGoodAddressesStay_SaidOnce_AndCounted()
    {
        using var names = new PrivateNameService(resolverTimeoutSeconds: 1);
        names.Map((Name, "127.0.0.2"));
        var first = Own(LoopbackServer.Listening(First));
        int metricsPort = FreePort.Pick();
        var proxy = StartProxyVia(_ => names.Launcher, Name, first.Port,
            "--resolve-interval", "0.1", "--metrics", "127.0.0.1:" + metricsPort.ToString(CultureInfo.InvariantCulture));

        names.Map();
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("cannot resolve destination", StringComparison.Ordinal), Wait));
        ConnectPair(proxy, first);
        // A second failed lookup shows only in the counter (the line is said once): polled, bounded.
        var clock = Stopwatch.StartNew();
        while (HttpScrape.Get(metricsPort).Sample("tcpproxy_resolution_failures_total") < 2 && clock.Elapsed < TimeSpan.FromSeconds(10))
            System.Threading.Thread.Sleep(100);
        HttpReply reply = HttpScrape.Get(metricsPort);
        Assert.True(reply.Sample("tcpproxy_resolution_failures_total") >= 2, "failures: " + reply.Sample("tcpproxy_resolution_failures_total"));
        Assert.Equal(1, reply.Sample("tcpproxy_destination_addresses"));
        Assert.Single(proxy.StderrLines, l => l.Contains("cannot resolve destination", StringComparison.Ordinal));

        names.Map((Name, "127.0.0.2"));
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("resolves again", StringComparison.Ordinal), Wait));
    }

    [LinuxFact("a mount namespace over /etc/hosts and resolv.conf")]
    public void ResolverThatNeverAnswers_DoesNotSlowForwarding()
    {
        using var names = new PrivateNameService(resolverTimeoutSeconds: 4);
        names.Map((Name, "127.0.0.2"));
        var echo = Own(LoopbackServer.Listening(First));
        echo.EchoEveryConnection();
        var proxy = StartProxyVia(_ => names.Launcher, Name, echo.Port, "--resolve-interval", "0.1");
        using Socket client = Connect(proxy);
        SocketIo.SendAll(client, [0]);
        SocketIo.ReceiveExactly(client, 1);

        // From now on each lookup waits on a nameserver that never answers.
        names.Map();
        var period = Stopwatch.StartNew();
        long slowest = 0;
        for (byte i = 1; period.Elapsed < TimeSpan.FromSeconds(2); i++)
        {
            var roundTrip = Stopwatch.StartNew();
            SocketIo.SendAll(client, [i]);
            Assert.Equal(i, SocketIo.ReceiveExactly(client, 1)[0]);
            slowest = Math.Max(slowest, roundTrip.ElapsedMilliseconds);
        }
        // The lookup was still waiting all along: it fails only after the resolver's 4 s.
        Assert.DoesNotContain(proxy.StderrLines, l => l.Contains("cannot resolve destination", StringComparison.Ordinal));
        Assert.True(slowest < 500, $"a round trip took {slowest} ms while the resolver waited");
    }
}
