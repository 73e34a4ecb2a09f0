using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using TcpProxy.Interop;
using TcpProxy.Logging;
using TcpProxy.Reactor;
using TcpProxy.Tests.Support;
using Tmds.Linux;
using static Tmds.Linux.LibC;

namespace TcpProxy.Tests.InProcess;

/// <summary>
/// The log writer on real descriptors: a pipe nobody reads, a socket, /dev/full, a regular
/// file, a closed fd. It must never block or throw, never set O_NONBLOCK on the caller's fd,
/// keep what it writes whole and in order, count what it drops and report it once drained.
/// </summary>
public sealed unsafe class LogWriterTests
{
    const string Notice = "test: {0} log lines dropped";
    static readonly Regex NoticeLine = new(@"^test: (\d+) log lines dropped$");
    static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    public void PipeNobodyReads_WriteLineNeverBlocks_DropsAreCountedThenReportedOnceDrained()
    {
        var (reader, writerFd) = Pipe();
        try
        {
            using var writer = LogWriter.ForDescriptor(writerFd, 4096, Notice);
            Assert.False(IsNonBlocking(writerFd), "O_NONBLOCK was set on the caller's description");
            const int Lines = 10_000; // ~230 KB: the 64 KiB pipe and the 4 KiB buffer overflow
            // On a thread of its own: a writer that blocks fails the bound instead of hanging the run.
            Background.Await(Background.Run(() =>
            {
                for (int i = 0; i < Lines; i++)
                    writer.WriteLine("line ", i.ToString(CultureInfo.InvariantCulture) + " of the test");
            }), Bound, "writing to a full pipe");
            Assert.True(writer.DroppedLines > 0, "nothing was dropped");
            Assert.Equal(0, writer.WriteErrors);

            string text = ReadAvailable(reader);
            writer.FlushAtExit(Bound); // the pipe has room now: the queue and the notice go out
            text += ReadAvailable(reader);

            var (numbers, reported) = ParseLines(text);
            Assert.Equal(writer.DroppedLines, reported);
            Assert.Equal(Lines, numbers.Count + reported);
            AssertIncreasing(numbers);
            Assert.False(IsNonBlocking(writerFd));
        }
        finally
        {
            close(reader);
            close(writerFd);
        }
    }

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    public void AttachedToTheLoop_FlushesWhenThePipeDrains_AndReportsTheDrops()
    {
        var (reader, writerFd) = Pipe();
        EpollPoller poller = EpollPoller.Create(out int errno) ?? throw new InvalidOperationException(Errno.Name(errno));
        using var reactor = new Reactor.Reactor(poller);
        try
        {
            using var writer = LogWriter.ForDescriptor(writerFd, 16 * 1024, Notice);
            writer.Attach(reactor);
            Assert.True(writer.IsWatched, "a pipe should be flushed by the loop");
            const int Lines = 5000;
            for (int i = 0; i < Lines; i++)
            {
                writer.WriteLine("line ", i.ToString(CultureInfo.InvariantCulture) + " of the test");
                if (i % 100 == 0)
                    Assert.Equal(0, reactor.RunOnce(0)); // the loop keeps turning while nobody reads
            }
            Assert.True(writer.DroppedLines > 0, "nothing was dropped");

            // Now read: each read frees room, the writable edge makes the loop flush the rest.
            var text = new StringBuilder();
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while ((writer.QueuedBytes > 0 || !NoticeLine.IsMatch(LastLine(text))) && clock.Elapsed < Bound)
            {
                text.Append(ReadAvailable(reader));
                Assert.Equal(0, reactor.RunOnce(10));
            }
            text.Append(ReadAvailable(reader));

            var (numbers, reported) = ParseLines(text.ToString());
            Assert.Equal(writer.DroppedLines, reported);
            Assert.Equal(Lines, numbers.Count + reported);
            AssertIncreasing(numbers);
            writer.Detach();
        }
        finally
        {
            close(reader);
            close(writerFd);
        }
    }

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    public void SocketNobodyReads_SendsWithoutBlocking_DropsThenReports()
    {
        int* pair = stackalloc int[2];
        Assert.Equal(0, socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair));
        try
        {
            using var writer = LogWriter.ForDescriptor(pair[1], 4096, Notice);
            const int Lines = 20_000;
            Background.Await(Background.Run(() =>
            {
                for (int i = 0; i < Lines; i++)
                    writer.WriteLine("line ", i.ToString(CultureInfo.InvariantCulture) + " of the test");
            }), Bound, "writing to a full socket");
            Assert.True(writer.DroppedLines > 0, "nothing was dropped");
            Assert.False(IsNonBlocking(pair[1]), "O_NONBLOCK was set on the caller's socket");

            fcntl(pair[0], F_SETFL, fcntl(pair[0], F_GETFL) | O_NONBLOCK);
            string text = ReadAvailable(pair[0]);
            writer.FlushAtExit(Bound);
            text += ReadAvailable(pair[0]);
            var (numbers, reported) = ParseLines(text);
            Assert.Equal(writer.DroppedLines, reported);
            Assert.Equal(Lines, numbers.Count + reported);
            AssertIncreasing(numbers);
        }
        finally
        {
            close(pair[0]);
            close(pair[1]);
        }
    }

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    public void FullDevice_NothingThrows_FailedWritesAreCountedAsDrops()
    {
        int fd = OpenPath("/dev/full", O_WRONLY);
        try
        {
            using var writer = LogWriter.ForDescriptor(fd, 4096, Notice);
            for (int i = 0; i < 10; i++)
                writer.WriteLine("doomed line");
            writer.FlushAtExit(Bound); // tries the notice, which fails too: counted as nothing new
            Assert.Equal(10, writer.DroppedLines);
            Assert.Equal(11, writer.WriteErrors);
            Assert.Equal(Errno.ENOSPC, writer.LastWriteError);
        }
        finally
        {
            close(fd);
        }
    }

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    public void RegularFile_IsWrittenAtTheOffsetItSharesWithItsOwner()
    {
        string path = Path.Combine(Path.GetTempPath(), "tcpproxy-logwriter-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N"));
        int fd = OpenPath(path, O_WRONLY | O_CREAT | O_TRUNC, 0b110_000_000);
        try
        {
            using var writer = LogWriter.ForDescriptor(fd, 4096, Notice);
            WriteRaw(fd, "before\n");
            writer.WriteLine("from the writer");
            WriteRaw(fd, "after\n");
            // A reopen would have had an offset of its own and overwritten "before".
            Assert.Equal("before\nfrom the writer\nafter\n", File.ReadAllText(path));
        }
        finally
        {
            close(fd);
            File.Delete(path);
        }
    }

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    public void ClosedDescriptor_IsNeverWritten_LinesAreCounted()
    {
        // Far above any fd in use: fstat fails, and the writer must not adopt the number.
        using var writer = LogWriter.ForDescriptor(1 << 24, 4096, Notice);
        writer.WriteLine("nowhere to go");
        writer.FlushAtExit(Bound);
        Assert.Equal(1, writer.DroppedLines);
    }

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    public void LineBreaksInsideALine_BecomeSpaces()
    {
        var (reader, writerFd) = Pipe();
        try
        {
            using var writer = LogWriter.ForDescriptor(writerFd, 4096, Notice);
            writer.WriteLine("pre: ", "one\ntwo\r\nthree");
            writer.FlushAtExit(Bound);
            Assert.Equal("pre: one two  three\n", ReadAvailable(reader));
        }
        finally
        {
            close(reader);
            close(writerFd);
        }
    }

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    public void WriteLine_AllocatesNothing_WhetherWrittenOrDropped()
    {
        int devNull = OpenPath("/dev/null", O_WRONLY);
        var (reader, writerFd) = Pipe();
        try
        {
            using var toDevNull = LogWriter.ForDescriptor(devNull, 4096, Notice);
            using var toFullPipe = LogWriter.ForDescriptor(writerFd, 4096, Notice);
            string message = "#12 [::ffff:127.0.0.1]:5000 closed after 0.001 s: 5 B up, 5 B down; both sides finished";
            for (int i = 0; i < 2000; i++) // fills the pipe: the rest is dropped
                toFullPipe.WriteLine("tcpproxy: ", message);
            Assert.True(toFullPipe.DroppedLines > 0);
            toDevNull.WriteLine("tcpproxy: ", message);

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++)
            {
                toDevNull.WriteLine("tcpproxy: ", message);
                toFullPipe.WriteLine("tcpproxy: ", message);
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.Equal(0, allocated);
        }
        finally
        {
            close(devNull);
            close(reader);
            close(writerFd);
        }
    }

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    public void OpenFile_CreatesAppends_AndReopenFollowsARotation()
    {
        string directory = Path.Combine(Path.GetTempPath(), "tcpproxy-logwriter-" + Environment.ProcessId + "-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            string path = Path.Combine(directory, "access.log");
            File.WriteAllText(path, "existing\n");
            using LogWriter writer = LogWriter.OpenFile(path, out string? error) ?? throw new InvalidOperationException(error);
            Assert.Null(error);
            writer.WriteLine("first");
            File.Move(path, path + ".1");
            writer.WriteLine("second"); // still the renamed file, as with any log until it is reopened
            Assert.Equal(0, writer.Reopen());
            writer.WriteLine("third");
            writer.FlushAtExit(Bound);
            Assert.Equal("existing\nfirst\nsecond\n", File.ReadAllText(path + ".1"));
            Assert.Equal("third\n", File.ReadAllText(path));
            Assert.Equal((UnixFileMode)(0b110_100_100 & ~Umask()), File.GetUnixFileMode(path)); // 0644 less the umask
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    public void OpenFile_InAMissingDirectory_FailsWithOneLine()
    {
        LogWriter? writer = LogWriter.OpenFile("/nonexistent-" + Guid.NewGuid().ToString("N") + "/access.log", out string? error);
        Assert.Null(writer);
        Assert.NotNull(error);
        Assert.Contains("ENOENT", error);
        Assert.DoesNotContain('\n', error);
    }

    [LinuxFact("Linux pipes, /dev/full and /proc/self/status through Tmds.LibC")]
    public void StandardErrorWriter_IsNotReopenable()
    {
        var (reader, writerFd) = Pipe();
        try
        {
            using var writer = LogWriter.ForDescriptor(writerFd, 4096, Notice);
            Assert.Equal(-Errno.EINVAL, writer.Reopen());
        }
        finally
        {
            close(reader);
            close(writerFd);
        }
    }

    /// <summary>
    /// FlushAtExit gives up on a write stuck on a frozen disk; when the disk thaws, that write
    /// returns into the very buffer it was given. Discarding the queue meanwhile made the
    /// thread consume bytes that were gone and throw, which aborts the process.
    /// </summary>
    [LinuxFact("loop devices, mkfs.ext4 and fsfreeze (root)")]
    public void FlushAtExit_GivesUpOnAStuckWrite_WhichStillEndsWell_OnceTheDiskThaws()
    {
        using var disk = FrozenDisk.Create();
        string path = Path.Combine(disk.MountPoint, "access.log");
        EpollPoller poller = EpollPoller.Create(out int errno) ?? throw new InvalidOperationException(Errno.Name(errno));
        using var reactor = new Reactor.Reactor(poller);
        using LogWriter writer = LogWriter.OpenFile(path, out string? error, 4096, Notice) ?? throw new InvalidOperationException(error);
        writer.Attach(reactor); // a regular file: written by the writer's thread
        try
        {
            writer.WriteLine("before the freeze");
            AwaitFileText(path, "before the freeze\n");
            disk.Freeze();
            writer.WriteLine("stuck in write(2)");
            AwaitLogThreadStuck();

            var clock = System.Diagnostics.Stopwatch.StartNew();
            writer.FlushAtExit(TimeSpan.FromMilliseconds(200));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(2), $"FlushAtExit took {clock.Elapsed.TotalMilliseconds:0} ms");
            Assert.Equal(1, writer.QueuedLines); // left to the write, not discarded under it

            disk.Thaw();
            // The write ends as it began, into an intact buffer: the line arrives whole, once.
            AwaitFileText(path, "before the freeze\nstuck in write(2)\n");
            Assert.Equal(0, writer.WriteErrors);
            Assert.Equal(0, writer.DroppedLines);
        }
        finally
        {
            disk.Thaw();
        }
    }

    static void AwaitFileText(string path, string expected)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string text = "";
        while (clock.Elapsed < Bound)
        {
            text = File.Exists(path) ? File.ReadAllText(path) : "";
            if (text == expected)
                return;
            System.Threading.Thread.Sleep(20); // a file offers no event to await
        }
        Assert.Equal(expected, text);
    }

    // This process's "tcpproxy log" thread in uninterruptible sleep: its write(2) waits on the frozen disk.
    static void AwaitLogThreadStuck()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!Directory.EnumerateDirectories("/proc/self/task").Any(IsStuckLogThread))
        {
            Assert.True(clock.Elapsed < Bound, "no log thread stuck in a write");
            System.Threading.Thread.Sleep(20); // a thread's state offers no event to await
        }
    }

    static bool IsStuckLogThread(string task)
    {
        try
        {
            string stat = File.ReadAllText(task + "/stat");
            int close = stat.LastIndexOf(')');
            return File.ReadAllText(task + "/comm").Trim() == "tcpproxy log" && close + 2 < stat.Length && stat[close + 2] == 'D';
        }
        catch (IOException)
        {
            return false; // the thread has ended
        }
    }

    internal static (int Reader, int Writer) Pipe()
    {
        int* fds = stackalloc int[2];
        Assert.Equal(0, pipe2(fds, O_CLOEXEC));
        // Only the test's own read end is made non-blocking; the write end stays as a shell would hand it over.
        fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK);
        return (fds[0], fds[1]);
    }

    internal static string ReadAvailable(int fd)
    {
        var text = new StringBuilder();
        byte[] buffer = new byte[64 * 1024];
        fixed (byte* data = buffer)
        {
            while (true)
            {
                long n = read(fd, data, buffer.Length);
                if (n <= 0)
                    break;
                text.Append(Encoding.UTF8.GetString(buffer, 0, (int)n));
            }
        }
        return text.ToString();
    }

    // Read, not set: umask(2) would change it for every thread of the test host.
    static int Umask()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("Umask:", StringComparison.Ordinal))
                return Convert.ToInt32(line["Umask:".Length..].Trim(), 8);
        }
        throw new InvalidOperationException("no Umask in /proc/self/status");
    }

    static bool IsNonBlocking(int fd) => (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;

    internal static int OpenPath(string path, int flags, int mode = 0)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(path + "\0");
        fixed (byte* native = bytes)
        {
            int fd = open(native, flags | O_CLOEXEC, (mode_t)(uint)mode);
            Assert.True(fd >= 0, "cannot open " + path + ": errno " + errno);
            return fd;
        }
    }

    static void WriteRaw(int fd, string text)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(text);
        fixed (byte* data = bytes)
            Assert.Equal(bytes.Length, (int)write(fd, data, bytes.Length));
    }

    /// <summary>The numbered lines received, and the sum of the drops the notices reported; anything else fails.</summary>
    static (List<int> Numbers, long Reported) ParseLines(string text)
    {
        Assert.EndsWith("\n", text);
        var numbers = new List<int>();
        long reported = 0;
        foreach (string line in text.TrimEnd('\n').Split('\n'))
        {
            Match notice = NoticeLine.Match(line);
            if (notice.Success)
            {
                reported += long.Parse(notice.Groups[1].Value, CultureInfo.InvariantCulture);
                continue;
            }
            Match numbered = Regex.Match(line, @"^line (\d+) of the test$");
            Assert.True(numbered.Success, "a torn or foreign line: '" + line + "'");
            numbers.Add(int.Parse(numbered.Groups[1].Value, CultureInfo.InvariantCulture));
        }
        return (numbers, reported);
    }

    static void AssertIncreasing(List<int> numbers)
    {
        for (int i = 1; i < numbers.Count; i++)
            Assert.True(numbers[i] > numbers[i - 1], $"line {numbers[i]} came after line {numbers[i - 1]}");
    }

    static string LastLine(StringBuilder text)
    {
        string all = text.ToString().TrimEnd('\n');
        int newline = all.LastIndexOf('\n');
        return newline < 0 ? all : all[(newline + 1)..];
    }
}
