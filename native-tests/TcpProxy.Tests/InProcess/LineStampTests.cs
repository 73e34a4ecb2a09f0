using System;
using System.Globalization;
using System.Linq;
using TcpProxy.Configuration;
using TcpProxy.Logging;
using TcpProxy.Tests.Support;
using static Tmds.Linux.LibC;

namespace TcpProxy.Tests.InProcess;

/// <summary>
/// What a stderr writer puts before each line: the UTC time with milliseconds, or under
/// journald the line's sd-daemon priority and no time; access records keep their own time.
/// Written into the log buffer itself, so stamping allocates nothing.
/// </summary>
public sealed class LineStampTests
{
    const string Notice = "tcpproxy: {0} log lines dropped";

    [LinuxFact("Linux pipes through Tmds.LibC")]
    public void UtcTime_EveryLineStartsWithTheTimeItWasQueued_InUtcWithMilliseconds()
    {
        var (reader, writerFd) = LogWriterTests.Pipe();
        try
        {
            using var writer = LogWriter.ForDescriptor(writerFd, 4096, Notice, LineStamp.UtcTime);
            var log = new Log(LogLevel.Verbose, writer);
            DateTime before = TruncatedToMs(DateTime.UtcNow);
            log.Info("listening on [::]:3000");
            log.Error("accept failed: EMFILE");
            log.Verbose("#1 127.0.0.1:5000 connected to 127.0.0.1:80");
            DateTime after = DateTime.UtcNow;

            string[] lines = LogWriterTests.ReadAvailable(reader).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(3, lines.Length);
            string[] texts = ["tcpproxy: listening on [::]:3000", "tcpproxy: accept failed: EMFILE", "tcpproxy: #1 127.0.0.1:5000 connected to 127.0.0.1:80"];
            for (int i = 0; i < lines.Length; i++)
            {
                Assert.True(StderrLine.TryParse(lines[i], out DateTime time, out string rest), $"no timestamp: '{lines[i]}'");
                Assert.Equal(texts[i], rest);
                Assert.InRange(time, before, after);
                Assert.Equal(DateTimeKind.Utc, time.Kind);
            }
        }
        finally
        {
            close(reader);
            close(writerFd);
        }
    }

    [LinuxFact("Linux pipes through Tmds.LibC")]
    public void JournalPriority_EachKindOfLineHasItsPriority_AndNoTime()
    {
        var (reader, writerFd) = LogWriterTests.Pipe();
        try
        {
            using var writer = LogWriter.ForDescriptor(writerFd, 4096, Notice, LineStamp.JournalPriority);
            var log = new Log(LogLevel.Verbose, writer);
            log.Error("cannot start");
            log.Fault("#3 127.0.0.1:5000: internal error (InvalidOperationException: x)");
            log.Warning("#4 127.0.0.1:5001: cannot connect to db:5432: ECONNREFUSED");
            log.Info("listening on [::]:3000");
            log.Report("counters: accepted 1");
            log.Verbose("#5 127.0.0.1:5002 closed after 0.001 s");
            writer.WriteRecord("2026-12-02T14:20:01.123Z client=127.0.0.1:5002 server=- reason=eof error=-");

            Assert.Equal(
                "<3>tcpproxy: cannot start\n" +
                "<3>tcpproxy: #3 127.0.0.1:5000: internal error (InvalidOperationException: x)\n" +
                "<4>tcpproxy: #4 127.0.0.1:5001: cannot connect to db:5432: ECONNREFUSED\n" +
                "<6>tcpproxy: listening on [::]:3000\n" +
                "<6>tcpproxy: counters: accepted 1\n" +
                "<7>tcpproxy: #5 127.0.0.1:5002 closed after 0.001 s\n" +
                "<6>2026-12-02T14:20:01.123Z client=127.0.0.1:5002 server=- reason=eof error=-\n",
                LogWriterTests.ReadAvailable(reader));
        }
        finally
        {
            close(reader);
            close(writerFd);
        }
    }

    [LinuxFact("Linux pipes through Tmds.LibC")]
    public void UtcTime_AnAccessRecordKeepsItsOwnTime_AndGetsNoSecond()
    {
        var (reader, writerFd) = LogWriterTests.Pipe();
        try
        {
            using var writer = LogWriter.ForDescriptor(writerFd, 4096, Notice, LineStamp.UtcTime);
            const string Record = "{\"time\":\"2026-12-02T14:20:01.123Z\",\"client\":\"127.0.0.1:5002\"}";
            writer.WriteRecord(Record);
            Assert.Equal(Record + "\n", LogWriterTests.ReadAvailable(reader));
        }
        finally
        {
            close(reader);
            close(writerFd);
        }
    }

    [LinuxTheory("Linux pipes through Tmds.LibC")]
    [InlineData(LineStamp.UtcTime)]
    [InlineData(LineStamp.JournalPriority)]
    public void DroppedLinesNotice_IsStampedAsAWarning(LineStamp stamp)
    {
        var (reader, writerFd) = LogWriterTests.Pipe();
        try
        {
            using var writer = LogWriter.ForDescriptor(writerFd, 4096, Notice, stamp);
            for (int i = 0; i < 5000; i++) // ~300 KB: the 64 KiB pipe and the 4 KiB buffer overflow
                writer.WriteLine(LogPriority.Info, "tcpproxy: ", "line " + i.ToString(CultureInfo.InvariantCulture) + " of the test");
            Assert.True(writer.DroppedLines > 0, "nothing was dropped");
            string text = LogWriterTests.ReadAvailable(reader);
            writer.FlushAtExit(TimeSpan.FromSeconds(10)); // the pipe has room now: the queue and the notice go out
            text += LogWriterTests.ReadAvailable(reader);

            string notice = Assert.Single(text.Split('\n'), l => l.Contains("log lines dropped", StringComparison.Ordinal));
            string expected = "tcpproxy: " + writer.DroppedLines.ToString(CultureInfo.InvariantCulture) + " log lines dropped";
            if (stamp == LineStamp.JournalPriority)
            {
                Assert.Equal("<4>" + expected, notice);
            }
            else
            {
                Assert.True(StderrLine.TryParse(notice, out _, out string rest), $"no timestamp: '{notice}'");
                Assert.Equal(expected, rest);
            }
        }
        finally
        {
            close(reader);
            close(writerFd);
        }
    }

    [LinuxTheory("Linux pipes, /dev/null through Tmds.LibC")]
    [InlineData(LineStamp.UtcTime)]
    [InlineData(LineStamp.JournalPriority)]
    public void StampedWriteLine_AllocatesNothing_WhetherWrittenOrDropped(LineStamp stamp)
    {
        int devNull = LogWriterTests.OpenPath("/dev/null", O_WRONLY);
        var (reader, writerFd) = LogWriterTests.Pipe();
        try
        {
            using var toDevNull = LogWriter.ForDescriptor(devNull, 4096, Notice, stamp);
            using var toFullPipe = LogWriter.ForDescriptor(writerFd, 4096, Notice, stamp);
            var log = new Log(LogLevel.Verbose, toFullPipe);
            string message = "#12 [::ffff:127.0.0.1]:5000 closed after 0.001 s: 5 B up, 5 B down; both sides finished";
            for (int i = 0; i < 2000; i++) // fills the pipe: the rest is dropped
                log.Verbose(message);
            Assert.True(toFullPipe.DroppedLines > 0);
            toDevNull.WriteLine(LogPriority.Warning, "tcpproxy: ", message);

            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 10_000; i++)
            {
                toDevNull.WriteLine(LogPriority.Warning, "tcpproxy: ", message);
                log.Verbose(message);
                toDevNull.WriteRecord(message);
            }
            Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        }
        finally
        {
            close(devNull);
            close(reader);
            close(writerFd);
        }
    }

    static DateTime TruncatedToMs(DateTime time) => new(time.Ticks - time.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc);
}
