using System;
using System.Net.Sockets;
using System.Text;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>EOF on one side is forwarded as a half-close; the other direction keeps working.</summary>
public sealed class HalfCloseTests : EndToEndTest
{
    public HalfCloseTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void OneWayShutdown_ForwardsByteAfterClientEof()
    {
        var server = StartServer();
        var proxy = StartProxy(server);
        var (client, serverSide) = ConnectPair(proxy, server);

        SocketIo.SendAll(client, Encoding.ASCII.GetBytes("hello"));
        client.Shutdown(SocketShutdown.Send);

        // The server sees the data, then EOF, and only then answers.
        Assert.Equal("hello", Encoding.ASCII.GetString(SocketIo.ReceiveExactly(serverSide, 5)));
        SocketIo.AssertEof(serverSide, TimeSpan.FromSeconds(5), "server waiting for the client's forwarded EOF");
        SocketIo.SendAll(serverSide, new byte[] { (byte)'!' });
        serverSide.Shutdown(SocketShutdown.Send);

        Assert.Equal((byte)'!', SocketIo.ReceiveExactly(client, 1)[0]);
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(5), "client waiting for the server's forwarded EOF");
    }

    [Fact]
    public void ServerHalfClose_ClientStillSendsAndDataArrives()
    {
        var server = StartServer();
        var proxy = StartProxy(server);
        var (client, serverSide) = ConnectPair(proxy, server);

        SocketIo.SendAll(serverSide, Encoding.ASCII.GetBytes("bye"));
        serverSide.Shutdown(SocketShutdown.Send);

        Assert.Equal("bye", Encoding.ASCII.GetString(SocketIo.ReceiveExactly(client, 3)));
        SocketIo.AssertEof(client, TimeSpan.FromSeconds(5), "client waiting for the server's forwarded EOF");

        // The client's direction is still open: 1 MiB must arrive whole, then the client's EOF.
        const long size = 1 << 20;
        var receiving = Background.Run(() => BulkData.Receive(serverSide, long.MaxValue));
        var sent = BulkData.Send(client, size, seed: 11);
        client.Shutdown(SocketShutdown.Send);
        var received = Background.Await(receiving, TimeSpan.FromSeconds(15), "server receiving after its half-close");

        Assert.Equal(sent, received);
    }
}
