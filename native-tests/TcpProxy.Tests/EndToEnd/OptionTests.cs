using System;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>--bind and --verbose change what the proxy listens on and what it logs.</summary>
public sealed class OptionTests : EndToEndTest
{
    public OptionTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void BindOption_ListensOnlyOnTheGivenAddress()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--bind", "127.0.0.1");

        var client = Connect(proxy, IPAddress.Loopback);
        SocketIo.SendAll(client, new byte[] { 42 });
        Assert.Equal(42, SocketIo.ReceiveExactly(client, 1)[0]);

        var refused = Assert.Throws<SocketException>(() => Own(SocketIo.Connect(IPAddress.IPv6Loopback, proxy.ListenPort)));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Fact]
    public void VerboseOption_LogsOneLineOnOpenAndOneOnCloseWithBytesEachWay()
    {
        var server = StartServer();
        var proxy = StartProxy(server, "--verbose");
        var (client, serverSide) = ConnectPair(proxy, server);
        string clientPort = ((IPEndPoint)client.LocalEndPoint!).Port.ToString(CultureInfo.InvariantCulture);

        SocketIo.SendAll(client, new byte[1234]);
        SocketIo.ReceiveExactly(serverSide, 1234);
        SocketIo.SendAll(serverSide, new byte[4321]);
        SocketIo.ReceiveExactly(client, 4321);
        client.Shutdown(SocketShutdown.Send);
        serverSide.Shutdown(SocketShutdown.Send);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(5), "client after both half-closes");

        string? closeLine = proxy.WaitForStderrLine(l => l.Contains("1234", StringComparison.Ordinal) &&
                                                         l.Contains("4321", StringComparison.Ordinal), TimeSpan.FromSeconds(3));
        Assert.True(closeLine is not null, "no stderr line reports 1234 bytes up and 4321 bytes down:\n" + proxy.StderrText);
        // The peer's port identifies this connection's lines: exactly one on open, one on close,
        // naming the IPv4 client as such, not as the dual-stack listener's [::ffff:127.0.0.1].
        Assert.Equal(2, proxy.StderrLines.Count(l => l.Contains(" 127.0.0.1:" + clientPort, StringComparison.Ordinal)));
        Assert.DoesNotContain(proxy.StderrLines, l => l.Contains("::ffff:", StringComparison.Ordinal));
    }
}
