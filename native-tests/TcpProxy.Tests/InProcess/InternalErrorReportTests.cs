using System;
using TcpProxy.Cli;
using TcpProxy.Logging;
using TcpProxy.Tests.Support;
using static Tmds.Linux.LibC;

namespace TcpProxy.Tests.InProcess;

/// <summary>Program's last-resort handler: one line when stderr works, nothing thrown when it does not.</summary>
public sealed class InternalErrorReportTests
{
    [LinuxFact("Tmds.LibC and /dev/full")]
    public void InternalError_ReachesAWorkingStderr_AsOneLine()
    {
        var (reader, writerFd) = LogWriterTests.Pipe();
        try
        {
            using var stderr = LogWriter.ForDescriptor(writerFd, 4096, LogWriter.StandardErrorDroppedNotice);
            Program.ReportInternalError(stderr, new InvalidOperationException("boom\nsecond line"));
            stderr.FlushAtExit(TimeSpan.FromSeconds(1));
            Assert.Equal("tcpproxy: internal error: InvalidOperationException: boom second line\n", LogWriterTests.ReadAvailable(reader));
        }
        finally
        {
            close(reader);
            close(writerFd);
        }
    }

    [LinuxFact("Tmds.LibC and /dev/full")]
    public unsafe void InternalError_OnAFullStderr_ThrowsNothing()
    {
        byte[] path = "/dev/full\0"u8.ToArray();
        int fd;
        fixed (byte* native = path)
            fd = open(native, O_WRONLY | O_CLOEXEC, 0);
        Assert.True(fd >= 0);
        try
        {
            using var stderr = LogWriter.ForDescriptor(fd, 4096, LogWriter.StandardErrorDroppedNotice);
            Program.ReportInternalError(stderr, new InvalidOperationException("boom"));
            Program.ReportInternalError(stderr, new MessageThrows());
            stderr.FlushAtExit(TimeSpan.FromSeconds(1));
            Assert.Equal(1, stderr.DroppedLines);
        }
        finally
        {
            close(fd);
        }
    }

    private sealed class MessageThrows : Exception
    {
        public override string Message => throw new InvalidOperationException("Message itself fails");
    }
}
