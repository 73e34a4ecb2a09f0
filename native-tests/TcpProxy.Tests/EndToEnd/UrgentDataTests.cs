using System;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// TCP urgent data: Linux's recv stops at the urgent mark with the rest still
/// queued, and no new edge comes for it. The proxy forwards the urgent byte in
/// line and reads on past the mark, so nothing waits for the peer's next write.
/// </summary>
public sealed class UrgentDataTests : EndToEndTest
{
    const int IpProtoTcp = 6;
    const int TcpCork = 3;
    const string Expected = "AAAABCCCC";

    public UrgentDataTests(ITestOutputHelper output) : base(output) { }

    [Fact]
    public void UrgentByteInOneSegment_ArrivesInLineWithWhatFollows_BothWays()
    {
        var server = StartServer();
        var proxy = StartProxy(server);
        var (client, serverSide) = ConnectPair(proxy, server);

        // Several rounds: whether the bytes after the mark arrive in the same
        // wake-up as the mark depends on timing; the urgent byte itself is
        // dropped on every round if it is not read in line.
        for (int round = 0; round < 5; round++)
        {
            SendAroundUrgentByte(client);
            Assert.Equal(Expected, ReceiveWithin(serverSide, Expected.Length, TimeSpan.FromSeconds(3), $"round {round}, server"));
            SendAroundUrgentByte(serverSide);
            Assert.Equal(Expected, ReceiveWithin(client, Expected.Length, TimeSpan.FromSeconds(3), $"round {round}, client"));
        }
        AssertProxyAlive(proxy);
    }

    /// <summary>"AAAA", then "B" with MSG_OOB, then "CCCC", corked so they leave together; then nothing more.</summary>
    static void SendAroundUrgentByte(Socket socket)
    {
        socket.SetRawSocketOption(IpProtoTcp, TcpCork, BitConverter.GetBytes(1));
        SocketIo.SendAll(socket, "AAAA"u8);
        Assert.Equal(1, socket.Send("B"u8, SocketFlags.OutOfBand));
        SocketIo.SendAll(socket, "CCCC"u8);
        socket.SetRawSocketOption(IpProtoTcp, TcpCork, BitConverter.GetBytes(0));
    }

    /// <summary>Whatever arrives within the limit, up to count bytes, as text (so a failure shows what came).</summary>
    static string ReceiveWithin(Socket socket, int count, TimeSpan limit, string what)
    {
        var clock = Stopwatch.StartNew();
        var data = new byte[count];
        int have = 0;
        while (have < count)
        {
            var remaining = limit - clock.Elapsed;
            if (remaining <= TimeSpan.Zero || !socket.Poll(remaining, SelectMode.SelectRead))
                break;
            int n = socket.Receive(data, have, count - have, SocketFlags.None);
            if (n == 0)
                throw new InvalidOperationException($"{what}: EOF after '{Encoding.ASCII.GetString(data, 0, have)}'");
            have += n;
        }
        return Encoding.ASCII.GetString(data, 0, have);
    }
}
