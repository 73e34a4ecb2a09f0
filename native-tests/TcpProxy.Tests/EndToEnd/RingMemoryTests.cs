using System;
using System.Linq;
using System.Net.Sockets;
using System.Threading.Tasks;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// Running out of memory for ring buffers is back-pressure, as the
/// --buffer-memory limit is: the direction that needs a buffer stops reading
/// until one frees up. Nobody is reset, the proxy lives on, the pairs it has
/// keep forwarding, and no byte is lost.
/// </summary>
public sealed class RingMemoryTests : EndToEndTest
{
    const long RingSize = 64L << 20;
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    public RingMemoryTests(ITestOutputHelper output) : base(output) { }

    [LinuxFact("prlimit(2) and /proc/PID/status")]
    public void WithoutMemoryForAnotherRing_ADirectionWaits_AndEveryByteArrives()
    {
        var server = StartServer();
        var proxy = StartProxy(server, "--buffer-size", RingSize.ToString(System.Globalization.CultureInfo.InvariantCulture), "--stall-timeout", "120");
        long baseline = ProcessLimits.VirtualSize(proxy.Pid);
        // Room for two rings and a half: a third cannot be allocated.
        ProcessLimits.SetAddressSpaceLimit(proxy.Pid, baseline + 2 * RingSize + RingSize / 2);

        // Each client sends more than a ring plus what the kernel buffers hold to a
        // server that does not read yet, so each direction keeps its ring full.
        const long Bytes = RingSize + (32L << 20);
        var clients = new Socket[3];
        var servers = new Socket[3];
        var sent = new Task<Digest>[3];
        for (int i = 0; i < 3; i++)
        {
            (clients[i], servers[i]) = ConnectPair(proxy, server);
            int seed = i;
            Socket client = clients[i];
            sent[i] = Background.Run(() => BulkData.Send(client, Bytes, seed));
        }
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("out of memory for ring buffers", StringComparison.Ordinal), Wait));
        AssertProxyAlive(proxy);

        // The servers read: all three transfers complete, byte for byte, none reset.
        foreach (Socket s in servers)
            Own(s);
        BulkData.AssertEachArrives(sent, servers, Bytes, Wait);
        Assert.NotNull(proxy.WaitForStderrLine(l => l.Contains("buffers free again", StringComparison.Ordinal), Wait));
        // An episode is logged once, not per wait: the queue empties and fills again many times
        // here, yet a new episode starts only after a quiet second (the transfers' tail may have one).
        Assert.InRange(proxy.StderrLines.Count(l => l.Contains("out of memory for ring buffers", StringComparison.Ordinal)), 1, 3);
        AssertProxyAlive(proxy);
    }
}
