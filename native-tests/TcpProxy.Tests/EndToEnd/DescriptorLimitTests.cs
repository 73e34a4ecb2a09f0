using System;
using System.IO;
using System.Linq;
using System.Net.Sockets;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// At the descriptor limit, clients the proxy cannot serve yet wait in the
/// backlog — none is accepted only to be reset — and each gets through once an
/// earlier one closes. A pair costs two descriptors, so both parities of the
/// limit are tried: with one descriptor left over, accepting a client and then
/// failing to open its server socket is what must not happen.
/// </summary>
public sealed class DescriptorLimitTests : EndToEndTest
{
    const int PairsThatFit = 3;
    const int Clients = PairsThatFit + 4;
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    public DescriptorLimitTests(ITestOutputHelper output) : base(output) { }

    [LinuxTheory("prlimit(2) and /proc/PID/fd")]
    [InlineData(0)]
    [InlineData(1)]
    public void ExcessClients_WaitInTheBacklog_AndGetThroughAsEarlierOnesClose(int spare)
    {
        var server = StartEchoServer();
        var proxy = StartProxy(server);
        int[] open = Descriptors(proxy.Pid);
        // The lowest limit under which exactly this many descriptor numbers are free.
        int limit = 2 * PairsThatFit + spare;
        foreach (int fd in open.Order())
            if (fd < limit)
                limit++;
        ProcessLimits.SetDescriptorLimit(proxy.Pid, limit);
        Output.WriteLine($"descriptors open at start: {string.Join(' ', open.Order())}; limit {limit}");

        // All clients at once: the kernel completes their handshakes into the backlog.
        var clients = new Socket[Clients];
        for (int i = 0; i < Clients; i++)
        {
            clients[i] = Connect(proxy);
            SocketIo.SendAll(clients[i], new[] { (byte)i });
        }
        Assert.NotNull(proxy.WaitForStderrLine(IsPausing, Wait));

        // Keep at most PairsThatFit clients open: closing the oldest makes room for the next.
        for (int i = 0; i < Clients; i++)
        {
            if (i >= PairsThatFit)
                Close(clients[i - PairsThatFit]);
            byte[] echoed;
            try
            {
                echoed = SocketIo.ReceiveExactly(clients[i], 1, Wait);
            }
            catch (Exception e) when (e is SocketException or EndOfStreamException or TimeoutException)
            {
                throw new Xunit.Sdk.XunitException($"client {i} got no echo ({e.GetType().Name}: {e.Message})\n{proxy.Describe()}");
            }
            Assert.Equal((byte)i, echoed[0]);
        }

        AssertProxyAlive(proxy);
        Assert.Single(proxy.StderrLines, IsPausing);
        Assert.DoesNotContain(proxy.StderrLines, l => l.Contains("cannot connect", StringComparison.Ordinal));
    }

    static bool IsPausing(string line) => line.Contains("pausing accepts", StringComparison.Ordinal);

    static void Close(Socket client)
    {
        client.Shutdown(SocketShutdown.Both);
        client.Close();
    }

    static int[] Descriptors(int pid) =>
        Directory.GetFileSystemEntries($"/proc/{pid}/fd").Select(p => int.Parse(Path.GetFileName(p), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
}
