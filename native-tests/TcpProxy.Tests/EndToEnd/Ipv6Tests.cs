using System.Net;
using System.Text;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>IPv6 on both sides: a ::1 destination, and clients over ::1 on the dual-stack listener.</summary>
public sealed class Ipv6Tests : EndToEndTest
{
    public Ipv6Tests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void Ipv6Destination_EchoesByteExact()
    {
        var server = StartEchoServer(IPAddress.IPv6Loopback);
        var proxy = StartProxy(server.Host, server.Port); // "::1"
        var client = Connect(proxy, IPAddress.Loopback);

        byte[] message = Encoding.ASCII.GetBytes("over ::1");
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
    }

    [Fact]
    public void Ipv6Client_EchoesThroughDualStackListener()
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server);
        var client = Connect(proxy, IPAddress.IPv6Loopback);

        byte[] message = Encoding.ASCII.GetBytes("client on ::1");
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
    }
}
