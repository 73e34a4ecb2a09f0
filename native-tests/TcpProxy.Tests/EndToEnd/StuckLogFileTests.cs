using System;
using System.Diagnostics;
using System.IO;
using TcpProxy.Tests.Support;
using Xunit.Abstractions;

namespace TcpProxy.Tests.EndToEnd;

/// <summary>
/// A log file on a disk that stops taking writes (frozen with fsfreeze: a
/// stuck NFS mount, a dying disk) must not stop the loop: writes to a
/// regular file may wait in the kernel, so they are the log thread's, and
/// clients keep being served; once the disk thaws, the lines arrive.
/// </summary>
public sealed class StuckLogFileTests : EndToEndTest
{
    static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    public StuckLogFileTests(ITestOutputHelper output) : base(output) { }

    [LinuxFact("loop devices, mkfs.ext4 and fsfreeze (root)")]
    public void AccessLogOnAFrozenDisk_ClientsAreStillServed_AndTheLinesArriveOnThaw()
    {
        using var disk = FrozenDisk.Create();
        string path = Path.Combine(disk.MountPoint, "access.log");
        var server = StartEchoServer();
        var proxy = StartProxy(server, "--access-log", path);
        try
        {
            EchoOnce(proxy, 0);
            WaitForLines(path, 1);

            disk.Freeze();
            const int Clients = 20;
            var clock = Stopwatch.StartNew();
            for (int i = 1; i <= Clients; i++)
                EchoOnce(proxy, (byte)i); // each close queues an access-log line for the frozen disk
            Output.WriteLine($"{Clients} clients served in {clock.Elapsed.TotalMilliseconds:0} ms with the log's disk frozen");
            AssertProxyAlive(proxy);

            disk.Thaw();
            WaitForLines(path, 1 + Clients);
        }
        finally
        {
            // A process cannot die while a write of its waits on the frozen disk.
            disk.Thaw();
            proxy.Dispose();
        }
    }

    void EchoOnce(ProxyProcess proxy, byte value)
    {
        using var client = SocketIo.Connect(System.Net.IPAddress.Loopback, proxy.ListenPort);
        SocketIo.SendAll(client, new[] { value });
        // Bounded: with the loop stuck in the log's write, this is where the old code hung.
        Assert.Equal(value, SocketIo.ReceiveExactly(client, 1, Wait)[0]);
        client.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        SocketIo.AssertEof(client, Wait, $"client {value} after its half-close");
    }

    static void WaitForLines(string path, int count)
    {
        var clock = Stopwatch.StartNew();
        int lines = 0;
        while (clock.Elapsed < Wait)
        {
            lines = File.Exists(path) ? File.ReadAllLines(path).Length : 0;
            if (lines >= count)
                return;
            System.Threading.Thread.Sleep(20); // a file offers no event to await
        }
        Assert.Fail($"{lines} access-log lines after {Wait.TotalSeconds} s, expected {count}");
    }
}
