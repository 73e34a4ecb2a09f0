using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
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
        WithAccessLogOnItsOwnDisk((proxy, disk, path) =>
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
        });
    }

    /// <summary>
    /// logrotate may send SIGHUP more than once while a write is stuck: every descriptor
    /// replaced meanwhile must be closed once the write returns, not only the last
    /// (each holds a rotated file's disk space).
    /// </summary>
    [LinuxFact("loop devices, mkfs.ext4 and fsfreeze (root)")]
    public void SighupsWhileAWriteIsStuck_LeaveOneDescriptorOnTheFile_AfterTheThaw()
    {
        WithAccessLogOnItsOwnDisk((proxy, disk, path) =>
        {
            EchoOnce(proxy, 0);
            WaitForLines(path, 1);
            Assert.Equal(1, DescriptorsOn(proxy.Pid, path));

            disk.Freeze();
            EchoOnce(proxy, 1);
            AwaitLogThreadStuck(proxy.Pid);
            for (int reopens = 1; reopens <= 3; reopens++)
            {
                Signals.Send(proxy.Pid, "HUP");
                // Pending signals of one kind merge: each reopen is awaited before the next is asked for.
                AwaitStderrLine(proxy, "SIGHUP: reopened the access log", reopens);
            }

            disk.Thaw();
            WaitForLines(path, 2);
            AwaitDescriptorsOn(proxy.Pid, path, 1);
        });
    }

    /// <summary>
    /// SIGTERM while the access log's write waits on a disk that never thaws: the proxy gives
    /// up on the log after its exit limit and ends (its port released, its main thread gone)
    /// without touching the buffer the stuck write still reads; once the disk thaws, the
    /// kernel lets the process go with status 0. A thread in write(2) on a frozen file system
    /// sleeps uninterruptibly, so until then no process can be reaped, whatever it does.
    /// </summary>
    [LinuxFact("loop devices, mkfs.ext4 and fsfreeze (root)")]
    public void SigtermWhileTheLogsDiskStaysFrozen_TheProxyGivesUpOnTheLog_AndExitsZero()
    {
        WithAccessLogOnItsOwnDisk((proxy, disk, path) =>
        {
            EchoOnce(proxy, 0);
            WaitForLines(path, 1);

            disk.Freeze();
            for (int i = 1; i <= 3; i++)
                EchoOnce(proxy, (byte)i);
            AwaitLogThreadStuck(proxy.Pid);
            Signals.Send(proxy.Pid, "TERM");

            Assert.True(proxy.WaitForStderrLine(l => l.Contains("access log: a write is stuck", StringComparison.Ordinal), Wait) is not null,
                "no word of giving up on the stuck access log: " + proxy.Describe());
            AwaitMainThreadEnded(proxy.Pid);
            Assert.Throws<System.Net.Sockets.SocketException>(() => SocketIo.Connect(System.Net.IPAddress.Loopback, proxy.ListenPort).Dispose());

            disk.Thaw(); // the test's mount must go; the process is only reaped after this
            Assert.Equal(0, proxy.WaitForExit(Wait));
        });
    }

    // The access log on a disk of the test's own; however the test ends, the disk is thawed
    // before the proxy is ended: a process cannot die while a write of its waits on a frozen disk.
    void WithAccessLogOnItsOwnDisk(Action<ProxyProcess, FrozenDisk, string> test)
    {
        using var disk = FrozenDisk.Create();
        string path = Path.Combine(disk.MountPoint, "access.log");
        var proxy = StartProxy(StartEchoServer(), "--access-log", path);
        try
        {
            test(proxy, disk, path);
        }
        finally
        {
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

    static void AwaitStderrLine(ProxyProcess proxy, string text, int occurrence)
    {
        int seen = 0;
        Assert.True(proxy.WaitForStderrLine(l => l.Contains(text, StringComparison.Ordinal) && ++seen == occurrence, Wait) is not null,
            $"'{text}' not said {occurrence} times: " + proxy.Describe());
    }

    /// <summary>The proxy's "tcpproxy log" thread sleeps uninterruptibly (state D): its write(2) waits on the frozen disk.</summary>
    static void AwaitLogThreadStuck(int pid) =>
        AwaitProc(() => Directory.EnumerateDirectories($"/proc/{pid}/task").Any(task =>
            ReadProc(task + "/comm").Trim() == "tcpproxy log" && ThreadState(task) == 'D'),
            $"no log thread of {pid} stuck in a write");

    /// <summary>The main thread has returned (the leader is a zombie), or the whole process has been reaped.</summary>
    static void AwaitMainThreadEnded(int pid) =>
        AwaitProc(() => !Directory.Exists($"/proc/{pid}") || ThreadState($"/proc/{pid}") is 'Z' or '\0',
            $"the main thread of {pid} still runs {Wait.TotalSeconds} s after SIGTERM");

    static void AwaitDescriptorsOn(int pid, string path, int expected) =>
        AwaitProc(() => DescriptorsOn(pid, path) == expected, () => $"{DescriptorsOn(pid, path)} descriptors of {pid} on {path}, expected {expected}");

    // Neither a close nor a thread's state offers an event to await: polled, bounded.
    static void AwaitProc(Func<bool> condition, string failure) => AwaitProc(condition, () => failure);

    static void AwaitProc(Func<bool> condition, Func<string> failure)
    {
        var clock = Stopwatch.StartNew();
        while (!condition())
        {
            if (clock.Elapsed >= Wait)
                Assert.Fail(failure() + $" after {Wait.TotalSeconds} s");
            System.Threading.Thread.Sleep(20);
        }
    }

    static int DescriptorsOn(int pid, string path) =>
        Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count(link => LinkTarget(link) == path);

    static string? LinkTarget(string link)
    {
        try { return new FileInfo(link).LinkTarget; }
        catch (IOException) { return null; } // closed while listed
    }

    // The state letter of /proc/.../stat, after the parenthesised name (which may hold spaces); '\0' once gone.
    static char ThreadState(string taskDirectory)
    {
        string stat = ReadProc(taskDirectory + "/stat");
        int close = stat.LastIndexOf(')');
        return close < 0 || close + 2 >= stat.Length ? '\0' : stat[close + 2];
    }

    static string ReadProc(string file)
    {
        try { return File.ReadAllText(file); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return ""; } // the thread or process is gone
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
