using System;
using System.Diagnostics;
using System.Net;
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

    [NotOnLibKqueueFact("never sets EV_OOBAND (no EPOLLPRI), so the urgent byte is not seen as urgent")]
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

    /// <summary>
    /// splice(2) returns 0, as at EOF, when the socket stands at an urgent mark
    /// and the peer's FIN has arrived too: the urgent byte is still there, and
    /// only recv reads it. A direction that took that 0 for EOF shut the sink
    /// down without it. Whether the urgent byte and the FIN arrive while the
    /// proxy is splicing the bytes before them depends on timing, so many
    /// connections: each must deliver every byte, the urgent one last, then EOF.
    /// </summary>
    [LinuxTheory("splice(2)")]
    [InlineData("on")]
    [InlineData("auto")]
    public void UrgentByteThenFin_WhileSplicing_ArrivesLastBeforeEof(string splice)
    {
        const int Connections = 200;
        const int Prefix = 100_000;
        var server = StartServer();
        var proxy = StartProxy(server, "--splice", splice);
        var expected = new byte[Prefix + 1];
        for (int i = 0; i < Prefix; i++) expected[i] = (byte)('a' + i % 26);
        expected[Prefix] = (byte)'!';

        var clock = Stopwatch.StartNew();
        int lost = 0;
        string firstFailure = "";
        for (int connection = 0; connection < Connections; connection++)
        {
            using var client = SocketIo.Connect(IPAddress.Loopback, proxy.ListenPort);
            using var serverSide = server.Accept();
            var received = Background.Run(() => ReceiveUntilEof(serverSide, expected.Length + 1));
            SocketIo.SendAll(client, expected.AsSpan(0, Prefix));
            Assert.Equal(1, client.Send(expected.AsSpan(Prefix), SocketFlags.OutOfBand));
            client.Shutdown(SocketShutdown.Send);
            byte[] got = Background.Await(received, TimeSpan.FromSeconds(10), $"connection {connection}: the server reading to EOF");
            if (!got.AsSpan().SequenceEqual(expected))
            {
                if (lost++ == 0)
                    firstFailure = $"connection {connection}: {got.Length} bytes, last '{(got.Length > 0 ? (char)got[^1] : ' ')}'";
            }
        }
        Output.WriteLine($"--splice {splice}: {Connections} connections in {clock.Elapsed.TotalSeconds:0.0} s, {lost} without every byte");
        Assert.True(lost == 0, $"{lost} of {Connections} connections lost bytes (first: {firstFailure})");
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

    /// <summary>Everything up to EOF (at most max bytes; more means a duplicate, which the caller sees as a mismatch).</summary>
    static byte[] ReceiveUntilEof(Socket socket, int max)
    {
        var data = new byte[max];
        int have = 0;
        while (have < max)
        {
            int n = socket.Receive(data, have, max - have, SocketFlags.None);
            if (n == 0)
                break;
            have += n;
        }
        return data.AsSpan(0, have).ToArray();
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
