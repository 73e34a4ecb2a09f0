using System;
using System.Buffers.Binary;
using System.Globalization;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Text;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>--send-proxy: the destination reads the PROXY header, naming the real client, before the client's first byte.</summary>
public sealed class ProxyProtocolTests : EndToEndTest
{
    public ProxyProtocolTests(ITestOutputHelper output) : base(output) { }

    [Theory]
    [InlineData("v1", false)]
    [InlineData("v1", true)]
    [InlineData("v2", false)]
    [InlineData("v2", true)]
    public void Header_NamesTheClientAndTheAddressItConnectedTo_BeforeItsBytes(string version, bool ipv6Client)
    {
        var server = StartServer();
        var proxy = StartProxy(server, "--send-proxy", version, "--verbose");
        var client = Connect(proxy, ipv6Client ? IPAddress.IPv6Loopback : IPAddress.Loopback);
        int clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;
        SocketIo.SendAll(client, "hello"u8);
        var serverSide = server.Accept();

        byte[] expected = version == "v1" ? V1(ipv6Client, clientPort, proxy.ListenPort) : V2(ipv6Client, clientPort, proxy.ListenPort);
        Assert.Equal(expected, SocketIo.ReceiveExactly(serverSide, expected.Length));
        Assert.Equal("hello"u8.ToArray(), SocketIo.ReceiveExactly(serverSide, 5));

        // The header is the proxy's own: the client's byte count does not include it.
        client.Shutdown(SocketShutdown.Send);
        serverSide.Shutdown(SocketShutdown.Send);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(5), "client after both half-closes");
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains(" 5 B up, 0 B down", StringComparison.Ordinal), TimeSpan.FromSeconds(5)));
    }

    /// <summary>
    /// A real HAProxy with `bind ... accept-proxy` in front of an echo server: it takes the header,
    /// the echo works through both proxies, and its %ci:%cp is our client, not tcpproxy.
    /// </summary>
    [LinuxTheory("HAProxy from Debian's package (make test-packages)")]
    [InlineData("v1")]
    [InlineData("v2")]
    public void HaproxyWithAcceptProxy_TakesTheHeader_EchoWorks_AndLogsTheClient(string version)
    {
        var echo = StartEchoServer();
        var haproxy = Own(HaproxyProcess.Start(echo.Port));
        var proxy = StartProxy("127.0.0.1", haproxy.Port, "--send-proxy", version);
        var client = Connect(proxy);
        int clientPort = ((IPEndPoint)client.LocalEndPoint!).Port;

        byte[] message = Encoding.ASCII.GetBytes("through tcpproxy and haproxy, " + version);
        SocketIo.SendAll(client, message);
        Assert.Equal(message, SocketIo.ReceiveExactly(client, message.Length));
        client.Shutdown(SocketShutdown.Send);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(10), "client after its half-close");

        string expected = $"client=127.0.0.1:{clientPort} frontend=127.0.0.1:{proxy.ListenPort}";
        string? line = haproxy.WaitForLine(l => l.Contains(expected, StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.True(line is not null, $"HAProxy did not log '{expected}':\n{haproxy.Output}");
    }

    static byte[] V1(bool ipv6, int clientPort, int listenPort)
    {
        string family = ipv6 ? "TCP6 ::1 ::1" : "TCP4 127.0.0.1 127.0.0.1";
        return Encoding.ASCII.GetBytes($"PROXY {family} {clientPort} {listenPort}\r\n");
    }

    static byte[] V2(bool ipv6, int clientPort, int listenPort)
    {
        byte[] address = ipv6 ? IPAddress.IPv6Loopback.GetAddressBytes() : [127, 0, 0, 1];
        var ports = new byte[4];
        BinaryPrimitives.WriteUInt16BigEndian(ports, (ushort)clientPort);
        BinaryPrimitives.WriteUInt16BigEndian(ports.AsSpan(2), (ushort)listenPort);
        byte[] signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];
        return [.. signature, 0x21, ipv6 ? (byte)0x21 : (byte)0x11, 0x00, (byte)(2 * address.Length + 4), .. address, .. address, .. ports];
    }
}
